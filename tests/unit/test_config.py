"""The config model and its rules: good configs load, bad ones name the key and the reason."""

import copy
import os

import pytest

from ansible_collections.dualstack.k8s.plugins.plugin_utils.config import ConfigError, load_config, parse_config
from ansible_collections.dualstack.k8s.plugins.plugin_utils.plan import build_plan

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KEY = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="

BASE = {
    "cluster": {"name": "t", "ip_families": ["ipv4", "ipv6"], "dns_domain": "cluster.local"},
    "network": {"ipv4_cidr": "172.30.154.0/24", "ipv6_cidr": "fd54:154::/120", "ipv6_mode": "dhcpv6-stateful"},
    "openstack": {"cloud": "lab", "external_network": "public"},
    "gateways": {"count": 2, "as_number": 65000, "vip_v4": "172.30.154.254", "vip_v6": "fd54:154::fe"},
    "wireguard": {"ipv4_cidr": "172.30.153.0/24", "ipv6_cidr": "fd54:153::/120", "ipv6_gw": "fd54:153::1/120",
                  "port": 7777, "peers": [{"name": "alice", "public_key": KEY}]},
    "kubernetes": {"control_plane_count": 1, "worker_count": 2,
                   "pod_subnet_v4": "10.244.0.0/16", "pod_subnet_v6": "fdff:2::/56",
                   "service_subnet_v4": "10.96.0.0/12", "service_subnet_v6": "fdff:3::/112"},
    "calico": {"as_number": 64512},
}

_DELETE = object()


def variant(*changes):
    """BASE with ("dotted.path", value) changes applied; value _DELETE removes the key."""
    data = copy.deepcopy(BASE)
    for path, value in changes:
        node = data
        parts = path.split(".")
        for part in parts[:-1]:
            node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
        last = parts[-1]
        if value is _DELETE:
            del node[last]
        elif last.isdigit():
            node[int(last)] = value
        else:
            node[last] = value
    return data


def errors_of(data):
    with pytest.raises(ConfigError) as info:
        parse_config(data, source="test.toml")
    return info.value


def test_base_is_valid():
    plan = build_plan(parse_config(copy.deepcopy(BASE)))
    assert plan["cluster"]["primary_family"] == "ipv4"


# (id, changes, expected dotted key, a word the reason must contain)
BAD = [
    # types
    ("type-count-string", [("gateways.count", "2")], "gateways.count", "wrong type"),
    ("type-port-float", [("wireguard.port", 7777.5)], "wireguard.port", "wrong type"),
    ("type-families-string", [("cluster.ip_families", "ipv4")], "cluster.ip_families", "wrong type"),
    ("type-mesh-string", [("calico.node_to_node_mesh", "yes")], "calico.node_to_node_mesh", "wrong type"),
    ("type-cidr-int", [("network.ipv4_cidr", 10)], "network.ipv4_cidr", "wrong type"),
    ("type-table-is-string", [("calico", "yes")], "calico", "wrong type"),
    # unknown keys with suggestions
    ("unknown-typo", [("network.ipv6_cdir", "fd00::/64")], "network.ipv6_cdir", "did you mean 'ipv6_cidr'"),
    ("unknown-section", [("kubernets", {})], "kubernets", "did you mean 'kubernetes'"),
    ("unknown-seed-key-wrong-table", [("kubernetes.subnet_v6_cidr", "fd00::/120")],
     "kubernetes.subnet_v6_cidr", "network.ipv6_cidr"),
    ("unknown-peer-key", [("wireguard.peers.0.pubkey", KEY)], "wireguard.peers[0].pubkey", "did you mean"),
    # malformed values
    ("malformed-cidr", [("network.ipv4_cidr", "172.30.154.0/33")], "network.ipv4_cidr", "not a valid CIDR"),
    ("malformed-no-prefix", [("kubernetes.pod_subnet_v6", "fdff:2::")], "kubernetes.pod_subnet_v6", "no prefix length"),
    ("malformed-address", [("gateways.vip_v4", "172.30.154.300")], "gateways.vip_v4", "not a valid IP"),
    ("malformed-vip-is-cidr", [("gateways.vip_v6", "fd54:154::fe/120")], "gateways.vip_v6", "is a CIDR"),
    ("host-bits-v4", [("network.ipv4_cidr", "172.30.154.5/24")], "network.ipv4_cidr", "host bits set"),
    ("host-bits-v6", [("kubernetes.service_subnet_v6", "fdff:3::1/112")], "kubernetes.service_subnet_v6", "host bits"),
    ("v6-in-v4-field", [("network.ipv4_cidr", "fd54:154::/120")], "network.ipv4_cidr", "IPv6 CIDR"),
    ("v4-in-v6-field", [("kubernetes.pod_subnet_v6", "10.0.0.0/16")], "kubernetes.pod_subnet_v6", "IPv4 CIDR"),
    ("v4-vip-in-v6", [("gateways.vip_v6", "172.30.154.254")], "gateways.vip_v6", "IPv4 address"),
    # overlaps, both families
    ("overlap-pod-node-v4", [("kubernetes.pod_subnet_v4", "172.30.0.0/16")], "kubernetes.pod_subnet_v4", "overlaps"),
    ("overlap-svc-pod-v4", [("kubernetes.service_subnet_v4", "10.244.0.0/16")], "kubernetes.service_subnet_v4", "overlaps"),
    ("overlap-wg-node-v4", [("wireguard.ipv4_cidr", "172.30.154.0/25")], "wireguard.ipv4_cidr", "overlaps"),
    ("overlap-svc-pod-v6", [("kubernetes.service_subnet_v6", "fdff:2::/112")], "kubernetes.service_subnet_v6", "overlaps"),
    ("overlap-wg-node-v6", [("wireguard.ipv6_cidr", "fd54:154::/120"), ("wireguard.ipv6_gw", "fd54:154::1/120")],
     "wireguard.ipv6_cidr", "overlaps"),
    ("overlap-pod-node-v6", [("kubernetes.pod_subnet_v6", "fd54::/16")], "kubernetes.pod_subnet_v6", "overlaps"),
    # kubeadm size rules
    ("svc-v6-too-large", [("kubernetes.service_subnet_v6", "fdff:3::/104")], "kubernetes.service_subnet_v6", "at most 20 host bits"),
    ("svc-v4-too-large", [("kubernetes.service_subnet_v4", "10.96.0.0/11")], "kubernetes.service_subnet_v4", "at most 20 host bits"),
    ("node-mask-shorter-than-pod", [("kubernetes.node_mask_v4", 15)], "kubernetes.node_mask_v4", "shorter than the pod subnet"),
    ("node-mask-too-long", [("kubernetes.node_mask_v6", 80)], "kubernetes.node_mask_v6", "more than 16 bits"),
    ("node-cidrs-too-few", [("kubernetes.pod_subnet_v4", "10.244.0.0/22"), ("kubernetes.worker_count", 4)],
     "kubernetes.node_mask_v4", "holds 4 of them, the plan has 5 nodes"),
    # Calico blocks
    ("block-v4-range", [("calico.block_size_v4", 19)], "calico.block_size_v4", "outside Calico's range"),
    ("block-v6-range", [("calico.block_size_v6", 112)], "calico.block_size_v6", "outside Calico's range"),
    ("block-larger-than-node-mask", [("kubernetes.node_mask_v4", 28), ("calico.block_size_v4", 26)],
     "calico.block_size_v4", "larger than the node CIDR"),
    # Neutron /64 rule
    ("slaac-not-64", [("network.ipv6_mode", "slaac")], "network.ipv6_mode", "needs a /64"),
    ("stateless-not-64", [("network.ipv6_mode", "dhcpv6-stateless")], "network.ipv6_mode", "needs a /64"),
    ("mode-unknown", [("network.ipv6_mode", "dhcp")], "network.ipv6_mode", "dhcpv6-stateful"),
    # VIP and WireGuard gateway placement
    ("vip-outside", [("gateways.vip_v4", "172.30.155.254")], "gateways.vip_v4", "outside"),
    ("vip-is-host", [("gateways.vip_v4", "172.30.154.10")], "gateways.vip_v4", "address of host gw1"),
    ("vip6-is-host", [("gateways.vip_v6", "fd54:154::14")], "gateways.vip_v6", "address of host master1"),
    ("vip-is-router", [("gateways.vip_v6", "fd54:154::1")], "gateways.vip_v6", "router address"),
    ("wg-gw-outside", [("wireguard.ipv6_gw", "fd54:159::1/120")], "wireguard.ipv6_gw", "outside"),
    ("wg-gw-prefix-mismatch", [("wireguard.ipv6_gw", "fd54:153::1/64")], "wireguard.ipv6_gw", "differs"),
    ("wg-peer-is-gw", [("wireguard.peers.0.ipv4", "172.30.153.1")], "wireguard.peers[0].ipv4", "WireGuard gateway"),
    ("wg-sync-port-is-wg-port", [("wireguard.port", 7000), ("wireguard.endpoint_sync_port", 7000)],
     "wireguard.endpoint_sync_port", "needs a port of its own"),
    ("wg-sync-port-range", [("wireguard.endpoint_sync_port", 70000)], "wireguard.endpoint_sync_port", ""),
    # capacity
    ("subnet-too-small", [("kubernetes.worker_count", 300), ("kubernetes.pod_subnet_v4", "10.128.0.0/9")],
     "network.ipv4_cidr", "too small"),
    ("offsets-collide", [("gateways.count", 12)], "network.control_plane_offset", "collides"),
    ("explicit-host-outside", [("kubernetes.worker_count", _DELETE),
                               ("kubernetes.workers", [{"name": "w1", "ipv4": "10.9.9.9"}])],
     "kubernetes.workers[0].ipv4", "outside"),
    ("explicit-host-duplicate", [("kubernetes.worker_count", _DELETE),
                                 ("kubernetes.workers", [{"name": "w1", "ipv6": "fd54:154::a"}])],
     "kubernetes.workers[0].ipv6", "address of host gw1"),
    # families
    ("family-missing-cidr", [("network.ipv6_cidr", _DELETE)], "network.ipv6_cidr", "required"),
    ("family-missing-pod", [("kubernetes.pod_subnet_v4", _DELETE)], "kubernetes.pod_subnet_v4", "required"),
    ("family-unlisted-cidr", [("cluster.ip_families", ["ipv4"])], "network.ipv6_cidr", "not listed"),
    ("family-twice", [("cluster.ip_families", ["ipv6", "ipv6"])], "cluster.ip_families", "twice"),
    ("family-unknown", [("cluster.ip_families", ["ipv4", "ipv5"])], "cluster.ip_families[1]", "ipv6"),
    ("family-empty", [("cluster.ip_families", [])], "cluster.ip_families", "one or two"),
    ("wg-family-missing", [("wireguard.ipv6_cidr", _DELETE), ("wireguard.ipv6_gw", _DELETE)],
     "wireguard.ipv6_cidr", "required"),
    # plugins, keys, names, numbers
    ("plugin-not-calico", [("kubernetes.network_plugin", "flannel")], "kubernetes.network_plugin", "calico"),
    ("seed-plugin-not-calico", [("kubernetes.k8s_network_plugin", "cilium")], "kubernetes.network_plugin", "calico"),
    ("peer-bad-key", [("wireguard.peers.0.public_key", "not-a-key")], "wireguard.peers[0].public_key", "WireGuard public key"),
    ("peer-short-key", [("wireguard.peers.0.public_key", KEY[:-4] + "====")], "wireguard.peers[0].public_key", "public key"),
    ("peer-no-key", [("wireguard.peers.0.public_key", _DELETE)], "wireguard.peers[0].public_key", "exactly one"),
    ("peer-key-file-missing", [("wireguard.peers.0.public_key", _DELETE),
                               ("wireguard.peers.0.public_key_file", "/nonexistent/alice.pub")],
     "wireguard.peers[0].public_key_file", "cannot read"),
    ("peer-duplicate", [("wireguard.peers", [{"name": "a", "public_key": KEY}, {"name": "a", "public_key": KEY}])],
     "wireguard.peers[1].name", "twice"),
    ("count-and-hosts", [("gateways.hosts", [{"name": "g"}])], "gateways.hosts", "not both"),
    ("host-name-bad", [("gateways.count", _DELETE), ("gateways.hosts", [{"name": "GW_1"}])],
     "gateways.hosts[0].name", "host name"),
    ("host-name-duplicate", [("gateways.count", _DELETE), ("gateways.hosts", [{"name": "master1"}])],
     "gateways.hosts[0].name", "used twice"),
    ("as-equal", [("gateways.as_number", 64512)], "gateways.as_number", "eBGP"),
    ("as-range", [("calico.as_number", 0)], "calico.as_number", "greater than or equal to 1"),
    ("port-range", [("wireguard.port", 70000)], "wireguard.port", "less than or equal to 65535"),
    ("dns-domain", [("cluster.dns_domain", "Cluster_Local")], "cluster.dns_domain", "DNS name"),
    ("version-old", [("kubernetes.version", "1.20")], "kubernetes.version", "pattern"),
    ("encap-ipip-v6", [("calico.encapsulation_v6", "IPIP")], "calico.encapsulation_v6", "VXLAN"),
    ("seed-conflict", [("network.subnet_v6_cidr", "fd54:154::/120")], "network.subnet_v6_cidr", "keep only"),
    ("seed-dualstack-contradiction", [("dualstack-support", False)], "cluster.ip_families", "contradicts"),
    ("advert-int", [("gateways.vrrp_advert_int", 0)], "gateways.vrrp_advert_int", "greater than or equal"),
    ("advert-int-vrrpv3-max", [("gateways.vrrp_advert_int", 41.0)], "gateways.vrrp_advert_int", "less than or equal to 40.95"),
    ("as-trans", [("gateways.as_number", 23456)], "gateways.as_number", "AS_TRANS"),
    ("export-extra-overlaps-node", [("gateways.export_extra_v6", ["fd54:154::/64"])], "gateways.export_extra_v6[0]",
     "announce the cluster's own network"),
    ("public-vip-in-node-subnet", [("gateways.public_vip_v4", "172.30.154.200")], "gateways.public_vip_v4", "inside the node subnet"),
]


@pytest.mark.parametrize("changes,key,reason", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_config_names_the_key(changes, key, reason):
    exc = errors_of(variant(*changes))
    messages = dict(exc.errors)
    assert key in messages, "expected an error at %s, got %s" % (key, exc.errors)
    assert reason.lower() in messages[key].lower(), messages[key]
    assert key in str(exc)


def test_there_are_at_least_40_distinct_bad_configs():
    assert len({b[0] for b in BAD}) == len(BAD) >= 40


def test_all_errors_are_collected_not_just_the_first():
    exc = errors_of(variant(("kubernetes.service_subnet_v6", "fdff:3::/100"),
                            ("calico.block_size_v4", 40),
                            ("network.ipv6_mode", "slaac"),
                            ("gateways.as_number", 64512)))
    assert {"kubernetes.service_subnet_v6", "calico.block_size_v4", "network.ipv6_mode",
            "gateways.as_number"} <= set(exc.keys())


def test_type_errors_are_collected_together():
    exc = errors_of(variant(("gateways.count", "2"), ("wireguard.port", "x"), ("network.ipv4_cidr", "nope")))
    assert {"gateways.count", "wireguard.port", "network.ipv4_cidr"} <= set(exc.keys())


def test_seed004_keys_are_accepted():
    cfg = load_config(os.path.join(REPO, "config", "examples", "seed004.toml"))
    plan = build_plan(cfg)
    assert plan["cluster"]["ip_families"] == ["ipv4", "ipv6"]
    assert plan["network"]["ipv6"]["cidr"] == "fd00:154::/120"
    assert plan["wireguard"]["ipv6"] == {"cidr": "fd01::/120", "prefixlen": 120, "gateway": "fd01::1"}
    assert plan["kubernetes"]["network_plugin"] == "calico"


def test_seed004_top_level_plugin_key():
    data = variant()
    data["k8s_network_plugin"] = "calico"
    assert parse_config(data).kubernetes.network_plugin == "calico"


def test_dualstack_support_false_means_ipv4_only():
    data = variant(("cluster.ip_families", _DELETE), ("network.ipv6_cidr", _DELETE),
                   ("kubernetes.pod_subnet_v6", _DELETE), ("kubernetes.service_subnet_v6", _DELETE),
                   ("wireguard.ipv6_cidr", _DELETE), ("wireguard.ipv6_gw", _DELETE), ("gateways.vip_v6", _DELETE))
    data["dualstack-support"] = False
    assert parse_config(data).cluster.ip_families == ["ipv4"]


def test_missing_file_and_bad_toml(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(str(tmp_path / "nope.toml"))
    bad = tmp_path / "bad.toml"
    bad.write_text("[cluster\nname = 1\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(str(bad))


def test_env_var_names_the_config(tmp_path, monkeypatch):
    path = tmp_path / "c.toml"
    path.write_text('[cluster]\nname = "envtest"\nip_families = ["ipv4"]\n[network]\nipv4_cidr = "10.1.0.0/24"\n'
                    '[kubernetes]\npod_subnet_v4 = "10.244.0.0/16"\nservice_subnet_v4 = "10.96.0.0/12"\n')
    monkeypatch.setenv("DUALSTACK_CONFIG", str(path))
    assert load_config().cluster.name == "envtest"


@pytest.mark.parametrize("name", sorted(os.listdir(os.path.join(REPO, "config", "examples"))))
def test_examples_load(name):
    plan = build_plan(load_config(os.path.join(REPO, "config", "examples", name)))
    assert plan["hosts"]
