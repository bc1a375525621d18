# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure helpers of plugins/module_utils/neutron.py (no server needed, milliseconds)."""
from __future__ import annotations

import copy

import pytest

from ansible_collections.dualstack.k8s.plugins.module_utils.neutron import (
    build_spec, eui64_address, gateway_target, merge_fixed_ips, norm_pairs, port_targets, prepare, prepare_port,
    rule_key, rules_plan,
)
from ansible_collections.dualstack.k8s.plugins.plugin_utils.role_inputs import openstack_network_inputs
from ansible_collections.dualstack.k8s.plugins.module_utils.openstack_base import ModuleError, guess_key

MAC = "fa:16:3e:00:00:01"


def test_pairs_are_a_set_with_the_default_mac_folded():
    current = [{"ip_address": "fd54:154::fe", "mac_address": MAC}, {"ip_address": "172.30.154.254", "mac_address": MAC}]
    wanted = [{"ip_address": "172.30.154.254/32"}, {"ip_address": "fd54:154::fe"}]
    assert norm_pairs(current, MAC) == norm_pairs(wanted, MAC)
    assert norm_pairs([{"ip_address": "10.0.0.1", "mac_address": "FA:16:3E:00:00:02"}], MAC) != norm_pairs(
        [{"ip_address": "10.0.0.1"}], MAC)


def test_port_with_pairs_in_another_order_is_unchanged():
    port = {"id": "p", "name": "gw1", "mac_address": MAC, "allowed_address_pairs": [
        {"ip_address": "fd54:154::fe", "mac_address": MAC}, {"ip_address": "172.30.154.254", "mac_address": MAC}],
        "fixed_ips": [{"subnet_id": "v6", "ip_address": "fd54:154::a"}, {"subnet_id": "v4", "ip_address": "172.30.154.10"}],
        "security_groups": ["a", "b"]}
    targets = port_targets(port, [{"subnet_id": "v4", "ip_address": "172.30.154.10"},
                                  {"subnet_id": "v6", "ip_address": "fd54:154:0::a"}],
                           [{"ip_address": "172.30.154.254"}, {"ip_address": "fd54:154::fe/128"}], ["b", "a"])
    op = prepare_port("port gw1", dict(targets, name="gw1"), port)
    assert op.action is None and op.before == op.after


def test_lists_add_by_default_and_remove_with_purge():
    current = [{"subnet_id": "v4", "ip_address": "10.0.0.5"}, {"subnet_id": "v6", "ip_address": "fd00::5"}]
    assert merge_fixed_ips(current, [{"subnet_id": "v4", "ip_address": "10.0.0.6"}]) == current + [
        {"subnet_id": "v4", "ip_address": "10.0.0.6"}]
    assert merge_fixed_ips(current, [{"subnet_id": "v6"}], purge=True) == [current[1]]


def test_gateway_update_keeps_every_external_address():
    router = {"external_gateway_info": {"network_id": "ext", "enable_snat": True, "external_fixed_ips": [
        {"subnet_id": "ext-v6", "ip_address": "fd54:152::7"}, {"subnet_id": "ext-v4", "ip_address": "172.30.152.7"}]}}
    assert gateway_target(router, "ext") is None
    assert gateway_target(router, "ext", fixed_ips=[{"subnet_id": "ext-v4"}]) is None
    target = gateway_target(router, "ext", enable_snat=False)
    assert {f["ip_address"] for f in target["external_fixed_ips"]} == {"fd54:152::7", "172.30.152.7"}


def test_rules_compare_as_a_set_of_equivalent_spellings():
    a = {"direction": "ingress", "ethertype": "IPv4", "protocol": "vrrp", "remote_ip_prefix": "0.0.0.0/0"}
    b = {"direction": "ingress", "ethertype": "IPv4", "protocol": "112"}
    assert rule_key(a) == rule_key(b)
    assert rule_key({"ethertype": "IPv6", "protocol": "icmp"}) == rule_key({"ethertype": "IPv6", "protocol": "ipv6-icmp"})
    create, delete, before, after = rules_plan([dict(a, id="r1"), {"id": "r2", "protocol": "tcp"}], [b])
    assert create == [] and delete == [] and len(after) == 2
    assert rules_plan([dict(a, id="r1"), {"id": "r2", "protocol": "tcp"}], [b], purge=True)[1][0]["id"] == "r2"


def test_create_only_key_is_named():
    with pytest.raises(ModuleError) as err:
        prepare("subnet", "subnet s", {"cidr": "10.1.0.0/24"}, {"id": "s", "cidr": "10.0.0.0/24"})
    assert err.value.key == "cidr"


def test_neutron_messages_name_the_key():
    assert guess_key("Invalid CIDR fd00::/120 for IPv6 address mode.", ["cidr", "ipv6_address_mode"]) == "ipv6_address_mode"
    assert guess_key("Requested subnet with cidr: 10.0.0.0/25 overlaps", ["name", "cidr"]) == "cidr"


@pytest.fixture(scope="module")
def plan():
    import osrun

    return osrun.lab_plan()


def spec_params(inputs):
    """neutron_plan's options from the role's inputs (the role passes them key by key)."""
    params = {k[len("openstack_network_"):]: v for k, v in inputs.items()}
    params.pop("cloud")
    return params


def test_inputs_of_the_lab(plan):
    inputs = openstack_network_inputs(plan)
    osp = plan["openstack"]
    assert inputs["openstack_network_network"] == osp["network_name"]
    assert [s["name"] for s in inputs["openstack_network_subnets"]] == [osp["subnet_names"][f] for f in ("ipv4", "ipv6")]
    rules = {g["name"]: g["rules"] for g in inputs["openstack_network_security_groups"]}
    assert set(rules) == set(osp["security_groups"].values())
    gateways = rules[osp["security_groups"]["gateways"]]
    assert {(r["ethertype"], r.get("protocol"), r.get("port_range_min")) for r in gateways} >= {
        ("IPv4", "tcp", 179), ("IPv6", "tcp", 179), ("IPv4", "vrrp", None), ("IPv6", "vrrp", None),
        ("IPv4", "udp", plan["wireguard"]["port"]), ("IPv6", "tcp", plan["kubernetes"]["api_port"])}
    assert not [r for g in rules.values() for r in g if r.get("port_range_min") == 4789]
    ports = {p["name"]: p for p in inputs["openstack_network_ports"]}
    assert set(ports) == set(osp["port_names"].values())
    gw_port = ports[osp["port_names"][plan["groups"]["gateways"][0]]]
    assert {plan["vips"]["ipv4"], plan["vips"]["ipv6"]} <= {p["ip_address"] for p in gw_port["allowed_address_pairs"]}
    assert "mac_address" not in gw_port  # DHCPv6-stateful: Neutron takes the planned address
    assert [p["name"] for p in inputs["openstack_network_vip_ports"]] == list(osp["vip_port_names"].values())
    assert inputs["openstack_network_subnets"][1]["gateway_ip"] == plan["network"]["ipv6"]["gateway"]
    build_spec(spec_params(inputs))  # the module takes them as they are


@pytest.mark.parametrize("encapsulation", ["None", "IPIP", "IPIPCrossSubnet", "VXLAN", "VXLANCrossSubnet"])
def test_node_ports_allow_the_pod_cidrs_in_every_mode(plan, encapsulation):
    """CrossSubnet (and None) sends same-subnet pod traffic unencapsulated; in every mode pod traffic to
    and from the gateways (BGP peers, not Calico nodes) is never encapsulated (issue 15 item 2)."""
    changed = copy.deepcopy(plan)
    changed["calico"]["pools"][0]["encapsulation"] = encapsulation
    inputs = openstack_network_inputs(changed)
    node = plan["groups"]["k8s_workers"][0]
    port = next(p for p in inputs["openstack_network_ports"] if p["name"] == plan["openstack"]["port_names"][node])
    assert {p["ip_address"] for p in port["allowed_address_pairs"]} == set(plan["kubernetes"]["pod_subnets"])
    nodes = inputs["openstack_network_security_groups"][2]["rules"]
    assert bool([r for r in nodes if r.get("port_range_min") == 4789]) == ("VXLAN" in encapsulation)
    assert bool([r for r in nodes if r.get("protocol") == "4"]) == ("IPIP" in encapsulation)


def test_spec_refusals_name_the_option(plan):
    params = spec_params(openstack_network_inputs(plan))
    slaac = copy.deepcopy(params)
    slaac["subnets"][1]["ipv6_mode"] = "slaac"  # on the lab's /120
    with pytest.raises(ModuleError) as err:
        build_spec(slaac)
    assert err.value.key == "subnets[1].ipv6_mode"
    slaac["subnets"][1]["cidr"] = "fd54:154::/64"
    with pytest.raises(ModuleError) as err:  # a fixed IPv6 address without a MAC
        build_spec(slaac)
    assert err.value.key == "ports[0].fixed_ips[1].ip_address" and "mac_address" in err.value.msg
    slaac["ports"][0]["mac_address"] = "02:00:00:00:00:0a"
    with pytest.raises(ModuleError) as err:  # not the EUI-64 address of that MAC
        build_spec(slaac)
    assert err.value.key == "ports[0].fixed_ips[1].ip_address" and "fd54:154::ff:fe00:a" in err.value.msg
    slaac["ports"][0]["fixed_ips"][1]["ip_address"] = eui64_address("fd54:154::/64", "02:00:00:00:00:0a")
    slaac["ports"][0]["mac_address"] = "03:00:00:00:00:0a"
    with pytest.raises(ModuleError) as err:
        build_spec(slaac)
    assert err.value.key == "ports[0].mac_address"
    bad = copy.deepcopy(params)
    bad["ports"][1]["fixed_ips"][0]["subnet"] = "nope"
    with pytest.raises(ModuleError) as err:
        build_spec(bad)
    assert err.value.key == "ports[1].fixed_ips[0].subnet"
    bad = copy.deepcopy(params)
    bad["vip_ports"][0]["fixed_ips"][0]["ip_address"] = "10.9.9.9"
    with pytest.raises(ModuleError) as err:
        build_spec(bad)
    assert err.value.key == "vip_ports[0].fixed_ips[0].ip_address"
