"""The yaook/k8s import (plugins/plugin_utils/yaook.py, action yaook_import): one yaook-shaped config per
documented variant imports, validates, plans and renders, and the plan's node, pod, service and WireGuard
CIDRs and peers are exactly the yaook values; every yaook key is reported; errors name yaook keys."""

import copy
import ipaddress
import os
import sys
import tomllib

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if os.path.join(REPO, ".collections") not in sys.path:
    sys.path.insert(0, os.path.join(REPO, ".collections"))
sys.path.append(os.path.join(REPO, "tools"))

from ansible_collections.dualstack.k8s.plugins.action.yaook_import import import_yaook  # noqa: E402
from ansible_collections.dualstack.k8s.plugins.module_utils import calico as C  # noqa: E402
from ansible_collections.dualstack.k8s.plugins.module_utils import kubeadm as K  # noqa: E402
from ansible_collections.dualstack.k8s.plugins.plugin_utils import yaook as Y  # noqa: E402
from ansible_collections.dualstack.k8s.plugins.plugin_utils.config import Config  # noqa: E402
from ansible_collections.dualstack.k8s.plugins.plugin_utils.plan import load_plan  # noqa: E402

import gen_yaook_doc  # noqa: E402
from examples import calico_params, kubeadm_params  # noqa: E402

FIXTURES = os.path.join(REPO, "tests", "unit", "yaook")
VARIANTS = {
    # name: (families, ipam file)
    "classic-ipv4": (["ipv4"], None),
    "classic-dualstack": (["ipv4", "ipv6"], "classic-dualstack.ipam.toml"),
    "v7-ipv4": (["ipv4"], None),
    "v8-dualstack": (["ipv4", "ipv6"], None),
}


def _read(path):
    with open(path, "rb") as handle:
        return tomllib.load(handle)


def _import(tmp_path, name, data=None, **kwargs):
    """Import fixture ``name`` (or ``data`` written as a yaook file) into tmp_path/config.toml."""
    src = os.path.join(FIXTURES, name + ".toml")
    if data is not None:
        src = str(tmp_path / "yaook.toml")
        with open(src, "w") as handle:
            handle.write(data)
    ipam = VARIANTS.get(name, (None, None))[1]
    kwargs.setdefault("ipam", os.path.join(FIXTURES, ipam) if ipam else None)
    dest = str(tmp_path / "config.toml")
    return import_yaook(src, dest, **kwargs), dest


def _net(text):
    return str(ipaddress.ip_network(text))


def _addr(text):
    return str(ipaddress.ip_interface(text).ip)


def _yaook_wireguard(data):
    """The WireGuard endpoint yaook uses: the direct keys, else the first enabled endpoint by id."""
    wg = data["wireguard"]
    if "ip_cidr" in wg or "port" in wg:
        return wg
    return sorted((e for e in wg["endpoints"] if e.get("enabled", True)), key=lambda e: str(e["id"]))[0]


# --------------------------------------------------------------------------------------------------
# Round trip per documented variant
# --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_variant_round_trip(tmp_path, name):
    families, ipam_name = VARIANTS[name]
    result, dest = _import(tmp_path, name)
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is True
    data = _read(os.path.join(FIXTURES, name + ".toml"))
    ipam = _read(os.path.join(FIXTURES, ipam_name)) if ipam_name else {"wg_users": []}
    written = _read(dest)   # tomllib-readable
    plan = load_plan(dest)  # passes our validation
    tf = data["terraform"]
    net = data["kubernetes"]["network"]

    assert plan["cluster"]["ip_families"] == families
    # node subnets
    assert plan["network"]["ipv4"]["cidr"] == _net(tf["subnet_cidr"])
    if "ipv6" in families:
        assert plan["network"]["ipv6"]["cidr"] == _net(tf["subnet_v6_cidr"])
        assert plan["network"]["ipv6"]["mode"] == "dhcpv6-stateful"
    else:
        assert plan["network"]["ipv6"] is None
    # pod and service subnets, family by family
    pods = [_net(net["pod_subnet"])] + ([_net(net["pod_subnet_v6"])] if "ipv6" in families else [])
    services = [_net(net["service_subnet"])] + ([_net(net["service_subnet_v6"])] if "ipv6" in families else [])
    assert plan["kubernetes"]["pod_subnets"] == pods
    assert plan["kubernetes"]["service_subnets"] == services
    assert [p["cidr"] for p in plan["calico"]["pools"]] == pods
    # WireGuard subnets, gateway addresses and port
    wg = _yaook_wireguard(data)
    assert plan["wireguard"]["ipv4"]["cidr"] == _net(wg["ip_cidr"])
    assert plan["wireguard"]["ipv4"]["gateway"] == _addr(wg["ip_gw"])
    if "ipv6" in families:
        assert plan["wireguard"]["ipv6"]["cidr"] == _net(wg["ipv6_cidr"])
        assert plan["wireguard"]["ipv6"]["gateway"] == _addr(wg["ipv6_gw"])
    assert plan["wireguard"]["port"] == wg.get("port", 7777)
    # peers: keys, names, addresses from the config or yaook's IPAM file
    by_key = {u["pub_key"]: u for u in ipam["wg_users"]}
    peers = data["wireguard"]["peers"]
    assert len(plan["wireguard"]["peers"]) == len(peers)
    for peer, planned in zip(peers, plan["wireguard"]["peers"]):
        assert planned["public_key"] == peer["pub_key"]
        assert planned["name"] == Y.peer_name(peer["ident"], 0)
        for fam, key in (("ipv4", "ip"), ("ipv6", "ipv6")):
            if fam not in families:
                assert planned[fam] is None
                continue
            source = peer.get(key) or by_key[peer["pub_key"]][key]
            assert planned[fam] == _addr(source)
    # counts, as yaook derives them
    groups = plan["groups"]
    nodes = tf.get("nodes", {})
    masters = tf.get("masters", sum(1 for n in nodes.values() if n["role"] == "master") if nodes else 3)
    workers = tf.get("workers", sum(1 for n in nodes.values() if n["role"] == "worker") if nodes else 4)
    assert len(groups["k8s_control_plane"]) == (len(masters) if isinstance(masters, dict) else masters)
    assert len(groups["k8s_workers"]) == (len(workers) if isinstance(workers, dict) else workers)
    if tf.get("gateway_count"):
        gateways = tf["gateway_count"]
    elif "gateway_count" in tf or "spread_gateways_across_azs" in tf:
        gateways = len(tf.get("azs", ["AZ1", "AZ2", "AZ3"])) if tf.get("spread_gateways_across_azs", True) else 3
    else:
        gateways = len(tf.get("azs", ["AZ1", "AZ2", "AZ3"]))
    assert len(groups["gateways"]) == gateways
    # ASes: yaook's bgp_worker_as / bgp_gateway_as, else yaook's defaults
    assert plan["calico"]["as_number"] == net.get("bgp_worker_as", 64512)
    assert plan["gateways"]["as_number"] == net.get("bgp_gateway_as", 65000)
    assert written["calico"]["nat_outgoing_v4"] == net.get("ipv4_nat_outgoing", True)
    if "ipv6" in families:
        assert written["calico"]["nat_outgoing_v6"] == net.get("ipv6_nat_outgoing", False)
    assert plan["kubernetes"]["version"] == data["kubernetes"]["version"]
    # renders: the kubeadm config of every node and the Calico manifests, from the role inputs
    for host in groups["k8s_control_plane"] + groups["k8s_workers"]:
        params = kubeadm_params(plan, host)
        assert K.input_errors(params) == [], host
        text = K.render_kubeadm_text(params)
        assert plan["hosts"][host]["node_ips"][0] in text
    text = K.render_kubeadm_text(kubeadm_params(plan, plan["kubernetes"]["first_control_plane"]))
    for cidr in pods + services:
        assert cidr in text
    params = calico_params(plan)
    assert C.input_errors(params) == []
    texts = C.render_calico_texts(params)
    for cidr in pods:
        assert cidr in texts["ippools.yaml"]


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_every_yaook_key_is_reported_once(tmp_path, name):
    result, dest = _import(tmp_path, name)
    assert not result.get("failed"), result.get("msg")
    data = _read(os.path.join(FIXTURES, name + ".toml"))
    report = result["report"]
    keys = [e["yaook"] for kind in ("carried", "derived", "not_relevant", "not_supported", "unknown")
            for e in report[kind] if not e["yaook"].startswith("config/wireguard_ipam.toml")]
    leaves = [k for k, v in Y.flatten(data)]
    # every leaf is filed; only whole node tables ("terraform.masters", counted) are filed besides leaves
    assert sorted(set(keys) - ({"terraform.masters", "terraform.workers"} - set(leaves))) == sorted(leaves)
    assert len([k for k in keys if k in leaves]) == len(leaves), "a key is filed twice"
    for kind in ("not_relevant", "not_supported", "unknown"):
        for entry in report[kind]:
            assert entry["note"], entry


def test_written_values_name_their_yaook_source(tmp_path):
    result, dest = _import(tmp_path, "classic-dualstack")
    with open(dest) as handle:
        lines = [line for line in handle if "=" in line and not line.startswith("#")]
    assert lines
    for line in lines:
        comment = line.split("#", 1)[1] if "#" in line else ""
        assert any(word in comment for word in ("yaook:", "yaook default of", "derived:", "as yaook")), line
    assert 'ipv4_cidr = "172.30.154.0/24"  # yaook: terraform.subnet_cidr' in "".join(lines)


def test_secrets_stay_out_of_the_report(tmp_path):
    result, dummy = _import(tmp_path, "classic-ipv4")
    assert "not-a-real-secret" not in repr(result)
    assert any(e["yaook"] == "ch-k8s-lbaas.shared_secret" for e in result["report"]["not_supported"])


def test_derivations_are_said(tmp_path):
    result, dummy = _import(tmp_path, "classic-dualstack")
    text = "\n".join(result["report_lines"])
    assert "terraform.dualstack_support -> cluster.ip_families" in text
    assert "kubernetes.control_plane_count = 3  (default of terraform.masters)" in text
    assert "gateways.vip_v6 = fd00::fe: yaook lets Neutron pick" in text
    assert "config/wireguard_ipam.toml (Ops@Example.org) -> wireguard.peers[1].ipv4" in text


# --------------------------------------------------------------------------------------------------
# Unknown keys, bad values, check mode
# --------------------------------------------------------------------------------------------------

def _fixture_text(name):
    with open(os.path.join(FIXTURES, name + ".toml")) as handle:
        return handle.read()


def test_unknown_keys_are_reported_not_dropped(tmp_path):
    text = _fixture_text("classic-ipv4").replace(
        '\ndualstack_support = false\n', '\ndualstack_support = false\nsubnet_v6_cid = "fd00::/120"\n') + \
        '\n[frobnicate]\nlevel = 11\n'
    result, dest = _import(tmp_path, "custom", data=text)
    assert not result.get("failed"), result.get("msg")
    unknown = {e["yaook"]: e["note"] for e in result["report"]["unknown"]}
    assert set(unknown) == {"terraform.subnet_v6_cid", "frobnicate.level"}
    assert "did you mean terraform.subnet_v6_cidr?" in unknown["terraform.subnet_v6_cid"]
    assert "terraform.subnet_v6_cid: not a documented yaook key" in "\n".join(result["report_lines"])
    assert "ipv6_cidr" not in _read(dest)["network"]


@pytest.mark.parametrize("old, new, key, words", [
    ('service_subnet = "10.96.0.0/12"', 'service_subnet = "10.0.0.0/8"', "kubernetes.network.service_subnet",
     "too large"),
    ('ip_cidr = "172.30.153.0/24"', 'ip_cidr = "172.30.153.0/33"', "wireguard.ip_cidr", "not a valid CIDR"),
    ("masters = 3", "masters = 12", "terraform.masters", "less than or equal to 9"),
    ('ip = "172.30.153.20"', 'ip = "172.30.154.20"', "wireguard.peers[1].ip", "outside wireguard.ipv4_cidr"),
    ('subnet_cidr = "172.30.154.0/24"', 'subnet_cidr = "172.30.153.0/24"', "wireguard.ip_cidr", "overlaps"),
    ('version = "1.31.5"', 'version = "1.29.8"', "kubernetes.version", "should match pattern"),
])
def test_bad_value_names_the_yaook_key(tmp_path, old, new, key, words):
    text = _fixture_text("classic-ipv4")
    assert old in text
    result, dest = _import(tmp_path, "custom", data=text.replace(old, new, 1))
    assert result.get("failed")
    assert not os.path.exists(dest)
    errors = {e["key"]: e["reason"] for e in result["errors"]}
    assert key in errors, errors
    assert words in errors[key]
    assert key in result["msg"]


def test_missing_ipv6_wireguard_subnet_names_the_yaook_key(tmp_path):
    text = _fixture_text("classic-dualstack").replace('ipv6_cidr = "fd01::/120"\n', "").replace(
        'ipv6_gw = "fd01::1/120"\n', "")
    result, dummy = _import(tmp_path, "custom", data=text)
    assert result.get("failed")
    errors = {e["key"]: e["reason"] for e in result["errors"]}
    assert "wireguard.ipv6_cidr" in errors, errors


def test_not_a_boolean_fails_before_validation(tmp_path):
    text = _fixture_text("classic-ipv4").replace("\ndualstack_support = false", '\ndualstack_support = "yes"')
    result, dest = _import(tmp_path, "custom", data=text)
    assert result.get("failed")
    assert result["errors"] == [{"key": "terraform.dualstack_support", "reason": "must be true or false (got 'yes')"}]


def test_contradicting_family_keys(tmp_path):
    text = _fixture_text("classic-ipv4").replace("\ndualstack_support = false",
                                                 "\ndualstack_support = false\nipv6_enabled = true")
    result, dummy = _import(tmp_path, "custom", data=text)
    assert result.get("failed")
    assert result["errors"][0]["key"] == "terraform.ipv6_enabled"


def test_check_mode_writes_nothing_and_diffs(tmp_path):
    result, dest = _import(tmp_path, "v7-ipv4", check=True)
    assert result["changed"] is True and not os.path.exists(dest)
    assert result["diff"]["before"] == "" and "[wireguard]" in result["diff"]["after"]
    result, dest = _import(tmp_path, "v7-ipv4")
    assert result["changed"] is True and os.path.exists(dest)
    again, dummy = _import(tmp_path, "v7-ipv4")
    assert again["changed"] is False
    with open(dest, "a") as handle:
        handle.write("# edited\n")
    check, dummy = _import(tmp_path, "v7-ipv4", check=True)
    assert check["changed"] is True
    assert check["diff"]["before"].endswith("# edited\n") and not check["diff"]["after"].endswith("# edited\n")
    with open(dest) as handle:
        assert handle.read().endswith("# edited\n")
    backed, dummy = _import(tmp_path, "v7-ipv4", backup=True)
    assert os.path.exists(backed["backup_file"])


def test_openstack_table_with_a_cloud(tmp_path):
    result, dest = _import(tmp_path, "classic-ipv4", openstack_cloud="prod")
    assert not result.get("failed"), result.get("msg")
    written = _read(dest)
    assert written["openstack"] == {"cloud": "prod", "external_network": "shared-public-IPv4",
                                    "name_prefix": "prod-k8s"}
    plan = load_plan(dest)
    assert plan["openstack"]["network_name"] == "prod-k8s-net"
    carried = {e["yaook"]: e["target"] for e in result["report"]["carried"]}
    assert carried["terraform.public_network"] == "openstack.external_network"


def test_wireguard_disabled_is_reported(tmp_path):
    text = _fixture_text("v7-ipv4").replace("[wireguard]\nenabled = true", "[wireguard]\nenabled = false")
    result, dest = _import(tmp_path, "custom", data=text)
    assert not result.get("failed"), result.get("msg")
    assert "wireguard" not in _read(dest)
    off = [e["yaook"] for e in result["report"]["not_relevant"] if e["note"].startswith("wireguard.enabled = false")]
    assert "wireguard.peers[1].pub_key" in off


# --------------------------------------------------------------------------------------------------
# The mapping and its documentation
# --------------------------------------------------------------------------------------------------

def _model_keys():
    keys = set()

    def walk(model, prefix):
        for name, field in model.model_fields.items():
            keys.add(prefix + name)
            for cand in _types(field.annotation):
                if isinstance(cand, type) and hasattr(cand, "model_fields"):
                    is_list = "List" in str(field.annotation) or "list" in str(field.annotation)
                    walk(cand, prefix + name + ("[]." if is_list else "."))
    walk(Config, "")
    return keys


def _types(ann):
    import typing
    yield ann
    for arg in typing.get_args(ann):
        yield from _types(arg)


def test_mapping_targets_exist_in_the_model():
    keys = _model_keys()
    for rule in Y.RULES:
        if rule.kind in (Y.CARRIED, Y.DERIVED):
            for target in rule.target.split(","):
                assert target.strip() in keys, "%s -> %s is not a config key" % (rule.pattern, target)
        else:
            assert rule.target is None and rule.note, rule.pattern


def test_doc_is_current():
    with open(gen_yaook_doc.TARGET) as handle:
        text = handle.read()
    assert gen_yaook_doc.render(text) == text, "docs/yaook.md is stale: run tools/gen_yaook_doc.py"
    for rule in Y.RULES:
        assert "| `%s` |" % rule.pattern in text


def test_report_entries_are_copies_not_shared(tmp_path):
    data = _read(os.path.join(FIXTURES, "classic-ipv4.toml"))
    before = copy.deepcopy(data)
    Y.convert(data)
    assert data == before, "convert() must not change the yaook data"


def test_infra_layout_ipv6_only_bare_metal(tmp_path):
    result, dest = _import(tmp_path, "infra-ipv6only")
    assert not result.get("failed"), result.get("msg")
    plan = load_plan(dest)
    assert plan["cluster"]["ip_families"] == ["ipv6"]
    assert plan["network"]["ipv6"]["cidr"] == "fd42::/120"
    assert plan["vips"]["ipv6"] == "fd42::99"   # infra.networking_fixed_ip_v6, not planned
    assert plan["kubernetes"]["pod_subnets"] == ["fd43::/56"]
    assert plan["kubernetes"]["service_subnets"] == ["fd44::/108"]
    assert plan["wireguard"]["ipv6"]["cidr"] == "fd45::/120" and plan["wireguard"]["ipv4"] is None
    report = result["report"]
    ignored = {e["yaook"]: e["note"] for e in report["not_relevant"]}
    assert ignored["wireguard.ip_cidr"] == "ipv4 is not enabled"
    assert "kubernetes.network.pod_subnet" in ignored
    assert [e["yaook"] for e in report["not_supported"]] == ["kubernetes.network.calico.encapsulation"]
    notes = {n["target"]: n["note"] for n in report["planned_differently"]}
    assert "bare-metal yaook" in notes["hosts"] and "gateways.vip_v6" not in notes
    assert "wireguard.peers[0].ipv6" in notes
    assert "openstack" not in _read(dest)
