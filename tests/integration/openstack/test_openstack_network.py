# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The openstack_network role and the neutron_* modules against a real neutron-server.

The tests of this file share one server and run in order: cold run, warm run, check, diff,
foreign changes, invalid input, a crash mid-run, and the teardown. Neutron state is always
verified through openstacksdk, never through module output.
"""
from __future__ import annotations

import copy
import ipaddress

import netaddr
import pytest

import osrun
from osrun import snapshot

pytestmark = pytest.mark.openstack

WRITES = ("POST", "PUT", "DELETE", "PATCH")


def writes(counts):
    return {m: n for m, n in counts.items() if m in WRITES and n}


def by_name(items, name):
    found = [i for i in items if i.name == name]
    assert len(found) <= 1, f"duplicate {name}: {found}"
    return found[0] if found else None


def names(plan):
    osp = plan["openstack"]
    return {
        "network": osp["network_name"], "router": osp["router_name"],
        "subnets": osp["subnet_names"], "ports": osp["port_names"], "vips": osp["vip_port_names"],
        "sgs": [osp["security_groups"][k] for k in ("common", "gateways", "nodes")],
    }


def ours(conn, plan):
    """Every resource of the plan that exists, by kind."""
    n = names(plan)
    net = conn.network
    return {
        "networks": list(net.networks(name=n["network"])),
        "subnets": [x for x in net.subnets() if x.name in n["subnets"].values()],
        "routers": list(net.routers(name=n["router"])),
        "ports": [x for x in net.ports() if x.name in list(n["ports"].values()) + list(n["vips"].values())],
        "security_groups": [x for x in net.security_groups() if x.name in n["sgs"]],
    }


@pytest.fixture(scope="module")
def lab_inputs(lab_plan):
    return osrun.inputs(lab_plan)


def prefixed(tmp_path, prefix, replace=(), append=""):
    """(config path, plan, role inputs) of the lab config with Neutron names prefixed ``prefix``."""
    path = osrun.write_config(tmp_path / f"{prefix}.toml",
                              [(r'^name_prefix = "lab"$', f'name_prefix = "{prefix}"')] + list(replace), append)
    plan = osrun.lab_plan(path)
    return path, plan, osrun.inputs(plan)


@pytest.fixture(scope="module")
def conn(neutron_server):
    return neutron_server.connection()


# --------------------------------------------------------------------------------------------------
# the role: cold, check, warm, diff
# --------------------------------------------------------------------------------------------------
def test_check_mode_on_empty_cloud_changes_nothing(ansible, neutron_server, conn, lab_plan):
    before = snapshot(conn)
    neutron_server.reset_requests()
    result = ansible.playbook(check=True)
    assert not result.failed, result
    assert result.changed == 1
    assert writes(neutron_server.requests()) == {}
    assert snapshot(conn) == before


def test_cold_run_creates_everything(ansible, neutron_server, conn, lab_plan):
    """playbooks/openstack.yml: plan_info maps config/config.toml to the role's inputs."""
    neutron_server.reset_requests()
    result = ansible.playbook()
    counts = neutron_server.requests()
    assert not result.failed, result
    assert result.changed == 1
    print(f"cold: {result.seconds:.2f}s {counts}")
    n = names(lab_plan)
    net = conn.network
    network = by_name(net.networks(), n["network"])
    assert network is not None

    subnets = {s.ip_version: s for s in net.subnets(network_id=network.id)}
    v4, v6 = lab_plan["network"]["ipv4"], lab_plan["network"]["ipv6"]
    assert subnets[4].cidr == v4["cidr"] and subnets[4].gateway_ip == v4["gateway"]
    assert subnets[4].name == n["subnets"]["ipv4"]
    assert subnets[6].cidr == v6["cidr"]
    assert subnets[6].gateway_ip == v6["gateway"]  # ::1 style, not the subnet-router anycast
    assert subnets[6].ipv6_ra_mode == subnets[6].ipv6_address_mode == v6["mode"]
    assert subnets[6].allocation_pools == [v6["allocation_pool"]]

    router = by_name(net.routers(), n["router"])
    gw = router.external_gateway_info
    ext = by_name(net.networks(), "public")
    assert gw["network_id"] == ext.id
    assert {ipaddress.ip_address(f["ip_address"]).version for f in gw["external_fixed_ips"]} == {4, 6}
    iface_subnets = {f["subnet_id"] for p in net.ports(device_id=router.id, device_owner="network:router_interface")
                     for f in p.fixed_ips}
    assert iface_subnets == {subnets[4].id, subnets[6].id}

    ports = {p.name: p for p in net.ports(network_id=network.id)}
    vips = {lab_plan["vips"]["ipv4"], lab_plan["vips"]["ipv6"]}
    sgs = {g.name: g for g in net.security_groups() if g.name in n["sgs"]}
    assert len(sgs) == 3
    for host, data in lab_plan["hosts"].items():
        port = ports[n["ports"][host]]
        assert {(f["subnet_id"], f["ip_address"]) for f in port.fixed_ips} == {
            (subnets[4].id, data["ipv4"]), (subnets[6].id, data["ipv6"])}
        pairs = {a["ip_address"] for a in port.allowed_address_pairs}
        if data["role"] == "gateway":
            assert vips <= pairs
            assert set(port.security_group_ids) == {sgs[n["sgs"][0]].id, sgs[n["sgs"][1]].id}
        else:
            assert not vips & pairs
            assert set(lab_plan["kubernetes"]["pod_subnets"]) <= pairs
            assert set(port.security_group_ids) == {sgs[n["sgs"][0]].id, sgs[n["sgs"][2]].id}
    for fam, name in n["vips"].items():
        assert [f["ip_address"] for f in ports[name].fixed_ips] == [lab_plan["vips"][fam]]

    rules = [(r.security_group_id, r.ether_type, r.protocol, r.port_range_min, r.port_range_max, r.remote_group_id)
             for r in net.security_group_rules()]
    gw_id, nodes_id, common_id = sgs[n["sgs"][1]].id, sgs[n["sgs"][2]].id, sgs[n["sgs"][0]].id
    for eth in ("IPv4", "IPv6"):
        assert (gw_id, eth, "tcp", 179, 179, nodes_id) in rules           # BGP nodes -> gateways
        assert (nodes_id, eth, "tcp", 179, 179, gw_id) in rules           # BGP gateways -> nodes
        assert (gw_id, eth, "vrrp", None, None, gw_id) in rules           # VRRP between gateways
        assert (gw_id, eth, "udp", 7777, 7777, None) in rules             # WireGuard from anywhere
        assert (gw_id, eth, "udp", 7778, 7778, gw_id) in rules            # WireGuard endpoint sync
        assert (gw_id, eth, "tcp", 6443, 6443, None) in rules             # API on the VIPs
    assert (common_id, "IPv4", "icmp", None, None, None) in rules
    assert (common_id, "IPv6", "ipv6-icmp", None, None, None) in rules    # NDP
    assert (common_id, "IPv6", "udp", 546, 547, None) in rules            # DHCPv6
    assert not [r for r in rules if r[2] == "udp" and r[3] == 4789]       # no VXLAN configured
    assert sum(counts.values()) <= 40


def test_warm_run_sends_no_write(ansible, neutron_server, lab_inputs):
    neutron_server.reset_requests()
    result = ansible.playbook()
    counts = neutron_server.requests()
    print(f"warm (playbook): {result.seconds:.2f}s {counts}")
    assert not result.failed, result
    assert result.changed == 0
    assert writes(counts) == {}
    neutron_server.reset_requests()
    result = ansible.role(lab_inputs)
    counts = neutron_server.requests()
    print(f"warm: {result.seconds:.2f}s {counts}")
    assert not result.failed, result
    assert result.changed == 0
    assert writes(counts) == {}
    assert counts.get("GET", 0) <= 16


def test_check_mode_on_converged_cloud(ansible, neutron_server, conn, lab_inputs):
    before = snapshot(conn)
    neutron_server.reset_requests()
    result = ansible.role(lab_inputs, check=True, diff=True)
    assert not result.failed, result
    assert result.changed == 0
    assert writes(neutron_server.requests()) == {}
    assert snapshot(conn) == before


def test_diff_shows_before_and_after_and_check_does_not_apply(ansible, neutron_server, conn, lab_plan, lab_inputs):
    n = names(lab_plan)
    port = by_name(conn.network.ports(), n["ports"]["gw1"])
    vip4 = lab_plan["vips"]["ipv4"]
    conn.network.update_port(port, allowed_address_pairs=[a for a in port.allowed_address_pairs
                                                          if a["ip_address"] != vip4])
    before = snapshot(conn)
    neutron_server.reset_requests()
    result = ansible.role(lab_inputs, check=True, diff=True)
    assert not result.failed, result
    assert result.changed == 1
    assert writes(neutron_server.requests()) == {}
    assert snapshot(conn) == before
    diff = result.last()["diff"]
    label = f"port {n['ports']['gw1']}"
    diff = diff[0] if isinstance(diff, list) else diff
    before_pairs = {p["ip_address"] for p in diff["before"][label]["allowed_address_pairs"]}
    after_pairs = {p["ip_address"] for p in diff["after"][label]["allowed_address_pairs"]}
    assert vip4 not in before_pairs and vip4 in after_pairs
    assert list(diff["before"]) == [label]  # only what changes

    result = ansible.role(lab_inputs, diff=True)
    assert not result.failed and result.changed == 1, result
    port = conn.network.get_port(port.id)
    assert vip4 in {a["ip_address"] for a in port.allowed_address_pairs}
    neutron_server.reset_requests()
    result = ansible.role(lab_inputs)
    assert result.changed == 0 and writes(neutron_server.requests()) == {}, result


def test_foreign_router_interface_survives(ansible, neutron_server, conn, lab_plan, lab_inputs):
    n = names(lab_plan)
    router = by_name(conn.network.routers(), n["router"])
    other = conn.network.create_network(name="foreign-net")
    subnet = conn.network.create_subnet(network_id=other.id, name="foreign-subnet", ip_version=4,
                                        cidr="192.168.77.0/24")
    conn.network.add_interface_to_router(router, subnet_id=subnet.id)
    neutron_server.reset_requests()
    result = ansible.role(lab_inputs)
    assert not result.failed and result.changed == 0, result
    assert writes(neutron_server.requests()) == {}
    # the router module updating the gateway does not detach it either
    res, task = ansible.module("neutron_router", {"cloud": "lab", "name": n["router"], "external_network": "public",
                                                  "description": "touched"})
    assert not task.get("failed") and task["changed"], res
    attached = {f["subnet_id"] for p in conn.network.ports(device_id=router.id) for f in p.fixed_ips}
    assert subnet.id in attached


# --------------------------------------------------------------------------------------------------
# per-resource modules: check -> apply -> check -> apply (one playbook per phase, to keep it quick)
# --------------------------------------------------------------------------------------------------
CLOUD = {"cloud": "lab"}


def pattern(module, args, checks=(True, False, True, False)):
    """community.crypto's pattern: check, apply, check, apply -> changed, changed, not, not."""
    return [{"module": module, "args": args, "check": check} for check in checks]


def assert_pattern(results, expected=(True, True, False, False)):
    size = len(expected)
    assert len(results) % size == 0, results
    for start in range(0, len(results), size):
        group = results[start:start + size]
        assert not [r for r in group if r.get("failed")], group
        assert [r["changed"] for r in group] == list(expected), group


def test_modules_check_apply_check_apply(ansible, neutron_server, conn):
    port_args = dict(CLOUD, name="mod-port", network="mod-net", security_groups=["mod-sg"],
                     fixed_ips=[{"subnet": "mod-v4", "ip_address": "10.160.0.10"}, {"subnet": "mod-v6"}],
                     allowed_address_pairs=[{"ip_address": "10.160.0.254"}, {"ip_address": "fd54:160::fe"}])
    create = (
        pattern("neutron_network", dict(CLOUD, name="mod-net"))
        + pattern("neutron_subnet", dict(CLOUD, name="mod-v6", network="mod-net", cidr="fd54:160::/64",
                                         gateway_ip="fd54:160::1", ipv6_ra_mode="slaac"))
        + pattern("neutron_subnet", dict(CLOUD, name="mod-v4", network="mod-net", cidr="10.160.0.0/24",
                                         dns_nameservers=["10.160.0.53"],
                                         allocation_pools=[{"start": "10.160.0.100", "end": "10.160.0.150"}]),
                  checks=(False, False))
        + pattern("neutron_security_group", dict(CLOUD, name="mod-sg", rules=[
            {"protocol": "vrrp", "remote_group": "mod-sg"},
            {"ethertype": "IPv6", "protocol": "vrrp", "remote_group": "mod-sg"},
            {"protocol": "tcp", "port": 179, "remote_ip_prefix": "10.160.0.0/24"},
            {"protocol": "udp", "port": 7777, "ethertype": "IPv6"}]))
        + pattern("neutron_router", dict(CLOUD, name="mod-router", external_network="public"))
        + pattern("neutron_router_interface", dict(CLOUD, router="mod-router", subnet="mod-v6"))
        + pattern("neutron_router_interface", dict(CLOUD, router="mod-router", subnet="mod-v4"), checks=(False, False))
        + pattern("neutron_port", port_args))
    result = ansible.tasks(create)
    tasks = result.tasks
    assert_pattern(tasks[:8])                     # network, IPv6 subnet
    assert_pattern(tasks[8:10], (True, False))    # IPv4 subnet: apply, apply
    assert_pattern(tasks[10:22])                  # security group, router, IPv6 interface
    assert_pattern(tasks[22:24], (True, False))   # IPv4 interface: apply, apply
    assert_pattern(tasks[24:])                    # port
    net = by_name(conn.network.networks(), "mod-net")
    subnets = {s.name: s for s in conn.network.subnets(network_id=net.id)}
    assert subnets["mod-v6"].ipv6_address_mode == "slaac" and subnets["mod-v6"].gateway_ip == "fd54:160::1"
    assert len(by_name(conn.network.security_groups(), "mod-sg").security_group_rules) == 4
    router = by_name(conn.network.routers(), "mod-router")
    assert {f["subnet_id"] for p in conn.network.ports(device_id=router.id, network_id=net.id) for f in p.fixed_ips} \
        == {subnets["mod-v4"].id, subnets["mod-v6"].id}
    port = by_name(conn.network.ports(), "mod-port")
    assert {ipaddress.ip_address(f["ip_address"]).version for f in port.fixed_ips} == {4, 6}
    first_diff = result.tasks[0]["diff"]
    first_diff = first_diff[0] if isinstance(first_diff, list) else first_diff
    assert first_diff["before"] == {} and first_diff["after"]["name"] == "mod-net"

    # allowed-address-pairs in another order, default MAC spelled out, /128: no change, no write
    same = dict(port_args, allowed_address_pairs=[{"ip_address": "fd54:160::fe/128", "mac_address": port.mac_address},
                                                  {"ip_address": "10.160.0.254"}])
    neutron_server.reset_requests()
    task = ansible.module("neutron_port", same)[1]
    assert task["changed"] is False and writes(neutron_server.requests()) == {}, task

    one_more = dict(port_args, allowed_address_pairs=[{"ip_address": "10.160.0.253"}])
    result = ansible.tasks([
        {"module": "neutron_port", "args": one_more},                                        # adds
        {"module": "neutron_port", "args": dict(one_more, purge_allowed_address_pairs=True)},  # purges
        {"module": "neutron_subnet", "args": dict(CLOUD, name="mod-v4", network="mod-net", cidr="10.160.0.0/24",
                                                  dns_nameservers=["10.160.0.54"])},
        {"module": "neutron_subnet", "args": dict(CLOUD, name="mod-v4", network="mod-net", cidr="10.161.0.0/24")},
        {"module": "neutron_subnet", "args": dict(CLOUD, name="mod-v6", network="mod-net", cidr="fd54:160::/64",
                                                  ipv6_ra_mode="dhcpv6-stateful")},
    ])
    add, purge, dns, cidr, mode = result.tasks
    assert add["changed"] and purge["changed"], result
    assert [a["ip_address"] for a in conn.network.get_port(port.id).allowed_address_pairs] == ["10.160.0.253"]
    assert dns["changed"] and conn.network.get_subnet(subnets["mod-v4"].id).dns_nameservers == ["10.160.0.54"]
    # what Neutron cannot change in place is refused with the key named
    assert cidr.get("failed") and cidr["key"] == "cidr" and "cannot be changed in place" in cidr["msg"], cidr
    assert mode.get("failed") and mode["key"] == "ipv6_ra_mode", mode

    # teardown through the modules: check + apply for the first and the last, then once more: no change
    absent = [("neutron_port", dict(CLOUD, name="mod-port")),
              ("neutron_router_interface", dict(CLOUD, router="mod-router", subnet="mod-v4")),
              ("neutron_router_interface", dict(CLOUD, router="mod-router", subnet="mod-v6")),
              ("neutron_router", dict(CLOUD, name="mod-router")),
              ("neutron_security_group", dict(CLOUD, name="mod-sg")),
              ("neutron_network", dict(CLOUD, name="mod-net"))]  # its subnets go with it
    teardown = []
    for index, (module, args) in enumerate(absent):
        checks = (True, False) if index in (0, len(absent) - 1) else (False,)
        teardown += pattern(module, dict(args, state="absent"), checks=checks)
    result = ansible.tasks(teardown + pattern("neutron_network", dict(CLOUD, name="mod-net", state="absent"),
                                              checks=(False,)))
    assert not [t for t in result.tasks if t.get("failed")], result
    assert [t["changed"] for t in result.tasks] == [True] * (len(teardown)) + [False], result
    assert by_name(conn.network.networks(), "mod-net") is None
    assert by_name(conn.network.routers(), "mod-router") is None
    assert by_name(conn.network.security_groups(), "mod-sg") is None


def test_router_keeps_both_external_addresses(ansible, conn):
    result = ansible.tasks([
        {"module": "neutron_router", "args": dict(CLOUD, name="ext-router", external_network="public")},
        # naming only the IPv4 subnet adds nothing and removes nothing
        {"module": "neutron_router", "args": dict(CLOUD, name="ext-router", external_network="public",
                                                  external_fixed_ips=[{"subnet": "public-v4"}])},
        # a gateway update (SNAT) keeps both addresses, whatever order Neutron lists them in
        {"module": "neutron_router", "args": dict(CLOUD, name="ext-router", external_network="public",
                                                  enable_snat=False)},
    ])
    create, same, snat = result.tasks
    assert create["changed"] and same["changed"] is False and snat["changed"], result
    router = by_name(conn.network.routers(), "ext-router")
    info = router.external_gateway_info
    assert info["enable_snat"] is False
    assert {ipaddress.ip_address(f["ip_address"]).version for f in info["external_fixed_ips"]} == {4, 6}
    assert sorted(f["ip_address"] for f in info["external_fixed_ips"]) == sorted(
        f["ip_address"] for f in create["router"]["external_gateway_info"]["external_fixed_ips"])
    task = ansible.module("neutron_router", dict(CLOUD, name="ext-router", state="absent"))[1]
    assert task["changed"] and by_name(conn.network.routers(), "ext-router") is None


def test_slaac_on_a_120_fails_before_any_write(ansible, neutron_server, conn, lab_inputs):
    inputs = copy.deepcopy(lab_inputs)
    inputs["openstack_network_network"] = "bad1-net"
    inputs["openstack_network_subnets"][1]["ipv6_mode"] = "slaac"
    before = snapshot(conn)
    neutron_server.reset_requests()
    result = ansible.role(inputs)
    assert result.failed
    task = result.last()
    assert task["key"] == "subnets[1].ipv6_mode" and "/64" in task["msg"], task
    assert writes(neutron_server.requests()) == {}
    assert snapshot(conn) == before


def test_invalid_subnets_fail_with_the_key_named(ansible, neutron_server, conn, lab_plan):
    before = snapshot(conn)
    network = names(lab_plan)["network"]
    result = ansible.tasks([
        {"module": "neutron_subnet", "args": dict(CLOUD, name="bad-slaac", network=network, cidr="fd54:170::/120",
                                                  ipv6_ra_mode="slaac")},
        {"module": "neutron_subnet", "args": dict(CLOUD, name="overlap", network=network, cidr="172.30.154.128/25")},
        {"module": "neutron_subnet", "args": dict(CLOUD, name="v4-as-v6", network=network, cidr="10.170.0.0/24",
                                                  ip_version=6)},
    ])
    slaac, overlap, version = result.tasks
    assert slaac.get("failed") and slaac["key"] == "ipv6_ra_mode" and "/64" in slaac["msg"], slaac
    assert overlap.get("failed") and overlap["key"] == "cidr" and "overlap" in overlap["msg"].lower(), overlap
    assert version.get("failed") and version["key"] == "cidr", version
    assert snapshot(conn) == before


def test_unknown_external_network_fails_before_any_write(ansible, neutron_server, conn, tmp_path):
    inputs = prefixed(tmp_path, "bad2")[2]
    before = snapshot(conn)
    neutron_server.reset_requests()
    result = ansible.role(inputs, openstack_network_external_network="nope")
    assert result.failed
    task = result.last()
    assert task["key"] == "external_network" and "nope" in task["msg"], task
    assert writes(neutron_server.requests()) == {}
    assert snapshot(conn) == before


# --------------------------------------------------------------------------------------------------
# issue 15 item 1: SLAAC / DHCPv6-stateless end to end; item 2: pod CIDRs on node ports (CrossSubnet)
# --------------------------------------------------------------------------------------------------
AUTO_CASES = {
    # mode: (IPv4 pool encapsulation, IPv6 pool encapsulation, cluster octet)
    "slaac": ("IPIPCrossSubnet", "VXLANCrossSubnet", 161),
    "dhcpv6-stateless": ("VXLANCrossSubnet", "VXLANCrossSubnet", 162),
}


def auto_config(tmp_path, mode):
    encap4, encap6, octet = AUTO_CASES[mode]
    prefix = "auto-" + mode.split("-")[-1]
    return prefixed(tmp_path, prefix, [
        (r'^ipv4_cidr = "172.30.154.0/24"', f'ipv4_cidr = "172.30.{octet}.0/24"'),
        (r'^ipv6_cidr = "fd54:154::/120"', f'ipv6_cidr = "fd54:{octet}::/64"'),
        (r'^ipv6_mode = .*$', f'ipv6_mode = "{mode}"'),
        (r'^vip_v4 = .*$', ""), (r'^vip_v6 = .*$', ""),
        (r'^encapsulation_v4 = .*$', f'encapsulation_v4 = "{encap4}"'),
        (r'^encapsulation_v6 = .*$', f'encapsulation_v6 = "{encap6}"'),
    ])


@pytest.mark.parametrize("mode", sorted(AUTO_CASES))
def test_auto_address_modes_end_to_end(ansible, neutron_server, conn, tmp_path, mode):
    """The plan's IPv6 host address is the EUI-64 one of the planned MAC, and that is what Neutron
    gives the port; the IPv6 VIP rides on allowed-address-pairs; node ports carry the pod CIDRs
    (CrossSubnet leaves same-subnet pod traffic unencapsulated). The old code pinned fixed IPv6
    addresses and failed on the ports, after creating the network and subnets."""
    config, plan, inputs = auto_config(tmp_path, mode)
    n = names(plan)
    assert "ipv6" not in n["vips"]
    neutron_server.reset_requests()
    result = ansible.playbook(config)
    print(f"{mode} cold: {result.seconds:.2f}s {neutron_server.requests()}")
    assert not result.failed and result.changed == 1, result

    net = conn.network
    network = by_name(net.networks(), n["network"])
    subnets = {s.ip_version: s for s in net.subnets(network_id=network.id)}
    assert subnets[6].ipv6_ra_mode == subnets[6].ipv6_address_mode == mode
    assert subnets[6].gateway_ip == plan["network"]["ipv6"]["gateway"]
    ports = {p.name: p for p in net.ports(network_id=network.id)}
    vips = {plan["vips"]["ipv4"], plan["vips"]["ipv6"]}
    pods = set(plan["kubernetes"]["pod_subnets"])
    for host, data in plan["hosts"].items():
        port = ports[n["ports"][host]]
        assert port.mac_address == plan["openstack"]["port_macs"][host]
        eui64 = str(netaddr.EUI(port.mac_address).ipv6(netaddr.IPNetwork(subnets[6].cidr).first))
        assert data["ipv6"] == eui64 and eui64 in data["node_ips"]
        assert {(f["subnet_id"], f["ip_address"]) for f in port.fixed_ips} == {
            (subnets[4].id, data["ipv4"]), (subnets[6].id, data["ipv6"])}
        pairs = {a["ip_address"] for a in port.allowed_address_pairs}
        if data["role"] == "gateway":
            assert vips <= pairs, pairs
        else:
            assert pods <= pairs, pairs
    # Neutron adds an EUI-64 address of the auto-address subnet to every port, the VIP port too
    vip_port = ports[n["vips"]["ipv4"]]
    assert {(f["subnet_id"], f["ip_address"]) for f in vip_port.fixed_ips} == {
        (subnets[4].id, plan["vips"]["ipv4"]),
        (subnets[6].id, str(netaddr.EUI(vip_port.mac_address).ipv6(netaddr.IPNetwork(subnets[6].cidr).first)))}
    assert sorted(ports) == sorted(list(n["ports"].values()) + [n["vips"]["ipv4"]] + [
        p.name for p in ports.values() if p.device_owner.startswith("network:router")])

    for purge in (False, True):  # purge keeps what Neutron adds by itself: still no write
        neutron_server.reset_requests()
        result = ansible.role(inputs, openstack_network_purge=purge)
        assert not result.failed and result.changed == 0, result
        assert writes(neutron_server.requests()) == {}

    result = ansible.role(inputs, openstack_network_state="absent")
    assert not result.failed and result.changed == 1, result
    assert all(v == [] for v in ours(conn, plan).values())


def test_auto_address_refusal_leaves_nothing_behind(ansible, neutron_server, conn, tmp_path):
    """A port address that Neutron would not give (not the EUI-64 one of the port's MAC) is refused
    before the network or subnets exist; the old code created both, then failed on the port."""
    inputs = copy.deepcopy(auto_config(tmp_path, "slaac")[2])
    inputs["openstack_network_network"] = "bad3-net"
    port = inputs["openstack_network_ports"][0]
    port["fixed_ips"][1]["ip_address"] = "fd54:161::a"
    before = snapshot(conn)
    neutron_server.reset_requests()
    result = ansible.role(inputs)
    assert result.failed
    task = result.last()
    assert task["key"] == "ports[0].fixed_ips[1].ip_address" and "EUI-64" in task["msg"], task
    assert writes(neutron_server.requests()) == {}
    assert snapshot(conn) == before
    # without a MAC no address can be named on the SLAAC subnet either
    del port["mac_address"]
    result = ansible.role(inputs)
    assert result.failed and "mac_address" in result.last()["msg"], result
    assert snapshot(conn) == before


# --------------------------------------------------------------------------------------------------
# Neutron dies mid-run: clear error, the next run converges without duplicates or orphans
# --------------------------------------------------------------------------------------------------
def test_neutron_stopped_mid_run_then_converges(ansible, neutron_server, tmp_path):
    """The server dies right after committing the 4th write, before answering it (the worst case:
    the module cannot know the resource exists)."""
    prefix = "crash"
    _config, lab_plan, inputs = prefixed(tmp_path, prefix)
    neutron_server.die_after_writes(4, when="after")
    result = ansible.role(inputs)
    assert result.failed
    assert "Cannot reach the Neutron endpoint" in result.last()["msg"], result
    assert not neutron_server.running or neutron_server.proc.wait(10) is not None
    neutron_server.restart()
    conn = neutron_server.connection()

    result = ansible.role(inputs)
    assert not result.failed and result.changed == 1, result

    nets = [x for x in conn.network.networks() if x.name == f"{prefix}-net"]
    assert len(nets) == 1
    assert sorted(p.name for p in conn.network.ports(network_id=nets[0].id) if p.name) == sorted(
        [f"{prefix}-{h}" for h in lab_plan["hosts"]] + [f"{prefix}-vip-ipv4", f"{prefix}-vip-ipv6"])
    assert len([g for g in conn.network.security_groups() if g.name.startswith(prefix)]) == 3
    assert len([s for s in conn.network.subnets() if s.name.startswith(prefix)]) == 2
    assert len([r for r in conn.network.routers() if r.name == f"{prefix}-router"]) == 1

    result = ansible.role(inputs, openstack_network_state="absent")
    assert not result.failed and result.changed == 1, result
    assert not [x for x in conn.network.networks() if x.name.startswith(prefix)]
    assert not [x for x in conn.network.ports() if (x.name or "").startswith(prefix)]
    assert not [x for x in conn.network.security_groups() if x.name.startswith(prefix)]


# --------------------------------------------------------------------------------------------------
# teardown
# --------------------------------------------------------------------------------------------------
def test_state_absent_leaves_nothing(ansible, neutron_server, conn, lab_plan, lab_inputs):
    n = names(lab_plan)
    before = snapshot(conn)
    result = ansible.playbook(check=True, openstack_network_state="absent")
    assert not result.failed and result.changed == 1, result
    assert snapshot(conn) == before

    # the foreign interface attached earlier keeps the router alive, untouched
    result = ansible.role(lab_inputs, openstack_network_state="absent")
    assert not result.failed and result.changed == 1, result
    router = by_name(conn.network.routers(), n["router"])
    assert router is not None
    foreign = by_name(conn.network.subnets(), "foreign-subnet")
    assert foreign.id in {f["subnet_id"] for p in conn.network.ports(device_id=router.id) for f in p.fixed_ips}
    left = ours(conn, lab_plan)
    assert left["networks"] == left["subnets"] == left["ports"] == left["security_groups"] == []

    conn.network.remove_interface_from_router(router, subnet_id=foreign.id)
    conn.network.delete_network(by_name(conn.network.networks(), "foreign-net"))
    result = ansible.role(lab_inputs, openstack_network_state="absent")
    assert not result.failed and result.changed == 1, result
    assert all(v == [] for v in ours(conn, lab_plan).values())

    neutron_server.reset_requests()
    result = ansible.role(lab_inputs, openstack_network_state="absent")
    assert not result.failed and result.changed == 0, result
    assert writes(neutron_server.requests()) == {}
