# -*- coding: utf-8 -*-
# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE to the dualstack.k8s collection: the API may change without notice.
"""Cross-field rules of the config: what pydantic's per-field types cannot see.

``check_config(cfg)`` returns every ``(dotted_key, reason)`` it finds; it never
stops at the first one. The rules mirror kubeadm's validation, Calico's IPPool
limits and Neutron's IPv6 address-mode rule, so a bad config fails before any
host or cloud is touched.
"""

from __future__ import annotations

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

# kubeadm: a service subnet may use at most 20 host bits
MAX_SERVICE_HOST_BITS = 20
# Calico IPPool blockSize limits
BLOCK_LIMITS = {"ipv4": (20, 32), "ipv6": (116, 128)}
MAX_NODE_MASK_DELTA = 16


def _fam_keys(family):
    """Every config key that carries a value of one family, with the value."""
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
    def exclusive(self):
        pairs = [("gateways.count", "gateways.hosts"),
                 ("kubernetes.control_plane_count", "kubernetes.control_plane"),
                 ("kubernetes.worker_count", "kubernetes.workers")]
        for a, b in pairs:
            if _get(self.cfg, a) is not None and _get(self.cfg, b) is not None:
                self.err(b, "set either %s or %s, not both" % (a, b))

    def names(self):
        seen = {}
        for spec in P.host_specs(self.cfg):
            if spec.name in seen:
                self.err(spec.key, "host name %r is used twice (also by %s)" % (spec.name, seen[spec.name]))
            else:
                seen[spec.name] = spec.key
        peers = {}
        for i, peer in enumerate(self.cfg.wireguard.peers):
            if peer.name in peers:
                self.err("wireguard.peers[%d].name" % i, "peer name %r is used twice" % peer.name)
            peers[peer.name] = i
        lab = self.cfg.lab
        if lab is not None and lab.wireguard_client and lab.wireguard_client not in peers:
            self.err("lab.wireguard_client", "%r is not a wireguard.peers name (%s)" % (
                lab.wireguard_client, ", ".join(sorted(peers)) or "none"))

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
                if na.version == nb.version and (na.first <= nb.last and nb.first <= na.last):
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
                    if value and (net.first <= netaddr.IPNetwork(value).last and netaddr.IPNetwork(value).first <= net.last):
                        self.err("gateways.export_extra_%s[%d]" % (s, i), "%s overlaps %s = %s: the gateways would "
                                 "announce the cluster's own network back to the nodes" % (net.cidr, key, value))

    def sizes(self):
        k = self.cfg.kubernetes
        for f in self.fams:
            if not self.ready(f):
                continue
            s = SUFFIX[f]
            bits = 32 if f == "ipv4" else 128
            svc = netaddr.IPNetwork(per_family(k, "service_subnet", f))
            if bits - svc.prefixlen > MAX_SERVICE_HOST_BITS:
                self.err("kubernetes.service_subnet_%s" % s, "%s is too large: kubeadm allows at most %d host bits "
                         "(/%d or smaller)" % (svc.cidr, MAX_SERVICE_HOST_BITS, bits - MAX_SERVICE_HOST_BITS))
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
            if mode in ("slaac", "dhcpv6-stateless") and net.prefixlen != 64:
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
        for f in self.fams:
            cidr = getattr(net_cfg, "%s_cidr" % f)
            if not cidr:
                continue
            net = netaddr.IPNetwork(cidr)
            s = SUFFIX[f]
            reserved = {int(net.network): "the subnet's network address"}
            if f == "ipv4":
                reserved[int(net.broadcast)] = "the subnet's broadcast address"
            router = P.router_address(cfg, f)
            gw_key = "network.%s_gateway" % f
            if router not in net:
                self.err(gw_key, "%s is outside network.%s_cidr %s" % (router, f, net.cidr))
            elif int(router) in reserved:
                self.err(gw_key, "%s is %s" % (router, reserved[int(router)]))
            used = dict(reserved)
            used[int(router)] = "the router address (%s)" % gw_key
            pool_end = net.first + net_cfg.gateway_offset - 1
            for spec in specs:
                addr = P.planned_address(cfg, f, spec, net)
                key = "%s.%s" % (spec.key, f) if spec.explicit.get(f) else spec.key
                if addr not in net or int(addr) == net.last or (f == "ipv4" and int(addr) == net.broadcast):
                    self.err(key if spec.explicit.get(f) else "network.%s_cidr" % f,
                             "%s for host %s is outside %s: the subnet is too small for the planned hosts"
                             % (addr, spec.name, net.cidr) if not spec.explicit.get(f) else
                             "%s is outside network.%s_cidr %s" % (addr, f, net.cidr))
                    continue
                if int(addr) in used:
                    self.err(key, "%s for host %s is already %s" % (addr, spec.name, used[int(addr)]))
                    continue
                if spec.explicit.get(f) is None and net.first + 2 <= int(addr) <= pool_end:
                    self.err(key, "%s for host %s falls in the DHCP pool (offsets 2..%d)" % (
                        addr, spec.name, net_cfg.gateway_offset - 1))
                used[int(addr)] = "the address of host %s" % spec.name
            vip = P.vip_address(cfg, f)
            vip_key = "gateways.vip_%s" % s
            if vip not in net:
                self.err(vip_key, "%s is outside network.%s_cidr %s" % (vip, f, net.cidr))
            elif int(vip) in used:
                self.err(vip_key, "%s is %s" % (vip, used[int(vip)]))
        for f in self.fams:
            public = getattr(cfg.gateways, "public_vip_%s" % SUFFIX[f])
            node = getattr(net_cfg, "%s_cidr" % f)
            if public and node and netaddr.IPAddress(public) in netaddr.IPNetwork(node):
                self.err("gateways.public_vip_%s" % SUFFIX[f], "%s is inside the node subnet %s; it must be an "
                         "address clients reach from outside" % (public, node))
            if public and cfg.lab is not None and per_family(cfg.lab, "external_cidr", f):
                ext = netaddr.IPNetwork(per_family(cfg.lab, "external_cidr", f))
                if netaddr.IPAddress(public) not in ext or int(netaddr.IPAddress(public)) in (ext.network, ext.first + 1):
                    self.err("gateways.public_vip_%s" % SUFFIX[f], "%s must be a host address inside "
                             "lab.external_cidr_%s %s (not its first two)" % (public, SUFFIX[f], ext.cidr))

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
            if int(gw) == net.network or (f == "ipv4" and int(gw) == net.broadcast):
                self.err(gw_key, "%s is the network or broadcast address of %s" % (gw, net.cidr))
            used = {int(gw): "the WireGuard gateway"}
            for i, peer in enumerate(cfg.wireguard.peers):
                addr = P.peer_address(cfg, f, i, peer)
                key = "wireguard.peers[%d].%s" % (i, f) if getattr(peer, f) else "wireguard.peers[%d]" % i
                if addr not in net or int(addr) == net.last and f == "ipv4":
                    self.err(key, "%s for peer %s is outside wireguard.%s_cidr %s" % (addr, peer.name, f, net.cidr))
                elif int(addr) in used:
                    self.err(key, "%s for peer %s is already %s" % (addr, peer.name, used[int(addr)]))
                else:
                    used[int(addr)] = "peer %s" % peer.name
        if P.wg_sync_port(cfg) == cfg.wireguard.port:
            self.err("wireguard.endpoint_sync_port", "%d is also wireguard.port: the endpoint sync needs a port "
                     "of its own" % cfg.wireguard.port)
        for i, peer in enumerate(cfg.wireguard.peers):
            key = "wireguard.peers[%d]" % i
            if bool(peer.public_key) == bool(peer.public_key_file):
                self.err(key + ".public_key", "set exactly one of public_key or public_key_file for peer %s" % peer.name)
                continue
            if peer.public_key_file:
                try:
                    text = P.read_public_key(peer, self.base_dir)
                except OSError as exc:
                    self.err(key + ".public_key_file", "cannot read %s: %s" % (peer.public_key_file, exc.strerror))
                    continue
                from ansible_collections.dualstack.k8s.plugins.plugin_utils.config import _wg_key
                try:
                    _wg_key(text)
                except ValueError as exc:
                    self.err(key + ".public_key_file", "%s %s" % (peer.public_key_file, exc))

    def run(self):
        self.families()
        self.exclusive()
        self.names()
        self.overlaps()
        self.export_extra()
        self.sizes()
        if not self.errors:
            # address arithmetic needs consistent families and subnets
            self.addresses()
            self.wireguard()
        else:
            self.wireguard_keys_only()
        return self.errors

    def wireguard_keys_only(self):
        """Still report key problems when other errors stop the address checks."""
        before = len(self.errors)
        try:
            self.wireguard()
        except Exception:  # address arithmetic on a broken config; keys were the point
            del self.errors[before:]


def check_config(cfg, base_dir=None):
    """Every cross-field problem of a Config as (dotted_key, reason) pairs."""
    return _Checker(cfg, base_dir or os.getcwd()).run()
