"""Issue 16 on the controller: NAT64/DNS64 and routable IPv6 pods in the config model, the rules, the
plan and the role inputs; the lab-ready examples of every address-family mode.

Bad configs name the key to change (the rules of tayga, unbound and RFC 6052); the inputs are what the
roles nat64, resolver, bird, keepalived and kubeadm take (their argument specs are checked in
test_role_inputs_gateways.py / test_role_inputs_k8s.py for every example)."""

import os
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if os.path.join(REPO, ".collections") not in sys.path:
    sys.path.insert(0, os.path.join(REPO, ".collections"))

from ansible_collections.dualstack.k8s.plugins.plugin_utils import role_inputs as R  # noqa: E402
from ansible_collections.dualstack.k8s.plugins.plugin_utils.config import ConfigError, parse_config  # noqa: E402
from ansible_collections.dualstack.k8s.plugins.plugin_utils.plan import build_plan, load_plan  # noqa: E402

from test_config import _DELETE, variant  # noqa: E402

V6_ONLY = [("cluster.ip_families", ["ipv6"]), ("network.ipv4_cidr", _DELETE), ("kubernetes.pod_subnet_v4", _DELETE),
           ("kubernetes.service_subnet_v4", _DELETE), ("wireguard.ipv4_cidr", _DELETE), ("gateways.vip_v4", _DELETE)]
NAT64 = [("nat64", {"enabled": True, "dns64_upstreams": ["192.0.2.53"]})]
GLOBAL_PODS = [("calico.pod_address_scope", "global"), ("calico.nat_outgoing_v6", False),
               ("kubernetes.pod_subnet_v6", "2001:db8:32::/64")]


def plan_of(*changes):
    return build_plan(parse_config(variant(*changes), source=os.path.join(REPO, "config", "test.toml")))


def errors_of(*changes):
    with pytest.raises(ConfigError) as info:
        plan_of(*changes)
    out = {}
    for key, msg in info.value.errors:
        out.setdefault(key, []).append(msg)
    return out


BAD = [
    ("nat64-needs-ipv6", [("cluster.ip_families", ["ipv4"]), ("network.ipv6_cidr", _DELETE),
                          ("kubernetes.pod_subnet_v6", _DELETE), ("kubernetes.service_subnet_v6", _DELETE),
                          ("wireguard.ipv6_cidr", _DELETE), ("wireguard.ipv6_gw", _DELETE),
                          ("gateways.vip_v6", _DELETE)] + NAT64, "nat64.enabled", "ipv6"),
    ("nat64-prefix-length", V6_ONLY + [("nat64", {"enabled": True, "prefix": "fd64:64::/80"})], "nat64.prefix",
     "RFC 6052"),
    ("nat64-prefix-host-bits", V6_ONLY + [("nat64", {"enabled": True, "prefix": "fd64:64::1/96"})], "nat64.prefix",
     "host bits"),
    ("nat64-prefix-u-octet", V6_ONLY + [("nat64", {"enabled": True, "prefix": "fd64:64:0:0:ff00::/96"})],
     "nat64.prefix", "bits 64-71"),
    ("nat64-prefix-rfc8215", V6_ONLY + [("nat64", {"enabled": True, "prefix": "64:ff9b:1::/48"})], "nat64.prefix",
     "tayga"),
    ("nat64-prefix-overlaps-pods", V6_ONLY + [("nat64", {"enabled": True, "prefix": "fdff:2::/96"})], "nat64.prefix",
     "kubernetes.pod_subnet_v6"),
    ("nat64-pool-too-small", V6_ONLY + [("nat64", {"enabled": True, "ipv4_pool": "100.64.64.0/31"})],
     "nat64.ipv4_pool", "/16 to /30"),
    ("nat64-pool-overlaps-lab", V6_ONLY + [("nat64", {"enabled": True, "ipv4_pool": "172.30.152.0/26"}),
                                           ("lab", {"external_cidr_v4": "172.30.152.0/24",
                                                    "external_cidr_v6": "fd54:152::/120"})],
     "nat64.ipv4_pool", "lab.external_cidr_v4"),
    ("nat64-pool-special", V6_ONLY + [("nat64", {"enabled": True, "ipv4_pool": "127.64.0.0/24"})],
     "nat64.ipv4_pool", "loopback"),
    ("nat64-upstream-loopback", V6_ONLY + [("nat64", {"enabled": True, "dns64_upstreams": ["::1"]})],
     "nat64.dns64_upstreams[0]", "loopback"),
    ("nat64-upstream-inside-prefix", V6_ONLY + [("nat64", {"enabled": True, "dns64_upstreams": ["fd64:64::8.8.8.8"]})],
     "nat64.dns64_upstreams[0]", "through itself"),
    ("nat64-zone-twice", V6_ONLY + [("nat64", {"enabled": True, "dns64_zones": [
        {"name": "corp.example", "servers": ["192.0.2.53"]}, {"name": "corp.example", "servers": ["192.0.2.54"]}]})],
     "nat64.dns64_zones[1].name", "twice"),
    ("nat64-zone-server-loopback", V6_ONLY + [("nat64", {"enabled": True, "dns64_zones": [
        {"name": "corp.example", "servers": ["127.0.0.53"]}]})], "nat64.dns64_zones[0].servers[0]", "loopback"),
    ("nat64-unknown-key", V6_ONLY + [("nat64", {"enabled": True, "pool": "100.64.0.0/24"})], "nat64.pool", ""),
    ("pods-global-with-nat", V6_ONLY + [("calico.pod_address_scope", "global"),
                                        ("kubernetes.pod_subnet_v6", "2001:db8:32::/64")],
     "calico.nat_outgoing_v6", "false"),
    ("pods-global-ula", V6_ONLY + [("calico.pod_address_scope", "global"), ("calico.nat_outgoing_v6", False)],
     "kubernetes.pod_subnet_v6", "ULA"),
    ("lab-outside-needs-v4", V6_ONLY + [("lab", {"external_cidr_v6": "fd54:152::/120", "outside_host": "web"})],
     "lab.external_cidr_v4", "outside_host"),
    ("lab-outside-name-taken", V6_ONLY + [("lab", {"external_cidr_v4": "172.30.152.0/24", "outside_host": "gw1"})],
     "lab.outside_host", "already"),
]


@pytest.mark.parametrize("changes,key,reason", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_config_names_the_key(changes, key, reason):
    errors = errors_of(*changes)
    assert key in errors, errors
    assert any(reason.lower() in m.lower() for m in errors[key]), errors[key]


def test_nat64_plan_and_gateway_inputs():
    plan = plan_of(*(V6_ONLY + NAT64 + GLOBAL_PODS))
    n = plan["nat64"]
    assert n == {"prefix": "fd64:64::/96", "ipv4_pool": "100.64.64.0/24", "tayga_ipv4": "100.64.64.1", "dns64": True,
                 "dns64_address": plan["vips"]["ipv6"], "dns64_upstreams": ["192.0.2.53"],
                 "dns64_dnssec": True, "dns64_zones": []}
    gw = R.host_inputs(plan, "gw1")
    assert gw["nat64_prefix"] == "fd64:64::/96" and gw["nat64_dynamic_pool"] == "100.64.64.0/24"
    assert gw["nat64_tayga_ipv4"] == "100.64.64.1" and gw["nat64_interface"] == "nat64"
    # DNS64 on the VIP (freebind) and the gateway's own address; the cluster's networks may ask
    assert gw["nat64_dns64_listen"] == [plan["vips"]["ipv6"], plan["hosts"]["gw1"]["ipv6"]]
    assert set(gw["nat64_dns64_access"]) == {plan["network"]["ipv6"]["cidr"], "2001:db8:32::/64",
                                             plan["wireguard"]["ipv6"]["cidr"]}
    # bird announces the prefix from tayga's device route; keepalived gives up the VIPs without tayga/unbound
    assert gw["nat64_dns64_upstreams"] == ["192.0.2.53"] and gw["nat64_dns64_stub_zones"] == []
    assert gw["bird_static_routes"]["ipv6"] == [{"prefix": "fd64:64::/96", "dev": "nat64"}]
    assert "fd64:64::/96" in gw["bird_export_extra"]["ipv6"]
    assert {"dualstack-nat64.service", "unbound.service"} <= set(gw["keepalived_track_services"])
    # the nodes ask DNS64 on the VIP, so do the pods (kubelet resolvConf -> CoreDNS upstream)
    node = R.host_inputs(plan, "worker1")
    assert node["resolver_nameservers"] == [plan["vips"]["ipv6"]]
    assert node["resolver_kubelet_file"] == R.KUBELET_RESOLV_CONF
    first = R.host_inputs(plan, plan["kubernetes"]["first_control_plane"])
    assert first["kubeadm_resolv_conf"] == R.KUBELET_RESOLV_CONF


def test_without_nat64_nothing_of_it():
    plan = plan_of(*V6_ONLY)
    assert plan["nat64"] is None
    gw = R.host_inputs(plan, "gw1")
    assert not [k for k in gw if k.startswith("nat64_")]
    assert gw["bird_static_routes"] == {"ipv4": [], "ipv6": []}
    assert gw["keepalived_track_services"] == ["bird.service", "haproxy.service"]
    node = R.host_inputs(plan, "worker1")
    assert not [k for k in node if k.startswith("resolver_")]
    assert R.host_inputs(plan, "master1")["kubeadm_resolv_conf"] == ""


def test_global_pods_are_imported_by_the_gateways_and_routed_to_clients():
    plan = plan_of(*(V6_ONLY + GLOBAL_PODS))
    gw = R.host_inputs(plan, "gw1")
    assert gw["bird_import_prefixes"] == {"ipv4": [], "ipv6": ["2001:db8:32::/64"]}
    assert "2001:db8:32::/64" in plan["wireguard"]["client_allowed_ips"]
    ula = plan_of(*V6_ONLY)
    assert R.host_inputs(ula, "gw1")["bird_import_prefixes"] == {"ipv4": [], "ipv6": []}
    assert ula["calico"]["pod_address_scope"] == "ula"


def test_openstack_lets_nat64_and_routed_traffic_through():
    plan = plan_of(*(V6_ONLY + NAT64))
    spec = R.openstack_network_inputs(plan)
    gw_port = next(p for p in spec["openstack_network_ports"] if p["name"].endswith("-gw1"))
    assert {"ip_address": "fd64:64::/96"} in gw_port["allowed_address_pairs"]
    groups = {g["name"]: g for g in spec["openstack_network_security_groups"]}
    sg = plan["openstack"]["security_groups"]
    assert any(r["description"] == "NAT64 and DNS64 for the nodes" and r["remote_group"] == sg["nodes"]
               and r["ethertype"] == "IPv6" for r in groups[sg["gateways"]]["rules"])
    assert any(r.get("remote_group") == sg["gateways"] and "protocol" not in r for r in groups[sg["nodes"]]["rules"])


def test_client_endpoint_follows_the_primary_family():
    both = [("gateways.public_vip_v4", "172.30.152.254"), ("gateways.public_vip_v6", "2001:db8:99::5")]
    assert plan_of(*both)["wireguard"]["client_endpoint_host"] == "172.30.152.254"
    v6p = plan_of(*(both + [("cluster.ip_families", ["ipv6", "ipv4"])]))
    assert v6p["wireguard"]["client_endpoint_host"] == "2001:db8:99::5"


EXAMPLES = {"ipv4-only": ["ipv4"], "ipv6-primary": ["ipv6", "ipv4"], "ipv6-only": ["ipv6"]}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_mode_example_is_lab_ready(name):
    """config/examples/<mode>.toml has a [lab] table: `DUALSTACK_CONFIG=... bash tools/run-lab.sh` brings it up
    with only the mode's families on the lab's hosts (the gateways' external side keeps IPv4 for NAT64)."""
    plan = load_plan(os.path.join(REPO, "config", "examples", name + ".toml"))
    fams = EXAMPLES[name]
    assert plan["cluster"]["ip_families"] == fams
    lab = plan["lab"]
    assert lab and lab["wireguard_client"]
    assert set(lab["external_hosts"][lab["wireguard_client"]]) == set(fams) & set(lab["external_hosts"][lab["wireguard_client"]])
    endpoint = plan["wireguard"]["client_endpoint_host"]
    assert (":" in endpoint) == (fams[0] == "ipv6"), endpoint
    for host in plan["hosts"].values():
        assert [f for f in ("ipv4", "ipv6") if host[f]] == sorted(fams)
    if name == "ipv6-only":
        assert plan["nat64"] and lab["outside"]["fqdn"] == "web.outside.test"
        assert lab["external_hosts"]["web"] == {"ipv4": lab["outside"]["ipv4"]}
        assert plan["nat64"]["dns64_zones"] == [{"name": "outside.test", "servers": [lab["outside"]["ipv4"]]}]
        assert len(lab["pod_standins"]) == len(plan["groups"]["k8s_control_plane"] + plan["groups"]["k8s_workers"])
