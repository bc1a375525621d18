# -*- coding: utf-8 -*-
# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE to the dualstack.k8s collection: the API may change without notice.
"""The address plan: a validated Config -> one JSON-serialisable dict.

Every address, CIDR, VIP and mask size any consumer needs is decided here, once,
deterministically: hosts get ``subnet start + role offset + index``, so adding a
worker never moves another host. Every family-ordered list is primary first.
The layout of the dict is documented in docs/plan-contract.md.
"""

from __future__ import annotations

try:
    import netaddr
except ImportError:  # pragma: no cover - config.py reports the missing library
    netaddr = None

from ansible_collections.dualstack.k8s.plugins.plugin_utils.config import (
    FAMILIES,
    load_config,
    node_cidr,
    per_family,
    wg_cidr,
    wg_gw,
)

ROLE_GROUP = {"gateway": "gateways", "control_plane": "k8s_control_plane", "worker": "k8s_workers"}
ROLE_OFFSET = {"gateway": "gateway_offset", "control_plane": "control_plane_offset", "worker": "worker_offset"}
DEFAULT_COUNTS = {"gateway": 2, "control_plane": 1, "worker": 1}
VRRP_TOP_PRIORITY = 200
VRRP_PRIORITY_STEP = 5  # 32 gateways at most: priorities 200 .. 45, all distinct


class HostSpec(object):
    """One planned host before addresses are attached: name, role, index and explicit addresses."""

    __slots__ = ("name", "role", "index", "explicit", "key")

    def __init__(self, name, role, index, explicit, key):
        self.name = name
        self.role = role
        self.index = index
        self.explicit = explicit  # {"ipv4": str|None, "ipv6": str|None}
        self.key = key            # dotted config key the host comes from


def _role_source(cfg, role):
    """(count, hosts, prefix, count_key, hosts_key) of a role's config."""
    if role == "gateway":
        g = cfg.gateways
        return g.count, g.hosts, g.name_prefix, "gateways.count", "gateways.hosts"
    k = cfg.kubernetes
    if role == "control_plane":
        return (k.control_plane_count, k.control_plane, k.control_plane_prefix,
                "kubernetes.control_plane_count", "kubernetes.control_plane")
    return k.worker_count, k.workers, k.worker_prefix, "kubernetes.worker_count", "kubernetes.workers"


def host_specs(cfg):
    """Every planned host in plan order: gateways, control plane, workers."""
    specs = []
    for role in ("gateway", "control_plane", "worker"):
        count, hosts, prefix, count_key, hosts_key = _role_source(cfg, role)
        if hosts is not None:
            for i, entry in enumerate(hosts):
                specs.append(HostSpec(entry.name, role, i, {"ipv4": entry.ipv4, "ipv6": entry.ipv6},
                                      "%s[%d]" % (hosts_key, i)))
        else:
            n = DEFAULT_COUNTS[role] if count is None else count
            for i in range(n):
                specs.append(HostSpec("%s%d" % (prefix, i + 1), role, i, {"ipv4": None, "ipv6": None}, count_key))
    return specs


def planned_address(cfg, family, spec, net=None):
    """The host's address of one family: explicit, else subnet start + role offset + index."""
    explicit = spec.explicit.get(family)
    if explicit:
        return netaddr.IPAddress(explicit)
    net = net if net is not None else netaddr.IPNetwork(node_cidr(cfg, family))
    offset = getattr(cfg.network, ROLE_OFFSET[spec.role]) + spec.index
    return netaddr.IPAddress(net.first + offset, net.version)


def router_address(cfg, family):
    explicit = getattr(cfg.network, "%s_gateway" % family)
    if explicit:
        return netaddr.IPAddress(explicit)
    net = netaddr.IPNetwork(node_cidr(cfg, family))
    return netaddr.IPAddress(net.first + 1, net.version)


def vip_address(cfg, family):
    explicit = per_family(cfg.gateways, "vip", family)
    if explicit:
        return netaddr.IPAddress(explicit)
    net = netaddr.IPNetwork(node_cidr(cfg, family))
    return netaddr.IPAddress(net.last - 1, net.version)


def node_mask(cfg, family):
    """node-cidr-mask-size of a family: configured, else the default kept inside [pod, pod + 16]."""
    configured = per_family(cfg.kubernetes, "node_mask", family)
    if configured is not None:
        return configured
    pod = netaddr.IPNetwork(per_family(cfg.kubernetes, "pod_subnet", family)).prefixlen
    default = 24 if family == "ipv4" else min(pod + 16, 112)
    return max(pod, min(default, pod + 16))


def wg_gateway_address(cfg, family):
    gw = wg_gw(cfg, family)
    if gw:
        return netaddr.IPAddress(gw.split("/")[0])
    net = netaddr.IPNetwork(wg_cidr(cfg, family))
    return netaddr.IPAddress(net.first + 1, net.version)


def wg_sync_port(cfg):
    """UDP port of the gateways' WireGuard endpoint sync: explicit, else the WireGuard port + 1
    (port - 1 when the WireGuard port is 65535)."""
    wg = cfg.wireguard
    if wg.endpoint_sync_port:
        return wg.endpoint_sync_port
    return wg.port + 1 if wg.port < 65535 else wg.port - 1


def peer_address(cfg, family, index, peer):
    explicit = getattr(peer, family)
    if explicit:
        return netaddr.IPAddress(explicit)
    gw = wg_gateway_address(cfg, family)
    return netaddr.IPAddress(int(gw) + 1 + index, gw.version)


def _bracket(addr):
    return "[%s]" % addr if ":" in str(addr) else str(addr)


def _ordered(families, values):
    """values: {family: x}; returns [x for each cluster family, primary first], skipping None."""
    return [values[f] for f in families if values.get(f) is not None]


def read_public_key(peer, base_dir):
    """A peer's public key: inline, or read from public_key_file (relative to base_dir)."""
    import os
    if peer.public_key:
        return peer.public_key
    path = peer.public_key_file
    if not os.path.isabs(path):
        path = os.path.join(base_dir, path)
    with open(path) as handle:
        return handle.read().strip()


def build_plan(cfg):
    """The whole plan of a validated Config (see docs/plan-contract.md)."""
    import os
    fams = list(cfg.cluster.ip_families)
    primary = fams[0]
    base_dir = os.path.dirname(os.path.abspath(cfg._source)) if cfg._source else os.getcwd()
    nets = {f: netaddr.IPNetwork(node_cidr(cfg, f)) for f in fams}

    network = {"ipv4": None, "ipv6": None, "dns_servers": list(cfg.network.dns_servers)}
    for f in fams:
        net = nets[f]
        entry = {
            "cidr": str(net.cidr),
            "prefixlen": net.prefixlen,
            "gateway": str(router_address(cfg, f)),
            "allocation_pool": {
                "start": str(netaddr.IPAddress(net.first + 2, net.version)),
                "end": str(netaddr.IPAddress(net.first + cfg.network.gateway_offset - 1, net.version)),
            },
        }
        if f == "ipv6":
            entry["mode"] = cfg.network.ipv6_mode
        network[f] = entry

    hosts = {}
    groups = {"gateways": [], "k8s_control_plane": [], "k8s_workers": []}
    for spec in host_specs(cfg):
        addrs = {f: str(planned_address(cfg, f, spec, nets[f])) for f in fams}
        entry = {
            "name": spec.name,
            "role": spec.role,
            "index": spec.index,
            "ipv4": addrs.get("ipv4"),
            "ipv6": addrs.get("ipv6"),
            "node_ips": _ordered(fams, addrs),
            "primary_ip": addrs[primary],
        }
        if spec.role == "gateway":
            entry["vrrp_priority"] = VRRP_TOP_PRIORITY - VRRP_PRIORITY_STEP * spec.index
        hosts[spec.name] = entry
        groups[ROLE_GROUP[spec.role]].append(spec.name)

    vips = {f: (str(vip_address(cfg, f)) if f in fams else None) for f in FAMILIES}
    vips["public_ipv4"] = cfg.gateways.public_vip_v4
    vips["public_ipv6"] = cfg.gateways.public_vip_v6

    wireguard = {"port": cfg.wireguard.port, "endpoint_sync_port": wg_sync_port(cfg), "ipv4": None, "ipv6": None, "peers": [],
                 "client_allowed_ips": [], "export_extra": {"ipv4": [], "ipv6": []}}
    wg_fams = [f for f in fams if wg_cidr(cfg, f)]
    for f in wg_fams:
        net = netaddr.IPNetwork(wg_cidr(cfg, f))
        wireguard[f] = {"cidr": str(net.cidr), "prefixlen": net.prefixlen,
                        "gateway": str(wg_gateway_address(cfg, f))}
        wireguard["export_extra"][f] = list(per_family(cfg.gateways, "export_extra", f))
    for i, peer in enumerate(cfg.wireguard.peers):
        paddrs = {f: str(peer_address(cfg, f, i, peer)) for f in wg_fams}
        wireguard["peers"].append({
            "name": peer.name,
            "public_key": read_public_key(peer, base_dir),
            "ipv4": paddrs.get("ipv4"),
            "ipv6": paddrs.get("ipv6"),
            "allowed_ips": ["%s/%d" % (paddrs[f], 32 if f == "ipv4" else 128) for f in fams if f in paddrs],
        })
    global_pods = cfg.calico.pod_address_scope == "global" and "ipv6" in fams
    # what a client routes into the tunnel: the WireGuard and node subnets, and routable pod addresses
    wireguard["client_allowed_ips"] = (
        [wireguard[f]["cidr"] for f in wg_fams] + [str(nets[f].cidr) for f in fams]
        + ([per_family(cfg.kubernetes, "pod_subnet", "ipv6")] if global_pods else []))
    # where a client connects: the public VIP of the primary family, else of the other one
    public = [vips["public_%s" % f] for f in fams + [f for f in FAMILIES if f not in fams]]
    wireguard["client_endpoint_host"] = next((v for v in public if v), None) or vips[primary]

    k = cfg.kubernetes
    if k.control_plane_endpoint:
        endpoint = "%s:%d" % (k.control_plane_endpoint, k.api_port)
    else:
        endpoint = "%s:%d" % (_bracket(vips[primary]), k.api_port)
    cert_sans = [vips[f] for f in fams]
    if k.control_plane_endpoint:
        cert_sans.append(k.control_plane_endpoint)
    kubernetes = {
        "version": k.version,
        "api_port": k.api_port,
        "pod_subnets": [per_family(k, "pod_subnet", f) for f in fams],
        "service_subnets": [per_family(k, "service_subnet", f) for f in fams],
        "node_mask_sizes": {f: node_mask(cfg, f) for f in fams},
        "control_plane_endpoint": endpoint,
        "control_plane_endpoint_host": k.control_plane_endpoint or vips[primary],
        "cert_sans": cert_sans,
        "first_control_plane": groups["k8s_control_plane"][0],
        "network_plugin": k.network_plugin,
    }

    c = cfg.calico
    calico = {
        "as_number": c.as_number,
        "style": c.style,
        "node_to_node_mesh": c.node_to_node_mesh,
        "next_hop_mode": c.next_hop_mode,
        "pools": [{
            "family": f,
            "name": "default-%s-ippool" % f,
            "cidr": per_family(k, "pod_subnet", f),
            "block_size": per_family(c, "block_size", f),
            "encapsulation": per_family(c, "encapsulation", f),
            "nat_outgoing": per_family(c, "nat_outgoing", f),
        } for f in fams],
        "pod_address_scope": c.pod_address_scope if "ipv6" in fams else "ula",
        "autodetection": {f: "cidr=%s" % nets[f].cidr for f in fams},
        "peers": [{"family": f, "peer_ip": vips[f], "as_number": cfg.gateways.as_number} for f in fams],
    }

    openstack = None
    if cfg.openstack is not None:
        o = cfg.openstack
        prefix = o.name_prefix or cfg.cluster.name
        # SLAAC / DHCPv6-stateless: Neutron gives a port on the IPv6 subnet exactly one address, the
        # EUI-64 one of the port's MAC, and refuses any other. So the plan decides each host port's
        # MAC (locally administered 02:00:00:<role offset + index>, or the MAC inside an explicit
        # EUI-64 address) and the host's IPv6 address IS that EUI-64 address: node-ip, BGP
        # neighbours, VRRP peers and backends all read the address the VM really gets.
        auto_address = "ipv6" in fams and cfg.network.ipv6_mode in ("slaac", "dhcpv6-stateless")
        port_macs = {}
        if auto_address:
            for spec in host_specs(cfg):
                explicit = spec.explicit.get("ipv6")
                iid = (int(netaddr.IPAddress(explicit)) & (2 ** 64 - 1)).to_bytes(8, "big") if explicit else None
                if iid is not None and iid[3:5] == b"\xff\xfe":
                    mac = bytes([iid[0] ^ 0x02, iid[1], iid[2], iid[5], iid[6], iid[7]])
                else:  # offset-planned; an explicit non-EUI-64 address stays and neutron_plan refuses it
                    offset = getattr(cfg.network, ROLE_OFFSET[spec.role]) + spec.index
                    mac = b"\x02\x00\x00" + (offset & 0xFFFFFF).to_bytes(3, "big")
                port_macs[spec.name] = ":".join("%02x" % b for b in mac)
                if not explicit:
                    host = hosts[spec.name]
                    host["ipv6"] = str(netaddr.EUI(port_macs[spec.name]).ipv6(nets["ipv6"].first))
                    host["node_ips"] = _ordered(fams, {f: host[f] for f in fams})
                    host["primary_ip"] = host[primary]
        openstack = {
            "cloud": o.cloud,
            "external_network": o.external_network,
            "create_router": o.create_router,
            "name_prefix": prefix,
            "network_name": "%s-net" % prefix,
            "subnet_names": {f: "%s-subnet-%s" % (prefix, f) for f in fams},
            "router_name": "%s-router" % prefix,
            "security_groups": {k: "%s-%s" % (prefix, k) for k in ("common", "gateways", "nodes")},
            "port_names": {name: "%s-%s" % (prefix, name) for name in hosts},
            # no IPv6 VIP port on an auto-address subnet: Neutron cannot reserve a non-EUI-64 address
            # there, and never hands one out either (the VIP rides on allowed-address-pairs)
            "vip_port_names": {f: "%s-vip-%s" % (prefix, f) for f in fams
                               if not (f == "ipv6" and auto_address)},
            "ipv6_auto_address": auto_address,
            "port_macs": port_macs,
        }

    nat64 = None
    if cfg.nat64.enabled:
        n = cfg.nat64
        pool = netaddr.IPNetwork(n.ipv4_pool)
        nat64 = {
            "prefix": str(netaddr.IPNetwork(n.prefix).cidr),
            "ipv4_pool": str(pool.cidr),
            "tayga_ipv4": str(netaddr.IPAddress(pool.first + 1, 4)),
            "dns64": n.dns64,
            # DNS64 answers on the node network's IPv6 VIP (the VRRP master's)
            "dns64_address": vips["ipv6"] if n.dns64 else None,
            "dns64_upstreams": list(n.dns64_upstreams),
            "dns64_dnssec": n.dns64_dnssec,
            "dns64_zones": [{"name": z.name, "servers": list(z.servers)} for z in n.dns64_zones],
        }

    ingress = _ingress_plan(cfg, groups)

    lab = None
    if cfg.lab is not None:
        lab = _lab_plan(cfg, hosts, groups, base_dir)

    return {
        "cluster": {
            "name": cfg.cluster.name,
            "ip_families": fams,
            "primary_family": primary,
            "dual_stack": len(fams) == 2,
            "dns_domain": cfg.cluster.dns_domain,
        },
        "network": network,
        "hosts": hosts,
        "groups": groups,
        "vips": vips,
        "gateways": {
            "as_number": cfg.gateways.as_number,
            "vrrp_advert_int": cfg.gateways.vrrp_advert_int,
            "vrrp_router_id": cfg.gateways.vrrp_router_id,
            "vrrp_preempt": cfg.gateways.vrrp_preempt,
        },
        "wireguard": wireguard,
        "kubernetes": kubernetes,
        "calico": calico,
        "nat64": nat64,
        "ingress": ingress,
        "openstack": openstack,
        "lab": lab,
    }


INGRESS_BACKEND_GROUPS = {"workers": ("k8s_workers",), "control_plane": ("k8s_control_plane",),
                          "nodes": ("k8s_control_plane", "k8s_workers")}


def ingress_addresses(cfg):
    """The public VIPs an ingress frontend binds: the cluster's families first (primary first), then the other."""
    fams = list(cfg.cluster.ip_families)
    order = fams + [f for f in FAMILIES if f not in fams]
    return [v for v in (per_family(cfg.gateways, "public_vip", f) for f in order) if v]


def _ingress_plan(cfg, groups):
    """Ingress frontends: HAProxy on every public VIP, to a NodePort of the chosen nodes."""
    addresses = ingress_addresses(cfg)
    return {
        "node_port_range": list(cfg.ingress.node_port_range),
        "frontends": [{
            "name": fe.name,
            "port": fe.port,
            "addresses": list(addresses),
            "backend_port": fe.backend_port,
            "backend_group": fe.backends,
            "backends": [n for g in INGRESS_BACKEND_GROUPS[fe.backends] for n in groups[g]],
            "send_proxy_v2": fe.send_proxy_v2,
            "health_check": fe.health_check,
        } for fe in cfg.ingress.frontends],
    }


LAB_EXTERNAL_CLIENT_OFFSET = 100
LAB_INGRESS_CLIENT_OFFSET = 150
LAB_OUTSIDE_OFFSET = 200


def _lab_plan(cfg, hosts, groups, base_dir):
    """The embedded lab: container names, addresses on the lab's external network, client key."""
    import os
    prefix = "dsk-%s-" % cfg.cluster.name
    ext = {f: per_family(cfg.lab, "external_cidr", f) for f in FAMILIES}
    client = cfg.lab.wireguard_client
    external_hosts = {}
    outside = cfg.lab.outside_host
    ingress_client = cfg.lab.ingress_client
    fams = list(cfg.cluster.ip_families)
    names = list(groups["gateways"]) + ([client] if client else []) + ([outside] if outside else [])
    names += [ingress_client] if ingress_client else []
    for i, name in enumerate(names):
        # gateways: every external family (an IPv6-only cluster's gateways still reach IPv4 for NAT64);
        # the client: the cluster's families only; the outside host: IPv4 only; the ingress client: IPv6 only
        if name == client:
            offset, host_fams = LAB_EXTERNAL_CLIENT_OFFSET, fams
        elif name == outside:
            offset, host_fams = LAB_OUTSIDE_OFFSET, ["ipv4"]
        elif name == ingress_client:
            offset, host_fams = LAB_INGRESS_CLIENT_OFFSET, ["ipv6"]
        else:
            offset, host_fams = cfg.network.gateway_offset + i, FAMILIES
        external_hosts[name] = {}
        for f in FAMILIES:
            if ext[f] and f in host_fams:
                net = netaddr.IPNetwork(ext[f])
                external_hosts[name][f] = str(netaddr.IPAddress(net.first + offset, net.version))
    key_file = None
    for peer in cfg.wireguard.peers:
        if peer.name == client and peer.public_key_file:
            pub = os.path.normpath(os.path.join(base_dir, peer.public_key_file))
            key_file = os.path.splitext(pub)[0] + ".key"
    return {
        "client_private_key_file": key_file,
        "external": ext,
        "external_gateway": {f: (str(netaddr.IPAddress(netaddr.IPNetwork(ext[f]).first + 1, 4 if f == "ipv4" else 6))
                                 if ext[f] else None) for f in FAMILIES},
        "external_hosts": external_hosts,
        "wireguard_client": client,
        "outside": ({"name": outside, "zone": cfg.lab.outside_zone, "fqdn": "%s.%s" % (outside, cfg.lab.outside_zone),
                     "ipv4": external_hosts[outside].get("ipv4")} if outside else None),
        "ingress_client": ({"name": ingress_client, "ipv6": external_hosts[ingress_client].get("ipv6")}
                           if ingress_client else None),
        "pod_standins": _pod_standins(cfg, hosts, groups),
        "containers": dict((name, prefix + name) for name in list(hosts) + [x for x in (client, outside, ingress_client)
                                                                            if x]),
        "networks": {"nodes": prefix + "nodes", "external": prefix + "external"},
    }


def _pod_standins(cfg, hosts, groups):
    """Lab only, routable IPv6 pods: {node: {"block": .., "address": ..}}, one IPAM block per node (the
    node's index among all nodes) with an address on it that stands in for a pod."""
    if cfg.calico.pod_address_scope != "global" or "ipv6" not in cfg.cluster.ip_families:
        return {}
    pod = netaddr.IPNetwork(per_family(cfg.kubernetes, "pod_subnet", "ipv6"))
    size = cfg.calico.block_size_v6
    out = {}
    for i, name in enumerate(groups["k8s_control_plane"] + groups["k8s_workers"]):
        first = pod.first + i * (1 << (128 - size))
        if first > pod.last:
            break
        out[name] = {"block": "%s/%d" % (netaddr.IPAddress(first, 6), size),
                     "address": str(netaddr.IPAddress(first + 1, 6))}
    return out


def load_plan(path=None):
    """load_config + build_plan."""
    return build_plan(load_config(path))
