# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Neutron part of the single->dual conversion (playbooks/convert.yml imports playbooks/openstack.yml)
against the real neutron-server: build the IPv4-only spec, then apply the dual-stack one over it.

Every existing port keeps its ID, MAC and IPv4 address and gains its planned IPv6 fixed IP; the IPv6
subnet joins the same network and router; the IPv6 VIP port and the IPv6 allowed-address-pairs are
added; a second apply writes nothing. Neutron state is read through openstacksdk.
"""
from __future__ import annotations

import ipaddress
import re
from pathlib import Path

import pytest

import osrun

pytestmark = pytest.mark.openstack

LAB_DIR = Path(__file__).resolve().parents[1] / "lab"
WRITES = ("POST", "PUT", "DELETE", "PATCH")
KEY = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="


def writes(counts):
    return {m: n for m, n in counts.items() if m in WRITES and n}


def config(tmp_path, name):
    """The lab's convert-<name>.toml for the test server: cloud "lab", own Neutron names, inline key."""
    text = (LAB_DIR / f"convert-{name}.toml").read_text()
    text = text.replace('cloud = "conv"', 'cloud = "lab"\nname_prefix = "cvtn"')
    text = re.sub(r'public_key_file = "[^"]+"', f'public_key = "{KEY}"', text)
    path = tmp_path / f"convert-{name}.toml"
    path.write_text(text)
    return str(path)


def ports(conn, plan):
    names = set(plan["openstack"]["port_names"].values()) | set(plan["openstack"]["vip_port_names"].values())
    return {p.name: p for p in conn.network.ports() if p.name in names}


def by_family(fixed_ips):
    return {("ipv4" if ipaddress.ip_address(f["ip_address"]).version == 4 else "ipv6"): f for f in fixed_ips}


@pytest.fixture(scope="module")
def conn(neutron_server):
    return neutron_server.connection()


def test_single_to_dual_in_place(ansible, neutron_server, conn, tmp_path):
    v4_cfg, dual_cfg = config(tmp_path, "v4"), config(tmp_path, "dual")
    v4, dual = osrun.lab_plan(v4_cfg), osrun.lab_plan(dual_cfg)
    try:
        result = ansible.playbook(config=v4_cfg)
        assert not result.failed, result
        before = ports(conn, v4)
        assert set(before) == set(v4["openstack"]["port_names"].values()) | {"cvtn-vip-ipv4"}
        assert all(set(by_family(p.fixed_ips)) == {"ipv4"} for p in before.values())
        network = next(conn.network.networks(name=dual["openstack"]["network_name"]))
        router = next(conn.network.routers(name=dual["openstack"]["router_name"]))
        assert [s.ip_version for s in conn.network.subnets(network_id=network.id)] == [4]

        # --check --diff first: says what it would add, writes nothing
        neutron_server.reset_requests()
        check = ansible.playbook(config=dual_cfg, check=True, diff=True)
        assert not check.failed and check.changed == 1, check
        assert writes(neutron_server.requests()) == {}

        neutron_server.reset_requests()
        result = ansible.playbook(config=dual_cfg)
        assert not result.failed, result
        counts = writes(neutron_server.requests())
        print(f"dual apply over the IPv4-only spec: {result.seconds:.2f}s, writes {counts}")
        assert "DELETE" not in counts, counts  # nothing recreated

        after = ports(conn, dual)
        assert set(after) == set(before) | {"cvtn-vip-ipv6"}
        for name, old in before.items():
            new = after[name]
            assert (new.id, new.mac_address) == (old.id, old.mac_address), name
            assert by_family(new.fixed_ips)["ipv4"] == by_family(old.fixed_ips)["ipv4"], name
        subnets = {s.ip_version: s for s in conn.network.subnets(network_id=network.id)}
        assert set(subnets) == {4, 6} and subnets[6].cidr == dual["network"]["ipv6"]["cidr"]
        assert next(conn.network.routers(name=dual["openstack"]["router_name"])).id == router.id
        router_ports = conn.network.ports(device_id=router.id, device_owner="network:router_interface")
        iface = {f["subnet_id"] for p in router_ports for f in p.fixed_ips}
        assert iface == {subnets[4].id, subnets[6].id}
        for host, pname in dual["openstack"]["port_names"].items():
            v6 = by_family(after[pname].fixed_ips)["ipv6"]
            assert (v6["subnet_id"], v6["ip_address"]) == (subnets[6].id, dual["hosts"][host]["ipv6"]), host
        vip6 = by_family(after["cvtn-vip-ipv6"].fixed_ips)["ipv6"]["ip_address"]
        assert vip6 == dual["vips"]["ipv6"]
        gw_pairs = {a["ip_address"] for a in after["cvtn-gw1"].allowed_address_pairs}
        assert {dual["vips"]["ipv4"], dual["vips"]["ipv6"], "172.30.221.0/24", "fd54:221::/120"} <= gw_pairs
        node_pairs = {a["ip_address"] for a in after["cvtn-worker1"].allowed_address_pairs}
        assert {"10.247.0.0/16", "fdff:32::/56"} <= node_pairs

        # a second apply of the dual spec writes nothing
        neutron_server.reset_requests()
        again = ansible.playbook(config=dual_cfg)
        assert not again.failed and again.changed == 0, again
        assert writes(neutron_server.requests()) == {}
    finally:
        ansible.playbook(config=dual_cfg, openstack_network_state="absent")
