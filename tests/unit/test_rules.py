"""Rules of plugins/plugin_utils/rules.py derived from the tools' documented limits (issue 15 item 8 and
beyond): each bad config names the key the user has to change and the reason; each valid config loads.

The configs are variations of test_config.BASE (dual-stack, IPv4 primary, OpenStack, no [lab] table).
"""

import glob
import os

import pytest

from ansible_collections.dualstack.k8s.plugins.plugin_utils.config import ConfigError, load_config, parse_config
from ansible_collections.dualstack.k8s.plugins.plugin_utils.plan import build_plan

from test_config import KEY, _DELETE, variant

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KEY2 = "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw="
LAB = {"external_cidr_v4": "172.30.152.0/24", "external_cidr_v6": "fd54:152::/120", "wireguard_client": "alice"}
V6_PRIMARY = [("cluster.ip_families", ["ipv6", "ipv4"])]
V4_ONLY = [("cluster.ip_families", ["ipv4"]), ("network.ipv6_cidr", _DELETE), ("kubernetes.pod_subnet_v6", _DELETE),
           ("kubernetes.service_subnet_v6", _DELETE), ("wireguard.ipv6_cidr", _DELETE),
           ("wireguard.ipv6_gw", _DELETE), ("gateways.vip_v6", _DELETE)]
SLAAC = [("network.ipv6_cidr", "fd54:154::/64"), ("network.ipv6_mode", "slaac"), ("gateways.vip_v6", _DELETE)]


def errors_of(data):
    with pytest.raises(ConfigError) as info:
        parse_config(data, source=os.path.join(REPO, "config", "test.toml"))
    return info.value


def workers(*entries):
    return [("kubernetes.worker_count", _DELETE), ("kubernetes.workers", list(entries))]


# (id, changes, expected dotted key, words the reason must contain)
BAD = [
    # --- special-purpose ranges as any subnet, VIP, router, gateway or address (IANA registries)
    ("special-node-link-local-v4", [("network.ipv4_cidr", "169.254.10.0/24")], "network.ipv4_cidr", "link-local"),
    ("special-pod-multicast-v6", [("kubernetes.pod_subnet_v6", "ff05:2::/56")], "kubernetes.pod_subnet_v6", "multicast"),
    ("special-svc-reserved-v4", [("kubernetes.service_subnet_v4", "240.96.0.0/16")], "kubernetes.service_subnet_v4",
     "reserved"),
    ("special-wg-this-network-v4", [("wireguard.ipv4_cidr", "0.0.0.0/24")], "wireguard.ipv4_cidr", "this network"),
    ("special-wg-loopback-v4", [("wireguard.ipv4_cidr", "127.0.153.0/24")], "wireguard.ipv4_cidr", "loopback"),
    ("special-vip-loopback", [("gateways.vip_v4", "127.0.0.1")], "gateways.vip_v4", "loopback"),
    ("special-vip-v4-mapped", [("gateways.vip_v6", "::ffff:172.30.154.254")], "gateways.vip_v6", "IPv4-mapped"),
    ("special-router-link-local-v6", [("network.ipv6_gateway", "fe80::1")], "network.ipv6_gateway", "link-local"),
    ("special-public-vip-unspecified", [("gateways.public_vip_v4", "0.0.0.0")], "gateways.public_vip_v4", "unspecified"),
    ("special-public-vip-multicast", [("gateways.public_vip_v4", "239.1.1.1")], "gateways.public_vip_v4", "multicast"),
    ("special-public-vip6-loopback", [("gateways.public_vip_v6", "::1")], "gateways.public_vip_v6", "loopback"),
    ("special-host-unspecified-v6", workers({"name": "w1", "ipv6": "::"}), "kubernetes.workers[0].ipv6", "unspecified"),
    ("special-peer-link-local", [("wireguard.peers.0.ipv6", "fe80::5")], "wireguard.peers[0].ipv6", "link-local"),
    ("special-wg-gw-link-local", [("wireguard.ipv4_gw", "169.254.0.1/24")], "wireguard.ipv4_gw", "link-local"),
    ("special-dns-loopback", [("network.dns_servers", ["127.0.0.53"])], "network.dns_servers[0]", "loopback"),
    ("special-export-extra-multicast", [("gateways.export_extra_v4", ["224.0.0.0/24"])],
     "gateways.export_extra_v4[0]", "multicast"),
    ("special-lab-external-link-local", [("lab", dict(LAB, external_cidr_v4="169.254.152.0/24"))],
     "lab.external_cidr_v4", "link-local"),
    # --- network address / IPv6 subnet-router anycast (RFC 4291 2.6.1) as gateway, VIP, peer, host
    ("peer-is-network-address-v4", [("wireguard.peers.0.ipv4", "172.30.153.0")], "wireguard.peers[0].ipv4",
     "network address"),
    ("peer-is-subnet-router-anycast", [("wireguard.peers.0.ipv6", "fd54:153::")], "wireguard.peers[0].ipv6",
     "subnet-router anycast"),
    ("peer-is-broadcast-v4", [("wireguard.peers.0.ipv4", "172.30.153.255")], "wireguard.peers[0].ipv4", "broadcast"),
    ("vip6-is-subnet-router-anycast", [("gateways.vip_v6", "fd54:154::")], "gateways.vip_v6", "subnet-router anycast"),
    ("router6-is-subnet-router-anycast", [("network.ipv6_gateway", "fd54:154::")], "network.ipv6_gateway",
     "subnet-router anycast"),
    ("wg-gw6-is-subnet-router-anycast", [("wireguard.ipv6_gw", "fd54:153::/120")], "wireguard.ipv6_gw",
     "subnet-router anycast"),
    ("host-is-network-address", workers({"name": "w1", "ipv4": "172.30.154.0"}), "kubernetes.workers[0].ipv4",
     "network address"),
    ("host-is-broadcast", workers({"name": "w1", "ipv4": "172.30.154.255"}), "kubernetes.workers[0].ipv4", "broadcast"),
    # --- WireGuard
    ("peer-duplicate-key", [("wireguard.peers", [{"name": "a", "public_key": KEY}, {"name": "b", "public_key": KEY}])],
     "wireguard.peers[1].public_key", "public key of wireguard.peers[0]"),
    ("wg-port-dns-stub", [("wireguard.port", 53)], "wireguard.port", "DNS stub"),
    ("wg-sync-port-dhcp-default", [("wireguard.port", 67)], "wireguard.port", "endpoint sync takes"),
    ("wg-sync-port-dhcpv6", [("wireguard.endpoint_sync_port", 546)], "wireguard.endpoint_sync_port", "DHCPv6"),
    ("wg-peers-outside-blame-cidr", [("wireguard.ipv4_cidr", "172.30.153.0/30"),
                                     ("wireguard.peers", [{"name": "p%d" % i, "public_key": k}
                                                          for i, k in enumerate((KEY, KEY2))])],
     "wireguard.ipv4_cidr", "too small"),
    # --- kubeadm: cluster DNS at the 10th, kubernetes Service at the 1st address of the first subnet
    ("svc-v4-too-small-for-dns", [("kubernetes.service_subnet_v4", "10.96.0.0/29")], "kubernetes.service_subnet_v4",
     "10th address"),
    ("svc-v6-primary-too-small-for-dns", V6_PRIMARY + [("kubernetes.service_subnet_v6", "fdff:3::/125")],
     "kubernetes.service_subnet_v6", "10th address"),
    ("svc-secondary-empty", [("kubernetes.service_subnet_v6", "fdff:3::/128")], "kubernetes.service_subnet_v6",
     "no Service address"),
    # --- the API port against the other daemons of the hosts that bind it
    ("api-port-etcd", [("kubernetes.api_port", 2379)], "kubernetes.api_port", "etcd"),
    ("api-port-etcd-peer", [("kubernetes.api_port", 2380)], "kubernetes.api_port", "etcd (peer)"),
    ("api-port-kubelet", [("kubernetes.api_port", 10250)], "kubernetes.api_port", "kubelet"),
    ("api-port-scheduler", [("kubernetes.api_port", 10259)], "kubernetes.api_port", "kube-scheduler"),
    ("api-port-controller-manager", [("kubernetes.api_port", 10257)], "kubernetes.api_port", "kube-controller-manager"),
    ("api-port-bgp", [("kubernetes.api_port", 179)], "kubernetes.api_port", "BGP"),
    ("api-port-ssh", [("kubernetes.api_port", 22)], "kubernetes.api_port", "sshd"),
    ("api-port-nodeport", [("kubernetes.api_port", 30443)], "kubernetes.api_port", "NodePort range"),
    # --- the DHCP allocation pool (Neutron: no gateway in the pool, pool inside the subnet)
    ("router-in-dhcp-pool", [("network.ipv4_gateway", "172.30.154.5")], "network.ipv4_gateway", "DHCP allocation pool"),
    ("vip-in-dhcp-pool", [("gateways.vip_v6", "fd54:154::3")], "gateways.vip_v6", "DHCP allocation pool"),
    ("offset-in-dhcp-pool-blames-offset", [("network.control_plane_offset", 5)], "network.control_plane_offset",
     "DHCP allocation pool"),
    ("explicit-host-in-dhcp-pool", workers({"name": "w1", "ipv4": "172.30.154.4"}), "kubernetes.workers[0].ipv4",
     "DHCP allocation pool"),
    ("offset-past-subnet-blames-offset", [("network.worker_offset", 300)], "network.worker_offset", "outside"),
    ("offset-on-broadcast-blames-offset", [("network.worker_offset", 255)], "network.worker_offset", "broadcast"),
    ("huge-offset-no-crash", [("network.worker_offset", 2 ** 40)], "network.worker_offset", "past the end"),
    ("dhcp-pool-outside-subnet", [("network.ipv6_cidr", "fd54:154::/123"), ("gateways.vip_v6", _DELETE),
                                  ("network.gateway_offset", 40), ("network.control_plane_offset", 3),
                                  ("network.worker_offset", 5)],
     "network.gateway_offset", "ends outside"),
    # --- public VIPs: reached from outside, never inside one of the cluster's own networks
    ("public-vip-in-wireguard-subnet", [("gateways.public_vip_v4", "172.30.153.200")], "gateways.public_vip_v4",
     "WireGuard subnet"),
    ("public-vip6-in-pod-subnet", [("gateways.public_vip_v6", "fdff:2::5")], "gateways.public_vip_v6", "pod subnet"),
    ("public-vip-in-service-subnet", [("gateways.public_vip_v4", "10.96.0.5")], "gateways.public_vip_v4",
     "service subnet"),
    ("public-vip-is-lab-gateway-address", [("lab", LAB), ("gateways.public_vip_v4", "172.30.152.10")],
     "gateways.public_vip_v4", "external address of gw1"),
    ("lab-external-too-small", [("lab", dict(LAB, external_cidr_v4="172.30.152.0/28"))], "lab.external_cidr_v4",
     "too small"),
    # --- names: blame the key that decides the name
    ("gateway-prefix-clash-blames-prefix", [("gateways.name_prefix", "master")], "gateways.name_prefix", "used twice"),
    ("worker-prefix-clash-blames-prefix", [("kubernetes.worker_prefix", "master")], "kubernetes.worker_prefix",
     "used twice"),
    ("host-name-is-vip-port-name", workers({"name": "vip-ipv4"}), "kubernetes.workers[0].name", "VIP port"),
    ("lab-client-is-host-name", [("lab", dict(LAB, wireguard_client="gw1")),
                                 ("wireguard.peers.0.name", "gw1")], "lab.wireguard_client", "also a host name"),
    ("neutron-name-too-long", [("openstack.name_prefix", ".".join(["p" * 62] * 4))], "openstack.name_prefix",
     "exceed 255"),
    ("too-many-nodes", [("kubernetes.worker_count", 5000)], "kubernetes.worker_count", "at most 5000"),
    # --- keepalived, bird, kubeadm, Neutron limits
    ("advert-int-not-centiseconds", [("gateways.vrrp_advert_int", 0.015)], "gateways.vrrp_advert_int", "10 ms"),
    ("too-many-gateway-hosts", [("gateways.count", _DELETE),
                                ("gateways.hosts", [{"name": "g%d" % i} for i in range(33)])],
     "gateways.hosts", "at most 32"),
    ("as-65535-reserved", [("calico.as_number", 65535)], "calico.as_number", "RFC 7300"),
    ("kubernetes-before-v1beta4", [("kubernetes.version", "1.30")], "kubernetes.version", "pattern"),
    ("endpoint-is-ip-literal", [("kubernetes.control_plane_endpoint", "172.30.154.254")],
     "kubernetes.control_plane_endpoint", "not a DNS name"),
    ("endpoint-too-long", [("kubernetes.control_plane_endpoint", ".".join(["a" * 60] * 5))],
     "kubernetes.control_plane_endpoint", "253"),
    ("dns-duplicate", [("network.dns_servers", ["9.9.9.9", "9.9.9.9"])], "network.dns_servers[1]", "twice"),
    ("dns-too-many", [("network.dns_servers", ["9.9.9.%d" % i for i in range(1, 7)])], "network.dns_servers[5]",
     "at most 5"),
    ("dns-family-not-listed", V4_ONLY + [("network.dns_servers", ["2001:4860:4860::8888"])], "network.dns_servers[0]",
     "not listed"),
    ("slaac-explicit-host-not-eui64", SLAAC + workers({"name": "w1", "ipv6": "fd54:154::50"}),
     "kubernetes.workers[0].ipv6", "EUI-64"),
]


@pytest.mark.parametrize("changes,key,reason", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_config_names_the_key(changes, key, reason):
    exc = errors_of(variant(*changes))
    messages = {}
    for k, msg in exc.errors:
        messages.setdefault(k, []).append(msg)
    assert key in messages, "expected an error at %s, got %s" % (key, exc.errors)
    assert any(reason.lower() in msg.lower() for msg in messages[key]), messages[key]
    assert "  - %s: " % key in str(exc)  # the inventory plugin shows str(exc): every error as `key: reason`


GOOD = [
    # IPv6 has no broadcast address: the last address is a host address (Neutron hands it out)
    ("ipv6-last-address-host", workers({"name": "w1", "ipv6": "fd54:154::ff"})),
    ("ipv6-last-address-vip", [("gateways.vip_v6", "fd54:154::ff")]),
    ("ipv6-last-address-peer", [("wireguard.peers.0.ipv6", "fd54:153::ff")]),
    # smallest service subnets kubeadm takes
    ("svc-v4-28", [("kubernetes.service_subnet_v4", "10.96.0.0/28")]),
    ("svc-v6-primary-124", V6_PRIMARY + [("kubernetes.service_subnet_v6", "fdff:3::/124")]),
    ("svc-v6-secondary-127", [("kubernetes.service_subnet_v6", "fdff:3::/127")]),
    # TCP and UDP are separate port spaces; ports next to the reserved ones are free
    ("api-port-equals-wireguard-port", [("kubernetes.api_port", 7777)]),
    ("api-port-8443", [("kubernetes.api_port", 8443)]),
    ("router-after-dhcp-pool", [("network.ipv4_gateway", "172.30.154.200")]),
    ("public-vip-outside", [("gateways.public_vip_v4", "203.0.113.10"), ("gateways.public_vip_v6", "2001:db8::10")]),
    ("advert-int-centiseconds", [("gateways.vrrp_advert_int", 0.07)]),
    ("slaac-explicit-host-eui64", SLAAC + workers({"name": "w1", "ipv6": "fd54:154::200:ff:fe00:99"})),
    ("slaac-counted-hosts", SLAAC),
    ("dns-five-per-family", [("network.dns_servers", ["9.9.9.%d" % i for i in range(1, 6)] + ["2620:fe::fe"])]),
    ("endpoint-dns-name", [("kubernetes.control_plane_endpoint", "api.k8s.example")]),
    ("gateways-32", [("gateways.count", 32), ("network.control_plane_offset", 60), ("network.worker_offset", 70)]),
    ("custom-prefixes", [("gateways.name_prefix", "edge"), ("kubernetes.worker_prefix", "node")]),
]


@pytest.mark.parametrize("changes", [g[1] for g in GOOD], ids=[g[0] for g in GOOD])
def test_valid_config_loads(changes):
    plan = build_plan(parse_config(variant(*changes), source=os.path.join(REPO, "config", "test.toml")))
    assert plan["hosts"]


def test_ipv6_last_address_is_planned():
    plan = build_plan(parse_config(variant(*workers({"name": "w1", "ipv6": "fd54:154::ff"}))))
    assert plan["hosts"]["w1"]["ipv6"] == "fd54:154::ff"


def test_duplicate_key_through_a_key_file(tmp_path):
    (tmp_path / "b.pub").write_text(KEY + "\n")
    data = variant(("wireguard.peers", [{"name": "a", "public_key": KEY}, {"name": "b", "public_key_file": "b.pub"}]))
    with pytest.raises(ConfigError) as info:
        parse_config(data, source=str(tmp_path / "config.toml"))
    assert ("wireguard.peers[1].public_key_file" in info.value.keys()), info.value.errors


def test_distinct_keys_are_fine():
    parse_config(variant(("wireguard.peers", [{"name": "a", "public_key": KEY}, {"name": "b", "public_key": KEY2}])))


def test_one_error_per_problem_and_all_collected():
    exc = errors_of(variant(("kubernetes.api_port", 2379), ("gateways.vip_v4", "127.0.0.1"),
                            ("network.dns_servers", ["9.9.9.9", "9.9.9.9"]), ("gateways.vrrp_advert_int", 0.015)))
    assert {"kubernetes.api_port", "gateways.vip_v4", "network.dns_servers[1]", "gateways.vrrp_advert_int"} \
        <= set(exc.keys())


# --- what the renderers used to re-check holds for every plan by construction (rules.py docstring)
PLANS = sorted(glob.glob(os.path.join(REPO, "config", "examples", "*.toml"))
               + glob.glob(os.path.join(REPO, "tests", "unit", "configs", "*.toml")))


@pytest.mark.parametrize("path", PLANS, ids=[os.path.basename(p) for p in PLANS])
def test_kubeadm_and_calico_invariants_hold_by_construction(path):
    import ipaddress
    plan = build_plan(load_config(path))
    fams = plan["cluster"]["ip_families"]

    def fam(text):
        return "ipv4" if ipaddress.ip_network(text, strict=False).version == 4 else "ipv6"

    k = plan["kubernetes"]
    assert [fam(c) for c in k["pod_subnets"]] == fams
    assert [fam(c) for c in k["service_subnets"]] == fams
    for name in plan["groups"]["k8s_control_plane"] + plan["groups"]["k8s_workers"]:
        host = plan["hosts"][name]
        assert [fam(ip) for ip in host["node_ips"]] == fams
        assert fam(host["primary_ip"]) == fam(k["service_subnets"][0])
    host_part = k["control_plane_endpoint"].rsplit(":", 1)[0]
    assert ":" not in host_part or (host_part.startswith("[") and host_part.endswith("]"))
    assert all(plan["vips"][f] in k["cert_sans"] for f in fams)
    c = plan["calico"]
    assert [p["family"] for p in c["pools"]] == fams
    assert [p["cidr"] for p in c["pools"]] == k["pod_subnets"]
    assert all("IPIP" not in p["encapsulation"] for p in c["pools"] if p["family"] == "ipv6")
    assert [(p["family"], fam(p["peer_ip"])) for p in c["peers"]] == [(f, f) for f in fams]
    assert all(p["as_number"] != c["as_number"] for p in c["peers"])
