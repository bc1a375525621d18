# -*- coding: utf-8 -*-
# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE to the dualstack.k8s collection: the API may change without notice.
"""Import a yaook/k8s cluster's config.toml: yaook keys -> this collection's config.toml.

``RULES`` is the one mapping: every documented yaook key (or key family) with its counterpart here,
or the reason it has none. ``convert()`` reads a yaook config as a dict (tomllib), carries every key
with a counterpart, derives what yaook derives (address families, node and gateway counts) the way
yaook does, and files every other key in the report with its reason, so nothing is dropped silently.
``render_toml()`` writes our config.toml with a comment naming each value's yaook source, and
``yaook_errors()`` phrases our validation errors in yaook's key names. docs/yaook.md's mapping table
is generated from ``RULES`` by tools/gen_yaook_doc.py.

Sources: yaook/k8s' documented config layout (templates/config.template.toml, the [terraform]
variables and their defaults, the nix option modules of [wireguard], [kubernetes.network] and
[load-balancing], and the release notes of v7.0.0 (dualstack_support -> ipv4_enabled/ipv6_enabled)
and v8.0.0 (node tables, gateway_count)).
"""

from __future__ import annotations

import difflib
import json
import re

CARRIED = "carried"
DERIVED = "derived"
NOT_RELEVANT = "not relevant here"
NOT_SUPPORTED = "not supported yet"
UNKNOWN = "unknown"

# yaook's documented defaults for the keys whose value reaches the plan
YAOOK_DEFAULTS = {
    "terraform.cluster_name": "managed-k8s",
    "terraform.subnet_cidr": "172.30.154.0/24",
    "terraform.subnet_v6_cidr": "fd00::/120",
    "terraform.masters": 3,
    "terraform.workers": 4,
    "terraform.azs": ["AZ1", "AZ2", "AZ3"],
    "terraform.spread_gateways_across_azs": True,
    "terraform.public_network": "shared-public-IPv4",
    "wireguard.port": 7777,
    "kubernetes.network.pod_subnet": "10.244.0.0/16",
    "kubernetes.network.service_subnet": "10.96.0.0/12",
    "kubernetes.network.pod_subnet_v6": "fdff:2::/56",
    "kubernetes.network.service_subnet_v6": "fdff:3::/108",
    "kubernetes.network.bgp_worker_as": 64512,
    "kubernetes.network.bgp_gateway_as": 65000,
    "kubernetes.network.ipv4_nat_outgoing": True,
    "kubernetes.network.ipv6_nat_outgoing": False,
    "load-balancing.vrrp_priorities": [150, 100, 50],
    "kubernetes.apiserver.frontend_port": 8888,
}


class Rule(object):
    """One yaook key (pattern) and what becomes of it here."""

    __slots__ = ("pattern", "kind", "target", "note")

    def __init__(self, pattern, kind, target=None, note=""):
        self.pattern = pattern   # dotted yaook key; "*" one segment, "**" anything below; "[]" array element
        self.kind = kind         # CARRIED, DERIVED, NOT_RELEVANT or NOT_SUPPORTED
        self.target = target     # our dotted key(s), for CARRIED and DERIVED
        self.note = note         # how it is carried, or why it is not

    def matches(self, key):
        return _match(self.pattern.split("."), _segments(key))


_SERVERS = ("server sizing and placement for yaook's Terraform: this collection creates no servers, "
            "it configures the hosts it is given")
_TF_STATE = "yaook's Terraform state handling: this collection keeps no Terraform state"
_NAMES = ("the import counts the nodes, it does not carry yaook's server names: counted hosts are named "
          "<prefix><index> (kubernetes.control_plane_prefix / worker_prefix); to keep the names, list the hosts "
          "in [[kubernetes.control_plane]] / [[kubernetes.workers]]")
_SERVICES = "in-cluster services and operations of yaook's later stages: outside this collection's scope"

RULES = [
    # ---- address families and subnets -------------------------------------------------------------
    Rule("terraform.dualstack_support", DERIVED, "cluster.ip_families",
         'true -> ["ipv4", "ipv6"], false -> ["ipv4"] (yaook <= v6)'),
    Rule("terraform.ipv4_enabled", DERIVED, "cluster.ip_families",
         "with ipv6_enabled: both -> [\"ipv4\", \"ipv6\"] (IPv4 primary, as yaook's controlPlaneEndpoint); "
         "yaook v7+, default true"),
    Rule("terraform.ipv6_enabled", DERIVED, "cluster.ip_families", "see ipv4_enabled; yaook v7+, default false"),
    Rule("infra.ipv4_enabled", DERIVED, "cluster.ip_families", "as terraform.ipv4_enabled (yaook's [infra] layout)"),
    Rule("infra.ipv6_enabled", DERIVED, "cluster.ip_families", "as terraform.ipv6_enabled (yaook's [infra] layout)"),
    Rule("dualstack-support", DERIVED, "cluster.ip_families", "seed-004 flat name of terraform.dualstack_support"),
    Rule("dualstack_support", DERIVED, "cluster.ip_families", "seed-004 flat name of terraform.dualstack_support"),
    Rule("terraform.subnet_cidr", CARRIED, "network.ipv4_cidr", "yaook default 172.30.154.0/24"),
    Rule("terraform.subnet_v6_cidr", CARRIED, "network.ipv6_cidr",
         "yaook default fd00::/120; the IPv6 subnet mode is dhcpv6-stateful, as yaook's Terraform creates it"),
    Rule("infra.subnet_cidr", CARRIED, "network.ipv4_cidr", "as terraform.subnet_cidr"),
    Rule("infra.subnet_v6_cidr", CARRIED, "network.ipv6_cidr", "as terraform.subnet_v6_cidr"),
    Rule("subnet_cidr", CARRIED, "network.ipv4_cidr", "seed-004 flat name"),
    Rule("subnet_v6_cidr", CARRIED, "network.ipv6_cidr", "seed-004 flat name"),
    Rule("infra.networking_fixed_ip", CARRIED, "gateways.vip_v4", "the IPv4 VIP (bare-metal yaook)"),
    Rule("infra.networking_fixed_ip_v6", CARRIED, "gateways.vip_v6", "the IPv6 VIP (bare-metal yaook)"),
    Rule("terraform.dns_nameservers_v4", CARRIED, "network.dns_servers", "joined with dns_nameservers_v6"),
    Rule("terraform.dns_nameservers_v6", CARRIED, "network.dns_servers", "joined with dns_nameservers_v4"),
    Rule("terraform.cluster_name", CARRIED, "cluster.name",
         "also openstack.name_prefix; yaook default managed-k8s"),
    Rule("infra.cluster_name", CARRIED, "cluster.name", "as terraform.cluster_name"),
    # ---- node and gateway counts -----------------------------------------------------------------
    Rule("terraform.masters", DERIVED, "kubernetes.control_plane_count",
         "a number (yaook <= v7, default 3) or one [terraform.masters.<name>] table per node"),
    Rule("terraform.masters.*", DERIVED, "kubernetes.control_plane_count", "each table counts one control-plane node"),
    Rule("terraform.masters.*.**", NOT_RELEVANT, None, _SERVERS),
    Rule("terraform.workers", DERIVED, "kubernetes.worker_count",
         "a number (yaook <= v7, default 4) or one [terraform.workers.<name>] table per node"),
    Rule("terraform.workers.*", DERIVED, "kubernetes.worker_count", "each table counts one worker"),
    Rule("terraform.workers.*.**", NOT_RELEVANT, None, _SERVERS),
    Rule("terraform.nodes.*.role", DERIVED, "kubernetes.control_plane_count, kubernetes.worker_count",
         'yaook v8 node tables: role "master" / "worker" are counted'),
    Rule("terraform.nodes.*.**", NOT_RELEVANT, None, _SERVERS),
    Rule("terraform.gateway_count", DERIVED, "gateways.count",
         "0 (yaook's default) means one gateway per entry of azs when spread_gateways_across_azs, else 3"),
    Rule("terraform.azs", DERIVED, "gateways.count",
         "yaook <= v7 builds one gateway per availability zone (default AZ1, AZ2, AZ3: 3 gateways)"),
    Rule("terraform.spread_gateways_across_azs", DERIVED, "gateways.count", "see gateway_count"),
    Rule("terraform.master_names", NOT_SUPPORTED, None, _NAMES),
    Rule("terraform.worker_names", NOT_SUPPORTED, None, _NAMES),
    # ---- OpenStack ---------------------------------------------------------------------------------
    Rule("terraform.enabled", DERIVED, "openstack",
         "true (yaook's default) writes [openstack] when the import is given a clouds.yaml entry (openstack_cloud)"),
    Rule("terraform.public_network", CARRIED, "openstack.external_network",
         "written with [openstack] only; yaook default shared-public-IPv4"),
    Rule("terraform.network_mtu", NOT_SUPPORTED, None, "the Neutron network's MTU is not set by this collection"),
    Rule("terraform.enable_az_management", NOT_RELEVANT, None, _SERVERS),
    Rule("terraform.gateway_defaults.**", NOT_RELEVANT, None, _SERVERS),
    Rule("terraform.master_defaults.**", NOT_RELEVANT, None, _SERVERS),
    Rule("terraform.worker_defaults.**", NOT_RELEVANT, None, _SERVERS),
] + [Rule("terraform." + name, NOT_RELEVANT, None, _SERVERS) for name in (
    "gateway_image_name", "gateway_flavor", "default_master_image_name", "default_worker_image_name",
    "default_master_flavor", "default_worker_flavor", "master_flavors", "worker_flavors", "master_images",
    "worker_images", "master_azs", "worker_azs", "create_root_disk_on_volume", "root_disk_volume_type",
    "gateway_root_disk_volume_size", "gateway_root_disk_volume_type", "default_master_root_disk_size",
    "default_worker_root_disk_size", "master_root_disk_sizes", "master_root_disk_volume_types",
    "worker_root_disk_sizes", "worker_root_disk_volume_types", "master_join_anti_affinity_group",
    "worker_join_anti_affinity_group", "worker_anti_affinity_group_name", "keypair", "timeout_time")
] + [Rule("terraform." + name, NOT_RELEVANT, None, _TF_STATE) for name in (
    "prevent_disruption", "gitlab_backend", "gitlab_base_url", "gitlab_project_id", "gitlab_state_name",
    "thanos_delete_container", "monitoring_manage_thanos_bucket")
] + [
    Rule("infra.hosts_file", NOT_RELEVANT, None, "yaook's bare-metal inventory file; hosts here come from this config"),
    # ---- load balancing ----------------------------------------------------------------------------
    Rule("load-balancing.vrrp_priorities", NOT_SUPPORTED, None,
         "priorities are planned here: 200, 195, 190 ... in gateway order (yaook: 150, 100, 50 over the sorted "
         "gateway names); the order, and so the VIP holder, is the same"),
    Rule("load-balancing.priorities", NOT_SUPPORTED, None, "deprecated yaook key; see vrrp_priorities"),
    Rule("load-balancing.lb_ports", NOT_SUPPORTED, None, "HAProxy on the gateways forwards the Kubernetes API only, "
         "no NodePorts"),
    Rule("load-balancing.deprecated_nodeport_lb_test_port", NOT_SUPPORTED, None, "no NodePort forwarding; see lb_ports"),
    Rule("load-balancing.haproxy_stats_port", NOT_SUPPORTED, None, "HAProxy's statistics listener is not configured"),
    Rule("load-balancing.openstack_lbaas", NOT_RELEVANT, None,
         "OpenStack Octavia load balancers are not used: the gateways hold the VIPs"),
    # ---- Kubernetes ---------------------------------------------------------------------------------
    Rule("kubernetes.version", CARRIED, "kubernetes.version", "a leading v is dropped"),
    Rule("kubernetes.network.pod_subnet", CARRIED, "kubernetes.pod_subnet_v4", "yaook default 10.244.0.0/16"),
    Rule("kubernetes.network.service_subnet", CARRIED, "kubernetes.service_subnet_v4", "yaook default 10.96.0.0/12"),
    Rule("kubernetes.network.pod_subnet_v6", CARRIED, "kubernetes.pod_subnet_v6", "yaook default fdff:2::/56"),
    Rule("kubernetes.network.service_subnet_v6", CARRIED, "kubernetes.service_subnet_v6", "yaook default fdff:3::/108"),
    Rule("kubernetes.network.plugin", CARRIED, "kubernetes.network_plugin", 'only "calico" (as yaook)'),
    Rule("k8s_network_plugin", CARRIED, "kubernetes.network_plugin", "seed-004 flat name"),
    Rule("kubernetes.network.bgp_worker_as", CARRIED, "calico.as_number", "yaook default 64512"),
    Rule("kubernetes.network.bgp_gateway_as", CARRIED, "gateways.as_number", "yaook default 65000"),
    Rule("kubernetes.network.ipv4_nat_outgoing", CARRIED, "calico.nat_outgoing_v4", "yaook default true"),
    Rule("kubernetes.network.ipv6_nat_outgoing", CARRIED, "calico.nat_outgoing_v6",
         "yaook default false (this collection's own default is true)"),
    Rule("kubernetes.network.calico.encapsulation", CARRIED, "calico.encapsulation_v4",
         "the IPv4 pool's encapsulation (IPIP is IPv4-only; the IPv6 pool keeps None)"),
    Rule("kubernetes.network.bgp_announce_service_ips", NOT_SUPPORTED, None,
         "the nodes announce pod networks only, not the service range"),
    Rule("kubernetes.network.kube_proxy.**", NOT_SUPPORTED, None, "kube-proxy's mode is kubeadm's default"),
    Rule("kubernetes.network.plugin_switch_restart_all_namespaces", NOT_RELEVANT, None, "CNI switching is not done"),
    Rule("kubernetes.network.calico.calico_ip_autodetection_method", NOT_RELEVANT, None,
         "node addresses are autodetected by the node subnet (cidr=...), planned here"),
    Rule("kubernetes.network.calico.calico_ipv6_autodetection_method", NOT_RELEVANT, None,
         "node addresses are autodetected by the node subnet (cidr=...), planned here"),
    Rule("kubernetes.network.calico.**", NOT_SUPPORTED, None,
         "Calico's MTU, manifest IPIP mode, version pinning and Helm values are not modelled"),
    Rule("kubernetes.apiserver.frontend_port", NOT_SUPPORTED, None,
         "one port serves the API on the VIPs and on the nodes here: kubernetes.api_port (default 6443); "
         "yaook's HAProxy listens on frontend_port (default 8888) and forwards to 6443"),
    Rule("kubernetes.**", NOT_SUPPORTED, None,
         "kubelet, apiserver, controller-manager and GPU settings are not modelled (kubeadm defaults apply)"),
    # ---- WireGuard -----------------------------------------------------------------------------------
    Rule("wireguard.enabled", DERIVED, "wireguard", "false: no [wireguard] is written"),
    Rule("wireguard.ip_cidr", CARRIED, "wireguard.ipv4_cidr", ""),
    Rule("wireguard.ip_gw", CARRIED, "wireguard.ipv4_gw",
         "yaook keeps the gateway's first address (subnet + 1) for it; so does the plan when unset"),
    Rule("wireguard.ipv6_cidr", CARRIED, "wireguard.ipv6_cidr", ""),
    Rule("wireguard.ipv6_gw", CARRIED, "wireguard.ipv6_gw", "as ip_gw"),
    Rule("wireguard.wg_ip_cidr", CARRIED, "wireguard.ipv4_cidr", "old yaook name of ip_cidr"),
    Rule("wireguard.wg_ip_gw", CARRIED, "wireguard.ipv4_gw", "old yaook name of ip_gw"),
    Rule("wireguard.wg_ipv6_cidr", CARRIED, "wireguard.ipv6_cidr", "old yaook (seed-004) name of ipv6_cidr"),
    Rule("wireguard.wg_ipv6_gw", CARRIED, "wireguard.ipv6_gw", "old yaook (seed-004) name of ipv6_gw"),
    Rule("wg_ipv6_cidr", CARRIED, "wireguard.ipv6_cidr", "seed-004 flat name"),
    Rule("wg_ipv6_gw", CARRIED, "wireguard.ipv6_gw", "seed-004 flat name"),
    Rule("wireguard.port", CARRIED, "wireguard.port", "yaook default 7777"),
    Rule("wireguard.endpoints[].id", DERIVED, "wireguard",
         "the first enabled endpoint (lowest id) is carried; one WireGuard interface per gateway here"),
    Rule("wireguard.endpoints[].enabled", DERIVED, "wireguard", "disabled endpoints are not carried"),
    Rule("wireguard.endpoints[].port", CARRIED, "wireguard.port", "of the carried endpoint"),
    Rule("wireguard.endpoints[].ip_cidr", CARRIED, "wireguard.ipv4_cidr", "of the carried endpoint"),
    Rule("wireguard.endpoints[].ip_gw", CARRIED, "wireguard.ipv4_gw", "of the carried endpoint"),
    Rule("wireguard.endpoints[].ipv6_cidr", CARRIED, "wireguard.ipv6_cidr", "of the carried endpoint"),
    Rule("wireguard.endpoints[].ipv6_gw", CARRIED, "wireguard.ipv6_gw", "of the carried endpoint"),
    Rule("wireguard.peers[].pub_key", CARRIED, "wireguard.peers[].public_key", ""),
    Rule("wireguard.peers[].ident", CARRIED, "wireguard.peers[].name",
         "made a host-name label: lower case, other characters become '-'"),
    Rule("wireguard.peers[].ip", CARRIED, "wireguard.peers[].ipv4",
         "without /32; unset: the address in config/wireguard_ipam.toml, else planned"),
    Rule("wireguard.peers[].ipv6", CARRIED, "wireguard.peers[].ipv6",
         "without /128; unset: the address in config/wireguard_ipam.toml, else planned"),
    Rule("wireguard.peers[].ips.*", CARRIED, "wireguard.peers[].ipv4", "the carried endpoint's entry"),
    Rule("wireguard.peers[].ipsv6.*", CARRIED, "wireguard.peers[].ipv6", "the carried endpoint's entry"),
    Rule("wireguard.rollout_company_users", NOT_SUPPORTED, None, "peers are listed in [[wireguard.peers]] only"),
    Rule("wireguard.s2s_enabled", NOT_SUPPORTED, None, "no site-to-site WireGuard"),
    # ---- whole sections without counterpart -----------------------------------------------------------
    Rule("ipsec.**", NOT_SUPPORTED, None, "no IPsec on the gateways; client access is WireGuard only"),
    Rule("ch-k8s-lbaas.**", NOT_SUPPORTED, None,
         "no LoadBalancer services through the gateways (ch-k8s-lbaas); the gateways serve the API VIPs"),
    Rule("passwordstore.**", NOT_RELEVANT, None,
         "yaook's pass(1) store of cluster secrets: secrets here stay in Ansible (no_log, mode 0600)"),
    Rule("vault.**", NOT_RELEVANT, None, "yaook's HashiCorp Vault for cluster secrets; not used here"),
    Rule("k8s-service-layer.**", NOT_RELEVANT, None, _SERVICES),
    Rule("node-scheduling.**", NOT_RELEVANT, None, _SERVICES),
    Rule("testing.**", NOT_RELEVANT, None, "yaook's smoke-test settings"),
    Rule("miscellaneous.**", NOT_RELEVANT, None, "yaook's host tuning, proxies and package settings"),
    Rule("cah-users.**", NOT_RELEVANT, None, "yaook's user accounts on the hosts"),
    Rule("nvidia.**", NOT_RELEVANT, None, "GPU drivers: outside this collection's scope"),
    Rule("custom.**", NOT_RELEVANT, None, "yaook's custom stage"),
    Rule("containerd.**", NOT_RELEVANT, None, "the container runtime is set up outside this collection"),
]

_ARRAY_RE = re.compile(r"\[\d*\]$")


def _segments(key):
    """'wireguard.peers[0].ip' -> ['wireguard', 'peers[]', 'ip']."""
    return [_ARRAY_RE.sub("[]", part) for part in key.split(".")]


def _match(pattern, key):
    if not pattern:
        return not key
    head = pattern[0]
    if head == "**":
        return True
    if not key:
        return False
    if head == "*" or head == key[0]:
        return _match(pattern[1:], key[1:])
    return False


def rule_for(key):
    for rule in RULES:
        if rule.matches(key):
            return rule
    return None


KNOWN_KEYS = sorted(r.pattern for r in RULES if "*" not in r.pattern)


def flatten(data, prefix=""):
    """Every leaf key of a TOML document as (dotted key, value); arrays of tables are entered, with
    their index ('wireguard.peers[0].ip'); empty tables are leaves (they count nodes in yaook)."""
    out = []
    for name, value in data.items():
        key = "%s.%s" % (prefix, name) if prefix else name
        if isinstance(value, dict):
            if value:
                out.extend(flatten(value, key))
            else:
                out.append((key, value))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for i, item in enumerate(value):
                sub = "%s[%d]" % (key, i)
                if item:
                    out.extend(flatten(item, sub))
                else:
                    out.append((sub, item))
        else:
            out.append((key, value))
    return out


_INDEX_RE = re.compile(r"^(.*)\[(\d+)\]$")


def _get(data, dotted, default=None):
    """``_get(data, "wireguard.endpoints[0].port")``; ``default`` when any part is missing."""
    node = data
    for part in dotted.split("."):
        m = _INDEX_RE.match(part)
        name, index = (m.group(1), int(m.group(2))) if m else (part, None)
        if not isinstance(node, dict) or name not in node:
            return default
        node = node[name]
        if index is not None:
            if not isinstance(node, list) or index >= len(node):
                return default
            node = node[index]
    return node


def _has(data, dotted):
    sentinel = object()
    return _get(data, dotted, sentinel) is not sentinel


_LABEL_BAD = re.compile(r"[^a-z0-9-]+")


def peer_name(ident, index):
    """A yaook peer ident ('jane.doe', 'ops@example.org') as a host-name label."""
    name = _LABEL_BAD.sub("-", str(ident).lower()).strip("-")[:63].strip("-")
    return name or "peer%d" % (index + 1)


def _strip_prefix(value, full):
    """'172.30.153.14/32' -> '172.30.153.14'; another prefix length is an error."""
    text = str(value).strip()
    if "/" in text:
        addr, dummy, plen = text.partition("/")
        if plen != str(full):
            raise ValueError("%r: a peer address takes /%d or no prefix (yaook refuses other prefixes too)"
                             % (value, full))
        return addr
    return text


class ImportResult(object):
    """What convert() produced: the sections to write, the report, the origin of every written key."""

    def __init__(self):
        self.sections = {}   # our section -> [(key, value, comment)], in write order
        self.peers = []      # [[(key, value, comment)]]
        self.origin = {}     # our dotted key -> yaook key (for error messages)
        self.entries = []    # report entries: dict(kind, yaook, value, target, written, note)
        self.defaults = []   # yaook defaults written: dict(target, value, yaook)
        self.errors = []     # (yaook key, reason): the yaook config cannot be imported
        self.families = []
        self.bare_metal = False  # terraform.enabled = false: yaook takes its hosts from an inventory

    def report(self):
        """The report as one dict of lists (for the module result)."""
        groups = {CARRIED: [], DERIVED: [], NOT_RELEVANT: [], NOT_SUPPORTED: [], UNKNOWN: []}
        for entry in self.entries:
            groups[entry["kind"]].append(entry)
        return {
            "carried": groups[CARRIED],
            "derived": groups[DERIVED],
            "yaook_defaults": list(self.defaults),
            "not_relevant": groups[NOT_RELEVANT],
            "not_supported": groups[NOT_SUPPORTED],
            "unknown": groups[UNKNOWN],
        }


ORDER = ("cluster", "network", "openstack", "gateways", "wireguard", "kubernetes", "calico")


class _Converter(object):
    def __init__(self, data, ipam=None, openstack_cloud=None):
        self.data = data
        self.ipam = ipam or {}
        self.cloud = openstack_cloud
        self.res = ImportResult()
        self.leaves = flatten(data)
        self.done = {}       # yaook leaf key -> report entry

    # -- report helpers ---------------------------------------------------------------------------
    def mark(self, yaook, kind, target=None, written=None, note=""):
        """File every leaf at or under ``yaook`` (not filed yet) in the report."""
        for key, value in self.leaves:
            if key in self.done:
                continue
            if key == yaook or key.startswith(yaook + ".") or key.startswith(yaook + "["):
                rule = rule_for(key)
                if kind not in (CARRIED, DERIVED):
                    value = None   # keys not carried keep no value: some hold secrets (shared_secret, tokens)
                entry = {"kind": kind, "yaook": key, "value": value, "target": target, "written": written,
                         "note": note or (rule.note if rule else ""), "own_note": bool(note)}
                self.done[key] = entry
                self.res.entries.append(entry)

    def put(self, target, value, yaook, how=CARRIED, comment=None, default=False):
        """Write our key ``target`` = ``value``; ``yaook`` names the source (for comments and errors)."""
        section, dummy, key = target.partition(".")
        if comment is None:
            comment = ("yaook default of %s" % yaook) if default else ("yaook: %s" % yaook)
        self.res.sections.setdefault(section, []).append((key, value, comment))
        self.res.origin[target] = yaook
        if default:
            self.res.defaults.append({"target": target, "value": value, "yaook": yaook})
        elif yaook and _has(self.data, yaook):
            self.mark(yaook, how, target, value)

    def err(self, yaook, reason):
        self.res.errors.append((yaook, reason))

    def value(self, *keys):
        """The first of ``keys`` set in the yaook config: (key, value), else (None, None)."""
        for key in keys:
            if _has(self.data, key):
                return key, _get(self.data, key)
        return None, None

    # -- sections ---------------------------------------------------------------------------------
    def run(self):
        self.cluster()
        self.families()
        self.network()
        self.openstack()
        self.gateways()
        self.wireguard()
        self.kubernetes()
        self.leftovers()
        return self.res

    def families(self):
        v4_key, v4 = self.value("infra.ipv4_enabled", "terraform.ipv4_enabled")
        v6_key, v6 = self.value("infra.ipv6_enabled", "terraform.ipv6_enabled")
        ds_key, ds = self.value("terraform.dualstack_support", "dualstack-support", "dualstack_support")
        for key, val in ((v4_key, v4), (v6_key, v6), (ds_key, ds)):
            if key and not isinstance(val, bool):
                self.err(key, "must be true or false (got %r)" % (val,))
                return
        if ds_key and v6_key and ds != v6:
            self.err(v6_key, "%s = %s contradicts %s = %s (yaook v7 replaced dualstack_support by ipv6_enabled: "
                     "keep one)" % (v6_key, str(v6).lower(), ds_key, str(ds).lower()))
        ipv4 = True if v4 is None else v4
        ipv6 = v6 if v6 is not None else bool(ds)
        if not ipv4 and not ipv6:
            self.err(v4_key or "terraform.ipv4_enabled", "no address family is enabled")
            return
        fams = [f for f, on in (("ipv4", ipv4), ("ipv6", ipv6)) if on]
        self.res.families = fams
        sources = ["%s = %s" % (k, str(v).lower()) for k, v in ((v4_key, v4), (v6_key, v6), (ds_key, ds)) if k]
        how = ", ".join(sources) if sources else "yaook's defaults (IPv4 only)"
        self.put("cluster.ip_families", fams, v6_key or ds_key or v4_key or "terraform.ipv6_enabled", DERIVED,
                 comment="derived: %s" % how)
        for key in (v4_key, v6_key, ds_key):
            if key:
                self.mark(key, DERIVED, "cluster.ip_families", fams)

    def cluster(self):
        key, name = self.value("infra.cluster_name", "terraform.cluster_name")
        if key:
            self.put("cluster.name", str(name), key)
        else:
            self.put("cluster.name", YAOOK_DEFAULTS["terraform.cluster_name"], "terraform.cluster_name", default=True)

    def network(self):
        fams = self.res.families
        for fam, stem, ours in (("ipv4", "subnet_cidr", "network.ipv4_cidr"),
                                ("ipv6", "subnet_v6_cidr", "network.ipv6_cidr")):
            key, val = self.value("infra." + stem, "terraform." + stem, stem)
            if fam not in fams:
                if key:
                    self.mark(key, NOT_RELEVANT, note="%s is not enabled; yaook ignores this key too" % fam)
                continue
            if key:
                self.put(ours, val, key)
            else:
                self.put(ours, YAOOK_DEFAULTS["terraform." + stem], "terraform." + stem, default=True)
        if "ipv6" in fams:
            self.put("network.ipv6_mode", "dhcpv6-stateful", "terraform.subnet_v6_cidr",
                     comment="as yaook's Terraform creates the IPv6 subnet (ipv6_ra_mode/address_mode)")
        servers = []
        for key in ("terraform.dns_nameservers_v4", "terraform.dns_nameservers_v6"):
            val = _get(self.data, key)
            if val is None:
                continue
            if not isinstance(val, list):
                self.err(key, "must be an array of addresses (got %r)" % (val,))
                continue
            servers.extend(val)
        if servers:
            keys = [k for k in ("terraform.dns_nameservers_v4", "terraform.dns_nameservers_v6") if _has(self.data, k)]
            self.put("network.dns_servers", servers, keys[0], comment="yaook: %s" % " + ".join(keys))
            for key in keys:
                self.mark(key, CARRIED, "network.dns_servers", servers)

    def openstack(self):
        enabled = _get(self.data, "terraform.enabled", True)
        if self.cloud and enabled is True:
            self.res.sections.setdefault("openstack", []).append(
                ("cloud", self.cloud, "given to the import (yaook reads the OS_* variables of an openrc)"))
            self.mark("terraform.enabled", DERIVED, "openstack", True)
            key, net = self.value("terraform.public_network")
            if key:
                self.put("openstack.external_network", net, key)
            else:
                self.put("openstack.external_network", YAOOK_DEFAULTS["terraform.public_network"],
                         "terraform.public_network", default=True)
            name = dict((k, v) for k, v, c in self.res.sections["cluster"]).get("name")
            self.res.sections["openstack"].append(("name_prefix", name, "yaook names its resources after cluster_name"))
            self.res.origin["openstack.name_prefix"] = self.res.origin.get("cluster.name")
            return
        self.res.bare_metal = enabled is False
        why = ("terraform.enabled = false: bare-metal yaook, no [openstack]" if enabled is False else
               "no [openstack] written: give the import a clouds.yaml entry (openstack_cloud) to write one")
        self.mark("terraform.enabled", DERIVED, "openstack", False, note=why)
        self.mark("terraform.public_network", NOT_RELEVANT, note=why)

    def _count(self, role, number_key):
        """A node count as yaook derives it: a number, one table per node, or v8's role-tagged nodes."""
        val = _get(self.data, number_key)
        if isinstance(val, bool):
            self.err(number_key, "must be a number or a table of nodes (got %r)" % (val,))
            return None, number_key
        if isinstance(val, int):
            return val, number_key
        if isinstance(val, dict):
            return len(val), number_key
        if val is not None:
            self.err(number_key, "must be a number or a table of nodes (got %r)" % (val,))
            return None, number_key
        nodes = _get(self.data, "terraform.nodes")
        if isinstance(nodes, dict):
            roles = [n.get("role") if isinstance(n, dict) else None for n in nodes.values()]
            for name, node in nodes.items():
                if not isinstance(node, dict) or node.get("role") not in ("master", "worker"):
                    self.err("terraform.nodes.%s.role" % name, 'must be "master" or "worker" (got %r)'
                             % ((node or {}).get("role") if isinstance(node, dict) else node,))
            return sum(1 for r in roles if r == role), "terraform.nodes"
        return None, number_key

    def gateways(self):
        d = self.data
        gc_key, gc = self.value("terraform.gateway_count")
        spread_key, spread = self.value("terraform.spread_gateways_across_azs")
        azs_key, azs = self.value("terraform.azs")
        if azs_key and not isinstance(azs, list):
            self.err(azs_key, "must be an array of availability zone names (got %r)" % (azs,))
            azs = None
        zones = azs if isinstance(azs, list) else YAOOK_DEFAULTS["terraform.azs"]
        if gc_key and (isinstance(gc, bool) or not isinstance(gc, int) or gc < 0):
            self.err(gc_key, "must be a number >= 0 (got %r)" % (gc,))
            gc = 0
        if gc_key and gc:
            count, how = gc, "%s = %d" % (gc_key, gc)
        elif gc_key or spread_key:
            on = YAOOK_DEFAULTS["terraform.spread_gateways_across_azs"] if spread is None else spread
            count = len(zones) if on else 3
            how = ("one gateway per availability zone (%d in terraform.azs%s)" % (len(zones), "" if azs_key else
                   ", yaook's default") if on else "spread_gateways_across_azs = false: yaook's 3")
        else:
            count = len(zones)
            how = "one gateway per availability zone, as yaook <= v7 (%d in terraform.azs%s)" % (
                len(zones), "" if azs_key else ", yaook's default AZ1..AZ3")
        self.put("gateways.count", count, gc_key if gc else (azs_key or "terraform.azs"), DERIVED,
                 comment="derived: %s" % how)
        for key in (gc_key, spread_key, azs_key):
            if key:
                self.mark(key, DERIVED, "gateways.count", count, note=how)
        bgp_key, bgp = self.value("kubernetes.network.bgp_gateway_as")
        if bgp_key:
            self.put("gateways.as_number", bgp, bgp_key)
        else:
            self.put("gateways.as_number", YAOOK_DEFAULTS["kubernetes.network.bgp_gateway_as"],
                     "kubernetes.network.bgp_gateway_as", default=True)
        for fam, key, ours in (("ipv4", "infra.networking_fixed_ip", "gateways.vip_v4"),
                               ("ipv6", "infra.networking_fixed_ip_v6", "gateways.vip_v6")):
            if _has(d, key):
                if fam in self.res.families:
                    self.put(ours, _get(d, key), key)
                else:
                    self.mark(key, NOT_RELEVANT, note="%s is not enabled" % fam)

    def wireguard(self):
        wg = self.data.get("wireguard")
        flat = [k for k in ("wg_ipv6_cidr", "wg_ipv6_gw") if k in self.data]   # seed-004 flat names
        if wg is None and not flat:
            return
        if wg is None:
            wg = {}
        if not isinstance(wg, dict):
            self.err("wireguard", "must be a table")
            return
        if wg.get("enabled", True) is False:
            why = "wireguard.enabled = false: WireGuard is off, nothing to carry"
            self.mark("wireguard", NOT_RELEVANT, note=why)
            for key in flat:
                self.mark(key, NOT_RELEVANT, note=why)
            return
        if "enabled" in wg:
            self.mark("wireguard.enabled", DERIVED, "wireguard", True)
        fams = self.res.families
        # the endpoint: yaook's direct keys (its endpoint 0), else the first enabled [[wireguard.endpoints]] by id
        base, endpoint_id = "wireguard", None
        legacy = [k for k in ("port", "ip_cidr", "ip_gw", "ipv6_cidr", "ipv6_gw", "wg_ip_cidr", "wg_ip_gw",
                              "wg_ipv6_cidr", "wg_ipv6_gw") if k in wg]
        endpoints = wg.get("endpoints") or []
        if not isinstance(endpoints, list):
            self.err("wireguard.endpoints", "must be an array of tables ([[wireguard.endpoints]])")
            endpoints = []
        if legacy and endpoints:
            self.mark("wireguard.endpoints", NOT_SUPPORTED,
                      note="the direct wireguard keys form yaook's endpoint 0, which is carried; one endpoint here")
        elif endpoints:
            usable = [(str(e.get("id")), i) for i, e in enumerate(endpoints)
                      if isinstance(e, dict) and e.get("enabled", True) is not False]
            if usable:
                endpoint_id, index = sorted(usable, key=lambda t: (len(t[0]), t[0]))[0]
                base = "wireguard.endpoints[%d]" % index
                self.mark(base + ".id", DERIVED, "wireguard", endpoint_id,
                          note="the carried endpoint (the first enabled one by id)")
                self.mark(base + ".enabled", DERIVED, "wireguard", True)
            for i, e in enumerate(endpoints):
                here = "wireguard.endpoints[%d]" % i
                if here == base:
                    continue
                if isinstance(e, dict) and e.get("enabled", True) is False:
                    note = "a disabled endpoint is not carried"
                else:
                    note = ("one WireGuard endpoint per gateway here; endpoint id %s is not carried"
                            % (e.get("id") if isinstance(e, dict) else "?"))
                self.mark(here, NOT_SUPPORTED, note=note)
        for fam, names, ours in (("ipv4", ("ip_cidr", "wg_ip_cidr"), "ipv4_cidr"),
                                 ("ipv4", ("ip_gw", "wg_ip_gw"), "ipv4_gw"),
                                 ("ipv6", ("ipv6_cidr", "wg_ipv6_cidr"), "ipv6_cidr"),
                                 ("ipv6", ("ipv6_gw", "wg_ipv6_gw"), "ipv6_gw")):
            keys = ["%s.%s" % (base, n) for n in names]
            if base == "wireguard" and fam == "ipv6":
                keys.append("wg_" + ours)
            key, val = self.value(*keys)
            if key is None:
                continue
            if fam not in fams:
                self.mark(key, NOT_RELEVANT, note="%s is not enabled" % fam)
                continue
            self.put("wireguard." + ours, val, key)
        key, port = self.value(base + ".port")
        if key:
            self.put("wireguard.port", port, key)
        else:
            self.put("wireguard.port", YAOOK_DEFAULTS["wireguard.port"], "wireguard.port", default=True)
        self.peers(wg.get("peers") or [], endpoint_id)

    def peers(self, peers, endpoint_id):
        fams = self.res.families
        ipam = {}
        for user in self.ipam.get("wg_users", []) if isinstance(self.ipam, dict) else []:
            if isinstance(user, dict) and user.get("pub_key"):
                ipam[user["pub_key"]] = user
        names = set()
        if not isinstance(peers, list):
            self.err("wireguard.peers", "must be an array of tables ([[wireguard.peers]])")
            return
        for i, peer in enumerate(peers):
            base = "wireguard.peers[%d]" % i
            ours = "wireguard.peers[%d]" % i
            if not isinstance(peer, dict):
                self.err(base, "must be a table")
                continue
            entry = []
            self.res.peers.append(entry)
            self.res.origin[ours] = base
            ident = peer.get("ident")
            if ident is None:
                self.err(base + ".ident", "required: yaook needs an ident for every peer")
                ident = "peer%d" % (i + 1)
            name = peer_name(ident, i)
            while name in names:
                name = "%s-%d" % (name[:60], i + 1)
            names.add(name)
            self.res.origin[ours + ".name"] = base + ".ident"
            entry.append(("name", name, "yaook: %s.ident = %s" % (base, json.dumps(str(ident)))))
            if "ident" in peer:
                self.mark(base + ".ident", CARRIED, ours + ".name", name,
                          note="" if name == ident else "ident %r written as the label %r" % (ident, name))
            if "pub_key" in peer:
                self.res.origin[ours + ".public_key"] = base + ".pub_key"
                entry.append(("public_key", peer["pub_key"], "yaook: %s.pub_key" % base))
                self.mark(base + ".pub_key", CARRIED, ours + ".public_key", peer["pub_key"])
            else:
                self.err(base + ".pub_key", "required: the peer's WireGuard public key")
            for fam, single, multi, full in (("ipv4", "ip", "ips", 32), ("ipv6", "ipv6", "ipsv6", 128)):
                key, raw = None, None
                if single in peer:
                    key, raw = base + "." + single, peer[single]
                elif endpoint_id is not None and isinstance(peer.get(multi), dict) and endpoint_id in peer[multi]:
                    key, raw = "%s.%s.%s" % (base, multi, endpoint_id), peer[multi][endpoint_id]
                source = key
                if key is None and peer.get("pub_key") in ipam:
                    user = ipam[peer["pub_key"]]
                    if single in user:
                        raw, source = user[single], "config/wireguard_ipam.toml (%s)" % user.get("ident", "")
                    elif endpoint_id is not None and isinstance(user.get(multi), dict) and endpoint_id in user[multi]:
                        raw, source = user[multi][endpoint_id], "config/wireguard_ipam.toml (%s)" % user.get("ident", "")
                if raw is None:
                    continue
                if fam not in fams:
                    if key:
                        self.mark(key, NOT_RELEVANT, note="%s is not enabled" % fam)
                    continue
                try:
                    addr = _strip_prefix(raw, full)
                except ValueError as exc:
                    self.err(key or base, str(exc))
                    continue
                self.res.origin["%s.%s" % (ours, fam)] = key or base
                entry.append((fam, addr, "yaook: %s" % source))
                if key:
                    self.mark(key, CARRIED, "%s.%s" % (ours, fam), addr)
                else:
                    self.res.entries.append({"kind": DERIVED, "yaook": source, "value": raw,
                                             "target": "%s.%s" % (ours, fam), "written": addr,
                                             "note": "yaook's IPAM assigned this address to peer %s" % name})
            for multi in ("ips", "ipsv6"):
                if isinstance(peer.get(multi), dict):
                    self.mark("%s.%s" % (base, multi), NOT_SUPPORTED,
                              note="addresses of endpoints that are not carried")

    def kubernetes(self):
        d = self.data
        fams = self.res.families
        key, version = self.value("kubernetes.version")
        if key:
            self.put("kubernetes.version", str(version).lstrip("v"), key)
        for role, ours, number_key in (("master", "kubernetes.control_plane_count", "terraform.masters"),
                                       ("worker", "kubernetes.worker_count", "terraform.workers")):
            count, source = self._count(role, number_key)
            if count is None and not self.res.errors:
                self.put(ours, YAOOK_DEFAULTS[number_key], number_key, default=True,
                         comment="yaook default of %s (<= v7: %d)" % (number_key, YAOOK_DEFAULTS[number_key]))
            elif count is not None:
                how = ("%d [%s.<name>] table%s" % (count, number_key, "" if count == 1 else "s")
                       if isinstance(_get(d, number_key), dict) else
                       '%d node table%s with role = "%s"' % (count, "" if count == 1 else "s", role)
                       if source == "terraform.nodes" else "%s = %d" % (number_key, count))
                self.res.sections.setdefault("kubernetes", []).append((ours.split(".")[1], count, "derived: %s" % how))
                self.res.origin[ours] = source
                if source == "terraform.nodes":
                    for name, node in (_get(d, "terraform.nodes") or {}).items():
                        if isinstance(node, dict) and node.get("role") == role:
                            self.mark("terraform.nodes.%s.role" % name, DERIVED, ours, count, note=how)
                elif isinstance(_get(d, number_key), dict):
                    # an empty node table counts and is filed as derived; a table with server properties
                    # counts too, its properties are filed by their own rule (server sizing)
                    self.res.entries.append({"kind": DERIVED, "yaook": number_key, "value": sorted(_get(d, number_key)),
                                             "target": ours, "written": count, "note": how, "own_note": True})
                    for name, node in _get(d, number_key).items():
                        if node == {}:
                            self.mark("%s.%s" % (number_key, name), DERIVED, ours, count, note=how)
                else:
                    self.mark(number_key, DERIVED, ours, count, note=how)
        net = "kubernetes.network."
        for fam, stem, ours in (("ipv4", "pod_subnet", "kubernetes.pod_subnet_v4"),
                                ("ipv4", "service_subnet", "kubernetes.service_subnet_v4"),
                                ("ipv6", "pod_subnet_v6", "kubernetes.pod_subnet_v6"),
                                ("ipv6", "service_subnet_v6", "kubernetes.service_subnet_v6")):
            key, val = self.value(net + stem)
            if fam not in fams:
                if key:
                    self.mark(key, NOT_RELEVANT, note="%s is not enabled; yaook ignores this key too" % fam)
                continue
            if key:
                self.put(ours, val, key)
            else:
                self.put(ours, YAOOK_DEFAULTS[net + stem], net + stem, default=True)
        key, plugin = self.value(net + "plugin", "k8s_network_plugin")
        if key:
            self.put("kubernetes.network_plugin", plugin, key)
        # calico
        key, val = self.value(net + "bgp_worker_as")
        if key:
            self.put("calico.as_number", val, key)
        else:
            self.put("calico.as_number", YAOOK_DEFAULTS[net + "bgp_worker_as"], net + "bgp_worker_as", default=True)
        key, val = self.value(net + "calico.encapsulation")
        if key:
            if "ipv4" in fams:
                self.put("calico.encapsulation_v4", val, key)
            else:
                self.mark(key, NOT_SUPPORTED, note="an IPv6-only cluster: set calico.encapsulation_v6 yourself "
                          "(None or VXLAN)")
        for fam, stem, ours in (("ipv4", "ipv4_nat_outgoing", "calico.nat_outgoing_v4"),
                                ("ipv6", "ipv6_nat_outgoing", "calico.nat_outgoing_v6")):
            key, val = self.value(net + stem)
            if fam not in fams:
                if key:
                    self.mark(key, NOT_RELEVANT, note="%s is not enabled" % fam)
                continue
            if key:
                self.put(ours, val, key)
            else:
                self.put(ours, YAOOK_DEFAULTS[net + stem], net + stem, default=True)

    def leftovers(self):
        """Every leaf not handled above: its rule's reason, or unknown with a did-you-mean."""
        for key, dummy in self.leaves:
            if key in self.done:
                continue
            value = None   # keys not carried keep no value: some hold secrets (shared_secret, tokens)
            rule = rule_for(key)
            if rule is None:
                flat = ".".join(_segments(key))
                close = difflib.get_close_matches(flat, KNOWN_KEYS, n=1, cutoff=0.75)
                note = "not a documented yaook key%s; nothing was carried from it" % (
                    " (did you mean %s?)" % close[0] if close else "")
                entry = {"kind": UNKNOWN, "yaook": key, "value": value, "target": None, "written": None, "note": note}
            elif rule.kind in (CARRIED, DERIVED):
                entry = {"kind": NOT_SUPPORTED, "yaook": key, "value": value, "target": None, "written": None,
                         "note": "not carried in this combination of keys (%s)" % (rule.note or rule.target)}
            else:
                entry = {"kind": rule.kind, "yaook": key, "value": value, "target": None, "written": None,
                         "note": rule.note}
            self.done[key] = entry
            self.res.entries.append(entry)


def convert(data, ipam=None, openstack_cloud=None):
    """A yaook config (dict from tomllib) -> ImportResult. ``ipam``: yaook's wireguard_ipam.toml as a dict."""
    if not isinstance(data, dict):
        res = ImportResult()
        res.errors.append(("", "the yaook config must be a TOML table"))
        return res
    return _Converter(data, ipam, openstack_cloud).run()


# ------------------------------------------------------------------------------------------------
# Writing our config.toml
# ------------------------------------------------------------------------------------------------

def toml_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)   # a JSON string is a TOML basic string
    if isinstance(value, (list, tuple)):
        return "[%s]" % ", ".join(toml_value(v) for v in value)
    raise TypeError("cannot write %r as TOML" % (value,))


def _lines(pairs):
    width = max([len("%s = %s" % (k, toml_value(v))) for k, v, c in pairs] + [0])
    return ["%-*s  # %s" % (width, "%s = %s" % (k, toml_value(v)), c) if c else "%s = %s" % (k, toml_value(v))
            for k, v, c in pairs]


def render_toml(res, source=None):
    """Our config.toml, each value commented with its yaook source."""
    out = ["# dualstack.k8s config.toml imported from a yaook/k8s config%s" % (" (%s)" % source if source else ""),
           "# by dualstack.k8s.yaook_import. Each value names its yaook source; yaook keys without a",
           "# counterpart are listed in the import report (docs/yaook.md)."]
    for section in ORDER:
        pairs = res.sections.get(section)
        if not pairs:
            continue
        out += ["", "[%s]" % section] + _lines(pairs)
        if section == "wireguard":
            for peer in res.peers:
                out += ["", "[[wireguard.peers]]"] + _lines(peer)
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------------------------------------
# Errors and report in yaook's words
# ------------------------------------------------------------------------------------------------

def _reverse_rules():
    """Our key -> the first yaook key (no wildcard) that carries it, for keys the import did not write."""
    out = {}
    for rule in RULES:
        if rule.kind in (CARRIED, DERIVED) and "*" not in rule.pattern and "[]" not in rule.pattern:
            for target in rule.target.split(","):
                out.setdefault(target.strip(), rule.pattern)
    out.setdefault("wireguard.peers", "wireguard.peers")
    return out


REVERSE = _reverse_rules()


def yaook_key_of(res, key):
    """Our dotted key (as our validation names it) -> the yaook key it came from."""
    origin = dict(REVERSE)
    origin.update(res.origin)
    best = None
    for ours in origin:
        if key == ours or key.startswith(ours + ".") or key.startswith(ours + "["):
            if best is None or len(ours) > len(best):
                best = ours
    if best is None:
        return None
    source = origin[best]
    return source + key[len(best):] if source else None


def yaook_errors(res, errors):
    """Our (key, reason) validation errors -> (yaook key, reason) naming our key too."""
    out = []
    for key, reason in errors:
        source = yaook_key_of(res, key)
        if source is None:
            out.append((key, "%s (a dualstack.k8s key with no yaook counterpart)" % reason))
        elif source == key:
            out.append((key, reason))
        else:
            written = "default" if any(d["target"] == key for d in res.defaults) else "value"
            out.append((source, "%s (yaook %s, written as %s)" % (reason, written, key)))
    return out


def planned_differently(res, plan):
    """What the plan decides where yaook lets Neutron or its IPAM decide: VIPs, host and peer addresses."""
    notes = []
    name = plan["cluster"]["name"]
    for fam in plan["cluster"]["ip_families"]:
        suffix = "v4" if fam == "ipv4" else "v6"
        if "gateways.vip_%s" % suffix not in res.origin:
            notes.append({"target": "gateways.vip_%s" % suffix, "value": plan["vips"][fam],
                          "note": "yaook lets Neutron pick the %s address of port %s-gateway-vip; the plan uses the "
                          "subnet's second-to-last address. To keep a running cluster's VIP, set gateways.vip_%s "
                          "to that port's address" % (fam, name, suffix)})
    hosts = ", ".join("%s %s" % (h, "/".join(v["node_ips"])) for h, v in plan["hosts"].items())
    if res.bare_metal:
        notes.append({"target": "hosts", "value": hosts,
                      "note": "bare-metal yaook (terraform.enabled = false) takes its hosts and addresses from its "
                      "inventory (infra.hosts_file), which the import cannot read: the counts are yaook's Terraform "
                      "defaults. List the hosts in [[gateways.hosts]] / [[kubernetes.control_plane]] / "
                      "[[kubernetes.workers]] with their addresses"})
    else:
        notes.append({"target": "hosts", "value": hosts,
                      "note": "yaook's Neutron ports get addresses from DHCP; the plan places hosts at subnet start + "
                      "offset + index (gateways 10, control plane 20, workers 50). A running yaook cluster's "
                      "addresses go in [[gateways.hosts]] / [[kubernetes.control_plane]] / [[kubernetes.workers]]"})
    for i, peer in enumerate(plan["wireguard"]["peers"]):
        for fam in plan["cluster"]["ip_families"]:
            key = "wireguard.peers[%d].%s" % (i, fam)
            if peer.get(fam) and key not in res.origin:
                notes.append({"target": key, "value": peer[fam],
                              "note": "peer %s has no %s address in the yaook config or its wireguard_ipam.toml: "
                              "yaook's IPAM would pick a random free one; the plan uses WireGuard gateway + 1 + "
                              "peer index" % (peer["name"], fam)})
    notes.append({"target": "gateways (VRRP)", "value": ", ".join(
        "%s %d" % (h, plan["hosts"][h]["vrrp_priority"]) for h in plan["groups"]["gateways"]),
        "note": "VRRP priorities are planned (yaook: load-balancing.vrrp_priorities, default 150, 100, 50)"})
    return notes


def report_lines(res, plan=None):
    """The report as text lines (the playbook prints them)."""
    rep = res.report()
    out = []

    def head(title, items):
        out.append("%s (%d):" % (title, len(items)))

    head("carried", rep["carried"])
    for e in rep["carried"]:
        out.append("  %s = %s -> %s%s" % (e["yaook"], toml_value(e["value"]) if _plain(e["value"]) else "...",
                                          e["target"], "  (%s)" % e["note"] if e.get("own_note") else ""))
    head("derived", rep["derived"])
    for e in rep["derived"]:
        out.append("  %s -> %s = %s%s" % (e["yaook"], e["target"], toml_value(e["written"]) if _plain(e["written"])
                                          else "...", "  (%s)" % e["note"] if e["note"] else ""))
    head("yaook defaults written (the key is absent from the yaook config)", rep["yaook_defaults"])
    for e in rep["yaook_defaults"]:
        out.append("  %s = %s  (default of %s)" % (e["target"], toml_value(e["value"]), e["yaook"]))
    for title, name in (("not relevant here", "not_relevant"), ("not supported yet", "not_supported"),
                        ("unknown", "unknown")):
        head(title, rep[name])
        for e in rep[name]:
            out.append("  %s: %s" % (e["yaook"], e["note"]))
    if plan is not None:
        notes = planned_differently(res, plan)
        head("planned here where yaook decides otherwise", notes)
        for n in notes:
            out.append("  %s = %s: %s" % (n["target"], n["value"], n["note"]))
    return out


def _plain(value):
    return isinstance(value, (bool, int, float, str)) or (
        isinstance(value, list) and all(isinstance(v, (bool, int, float, str)) for v in value))


# ------------------------------------------------------------------------------------------------
# The generated part of docs/yaook.md
# ------------------------------------------------------------------------------------------------

def mapping_table():
    """docs/yaook.md's key table, from RULES."""
    rows = ["| yaook key | here | how |", "|---|---|---|"]
    for rule in RULES:
        if rule.kind in (CARRIED, DERIVED):
            here = ", ".join("`%s`" % t.strip() for t in rule.target.split(","))
            how = ("derived: " if rule.kind == DERIVED else "") + (rule.note or "carried as is")
        else:
            here = "— (%s)" % rule.kind
            how = rule.note
        rows.append("| `%s` | %s | %s |" % (rule.pattern, here, how.replace("|", "\\|")))
    return "\n".join(rows)


def defaults_table():
    rows = ["| yaook key | yaook default |", "|---|---|"]
    for key in sorted(YAOOK_DEFAULTS):
        rows.append("| `%s` | `%s` |" % (key, toml_value(YAOOK_DEFAULTS[key])))
    return "\n".join(rows)
