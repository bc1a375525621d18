# -*- coding: utf-8 -*-
# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE to the dualstack.k8s collection: the API may change without notice.
"""The one plan -> role-input mapping.

The roles of this collection know nothing of config.toml or the plan: each takes plain inputs
(its ``meta/argument_specs.yml``). This module is the only place that turns the plan
(plugins/plugin_utils/plan.py) into those inputs:

- ``host_inputs(plan, name)``: every role input of one host (the inventory plugin sets them as
  that host's variables). A host gets its own slice: a worker gets no list of every node, so the
  inventory grows linearly with the number of hosts.
- ``controller_inputs(plan)``: the inputs of the roles that run on the controller (Neutron).

One function per role, ``<role>_inputs``; each returns a dict of that role's variables.
"""

from __future__ import annotations

GATEWAY_ROLES = ("sysctl", "wireguard", "keepalived", "haproxy", "bird", "nat64", "check_dualstack")
NODE_ROLES = ("sysctl", "resolver", "kubeadm", "calico", "check_dualstack")

# What two roles share is an input of both, set here once.
WIREGUARD_INTERFACE = "wg0"
KEEPALIVED_HOOK_DIR = "/etc/dualstack-k8s"
NAT64_INTERFACE = "nat64"
NAT64_SERVICES = ("dualstack-nat64.service", "unbound.service")
# the resolv.conf of the kubelet (kubeadm) that role resolver writes
KUBELET_RESOLV_CONF = "/etc/dualstack-k8s/resolv.conf"
RA_MODES = ("slaac", "dhcpv6-stateless", "dhcpv6-stateful")


def _fams(plan):
    return plan["cluster"]["ip_families"]


def _host(plan, name):
    return plan["hosts"][name]


def _vips(plan):
    """{family: node-network VIP or None} for both families."""
    return {f: plan["vips"].get(f) for f in ("ipv4", "ipv6")}


def _forwards(host):
    return host["role"] in ("gateway", "control_plane", "worker")


def _accept_ra(plan, host):
    network6 = plan["network"].get("ipv6") or {}
    return bool(_forwards(host) and "ipv6" in _fams(plan) and network6.get("mode") in RA_MODES)


# --------------------------------------------------------------------------------------- sysctl
def sysctl_inputs(plan, name):
    host = _host(plan, name)
    out = {
        "sysctl_families": list(_fams(plan)),
        "sysctl_forwarding": _forwards(host),
        "sysctl_nonlocal_bind": host["role"] == "gateway",
        "sysctl_accept_ra": _accept_ra(plan, host),
        # the interface holding this address gets accept_ra = 2 (found from facts on the host)
        "sysctl_accept_ra_address": host.get("ipv6") or "",
    }
    # HAProxy's ingress frontends bind the public VIP of a family the cluster does not have (IPv6 ingress
    # of an IPv4-only cluster): non-local bind of that family too, nothing else of it
    extra = {"net.%s.ip_nonlocal_bind" % f: "1" for f in _ingress_families(plan) if f not in _fams(plan)}
    if extra and host["role"] == "gateway":
        out["sysctl_extra"] = extra
    return out


# ------------------------------------------------------------------------------------ wireguard
def wireguard_inputs(plan, name):
    wg = plan["wireguard"]
    fams = _fams(plan)
    vips = _vips(plan)
    gateways = plan["groups"]["gateways"]
    primary = plan["cluster"]["primary_family"]
    reply = {f: (plan["vips"].get("public_%s" % f) or vips[f] or "") for f in ("ipv4", "ipv6")}
    return {
        "wireguard_interface": WIREGUARD_INTERFACE,
        "wireguard_port": wg["port"],
        "wireguard_addresses": ["%s/%d" % (wg[f]["gateway"], wg[f]["prefixlen"]) for f in fams if wg.get(f)],
        "wireguard_peers": [{"name": p["name"], "public_key": p["public_key"], "allowed_ips": p["allowed_ips"]}
                            for p in wg["peers"]],
        "wireguard_reply_source": reply,
        "wireguard_endpoint_sync": len(gateways) > 1,
        "wireguard_endpoint_sync_port": wg["endpoint_sync_port"],
        "wireguard_endpoint_sync_addresses": [a for a in (_host(plan, name).get(f) for f in fams) if a],
        "wireguard_endpoint_sync_gateways": sorted(
            _host(plan, g)[primary] for g in gateways if g != name and _host(plan, g).get(primary)),
        "wireguard_vips": sorted({v for v in list(reply.values()) + list(vips.values()) if v}),
        "wireguard_hook_dir": KEEPALIVED_HOOK_DIR,
    }


# ----------------------------------------------------------------------------------- keepalived
def keepalived_inputs(plan, name):
    host = _host(plan, name)
    gw = plan["gateways"]
    vips = _vips(plan)
    others = [_host(plan, g) for g in plan["groups"]["gateways"] if g != name]
    return {
        "keepalived_families": [f for f in _fams(plan) if vips[f]],
        "keepalived_vips": vips,
        "keepalived_vip_prefixlen": {f: (plan["network"][f] or {}).get("prefixlen", 32 if f == "ipv4" else 128)
                                     for f in ("ipv4", "ipv6")},
        "keepalived_public_vips": {f: plan["vips"].get("public_%s" % f) or "" for f in ("ipv4", "ipv6")},
        "keepalived_unicast_src": {f: host.get(f) for f in ("ipv4", "ipv6")},
        "keepalived_unicast_peers": {f: [o[f] for o in others if o.get(f)] for f in ("ipv4", "ipv6")},
        "keepalived_router_id": gw["vrrp_router_id"],
        "keepalived_advert_int": gw["vrrp_advert_int"],
        "keepalived_priority": host["vrrp_priority"],
        "keepalived_preempt": gw["vrrp_preempt"],
        # a gateway back from FAULT (a tracked daemon died and was restarted) takes the VIPs back only
        # after the path through the new holder has settled: no second switch seconds after the first
        "keepalived_preempt_delay": 10,
        "keepalived_hook_dir": KEEPALIVED_HOOK_DIR,
        # the gateway's own daemons (roles haproxy, bird, wireguard): one that stays down gives up the VIPs
        "keepalived_track_services": ["bird.service", "haproxy.service"] + _nat64_services(plan),
        "keepalived_track_interfaces": [WIREGUARD_INTERFACE],
    }


# -------------------------------------------------------------------------------------- haproxy
def haproxy_inputs(plan, name):
    del name
    primary = plan["cluster"]["primary_family"]
    vips = _vips(plan)
    api_port = plan["kubernetes"]["api_port"]
    return {
        "haproxy_frontend_addresses": [vips[f] for f in _fams(plan) if vips[f]],
        "haproxy_frontend_port": api_port,
        "haproxy_backends": [{"name": n, "address": _host(plan, n).get(primary) or _host(plan, n)["primary_ip"]}
                             for n in plan["groups"]["k8s_control_plane"]],
        "haproxy_backend_port": api_port,
        "haproxy_ingress_frontends": haproxy_ingress_frontends(plan),
    }


def _ingress_families(plan):
    """Families of the addresses the ingress frontends bind."""
    addrs = {a for fe in (plan.get("ingress") or {}).get("frontends", []) for a in fe["addresses"]}
    return [f for f in ("ipv4", "ipv6") if any((":" in a) == (f == "ipv6") for a in addrs)]


def haproxy_ingress_frontends(plan):
    """Ingress frontends: the public VIPs of both families, to the backend nodes' primary-family address."""
    primary = plan["cluster"]["primary_family"]
    return [{
        "name": fe["name"],
        "port": fe["port"],
        "addresses": list(fe["addresses"]),
        "backends": [{"name": n, "address": _host(plan, n).get(primary) or _host(plan, n)["primary_ip"]}
                     for n in fe["backends"]],
        "backend_port": fe["backend_port"],
        "send_proxy_v2": fe["send_proxy_v2"],
        "check": fe["health_check"],
    } for fe in (plan.get("ingress") or {}).get("frontends", [])]


# ----------------------------------------------------------------------------------------- bird
def bird_inputs(plan, name):
    host = _host(plan, name)
    vips = _vips(plan)
    wg = plan["wireguard"]
    nat64 = plan.get("nat64")
    nodes = plan["groups"]["k8s_control_plane"] + plan["groups"]["k8s_workers"]
    return {
        "bird_families": [f for f in _fams(plan) if vips[f]],
        "bird_vips": vips,
        "bird_local_as": plan["gateways"]["as_number"],
        "bird_peer_as": plan["calico"]["as_number"],
        "bird_neighbors": [{"name": n, "ipv4": _host(plan, n).get("ipv4"), "ipv6": _host(plan, n).get("ipv6")}
                           for n in nodes],
        "bird_router_id": host.get("ipv4") or "0.0.0.%d" % (host["index"] + 1),
        "bird_export_prefixes": {f: ([wg[f]["cidr"]] if wg.get(f) else []) for f in ("ipv4", "ipv6")},
        # the NAT64 prefix: announced while tayga's route into its tun device exists (a static route via
        # the device is unreachable without it, so a gateway without NAT64 announces none)
        "bird_export_extra": {f: list(wg["export_extra"].get(f, []))
                              + ([nat64["prefix"]] if nat64 and f == "ipv6" else []) for f in ("ipv4", "ipv6")},
        "bird_static_routes": {"ipv4": [], "ipv6": ([{"prefix": nat64["prefix"], "dev": NAT64_INTERFACE}]
                                                    if nat64 else [])},
        # routable (global) IPv6 pod addresses: the nodes' IPAM blocks inside the pod subnet, nothing else
        "bird_import_prefixes": {"ipv4": [], "ipv6": ([_pod_subnet(plan, "ipv6")]
                                                      if plan["calico"].get("pod_address_scope") == "global" else [])},
        "bird_direct_interfaces": [WIREGUARD_INTERFACE],
        "bird_hook_dir": KEEPALIVED_HOOK_DIR,
    }


# ---------------------------------------------------------------------------------------- nat64
def _nat64_services(plan):
    return list(NAT64_SERVICES) if plan.get("nat64") else []


def _dns64(plan):
    return bool(plan.get("nat64") and plan["nat64"]["dns64"])


def _pod_subnet(plan, family):
    return next((p["cidr"] for p in plan["calico"]["pools"] if p["family"] == family), None)


def nat64_inputs(plan, name):
    """NAT64 (tayga) + DNS64 (unbound) on every gateway; the VIP holder's bird announces the prefix and
    holds the DNS64 address (the node network's IPv6 VIP). Nothing without [nat64] enabled."""
    n = plan.get("nat64")
    if not n:
        return {}
    host = _host(plan, name)
    fams = _fams(plan)
    wg = plan["wireguard"]
    access = [plan["network"][f]["cidr"] for f in fams] + [_pod_subnet(plan, f) for f in fams]
    access += [wg[f]["cidr"] for f in fams if wg.get(f)]
    return {
        "nat64_prefix": n["prefix"],
        "nat64_dynamic_pool": n["ipv4_pool"],
        "nat64_tayga_ipv4": n["tayga_ipv4"],
        "nat64_interface": NAT64_INTERFACE,
        "nat64_dns64": n["dns64"],
        "nat64_dns64_listen": ([n["dns64_address"]] + [host[f] for f in fams if host.get(f)]) if n["dns64"] else [],
        "nat64_dns64_access": [a for a in access if a],
        "nat64_dns64_upstreams": list(n["dns64_upstreams"]),
        "nat64_dns64_dnssec": n["dns64_dnssec"],
        "nat64_dns64_stub_zones": [{"name": z["name"], "addresses": list(z["servers"])} for z in n["dns64_zones"]],
    }


# ------------------------------------------------------------------------------------- resolver
def resolver_inputs(plan, name):
    """Nodes ask the gateways' DNS64 (on the node network's IPv6 VIP); nothing without DNS64."""
    del name
    if not _dns64(plan):
        return {}
    return {
        "resolver_nameservers": [plan["nat64"]["dns64_address"]],
        "resolver_kubelet_file": KUBELET_RESOLV_CONF,
    }


# -------------------------------------------------------------------------------------- kubeadm
def kubeadm_inputs(plan, name):
    """kubeadm_config's plain parameters for this node (role variable kubeadm_<parameter>).

    Every node: its kind, name, node-ip list (primary family first) and the endpoint it joins or
    serves, and the host whose CA joins pin (kubeadm_ca_host). Control-plane nodes add their
    advertise address and port; the first one (kind init) the cluster-wide settings.
    """
    host = _host(plan, name)
    k = plan["kubernetes"]
    first = k["first_control_plane"]
    kind = "init" if name == first else ("control-plane" if host["role"] == "control_plane" else "worker")
    out = {
        "kubeadm_node_kind": kind,
        "kubeadm_node_name": name,
        "kubeadm_node_ips": list(host["node_ips"]),
        "kubeadm_control_plane_endpoint": k["control_plane_endpoint"],
    }
    if kind != "worker":
        out["kubeadm_advertise_address"] = host["primary_ip"]
        out["kubeadm_bind_port"] = k["api_port"]
    if kind == "init":
        fams = _fams(plan)
        out.update({
            "kubeadm_cluster_name": plan["cluster"]["name"],
            "kubeadm_dns_domain": plan["cluster"]["dns_domain"],
            "kubeadm_kubernetes_version": k["version"],
            "kubeadm_pod_subnets": list(k["pod_subnets"]),
            "kubeadm_service_subnets": list(k["service_subnets"]),
            "kubeadm_node_mask_sizes": {f: k["node_mask_sizes"][f] for f in fams},
            "kubeadm_cert_sans": list(k["cert_sans"]),
            "kubeadm_resolv_conf": KUBELET_RESOLV_CONF if _dns64(plan) else "",
        })
    # the host whose CA joins pin, on every node (the role reads it once per play)
    out["kubeadm_ca_host"] = first
    return out


# --------------------------------------------------------------------------------------- calico
def calico_inputs(plan, name):
    """calico_manifests' plain parameters (role variable calico_<parameter>), on the first
    control-plane node only: that node writes and applies the cluster-wide manifests
    (playbooks/kubernetes.yml runs the calico role there); every other node gets nothing."""
    if name != plan["kubernetes"]["first_control_plane"]:
        return {}
    c = plan["calico"]
    fams = _fams(plan)
    return {
        "calico_style": c["style"],
        "calico_pools": [{key: pool[key] for key in ("family", "name", "cidr", "block_size", "encapsulation",
                                                     "nat_outgoing")} for pool in c["pools"]],
        "calico_node_subnets": {f: plan["network"][f]["cidr"] for f in fams},
        "calico_service_subnets": list(plan["kubernetes"]["service_subnets"]),
        "calico_as_number": c["as_number"],
        "calico_node_to_node_mesh": c["node_to_node_mesh"],
        "calico_next_hop_mode": c["next_hop_mode"],
        "calico_bgp_peers": [{"family": p["family"], "peer_ip": p["peer_ip"], "as_number": p["as_number"]}
                             for p in c["peers"]],
    }


# ------------------------------------------------------------------------------ check_dualstack
def check_dualstack_inputs(plan, name):
    """What check_dualstack compares on this host: its planned addresses, node-ip list, forwarding
    and accept_ra; the cluster checks run on the first control-plane node only."""
    host = _host(plan, name)
    node = host["role"] in ("control_plane", "worker")
    return {
        "check_dualstack_role": host["role"],
        "check_dualstack_families": list(_fams(plan)),
        "check_dualstack_addresses": {f: host[f] for f in _fams(plan)},
        "check_dualstack_node_ips": list(host["node_ips"]) if node else [],
        "check_dualstack_forwarding": _forwards(host),
        "check_dualstack_accept_ra": _accept_ra(plan, host),
        "check_dualstack_cluster_checks": name == plan["kubernetes"]["first_control_plane"],
    }


# ----------------------------------------------------------------------------- openstack_network
def openstack_network_inputs(plan):
    """The cluster's Neutron spec (role openstack_network, on the controller). Every name comes
    from ``plan["openstack"]``; which rules, ports, fixed IPs and address pairs is decided here."""
    osp = plan["openstack"]
    fams = _fams(plan)
    network = plan["network"]
    vips = _vips(plan)
    wg = plan["wireguard"]
    k8s = plan["kubernetes"]
    gateways = plan["groups"]["gateways"]
    subnet_names = osp["subnet_names"]
    sg = osp["security_groups"]
    ethertype = {"ipv4": "IPv4", "ipv6": "IPv6"}

    subnets = []
    for f in fams:
        net = network[f]
        subnet = {"name": subnet_names[f], "cidr": net["cidr"], "gateway_ip": net["gateway"],
                  "allocation_pools": [dict(net["allocation_pool"])] if net.get("allocation_pool") else [],
                  "dns_nameservers": [d for d in network.get("dns_servers") or [] if (":" in d) == (f == "ipv6")]}
        if f == "ipv6":
            subnet["ipv6_mode"] = net["mode"]
        subnets.append(subnet)

    encaps = {p["family"]: str(p["encapsulation"]) for p in plan["calico"]["pools"]}

    def rule(f, description, protocol=None, port=None, port_max=None, remote_group=None, prefix=None,
             direction="ingress"):
        out = {"direction": direction, "ethertype": ethertype[f], "description": description}
        if protocol:
            out["protocol"] = "ipv6-icmp" if (protocol == "icmp" and f == "ipv6") else protocol
        if port is not None:
            out["port_range_min"], out["port_range_max"] = port, port_max or port
        if remote_group:
            out["remote_group"] = remote_group
        if prefix:
            out["remote_ip_prefix"] = prefix
        return out

    rules = {"common": [], "gateways": [], "nodes": []}
    for f in fams:
        rules["common"] += [rule(f, "egress", direction="egress"),
                            rule(f, "ICMP" if f == "ipv4" else "ICMPv6 (NDP)", "icmp")]
        if f == "ipv6" and network["ipv6"]["mode"].startswith("dhcpv6"):
            rules["common"].append(rule(f, "DHCPv6", "udp", 546, 547, prefix="fe80::/10"))
        rules["gateways"] += [rule(f, "BGP from nodes", "tcp", 179, remote_group=sg["nodes"]),
                              rule(f, "VRRP between gateways", "vrrp", remote_group=sg["gateways"]),
                              rule(f, "WireGuard", "udp", wg["port"])]
        if len(gateways) > 1:
            rules["gateways"].append(rule(f, "WireGuard endpoint sync between gateways", "udp",
                                          wg["endpoint_sync_port"], remote_group=sg["gateways"]))
        rules["gateways"].append(rule(f, "Kubernetes API on the VIPs", "tcp", k8s["api_port"]))
        for fe in (plan.get("ingress") or {}).get("frontends", []):
            rules["gateways"].append(rule(f, "Ingress %s on the public VIPs" % fe["name"], "tcp", fe["port"]))
        rules["nodes"] += [rule(f, "BGP from gateways", "tcp", 179, remote_group=sg["gateways"]),
                           rule(f, "Kubernetes API from the gateways (HAProxy)", "tcp", k8s["api_port"],
                                remote_group=sg["gateways"]),
                           rule(f, "cluster-internal", remote_group=sg["nodes"]),
                           # routed by the gateways: WireGuard clients to nodes (and routable pods)
                           rule(f, "routed from the gateways (WireGuard clients)", remote_group=sg["gateways"])]
        if f == "ipv6" and plan.get("nat64"):
            rules["gateways"].append(rule(f, "NAT64 and DNS64 for the nodes", remote_group=sg["nodes"]))
        if any("VXLAN" in e for e in encaps.values()):
            rules["nodes"].append(rule(f, "Calico VXLAN", "udp", 4789, remote_group=sg["nodes"]))
        if f == "ipv4" and "IPIP" in encaps.get("ipv4", ""):
            rules["nodes"].append(rule(f, "Calico IPIP", "4", remote_group=sg["nodes"]))
    groups = [{"name": sg[k], "description": "dualstack.k8s %s" % k, "rules": rules[k]}
              for k in ("common", "gateways", "nodes")]

    # Pods' own addresses leave a node unencapsulated (so port security must allow them) with
    # encapsulation None, in CrossSubnet modes between nodes of one subnet, and in EVERY mode
    # towards the gateways, which are BGP peers and not Calico nodes (replies to WireGuard
    # clients, routed traffic). Gateways send with WireGuard client sources and hold the VIPs.
    node_pairs = [{"ip_address": c} for c in k8s["pod_subnets"]]
    gw_pairs = ([{"ip_address": vips[f]} for f in fams if vips[f]]
                + [{"ip_address": wg[f]["cidr"]} for f in fams if wg.get(f)]
                # NAT64 replies leave the gateway with sources inside the NAT64 prefix
                + ([{"ip_address": plan["nat64"]["prefix"]}] if plan.get("nat64") else []))
    ports = []
    for name, host in plan["hosts"].items():
        is_gw = name in gateways
        port = {"name": osp["port_names"][name],
                "fixed_ips": [{"subnet": subnet_names[f], "ip_address": host[f]} for f in fams if host.get(f)],
                "security_groups": [sg["common"], sg["gateways" if is_gw else "nodes"]],
                "allowed_address_pairs": gw_pairs if is_gw else node_pairs}
        if name in (osp.get("port_macs") or {}):
            port["mac_address"] = osp["port_macs"][name]
        ports.append(port)
    vip_ports = [{"name": osp["vip_port_names"][f], "fixed_ips": [{"subnet": subnet_names[f], "ip_address": vips[f]}]}
                 for f in fams if vips[f] and f in osp["vip_port_names"]]
    return {
        "openstack_network_cloud": osp["cloud"],
        "openstack_network_network": osp["network_name"],
        "openstack_network_subnets": subnets,
        "openstack_network_router": osp["router_name"] if osp["create_router"] else "",
        "openstack_network_external_network": (osp["external_network"] or "") if osp["create_router"] else "",
        "openstack_network_security_groups": groups,
        "openstack_network_ports": ports,
        "openstack_network_vip_ports": vip_ports,
    }


ROLE_FUNCTIONS = {
    "sysctl": sysctl_inputs,
    "wireguard": wireguard_inputs,
    "keepalived": keepalived_inputs,
    "haproxy": haproxy_inputs,
    "bird": bird_inputs,
    "nat64": nat64_inputs,
    "resolver": resolver_inputs,
    "kubeadm": kubeadm_inputs,
    "calico": calico_inputs,
    "check_dualstack": check_dualstack_inputs,
}


def host_summary(plan, name):
    """The host's own facts from the plan, for playbooks and reports (not role inputs)."""
    host = _host(plan, name)
    return {
        "dualstack_role": host["role"],
        "dualstack_ipv4": host.get("ipv4"),
        "dualstack_ipv6": host.get("ipv6"),
        "dualstack_node_ips": list(host["node_ips"]),
        "dualstack_primary_ip": host["primary_ip"],
    }


def host_inputs(plan, name):
    """Every variable the inventory sets on one host: its summary and the inputs of its roles."""
    roles = GATEWAY_ROLES if _host(plan, name)["role"] == "gateway" else NODE_ROLES
    out = host_summary(plan, name)
    for role in roles:
        out.update(ROLE_FUNCTIONS[role](plan, name))
    return out


def cluster_vars(plan):
    """The few cluster-wide facts set on group ``all`` (small: no per-host lists)."""
    return {
        "dualstack_cluster_name": plan["cluster"]["name"],
        "dualstack_ip_families": list(_fams(plan)),
        "dualstack_openstack": plan.get("openstack") is not None,
    }


def controller_inputs(plan):
    """Inputs of the roles that run on the controller, by role."""
    return {"openstack_network": openstack_network_inputs(plan) if plan.get("openstack") else {}}
