"""The address plan: deterministic, family-ordered, stable when the cluster grows."""

import copy
import json
import os

from ansible_collections.dualstack.k8s.plugins.plugin_utils.config import load_config, parse_config
from ansible_collections.dualstack.k8s.plugins.plugin_utils.plan import build_plan

from test_config import BASE, variant  # noqa: E402  (same directory)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(REPO, "config", "examples")


def plan_of(data):
    return build_plan(parse_config(copy.deepcopy(data)))


def test_hosts_get_fixed_addresses_of_both_families():
    plan = plan_of(BASE)
    assert plan["hosts"]["gw1"]["ipv4"] == "172.30.154.10"
    assert plan["hosts"]["gw1"]["ipv6"] == "fd54:154::a"
    assert plan["hosts"]["master1"]["node_ips"] == ["172.30.154.20", "fd54:154::14"]
    assert plan["hosts"]["worker2"]["node_ips"] == ["172.30.154.51", "fd54:154::33"]
    assert list(plan["hosts"]) == ["gw1", "gw2", "master1", "worker1", "worker2"]
    assert plan["groups"] == {"gateways": ["gw1", "gw2"], "k8s_control_plane": ["master1"],
                              "k8s_workers": ["worker1", "worker2"]}


def test_plan_is_deterministic():
    assert json.dumps(plan_of(BASE), sort_keys=True) == json.dumps(plan_of(BASE), sort_keys=True)


def test_adding_workers_never_moves_an_existing_host():
    before = plan_of(BASE)["hosts"]
    after = plan_of(variant(("kubernetes.worker_count", 40), ("gateways.count", 3),
                            ("kubernetes.control_plane_count", 3)))["hosts"]
    for name, host in before.items():
        assert after[name]["ipv4"] == host["ipv4"] and after[name]["ipv6"] == host["ipv6"], name
    assert len(after) == 3 + 3 + 40


def test_ipv6_primary_orders_everything_v6_first():
    plan = build_plan(load_config(os.path.join(EXAMPLES, "ipv6-primary.toml")))
    assert plan["cluster"]["primary_family"] == "ipv6"
    assert plan["kubernetes"]["pod_subnets"] == ["fd20:244::/56", "10.244.0.0/16"]
    assert plan["kubernetes"]["service_subnets"] == ["fd20:96::/108", "10.96.0.0/16"]
    assert [p["family"] for p in plan["calico"]["pools"]] == ["ipv6", "ipv4"]
    for host in plan["hosts"].values():
        assert ":" in host["node_ips"][0] and "." in host["node_ips"][1]
        assert host["primary_ip"] == host["ipv6"]
    assert plan["kubernetes"]["control_plane_endpoint"] == "[2001:db8:20:0:ffff:ffff:ffff:fffe]:6443"


def test_ipv6_only_has_no_ipv4_anywhere():
    plan = build_plan(load_config(os.path.join(EXAMPLES, "ipv6-only.toml")))
    assert plan["network"]["ipv4"] is None and plan["vips"]["ipv4"] is None
    for host in plan["hosts"].values():
        assert host["ipv4"] is None and len(host["node_ips"]) == 1
    assert plan["kubernetes"]["node_mask_sizes"] == {"ipv6": 80}
    # the WireGuard and node subnets, and the routable (global) pod subnet
    assert plan["wireguard"]["client_allowed_ips"] == ["2001:db8:31::/120", "2001:db8:30::/64", "2001:db8:32::/64"]
    assert plan["nat64"]["ipv4_pool"] == "100.64.64.0/24"  # IPv4 only behind NAT64, on the gateways
    assert plan["calico"]["next_hop_mode"] == "Keep"


def test_ipv4_only():
    plan = build_plan(load_config(os.path.join(EXAMPLES, "ipv4-only.toml")))
    assert plan["cluster"]["ip_families"] == ["ipv4"]
    assert all(h["ipv6"] is None for h in plan["hosts"].values())
    assert plan["kubernetes"]["control_plane_endpoint"] == "10.40.0.254:6443"


def test_vips_default_to_second_to_last_address():
    plan = plan_of(variant(("gateways.vip_v4", None), ("gateways.vip_v6", None)))
    assert plan["vips"]["ipv4"] == "172.30.154.254"
    assert plan["vips"]["ipv6"] == "fd54:154::fe"


def test_router_is_first_address_not_the_anycast_address():
    plan = plan_of(BASE)
    assert plan["network"]["ipv6"]["gateway"] == "fd54:154::1"
    assert plan["network"]["ipv6"]["allocation_pool"] == {"start": "fd54:154::2", "end": "fd54:154::9"}


def test_wireguard_peers_and_client_allowed_ips():
    plan = plan_of(BASE)
    wg = plan["wireguard"]
    assert wg["ipv6"]["gateway"] == "fd54:153::1" and wg["ipv4"]["gateway"] == "172.30.153.1"
    assert wg["peers"][0]["allowed_ips"] == ["172.30.153.2/32", "fd54:153::2/128"]
    assert wg["client_allowed_ips"] == ["172.30.153.0/24", "fd54:153::/120", "172.30.154.0/24", "fd54:154::/120"]


def test_wireguard_endpoint_sync_port_follows_the_wireguard_port():
    assert plan_of(BASE)["wireguard"]["endpoint_sync_port"] == BASE["wireguard"].get("port", 7777) + 1
    assert plan_of(variant(("wireguard.port", 65535)))["wireguard"]["endpoint_sync_port"] == 65534
    assert plan_of(variant(("wireguard.endpoint_sync_port", 5000)))["wireguard"]["endpoint_sync_port"] == 5000


def test_node_mask_default_follows_yaook():
    plan = plan_of(BASE)
    assert plan["kubernetes"]["node_mask_sizes"] == {"ipv4": 24, "ipv6": 72}


def test_kubernetes_endpoint_and_sans():
    plan = plan_of(BASE)
    assert plan["kubernetes"]["control_plane_endpoint"] == "172.30.154.254:6443"
    assert plan["kubernetes"]["cert_sans"] == ["172.30.154.254", "fd54:154::fe"]
    named = plan_of(variant(("kubernetes.control_plane_endpoint", "api.example.org")))
    assert named["kubernetes"]["control_plane_endpoint"] == "api.example.org:6443"
    assert "api.example.org" in named["kubernetes"]["cert_sans"]


def test_explicit_hosts_keep_their_addresses():
    plan = plan_of(variant(("kubernetes.worker_count", None),
                           ("kubernetes.workers", [{"name": "edge", "ipv4": "172.30.154.200"}, {"name": "w2"}])))
    assert plan["hosts"]["edge"]["ipv4"] == "172.30.154.200"
    assert plan["hosts"]["edge"]["ipv6"] == "fd54:154::32"  # derived from its index
    assert plan["hosts"]["w2"]["ipv4"] == "172.30.154.51"
