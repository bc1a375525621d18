# -*- coding: utf-8 -*-
# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE to the dualstack.k8s collection: the API may change without notice.
"""Cross-field rules of the config: what pydantic's per-field types cannot see.

``check_config(cfg)`` returns every ``(dotted_key, reason)`` it finds; it never stops at
the first one. Each key is the one the user has to change. This module and the model in
``config.py`` are the ONLY place where a config rule lives: the renderers (kubeadm, Calico,
Neutron) trust the validated plan. Every limit below names the tool and the source it
comes from, so a rule can be checked against the tool and not against a remembered case.

Rules that hold by construction (the model has one key per family, and ``plan.py`` orders
every list by ``cluster.ip_families``), so no config can break them and no check is needed:

- kubeadm: at most two pod / service CIDRs, one per family, primary family first
  (``pod_subnet_v4``/``_v6`` are single keys; ``families`` requires the listed ones);
- kubeadm: ``localAPIEndpoint.advertiseAddress`` has the family of the first service subnet
  (both are the primary family's: the host's primary address, the first service subnet);
- kubeadm: ``controlPlaneEndpoint`` is ``host:port`` with a bracketed IPv6 literal (the plan
  brackets the VIP; ``kubernetes.control_plane_endpoint`` is a DNS name, see ``endpoint``);
- kubelet ``node-ip`` in cluster family order; ``apiServer.certSANs`` hold both VIPs;
- Calico: one IPPool per family equal to the pod subnet, IPIP only on IPv4
  (``calico.encapsulation_v6`` has no IPIP value), encapsulation / nextHopMode / style values
  (``Literal`` types), one BGPPeer per family on that family's VIP, autodetection
  ``cidr=<node subnet>``;
- Neutron: ``ipv6_ra_mode``/``ipv6_address_mode`` only on the IPv6 subnet.
"""

from __future__ import annotations

import base64
import os

try:
    import netaddr
except ImportError:  # pragma: no cover - config.py reports the missing library
    netaddr = None

from ansible_collections.dualstack.k8s.plugins.plugin_utils.config import (
    FAMILIES,
    SUFFIX,
    per_family,
)
from ansible_collections.dualstack.k8s.plugins.plugin_utils import plan as P

ADDRESS_BITS = {"ipv4": 32, "ipv6": 128}

# kubeadm (cmd/kubeadm/app/apis/kubeadm/validation: ValidateServiceSubnetSize): a service
# subnet may use at most 20 host bits; kube-apiserver enforces the same (maxCIDRBits = 20).
MAX_SERVICE_HOST_BITS = 20
# kubeadm (ValidatePodSubnetNodeMask) and the controller manager's CIDR set: the node mask
# is at least the pod prefix and at most 16 bits longer.
MAX_NODE_MASK_DELTA = 16
# kubeadm (constants.GetDNSIP / GetAPIServerVirtualIP, utilnet.GetIndexedIP): the cluster DNS
# Service gets the 10th address of the FIRST service subnet, the kubernetes Service the 1st.
DNS_SERVICE_INDEX = 10
API_SERVICE_INDEX = 1
# Kubernetes "Considerations for large clusters": no more than 5,000 nodes.
MAX_NODES = 5000
# Calico IPPool blockSize (projectcalico.org/v3 IPPool reference): IPv4 20-32, IPv6 116-128.
BLOCK_LIMITS = {"ipv4": (20, 32), "ipv6": (116, 128)}
# Neutron (neutron.conf max_dns_nameservers, default 5; neutron_lib validate_nameservers
# refuses duplicates).
NEUTRON_MAX_DNS = 5
# keepalived (vrrp.c, vrrp_complete_instance): VRRPv3 (the role sets vrrp_version 3) counts
# the advertisement interval in centiseconds and rounds anything finer.
VRRP_ADVERT_UNIT = 0.01

# Special-purpose address blocks (IANA IPv4/IPv6 Special-Purpose Address Registries) that no
# subnet, VIP, router, gateway, DNS server or host address of a cluster may use.
SPECIAL_BLOCKS = {
    4: (("0.0.0.0/8", "'this network' (RFC 791; 0.0.0.0 is the unspecified address)"),
        ("127.0.0.0/8", "loopback (RFC 1122)"),
        ("169.254.0.0/16", "link-local (RFC 3927)"),
        ("224.0.0.0/4", "multicast (RFC 5771)"),
        ("240.0.0.0/4", "reserved (RFC 1112; includes the limited broadcast 255.255.255.255)")),
    6: (("::/128", "the unspecified address (RFC 4291)"),
        ("::1/128", "loopback (RFC 4291)"),
        ("::ffff:0:0/96", "IPv4-mapped (RFC 4291)"),
        ("fe80::/10", "link-local (RFC 4291)"),
        ("ff00::/8", "multicast (RFC 4291)")),
}

# TCP ports already bound on the hosts that bind kubernetes.api_port (kube-apiserver on the
# control-plane nodes binds all addresses; HAProxy binds the VIPs on the gateways).
# Sources: Kubernetes "Ports and Protocols"; kubeadm's static pods (etcd metrics 2381,
# kubelet healthz 10248, kube-proxy metrics 10249 on 127.0.0.1, which a wildcard bind
# collides with); Calico "Network requirements" (BGP 179, Typha 5473); sshd; bird.
CONTROL_PLANE_TCP_PORTS = {
    22: "sshd", 179: "Calico's BGP (bird in calico-node)", 2379: "etcd (client)", 2380: "etcd (peer)",
    2381: "etcd metrics (kubeadm, 127.0.0.1)", 5473: "Calico Typha", 10248: "kubelet healthz (127.0.0.1)",
    10249: "kube-proxy metrics (127.0.0.1)", 10250: "the kubelet API", 10256: "kube-proxy healthz",
    10257: "kube-controller-manager", 10259: "kube-scheduler",
}
GATEWAY_TCP_PORTS = {22: "sshd", 179: "bird (BGP to the nodes)"}
# kube-apiserver --service-node-port-range default: kube-proxy DNATs these ports on every node.
NODE_PORT_RANGE = (30000, 32767)
# UDP ports the gateways' own system already holds (systemd-resolved's stub listener on
# 127.0.0.53 collides with a wildcard bind; the DHCP clients of a cloud instance).
GATEWAY_UDP_PORTS = {53: "the DNS stub resolver (systemd-resolved)", 68: "the DHCPv4 client",
                     546: "the DHCPv6 client"}

# NAT64 prefix lengths (RFC 6052 section 2.2; tayga 0.9.2 `prefix`, unbound `dns64-prefix`).
NAT64_PREFIX_LENGTHS = (32, 40, 48, 56, 64, 96)
# Prefixes tayga refuses or that break private IPv4 targets (facts: shared/docs/nat64-dns64.md).
NAT64_REFUSED = (("64:ff9b:1::/48", "the local-use NAT64 prefix of RFC 8215, which tayga 0.9.2 refuses as "
                  "reserved: use a network-specific prefix such as fd64:64::/96"),)
# tayga's dynamic pool: one address for tayga, the others one per IPv6 client.
NAT64_POOL_PREFIX = (16, 30)
NAT64_MAX_UPSTREAMS = 8
ULA_BLOCK = "fc00::/7"

# Neutron (neutron_lib.db.constants.NAME_FIELD_SIZE): a resource name has at most 255 characters.
NEUTRON_NAME_MAX = 255
AUTO_ADDRESS_MODES = ("slaac", "dhcpv6-stateless")
# Neutron port names the plan gives the VIP ports: "<prefix>-vip-ipv4" / "<prefix>-vip-ipv6".
VIP_PORT_SUFFIXES = ("vip-ipv4", "vip-ipv6")
PREFIX_KEY = {"gateways.count": "gateways.name_prefix",
              "kubernetes.control_plane_count": "kubernetes.control_plane_prefix",
              "kubernetes.worker_count": "kubernetes.worker_prefix"}

_SPECIAL = {}


def special_block(net):
    """(block, description) of the special-purpose block an IPNetwork lies in or overlaps, or None."""
    if net.version not in _SPECIAL:
        _SPECIAL[net.version] = [(netaddr.IPNetwork(b), d) for b, d in SPECIAL_BLOCKS[net.version]]
    for block, what in _SPECIAL[net.version]:
        if _overlap(net, block):
            return block, what
    return None


def _fam_keys(family):
    """Every config key that carries a value of one family."""
    s = SUFFIX[family]
    return [
        "network.%s_cidr" % family, "network.%s_gateway" % family,
        "kubernetes.pod_subnet_%s" % s, "kubernetes.service_subnet_%s" % s, "kubernetes.node_mask_%s" % s,
        "wireguard.%s_cidr" % family, "wireguard.%s_gw" % family,
        "gateways.vip_%s" % s, "gateways.export_extra_%s" % s,
    ]


def _get(cfg, dotted):
    section, key = dotted.split(".")
    return getattr(getattr(cfg, section), key)


def _overlap(a, b):
    return a.version == b.version and a.first <= b.last and b.first <= a.last


def _fmt_ip(value, version):
    return str(netaddr.IPAddress(value, version))


class _Checker(object):
    def __init__(self, cfg, base_dir):
        self.cfg = cfg
        self.base_dir = base_dir
        self.errors = []
        self.fams = list(cfg.cluster.ip_families)

    def err(self, key, msg):
        self.errors.append((key, msg))

    # ---------------------------------------------------------------------------------------
    def families(self):
        fams = self.fams
        if not fams or len(fams) > 2:
            self.err("cluster.ip_families", "must list one or two families, got %d" % len(fams))
        if len(set(fams)) != len(fams):
            self.err("cluster.ip_families", "lists a family twice: %s" % fams)
        required = ["network.%s_cidr", "kubernetes.pod_subnet_%s", "kubernetes.service_subnet_%s"]
        for f in FAMILIES:
            s = SUFFIX[f]
            if f in fams:
                for tmpl in required:
                    key = tmpl % (f if tmpl.startswith("network") else s)
                    if not _get(self.cfg, key):
                        self.err(key, "required: %s is listed in cluster.ip_families" % f)
                continue
            for key in _fam_keys(f):
                value = _get(self.cfg, key)
                if value not in (None, [], ""):
                    self.err(key, "is set, but %s is not listed in cluster.ip_families %s" % (f, fams))
            for spec in P.host_specs(self.cfg):
                if spec.explicit.get(f):
                    self.err("%s.%s" % (spec.key, f), "is set, but %s is not listed in cluster.ip_families" % f)
            for i, peer in enumerate(self.cfg.wireguard.peers):
                if getattr(peer, f):
                    self.err("wireguard.peers[%d].%s" % (i, f), "is set, but %s is not listed in cluster.ip_families" % f)
            for i, server in enumerate(self.cfg.network.dns_servers):
                if netaddr.IPAddress(server).version == (4 if f == "ipv4" else 6):
                    self.err("network.dns_servers[%d]" % i, "%s is an %s address, but %s is not listed in "
                             "cluster.ip_families (the node subnets would never hand it out)" % (server, f, f))
        wg_any = any(getattr(self.cfg.wireguard, "%s_cidr" % f) for f in FAMILIES)
        if wg_any:
            for f in fams:
                if not getattr(self.cfg.wireguard, "%s_cidr" % f):
                    self.err("wireguard.%s_cidr" % f, "required: WireGuard is configured and %s is a cluster "
                             "family (clients need a tunnel address of every family)" % f)
        if self.cfg.wireguard.peers and not wg_any:
            self.err("wireguard.peers", "peers are listed but no WireGuard subnet (wireguard.ipv4_cidr / ipv6_cidr)")
        for name, cidr, gw in (("ipv4", "wireguard.ipv4_cidr", "wireguard.ipv4_gw"),
                               ("ipv6", "wireguard.ipv6_cidr", "wireguard.ipv6_gw")):
            if _get(self.cfg, gw) and not _get(self.cfg, cidr):
                self.err(gw, "is set without %s" % cidr)

    def ready(self, f):
        """Whether a family has what the size rules need (missing keys were reported already)."""
        return (f in self.fams and getattr(self.cfg.network, "%s_cidr" % f)
                and per_family(self.cfg.kubernetes, "pod_subnet", f)
                and per_family(self.cfg.kubernetes, "service_subnet", f))

    # ---------------------------------------------------------------------------------------
    def special_ranges(self):
        """No subnet, VIP, router, gateway, DNS server or address in a special-purpose block."""
        cfg = self.cfg
        values = []  # (key, value, is_subnet)
        for f in FAMILIES:
            s = SUFFIX[f]
            values += [("network.%s_cidr" % f, getattr(cfg.network, "%s_cidr" % f), True),
                       ("network.%s_gateway" % f, getattr(cfg.network, "%s_gateway" % f), False),
                       ("kubernetes.pod_subnet_%s" % s, per_family(cfg.kubernetes, "pod_subnet", f), True),
                       ("kubernetes.service_subnet_%s" % s, per_family(cfg.kubernetes, "service_subnet", f), True),
                       ("wireguard.%s_cidr" % f, getattr(cfg.wireguard, "%s_cidr" % f), True),
                       ("wireguard.%s_gw" % f, (getattr(cfg.wireguard, "%s_gw" % f) or "").split("/")[0] or None,
                        False),
                       ("gateways.vip_%s" % s, per_family(cfg.gateways, "vip", f), False),
                       ("gateways.public_vip_%s" % s, per_family(cfg.gateways, "public_vip", f), False)]
            values += [("gateways.export_extra_%s[%d]" % (s, i), v, True)
                       for i, v in enumerate(per_family(cfg.gateways, "export_extra", f))]
            if cfg.lab is not None:
                values.append(("lab.external_cidr_%s" % s, per_family(cfg.lab, "external_cidr", f), True))
            for spec in P.host_specs(cfg):
                values.append(("%s.%s" % (spec.key, f), spec.explicit.get(f), False))
            for i, peer in enumerate(cfg.wireguard.peers):
                values.append(("wireguard.peers[%d].%s" % (i, f), getattr(peer, f), False))
        values += [("network.dns_servers[%d]" % i, v, False) for i, v in enumerate(cfg.network.dns_servers)]
        for key, value, is_subnet in values:
            if not value:
                continue
            net = netaddr.IPNetwork(value)
            if not is_subnet:
                net = netaddr.IPNetwork("%s/%d" % (net.ip, 32 if net.version == 4 else 128))
            hit = special_block(net)
            if hit is None:
                continue
            block, what = hit
            if is_subnet:
                self.err(key, "%s overlaps %s, %s: a special-purpose range, not usable as a cluster subnet"
                         % (net.cidr, block.cidr, what))
            else:
                self.err(key, "%s is %s (%s): a special-purpose address, not usable as a host, VIP, router "
                         "or server address" % (net.ip, what, block.cidr))

    # ---------------------------------------------------------------------------------------
    def exclusive(self):
        pairs = [("gateways.count", "gateways.hosts"),
                 ("kubernetes.control_plane_count", "kubernetes.control_plane"),
                 ("kubernetes.worker_count", "kubernetes.workers")]
        for a, b in pairs:
            if _get(self.cfg, a) is not None and _get(self.cfg, b) is not None:
                self.err(b, "set either %s or %s, not both" % (a, b))

    def _name_key(self, spec):
        """The key that decides a host's name: its entry's name, or the counted role's prefix."""
        if spec.key in PREFIX_KEY:
            return PREFIX_KEY[spec.key]
        return "%s.name" % spec.key

    def _prefix_set(self, key):
        section, field = key.split(".")
        return field in getattr(self.cfg, section).model_fields_set

    def names(self):
        seen = {}
        for spec in P.host_specs(self.cfg):
            if spec.name not in seen:
                seen[spec.name] = spec
                continue
            first = seen[spec.name]
            blame, other = self._name_key(spec), self._name_key(first)
            counted, counted_other = blame in PREFIX_KEY.values(), other in PREFIX_KEY.values()
            if counted and not counted_other:
                # an explicit name clashes with a counted one: the explicit name is the one to change
                blame, other = other, blame
            elif counted and counted_other and blame != other \
                    and self._prefix_set(other) and not self._prefix_set(blame):
                # two counted roles whose prefixes clash: blame the prefix the user changed
                blame, other = other, blame
            self.err(blame, "host name %r is used twice (also by %s)" % (spec.name, other))
        if self.cfg.openstack is not None:
            osp = self.cfg.openstack
            prefix = osp.name_prefix or self.cfg.cluster.name
            suffix = max([len(n) for n in seen] + [len("subnet-ipv4"), len("gateways")])
            if len(prefix) + 1 + suffix > NEUTRON_NAME_MAX:
                self.err("openstack.name_prefix" if osp.name_prefix else "cluster.name",
                         "%r is %d characters long: Neutron names <prefix>-<host or resource> would exceed %d "
                         "characters (at most %d here)" % (prefix[:20] + "...", len(prefix), NEUTRON_NAME_MAX,
                                                           NEUTRON_NAME_MAX - 1 - suffix))
            for name, spec in seen.items():
                if name in VIP_PORT_SUFFIXES:
                    self.err(self._name_key(spec), "host name %r: its Neutron port would be named like the "
                             "%s VIP port (<name_prefix>-%s)" % (name, name.split("-")[1], name))
        peers = {}
        for i, peer in enumerate(self.cfg.wireguard.peers):
            if peer.name in peers:
                self.err("wireguard.peers[%d].name" % i, "peer name %r is used twice" % peer.name)
            peers[peer.name] = i
        lab = self.cfg.lab
        if lab is not None and lab.wireguard_client:
            if lab.wireguard_client not in peers:
                self.err("lab.wireguard_client", "%r is not a wireguard.peers name (%s)" % (
                    lab.wireguard_client, ", ".join(sorted(peers)) or "none"))
            elif lab.wireguard_client in seen:
                self.err("lab.wireguard_client", "%r is also a host name: the lab runs one container per "
                         "name" % lab.wireguard_client)
        nodes = [spec for spec in seen.values() if spec.role != "gateway"]
        if len(nodes) > MAX_NODES:
            k = self.cfg.kubernetes
            self.err("kubernetes.workers" if k.workers is not None else "kubernetes.worker_count",
                     "%d Kubernetes nodes: Kubernetes supports at most %d per cluster" % (len(nodes), MAX_NODES))

    # ---------------------------------------------------------------------------------------
    def overlaps(self):
        nets = []
        for f in self.fams:
            s = SUFFIX[f]
            for key in ("network.%s_cidr" % f, "kubernetes.pod_subnet_%s" % s,
                        "kubernetes.service_subnet_%s" % s, "wireguard.%s_cidr" % f):
                value = _get(self.cfg, key)
                if value:
                    nets.append((key, netaddr.IPNetwork(value)))
            if self.cfg.lab is not None:
                value = per_family(self.cfg.lab, "external_cidr", f)
                if value:
                    nets.append(("lab.external_cidr_%s" % s, netaddr.IPNetwork(value)))
        for i, (ka, na) in enumerate(nets):
            for kb, nb in nets[i + 1:]:
                if _overlap(na, nb):
                    self.err(kb, "%s overlaps %s = %s" % (nb.cidr, ka, na.cidr))

    def export_extra(self):
        """Extra prefixes bird exports to the nodes must not cover the cluster's own networks."""
        for f in self.fams:
            s = SUFFIX[f]
            own = [("network.%s_cidr" % f, getattr(self.cfg.network, "%s_cidr" % f)),
                   ("kubernetes.pod_subnet_%s" % s, per_family(self.cfg.kubernetes, "pod_subnet", f)),
                   ("kubernetes.service_subnet_%s" % s, per_family(self.cfg.kubernetes, "service_subnet", f))]
            for i, prefix in enumerate(per_family(self.cfg.gateways, "export_extra", f)):
                net = netaddr.IPNetwork(prefix)
                for key, value in own:
                    if value and _overlap(net, netaddr.IPNetwork(value)):
                        self.err("gateways.export_extra_%s[%d]" % (s, i), "%s overlaps %s = %s: the gateways would "
                                 "announce the cluster's own network back to the nodes" % (net.cidr, key, value))

    def sizes(self):
        k = self.cfg.kubernetes
        for f in self.fams:
            if not self.ready(f):
                continue
            s = SUFFIX[f]
            bits = ADDRESS_BITS[f]
            svc_key = "kubernetes.service_subnet_%s" % s
            svc = netaddr.IPNetwork(per_family(k, "service_subnet", f))
            if bits - svc.prefixlen > MAX_SERVICE_HOST_BITS:
                self.err(svc_key, "%s is too large: kubeadm allows at most %d host bits "
                         "(/%d or smaller)" % (svc.cidr, MAX_SERVICE_HOST_BITS, bits - MAX_SERVICE_HOST_BITS))
            if f == self.fams[0]:
                # kubeadm: DNS Service = 10th address, kubernetes Service = 1st, of the first subnet
                # (IPv4: the last address is the broadcast address, not a Service address)
                if svc.size <= DNS_SERVICE_INDEX + (f == "ipv4"):
                    self.err(svc_key, "%s is too small: kubeadm gives the cluster DNS Service its %dth address "
                             "and the kubernetes Service its 1st (at least a /%d)" % (
                                 svc.cidr, DNS_SERVICE_INDEX, 28 if f == "ipv4" else 124))
            elif svc.size <= API_SERVICE_INDEX + (f == "ipv4"):
                self.err(svc_key, "%s is too small: kube-apiserver has no Service address to allocate in it "
                         "(at least a /%d)" % (svc.cidr, 30 if f == "ipv4" else 127))
            pod = netaddr.IPNetwork(per_family(k, "pod_subnet", f))
            mask = P.node_mask(self.cfg, f)
            mask_key = "kubernetes.node_mask_%s" % s
            if mask < pod.prefixlen:
                self.err(mask_key, "/%d is shorter than the pod subnet %s: a node CIDR must fit in the pod subnet"
                         % (mask, pod.cidr))
            elif mask - pod.prefixlen > MAX_NODE_MASK_DELTA:
                self.err(mask_key, "/%d is more than %d bits longer than the pod subnet %s (kubeadm limit)"
                         % (mask, MAX_NODE_MASK_DELTA, pod.cidr))
            if mask > bits:
                self.err(mask_key, "/%d is longer than an %s address" % (mask, f))
            nodes = sum(1 for spec in P.host_specs(self.cfg) if spec.role != "gateway")
            if pod.prefixlen <= mask <= bits and nodes > 2 ** (mask - pod.prefixlen):
                self.err(mask_key, "/%d node CIDRs: the pod subnet %s holds %d of them, the plan has %d nodes"
                         % (mask, pod.cidr, 2 ** (mask - pod.prefixlen), nodes))
            block = per_family(self.cfg.calico, "block_size", f)
            lo, hi = BLOCK_LIMITS[f]
            block_key = "calico.block_size_%s" % s
            if not lo <= block <= hi:
                self.err(block_key, "%d is outside Calico's range %d-%d for %s" % (block, lo, hi, f))
            elif block < mask:
                self.err(block_key, "/%d blocks are larger than the node CIDR /%d (%s) allows" % (block, mask, mask_key))
            elif block < pod.prefixlen:
                self.err(block_key, "/%d blocks are larger than the pod subnet %s" % (block, pod.cidr))
        if "ipv6" in self.fams and self.cfg.network.ipv6_cidr:
            net = netaddr.IPNetwork(self.cfg.network.ipv6_cidr)
            mode = self.cfg.network.ipv6_mode
            if mode in AUTO_ADDRESS_MODES and net.prefixlen != 64:
                self.err("network.ipv6_mode", "%s needs a /64 node subnet (Neutron rejects it on %s); use "
                         "dhcpv6-stateful or a /64 network.ipv6_cidr" % (mode, net.cidr))
        v4 = self.cfg.network.ipv4_cidr
        if "ipv4" in self.fams and v4 and netaddr.IPNetwork(v4).prefixlen > 29:
            self.err("network.ipv4_cidr", "a /%d has no room for a router, gateways and nodes (at most /29)"
                     % netaddr.IPNetwork(v4).prefixlen)
        if self.cfg.gateways.as_number == self.cfg.calico.as_number:
            self.err("gateways.as_number", "%d equals calico.as_number: the gateways peer with the nodes over eBGP, "
                     "use another AS" % self.cfg.gateways.as_number)

    # ---------------------------------------------------------------------------------------
    def endpoint(self):
        """kubernetes.control_plane_endpoint is a DNS name; kubeadm takes an all-numeric one as an IP."""
        name = self.cfg.kubernetes.control_plane_endpoint
        if name and name.rsplit(".", 1)[-1].isdigit():
            self.err("kubernetes.control_plane_endpoint", "%r is not a DNS name (its last label is numeric; "
                     "kubeadm would read an IP literal): give a DNS name, or leave it unset to use the "
                     "primary VIP (gateways.vip_v4 / vip_v6)" % name)

    def ports(self):
        cfg = self.cfg
        api = cfg.kubernetes.api_port
        key = "kubernetes.api_port"
        if api in CONTROL_PLANE_TCP_PORTS:
            self.err(key, "%d is the port of %s on the control-plane nodes, where kube-apiserver binds it"
                     % (api, CONTROL_PLANE_TCP_PORTS[api]))
        elif api in GATEWAY_TCP_PORTS:
            self.err(key, "%d is the port of %s on the gateways, where HAProxy binds it" % (api, GATEWAY_TCP_PORTS[api]))
        if NODE_PORT_RANGE[0] <= api <= NODE_PORT_RANGE[1]:
            self.err(key, "%d is inside the NodePort range %d-%d (kube-apiserver's --service-node-port-range "
                     "default): kube-proxy would redirect it to a Service on every node"
                     % ((api,) + NODE_PORT_RANGE))
        sync = P.wg_sync_port(cfg)
        if sync == cfg.wireguard.port:
            self.err("wireguard.endpoint_sync_port", "%d is also wireguard.port: the endpoint sync needs a port "
                     "of its own" % cfg.wireguard.port)
        if not any(getattr(cfg.wireguard, "%s_cidr" % f) for f in FAMILIES):
            return
        ports = [("wireguard.port", cfg.wireguard.port)]
        if sum(1 for spec in P.host_specs(cfg) if spec.role == "gateway") > 1:  # one gateway syncs with nobody
            ports.append(("wireguard.endpoint_sync_port", sync))
        for wkey, port in ports:
            if port in GATEWAY_UDP_PORTS:
                blame = wkey if (wkey == "wireguard.port" or cfg.wireguard.endpoint_sync_port) else "wireguard.port"
                self.err(blame, "UDP %d is the port of %s on the gateways%s" % (
                    port, GATEWAY_UDP_PORTS[port],
                    "" if blame == wkey else " (the endpoint sync takes wireguard.port + 1 by default)"))

    def vrrp(self):
        advert = self.cfg.gateways.vrrp_advert_int
        cents = advert / VRRP_ADVERT_UNIT
        if abs(cents - round(cents)) > 1e-6:
            self.err("gateways.vrrp_advert_int", "%s s: keepalived (VRRPv3) counts in units of 10 ms and would "
                     "round it to %.2f s" % (advert, round(cents) * VRRP_ADVERT_UNIT))

    def dns_servers(self):
        """Neutron: at most max_dns_nameservers (5) per subnet, no duplicates."""
        seen = {}
        per_version = {4: 0, 6: 0}
        for i, server in enumerate(self.cfg.network.dns_servers):
            addr = netaddr.IPAddress(server)
            key = "network.dns_servers[%d]" % i
            if int(addr) in seen.get(addr.version, {}):
                self.err(key, "%s is listed twice (also network.dns_servers[%d]); Neutron refuses duplicate "
                         "nameservers" % (server, seen[addr.version][int(addr)]))
                continue
            seen.setdefault(addr.version, {})[int(addr)] = i
            per_version[addr.version] += 1
            if per_version[addr.version] == NEUTRON_MAX_DNS + 1:
                self.err(key, "more than %d IPv%d servers: Neutron takes at most %d per subnet "
                         "(max_dns_nameservers)" % (NEUTRON_MAX_DNS, addr.version, NEUTRON_MAX_DNS))

    # ---------------------------------------------------------------------------------------
    def addresses(self):
        cfg = self.cfg
        net_cfg = cfg.network
        offsets = [("network.gateway_offset", "gateway"), ("network.control_plane_offset", "control_plane"),
                   ("network.worker_offset", "worker")]
        counts = {"gateway": 0, "control_plane": 0, "worker": 0}
        specs = P.host_specs(cfg)
        for spec in specs:
            if not spec.explicit.get("ipv4") and not spec.explicit.get("ipv6"):
                counts[spec.role] = max(counts[spec.role], spec.index + 1)
        # the three derived ranges must not overlap
        ranges = sorted((getattr(net_cfg, key.split(".")[1]), counts[role], key, role) for key, role in offsets)
        for (a_off, a_n, a_key, a_role), (b_off, b_n, b_key, b_role) in zip(ranges, ranges[1:]):
            if a_n and a_off + a_n > b_off and b_n:
                self.err(b_key, "offset %d collides with the %d %s address(es) planned from %s = %d"
                         % (b_off, a_n, a_role.replace("_", "-"), a_key, a_off))
        auto6 = cfg.openstack is not None and net_cfg.ipv6_mode in AUTO_ADDRESS_MODES
        for f in self.fams:
            net = netaddr.IPNetwork(getattr(net_cfg, "%s_cidr" % f))
            s = SUFFIX[f]
            v = net.version
            # Neutron (ipam.utils.check_subnet_ip): no port takes the network address (on IPv6 the
            # subnet-router anycast address, RFC 4291 2.6.1) nor, on IPv4, the broadcast address.
            # IPv6 has no broadcast: its last address is a host address Neutron hands out.
            reserved = {net.first: "the subnet's network address" if v == 4 else
                        "the subnet-router anycast address (RFC 4291), the subnet's first address"}
            if v == 4:
                reserved[net.last] = "the subnet's broadcast address"
            # The DHCP allocation pool (plan: offsets 2 .. gateway_offset - 1). Neutron
            # (validate_allocation_pools) keeps it inside the usable range and refuses a gateway in it.
            pool = (net.first + 2, net.first + net_cfg.gateway_offset - 1)
            usable_last = net.last - 1 if v == 4 and net.prefixlen <= 30 else net.last
            pool_ok = pool[1] <= usable_last
            if not pool_ok:
                self.err("network.gateway_offset", "%d: the DHCP allocation pool (offsets 2..%d) ends outside "
                         "network.%s_cidr %s" % (net_cfg.gateway_offset, net_cfg.gateway_offset - 1, f, net.cidr))
            pool_text = "the DHCP allocation pool %s-%s (offsets 2..%d below network.gateway_offset)" % (
                _fmt_ip(pool[0], v), _fmt_ip(min(pool[1], net.last), v), net_cfg.gateway_offset - 1)

            def in_pool(addr):
                return pool[0] <= int(addr) <= pool[1]

            router = P.router_address(cfg, f)
            gw_key = "network.%s_gateway" % f
            if router not in net:
                self.err(gw_key, "%s is outside network.%s_cidr %s" % (router, f, net.cidr))
            elif int(router) in reserved:
                self.err(gw_key, "%s is %s" % (router, reserved[int(router)]))
            elif in_pool(router):
                self.err(gw_key, "%s is inside %s; Neutron refuses a gateway in the pool" % (router, pool_text))
            used = dict(reserved)
            used[int(router)] = "the router address (%s)" % gw_key
            outside = set()  # roles already reported as not fitting (one error per role, not per host)
            for spec in specs:
                addr = _address(P.planned_address, cfg, f, spec, net)
                explicit = bool(spec.explicit.get(f))
                key = "%s.%s" % (spec.key, f) if explicit else spec.key
                if addr is PAST_END or addr not in net or (v == 4 and int(addr) == net.last):
                    if explicit:
                        self.err(key, "%s is outside network.%s_cidr %s" % (addr, f, net.cidr)
                                 if addr is PAST_END or addr not in net else "%s is %s" % (addr, reserved[int(addr)]))
                    elif spec.role not in outside:
                        outside.add(spec.role)
                        off_key = "network.%s" % P.ROLE_OFFSET[spec.role]
                        offset = getattr(net_cfg, P.ROLE_OFFSET[spec.role])
                        where = "is outside %s" % net.cidr if addr is PAST_END or addr not in net else \
                            "is the broadcast address of %s" % net.cidr
                        if spec.index == 0:
                            # the offset itself lies past the subnet
                            self.err(off_key, "%d: the first %s, %s, would get %s, which %s" % (
                                offset, spec.role.replace("_", "-"), spec.name, addr, where))
                        else:
                            self.err("network.%s_cidr" % f, "%s for host %s %s: the subnet is too small for the "
                                     "hosts planned from %s = %d" % (addr, spec.name, where, off_key, offset))
                    continue
                if int(addr) in used:
                    self.err(key, "%s for host %s is already %s" % (addr, spec.name, used[int(addr)]))
                    continue
                if in_pool(addr) and not (f == "ipv6" and auto6 and not explicit):
                    if explicit:
                        self.err(key, "%s for host %s is inside %s: Neutron's DHCP port may take it first"
                                 % (addr, spec.name, pool_text))
                    else:
                        off_key = "network.%s" % P.ROLE_OFFSET[spec.role]
                        self.err(off_key, "%d puts host %s at %s, inside %s" % (
                            getattr(net_cfg, P.ROLE_OFFSET[spec.role]), spec.name, addr, pool_text))
                if f == "ipv6" and auto6 and explicit and not _is_eui64(addr):
                    self.err(key, "%s is not an EUI-64 address: with network.ipv6_mode = %s Neutron gives a port "
                             "only the address derived from its MAC (the xx:xx:xx:ff:fe:xx:xx:xx interface id)"
                             % (addr, net_cfg.ipv6_mode))
                used[int(addr)] = "the address of host %s" % spec.name
            vip = P.vip_address(cfg, f)
            vip_key = "gateways.vip_%s" % s
            if vip not in net:
                self.err(vip_key, "%s is outside network.%s_cidr %s" % (vip, f, net.cidr))
            elif int(vip) in used:
                self.err(vip_key, "%s is %s" % (vip, used[int(vip)]))
            elif in_pool(vip):
                self.err(vip_key, "%s is inside %s: Neutron may hand it to another port" % (vip, pool_text))
        self.public_vips()
        self.lab_external()

    def public_vips(self):
        """A public VIP is what clients reach from outside: never inside one of the cluster's own networks."""
        cfg = self.cfg
        own = []
        for f in self.fams:
            s = SUFFIX[f]
            own += [("network.%s_cidr" % f, getattr(cfg.network, "%s_cidr" % f), "the node subnet"),
                    ("kubernetes.pod_subnet_%s" % s, per_family(cfg.kubernetes, "pod_subnet", f), "the pod subnet"),
                    ("kubernetes.service_subnet_%s" % s, per_family(cfg.kubernetes, "service_subnet", f),
                     "the service subnet"),
                    ("wireguard.%s_cidr" % f, getattr(cfg.wireguard, "%s_cidr" % f),
                     "the WireGuard subnet (clients would route the tunnel's own endpoint into the tunnel)")]
            own += [("gateways.export_extra_%s[%d]" % (s, i), v, "a prefix the gateways route to the nodes")
                    for i, v in enumerate(per_family(cfg.gateways, "export_extra", f))]
        for f in FAMILIES:
            s = SUFFIX[f]
            key = "gateways.public_vip_%s" % s
            public = per_family(cfg.gateways, "public_vip", f)
            if not public:
                continue
            addr = netaddr.IPAddress(public)
            for okey, value, what in own:
                if value and addr in netaddr.IPNetwork(value):
                    self.err(key, "%s is inside %s %s (%s); it must be an address clients reach from outside"
                             % (public, what, value, okey))
                    break

    def lab_external(self):
        cfg = self.cfg
        if cfg.lab is None:
            return
        if cfg.lab.outside_host and not cfg.lab.external_cidr_v4:
            self.err("lab.external_cidr_v4", "required: lab.outside_host is an IPv4-only host on the external network")
        if cfg.lab.ingress_client and not cfg.lab.external_cidr_v6:
            self.err("lab.external_cidr_v6", "required: lab.ingress_client is an IPv6-only host on the external network")
        names = {spec.name for spec in P.host_specs(cfg)} | {cfg.lab.wireguard_client}
        if cfg.lab.outside_host in names:
            self.err("lab.outside_host", "%s is already a host of the lab" % cfg.lab.outside_host)
        if cfg.lab.ingress_client and cfg.lab.ingress_client in names | {cfg.lab.outside_host}:
            self.err("lab.ingress_client", "%s is already a host of the lab" % cfg.lab.ingress_client)
        gateways = [spec for spec in P.host_specs(cfg) if spec.role == "gateway"]
        for f in FAMILIES:
            s = SUFFIX[f]
            ext_value = per_family(cfg.lab, "external_cidr", f)
            if not ext_value:
                continue
            ext = netaddr.IPNetwork(ext_value)
            v = ext.version
            taken = {ext.first: "its network address", ext.first + 1: "the lab's external gateway"}
            if v == 4:
                taken[ext.last] = "its broadcast address"
            offsets = [(spec.name, cfg.network.gateway_offset + i) for i, spec in enumerate(gateways)]
            if cfg.lab.wireguard_client:
                offsets.append((cfg.lab.wireguard_client, P.LAB_EXTERNAL_CLIENT_OFFSET))
            if cfg.lab.outside_host and f == "ipv4":
                offsets.append((cfg.lab.outside_host, P.LAB_OUTSIDE_OFFSET))
            if cfg.lab.ingress_client and f == "ipv6":
                offsets.append((cfg.lab.ingress_client, P.LAB_INGRESS_CLIENT_OFFSET))
            for name, offset in offsets:
                addr = ext.first + offset
                if addr > ext.last or addr in taken:
                    self.err("lab.external_cidr_%s" % s, "%s is too small: the lab puts %s at offset %d" % (
                        ext.cidr, name, offset))
                    break
                taken[addr] = "the external address of %s" % name
            public = per_family(cfg.gateways, "public_vip", f)
            if public:
                addr = netaddr.IPAddress(public)
                if addr not in ext or int(addr) in taken:
                    self.err("gateways.public_vip_%s" % s, "%s must be a free host address inside lab.external_cidr_%s "
                             "%s (%s)" % (public, s, ext.cidr, taken.get(int(addr), "outside")))

    def wireguard(self):
        cfg = self.cfg
        wg_fams = [f for f in self.fams if getattr(cfg.wireguard, "%s_cidr" % f)]
        for f in wg_fams:
            net = netaddr.IPNetwork(getattr(cfg.wireguard, "%s_cidr" % f))
            gw_key = "wireguard.%s_gw" % f
            raw = getattr(cfg.wireguard, "%s_gw" % f)
            if raw and "/" in raw and int(raw.split("/")[1]) != net.prefixlen:
                self.err(gw_key, "prefix /%s differs from wireguard.%s_cidr %s" % (raw.split("/")[1], f, net.cidr))
            gw = P.wg_gateway_address(cfg, f)
            if gw not in net:
                self.err(gw_key, "%s is outside wireguard.%s_cidr %s" % (gw, f, net.cidr))
                continue
            reserved = {net.first: "the network address of %s" % net.cidr if f == "ipv4" else
                        "the subnet-router anycast address of %s (RFC 4291)" % net.cidr}
            if f == "ipv4":
                reserved[net.last] = "the broadcast address of %s" % net.cidr
            if int(gw) in reserved:
                self.err(gw_key, "%s is %s" % (gw, reserved[int(gw)]))
            used = dict(reserved)
            used[int(gw)] = "the WireGuard gateway"
            for i, peer in enumerate(cfg.wireguard.peers):
                addr = _address(P.peer_address, cfg, f, i, peer)
                explicit = bool(getattr(peer, f))
                key = "wireguard.peers[%d].%s" % (i, f) if explicit else "wireguard.peers[%d]" % i
                if addr is PAST_END or addr not in net:
                    if explicit:
                        self.err(key, "%s for peer %s is outside wireguard.%s_cidr %s" % (addr, peer.name, f, net.cidr))
                    else:
                        self.err("wireguard.%s_cidr" % f, "%s for peer %s is outside %s: the subnet is too small for "
                                 "%d peers" % (addr, peer.name, net.cidr, len(cfg.wireguard.peers)))
                elif int(addr) in reserved and not explicit:
                    self.err("wireguard.%s_cidr" % f, "%s for peer %s is %s: the subnet is too small for %d peers"
                             % (addr, peer.name, reserved[int(addr)], len(cfg.wireguard.peers)))
                elif int(addr) in used:
                    self.err(key, "%s for peer %s is already %s" % (addr, peer.name, used[int(addr)]))
                else:
                    used[int(addr)] = "peer %s" % peer.name

    def peer_keys(self):
        keys = {}
        for i, peer in enumerate(self.cfg.wireguard.peers):
            key = "wireguard.peers[%d]" % i
            if bool(peer.public_key) == bool(peer.public_key_file):
                self.err(key + ".public_key", "set exactly one of public_key or public_key_file for peer %s" % peer.name)
                continue
            field = key + (".public_key" if peer.public_key else ".public_key_file")
            text = peer.public_key
            if peer.public_key_file:
                try:
                    text = P.read_public_key(peer, self.base_dir)
                except OSError as exc:
                    self.err(field, "cannot read %s: %s" % (peer.public_key_file, exc.strerror))
                    continue
                from ansible_collections.dualstack.k8s.plugins.plugin_utils.config import _wg_key
                try:
                    _wg_key(text)
                except ValueError as exc:
                    self.err(field, "%s %s" % (peer.public_key_file, exc))
                    continue
            raw = base64.b64decode(text)
            if raw in keys:
                j, name = keys[raw]
                self.err(field, "peer %s has the public key of wireguard.peers[%d] (%s): WireGuard tells peers "
                         "apart by key, so one of them would lose its tunnel" % (peer.name, j, name))
            else:
                keys[raw] = (i, peer.name)

    def nat64(self):
        """NAT64/DNS64 on the gateways: tayga's and unbound's limits, no clash with the cluster's networks."""
        cfg = self.cfg
        n = cfg.nat64
        if not n.enabled:
            return
        if "ipv6" not in self.fams:
            self.err("nat64.enabled", "NAT64 lets IPv6 clients reach IPv4: it needs ipv6 in cluster.ip_families %s"
                     % self.fams)
            return
        prefix = netaddr.IPNetwork(n.prefix)
        if prefix.prefixlen not in NAT64_PREFIX_LENGTHS:
            self.err("nat64.prefix", "/%d is not a NAT64 prefix length: RFC 6052 (tayga, unbound dns64-prefix) "
                     "allows /%s" % (prefix.prefixlen, ", /".join(str(x) for x in NAT64_PREFIX_LENGTHS)))
        elif prefix.ip != prefix.network:
            self.err("nat64.prefix", "%s has host bits set: write %s" % (n.prefix, prefix.cidr))
        elif (int(prefix.ip) >> 56) & 0xFF:
            self.err("nat64.prefix", "%s: bits 64-71 of a NAT64 address must be zero (RFC 6052 section 2.2)"
                     % prefix.cidr)
        for block, what in NAT64_REFUSED:
            if _overlap(prefix, netaddr.IPNetwork(block)):
                self.err("nat64.prefix", "%s overlaps %s, %s" % (prefix.cidr, block, what))
        hit = special_block(prefix)
        if hit:
            self.err("nat64.prefix", "%s overlaps %s, %s: a special-purpose range" % (prefix.cidr, hit[0].cidr, hit[1]))
        pool = netaddr.IPNetwork(n.ipv4_pool)
        if not NAT64_POOL_PREFIX[0] <= pool.prefixlen <= NAT64_POOL_PREFIX[1]:
            self.err("nat64.ipv4_pool", "/%d: the pool must be a /%d to /%d (its first address is tayga's own, the "
                     "rest one per IPv6 client)" % ((pool.prefixlen,) + NAT64_POOL_PREFIX))
        hit = special_block(pool)
        if hit:
            self.err("nat64.ipv4_pool", "%s overlaps %s, %s: a special-purpose range" % (pool.cidr, hit[0].cidr, hit[1]))
        for f, net, key in ((6, prefix, "nat64.prefix"), (4, pool, "nat64.ipv4_pool")):
            for okey, value in self._own_networks(f):
                if value and _overlap(net, netaddr.IPNetwork(value)):
                    self.err(key, "%s overlaps %s = %s" % (net.cidr, okey, value))
        if len(n.dns64_upstreams) > NAT64_MAX_UPSTREAMS:
            self.err("nat64.dns64_upstreams", "%d resolvers: at most %d" % (len(n.dns64_upstreams), NAT64_MAX_UPSTREAMS))
        servers = [("nat64.dns64_upstreams[%d]" % i, v) for i, v in enumerate(n.dns64_upstreams)]
        names = {}
        for i, zone in enumerate(n.dns64_zones):
            if zone.name in names:
                self.err("nat64.dns64_zones[%d].name" % i, "%s is listed twice (nat64.dns64_zones[%d])"
                         % (zone.name, names[zone.name]))
            names.setdefault(zone.name, i)
            servers += [("nat64.dns64_zones[%d].servers[%d]" % (i, j), v) for j, v in enumerate(zone.servers)]
        for key, server in servers:
            addr = netaddr.IPNetwork(server)
            hit = special_block(addr)
            if hit:
                self.err(key, "%s is %s: not a server the gateways can ask" % (server, hit[1]))
            elif addr.version == 6 and addr.ip in prefix:
                self.err(key, "%s is inside nat64.prefix %s: DNS64 would reach its server through itself"
                         % (server, prefix.cidr))

    def _own_networks(self, version):
        """(key, cidr) of every network the cluster routes itself, of one IP version, any family listed."""
        cfg = self.cfg
        f = "ipv4" if version == 4 else "ipv6"
        s = SUFFIX[f]
        out = [("network.%s_cidr" % f, getattr(cfg.network, "%s_cidr" % f)),
               ("kubernetes.pod_subnet_%s" % s, per_family(cfg.kubernetes, "pod_subnet", f)),
               ("kubernetes.service_subnet_%s" % s, per_family(cfg.kubernetes, "service_subnet", f)),
               ("wireguard.%s_cidr" % f, getattr(cfg.wireguard, "%s_cidr" % f))]
        out += [("gateways.export_extra_%s[%d]" % (s, i), v)
                for i, v in enumerate(per_family(cfg.gateways, "export_extra", f))]
        if cfg.lab is not None:
            out.append(("lab.external_cidr_%s" % s, per_family(cfg.lab, "external_cidr", f)))
        return out

    def pod_scope(self):
        """Global (routable) IPv6 pod addresses: no NAT, not private."""
        cfg = self.cfg
        if cfg.calico.pod_address_scope != "global":
            return
        if "ipv6" not in self.fams:
            self.err("calico.pod_address_scope", '"global" is about IPv6 pod addresses: ipv6 is not in '
                     "cluster.ip_families %s" % self.fams)
            return
        if cfg.calico.nat_outgoing_v6:
            self.err("calico.nat_outgoing_v6", 'must be false with calico.pod_address_scope = "global": routable pod '
                     "addresses leave the cluster as they are (set it to false, or the scope to \"ula\")")
        pod = per_family(cfg.kubernetes, "pod_subnet", "ipv6")
        if pod and _overlap(netaddr.IPNetwork(pod), netaddr.IPNetwork(ULA_BLOCK)):
            self.err("kubernetes.pod_subnet_v6", '%s is a unique local (ULA, %s) range, which is not routable: '
                     'calico.pod_address_scope = "global" needs a global prefix (or set the scope to "ula")'
                     % (pod, ULA_BLOCK))

    def ingress(self):
        """Ingress frontends: HAProxy on the public VIPs, to a NodePort of the nodes (see docs/ingress.md)."""
        cfg = self.cfg
        ing = cfg.ingress
        rng = list(ing.node_port_range)
        range_ok = len(rng) == 2 and rng[0] <= rng[1]
        if not range_ok:
            self.err("ingress.node_port_range", "%s: give [first, last], e.g. [30000, 32767] (kube-apiserver "
                     "--service-node-port-range)" % rng)
        if not ing.frontends:
            return
        if not P.ingress_addresses(cfg):
            self.err("ingress.frontends", "the frontends bind the public VIPs, and none is set: set "
                     "gateways.public_vip_v4 and/or gateways.public_vip_v6")
        api = cfg.kubernetes.api_port
        names = {}
        ports = {}
        specs = P.host_specs(cfg)
        for i, fe in enumerate(ing.frontends):
            key = "ingress.frontends[%d]" % i
            if fe.name in names:
                self.err(key + ".name", "%r is used twice (also ingress.frontends[%d].name)" % (fe.name, names[fe.name]))
            names.setdefault(fe.name, i)
            if fe.port in ports:
                self.err(key + ".port", "%d is also the port of ingress.frontends[%d]: one frontend per port on the "
                         "public VIPs" % (fe.port, ports[fe.port]))
            ports.setdefault(fe.port, i)
            if fe.port == api:
                self.err(key + ".port", "%d is kubernetes.api_port, which HAProxy serves on the gateways (and a "
                         "floating IP reaches the VIPs on the same port)" % fe.port)
            elif fe.port in GATEWAY_TCP_PORTS:
                self.err(key + ".port", "%d is the port of %s on the gateways, where HAProxy binds it"
                         % (fe.port, GATEWAY_TCP_PORTS[fe.port]))
            if range_ok and not rng[0] <= fe.backend_port <= rng[1]:
                self.err(key + ".backend_port", "%d is outside the NodePort range %d-%d (ingress.node_port_range): "
                         "the backends are a NodePort of the ingress controller's Service on the nodes"
                         % (fe.backend_port, rng[0], rng[1]))
            roles = {"workers": ("worker",), "control_plane": ("control_plane",),
                     "nodes": ("control_plane", "worker")}[fe.backends]
            if not any(spec.role in roles for spec in specs):
                self.err(key + ".backends", '"%s": the plan has no such node, so the frontend would have no backend '
                         '(add workers or choose "nodes")' % fe.backends)

    def run(self):
        self.families()
        self.exclusive()
        structural = bool(self.errors)
        self.special_ranges()
        self.names()
        self.overlaps()
        self.export_extra()
        self.sizes()
        self.endpoint()
        self.ports()
        self.vrrp()
        self.dns_servers()
        self.peer_keys()
        self.nat64()
        self.pod_scope()
        self.ingress()
        if not structural:
            # address arithmetic needs consistent families and one host source per role; a key
            # that is already wrong gets no second, derived complaint
            known = set(key for key, dummy in self.errors)
            before = len(self.errors)
            self.addresses()
            self.wireguard()
            self.errors[before:] = [(k, m) for k, m in self.errors[before:] if k not in known]
        return self.errors


PAST_END = "an address past the end of the address space"


def _address(planner, *args):
    """A planned address, or PAST_END when a huge offset runs past the end of the address space."""
    try:
        return planner(*args)
    except netaddr.AddrFormatError:
        return PAST_END


def _is_eui64(addr):
    """Whether an IPv6 address's interface id has the ff:fe of a modified EUI-64 (RFC 4291 App. A)."""
    return (int(addr) >> 24) & 0xFFFF == 0xFFFE


def check_config(cfg, base_dir=None):
    """Every cross-field problem of a Config as (dotted_key, reason) pairs."""
    return _Checker(cfg, base_dir or os.getcwd()).run()
