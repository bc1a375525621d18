"""Calico rendering from the plain inputs role_inputs.calico_inputs computes: golden files for both
styles, CRD schema validation of every rendered Calico object, kubernetes-validate for the core
objects, the dual-stack facts of docs/kubernetes.md and the module's argument checks. Calico's
limits as config rules (block sizes, IPIP on IPv6, the AS check) are tested with
plugins/plugin_utils/rules.py, where they live."""

import copy
import glob
import ipaddress
import json
import os
import sys

import jsonschema
import kubernetes_validate
import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if os.path.join(REPO, ".collections") not in sys.path:
    sys.path.insert(0, os.path.join(REPO, ".collections"))

from ansible_collections.dualstack.k8s.plugins.module_utils import calico as C  # noqa: E402
from examples import EXAMPLES, GOLDEN, calico_params, check_golden, plan_of  # noqa: E402

SCHEMAS = os.path.join(REPO, "tests", "schemas", "calico")
K8S_VERSION = "1.34"


def _load_crd_schemas():
    schemas = {}
    for path in glob.glob(os.path.join(SCHEMAS, "*", "*.yaml")):
        with open(path) as handle:
            crd = yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            schemas["%s/%s" % (group, version["name"]), kind] = version["schema"]["openAPIV3Schema"]
    return schemas


CRD_SCHEMAS = _load_crd_schemas()


def _go_pattern(validator, pattern, instance, schema):
    """Go's RE2 allows flags after ``^`` (``^(?i)(Trace|...)$``); Python wants them first."""
    if pattern.startswith("^(?i)"):
        pattern = "(?i)^" + pattern[len("^(?i)"):]
    yield from jsonschema._keywords.pattern(validator, pattern, instance, schema)


CRDValidator = jsonschema.validators.extend(jsonschema.Draft7Validator, {"pattern": _go_pattern})


def validate_crd(doc):
    schema = CRD_SCHEMAS[doc["apiVersion"], doc["kind"]]
    CRDValidator(schema).validate(doc)
    check_cel_rules(doc)


def check_cel_rules(doc):
    """The CRDs' x-kubernetes-validations (CEL) that jsonschema cannot evaluate, for rendered fields."""
    spec = doc.get("spec", {})
    if doc["kind"] == "IPPool":
        net = ipaddress.ip_network(spec["cidr"], strict=True)  # "IPPool CIDR must be strictly masked"
        lo, hi = (20, 32) if net.version == 4 else (116, 128)
        assert lo <= spec["blockSize"] <= hi, "blockSize range"
        assert net.prefixlen <= spec["blockSize"], "pool smaller than a block"
        assert not (net.version == 6 and spec.get("ipipMode", "Never") != "Never"), "IPIP on IPv6"
        assert spec.get("ipipMode", "Never") == "Never" or spec.get("vxlanMode", "Never") == "Never"
        assert not net.overlaps(ipaddress.ip_network("169.254.0.0/16" if net.version == 4 else "fe80::/10"))
    if doc["kind"] == "BGPPeer":
        assert not (spec.get("keepOriginalNextHop") and "nextHopMode" in spec)
        assert not (spec.get("node") and spec.get("nodeSelector"))
        assert not (spec.get("peerIP") and spec.get("peerSelector"))


def validate_core(doc):
    kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def complete_daemonset_patch(patch):
    """A strategic-merge patch is not a whole DaemonSet: add the required fields it leaves to the
    existing object, so kubernetes-validate checks the patch's own field names and types."""
    doc = copy.deepcopy(patch)
    doc["spec"]["selector"] = {"matchLabels": {"k8s-app": "calico-node"}}
    doc["spec"]["template"]["metadata"] = {"labels": {"k8s-app": "calico-node"}}
    for container in doc["spec"]["template"]["spec"]["containers"]:
        container["image"] = "calico/node"
    return doc


def cni_config(config_map):
    text = config_map["data"]["cni_network_config"].replace(C.MTU_PLACEHOLDER, "1440")
    return json.loads(text)


def env_of(patch):
    container = patch["spec"]["template"]["spec"]["containers"][0]
    assert container["name"] == "calico-node"
    return dict((e["name"], e["value"]) for e in container["env"])


# ------------------------------------------------------------------------------------------
# every example, both styles: golden files, schemas, generic facts
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("style", C.STYLES)
@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_golden_schemas_and_facts(example, style):
    plan = plan_of(example)
    params = calico_params(plan, style)
    assert C.input_errors(params) == []
    fams = plan["cluster"]["ip_families"]
    texts = C.render_calico_texts(params)
    files = C.render_calico(params)
    assert sorted(texts) == sorted(name for name, dummy in C.apply_plan(style))
    for name, text in texts.items():
        check_golden(os.path.join(GOLDEN, example, "calico", style, name), text)
        assert list(yaml.safe_load_all(text)) == files[name]
    for docs in files.values():
        for doc in docs:
            if doc["apiVersion"] in ("v1", "apps/v1"):
                validate_core(complete_daemonset_patch(doc) if doc["kind"] == "DaemonSet" else doc)
            else:
                validate_crd(doc)

    pools = files["ippools.yaml"]
    assert [ipaddress.ip_network(p["spec"]["cidr"]).version for p in pools] == [int(f[-1]) for f in fams]
    assert [p["spec"]["cidr"] for p in pools] == plan["kubernetes"]["pod_subnets"]
    for pool, planned in zip(pools, plan["calico"]["pools"]):
        assert pool["spec"]["blockSize"] == planned["block_size"]
        assert pool["spec"]["nodeSelector"] == "all()"
        assert pool["spec"]["natOutgoing"] is planned["nat_outgoing"]
    bgp = files["bgp.yaml"]
    assert bgp[0]["kind"] == "BGPConfiguration" and bgp[0]["metadata"]["name"] == "default"
    assert bgp[0]["spec"]["asNumber"] == plan["calico"]["as_number"]
    assert bgp[0]["spec"]["nodeToNodeMeshEnabled"] is plan["calico"]["node_to_node_mesh"]
    peers = bgp[1:]
    assert [p["spec"]["peerIP"] for p in peers] == [plan["vips"][f] for f in fams]
    assert all(p["spec"]["asNumber"] == plan["gateways"]["as_number"] for p in peers)
    assert all(p["spec"]["nextHopMode"] == plan["calico"]["next_hop_mode"] for p in peers)
    assert all("keepOriginalNextHop" not in p["spec"] for p in peers)
    felix = files["felixconfiguration.yaml"][0]
    assert felix["metadata"]["name"] == "default" and felix["spec"]["ipv6Support"] is ("ipv6" in fams)

    if style == "operator":
        inst = files["installation.yaml"][0]["spec"]["calicoNetwork"]
        assert inst["bgp"] == "Enabled"
        assert [p["cidr"] for p in inst["ipPools"]] == plan["kubernetes"]["pod_subnets"]
        for fam in ("ipv4", "ipv6"):
            key = "nodeAddressAutodetectionV%s" % fam[-1]
            if fam in fams:
                assert inst[key] == {"cidrs": [plan["network"][fam]["cidr"]]}
            else:
                assert key not in inst
    else:
        cni = cni_config(files["calico-config.yaml"][0])
        ipam = cni["plugins"][0]["ipam"]
        assert ipam == {"type": "calico-ipam",
                        "assign_ipv4": "true" if "ipv4" in fams else "false",
                        "assign_ipv6": "true" if "ipv6" in fams else "false"}
        env = env_of(files["calico-node-env.yaml"][0])
        assert all(isinstance(v, str) for v in env.values())
        assert env["IP"] == ("autodetect" if "ipv4" in fams else "none")
        assert env["IP6"] == ("autodetect" if "ipv6" in fams else "none")
        assert env["FELIX_IPV6SUPPORT"] == ("true" if "ipv6" in fams else "false")
        for fam in fams:
            prefix = "IP" if fam == "ipv4" else "IP6"
            assert env[prefix + "_AUTODETECTION_METHOD"] == "cidr=%s" % plan["network"][fam]["cidr"]
            pool = [p for p in plan["calico"]["pools"] if p["family"] == fam][0]
            assert env["CALICO_%sPOOL_CIDR" % fam.upper()] == pool["cidr"]
            assert env["CALICO_%sPOOL_BLOCK_SIZE" % fam.upper()] == str(pool["block_size"])
            assert env["CALICO_%sPOOL_NAT_OUTGOING" % fam.upper()] == str(pool["nat_outgoing"]).lower()
        assert "CALICO_IPV6POOL_IPIP" not in env
        for fam in ("ipv4", "ipv6"):
            if fam not in fams:  # no default pool of a family the cluster does not have
                assert env["CALICO_%sPOOL_CIDR" % fam.upper()] == "none"
        assert ("CALICO_ROUTER_ID" in env) is ("ipv4" not in fams)


def test_no_golden_file_is_orphaned():
    for path in glob.glob(os.path.join(GOLDEN, "*", "calico", "*", "*.golden")):
        parts = path[:-len(".golden")].split(os.sep)
        example, style, name = parts[-4], parts[-2], parts[-1]
        assert example in EXAMPLES and style in C.STYLES, path
        assert name in C.render_calico(calico_params(plan_of(example), style)), "%s: not rendered any more" % path


# ------------------------------------------------------------------------------------------
# facts per example
# ------------------------------------------------------------------------------------------

def test_seed004_manifest_style_matches_the_seed():
    files = C.render_calico(calico_params(plan_of("seed004"), "manifest"))
    ipam = cni_config(files["calico-config.yaml"][0])["plugins"][0]["ipam"]
    assert ipam == {"type": "calico-ipam", "assign_ipv4": "true", "assign_ipv6": "true"}
    env = env_of(files["calico-node-env.yaml"][0])
    assert env["IP6"] == "autodetect" and env["FELIX_IPV6SUPPORT"] == "true"
    assert env["CALICO_IPV6POOL_CIDR"] == "fdff:2::/56" and env["CALICO_IPV6POOL_BLOCK_SIZE"] == "122"
    assert env["CALICO_IPV4POOL_CIDR"] == "10.244.0.0/16" and env["CALICO_IPV4POOL_BLOCK_SIZE"] == "26"
    assert env["IP6_AUTODETECTION_METHOD"] == "cidr=fd00:154::/120"
    assert [p["spec"]["cidr"] for p in files["ippools.yaml"]] == ["10.244.0.0/16", "fdff:2::/56"]
    assert [p["spec"]["peerIP"] for p in files["bgp.yaml"][1:]] == ["172.30.154.254", "fd00:154::fe"]
    assert [p["metadata"]["name"] for p in files["bgp.yaml"][1:]] == ["gateway-vip-ipv4", "gateway-vip-ipv6"]


def test_ipv6_primary_pools_v6_first():
    files = C.render_calico(calico_params(plan_of("ipv6-primary")))
    assert [p["spec"]["cidr"] for p in files["ippools.yaml"]] == ["fd20:244::/56", "10.244.0.0/16"]
    assert [p["spec"]["blockSize"] for p in files["ippools.yaml"]] == [122, 26]
    net = files["installation.yaml"][0]["spec"]["calicoNetwork"]
    assert [p["cidr"] for p in net["ipPools"]] == ["fd20:244::/56", "10.244.0.0/16"]
    assert net["nodeAddressAutodetectionV6"] == {"cidrs": ["2001:db8:20::/64"]}
    assert net["nodeAddressAutodetectionV4"] == {"cidrs": ["10.20.0.0/22"]}
    assert files["installation.yaml"][0]["spec"]["serviceCIDRs"] == ["fd20:96::/108", "10.96.0.0/16"]


def test_ipv6_only_seed002():
    plan = plan_of("ipv6-only")
    files = C.render_calico(calico_params(plan, "manifest"))
    ipam = cni_config(files["calico-config.yaml"][0])["plugins"][0]["ipam"]
    assert ipam["assign_ipv4"] == "false" and ipam["assign_ipv6"] == "true"
    env = env_of(files["calico-node-env.yaml"][0])
    assert env["IP"] == "none" and env["IP6"] == "autodetect"
    assert "IP_AUTODETECTION_METHOD" not in env
    assert env["CALICO_IPV6POOL_NAT_OUTGOING"] == "false"
    pools = files["ippools.yaml"]
    assert len(pools) == 1 and pools[0]["spec"]["natOutgoing"] is False
    assert pools[0]["spec"]["ipipMode"] == "Never" and pools[0]["spec"]["vxlanMode"] == "Never"
    peers = files["bgp.yaml"][1:]
    assert len(peers) == 1 and peers[0]["spec"]["nextHopMode"] == "Keep"  # keepOriginalNextHop: true
    assert files["bgp.yaml"][0]["spec"]["nodeToNodeMeshEnabled"] is True
    inst = C.render_calico(calico_params(plan, "operator"))["installation.yaml"][0]["spec"]["calicoNetwork"]
    assert "nodeAddressAutodetectionV4" not in inst and inst["ipPools"][0]["natOutgoing"] == "Disabled"


def test_ipv4_only_ipip_cross_subnet():
    files = C.render_calico(calico_params(plan_of("ipv4-only"), "manifest"))
    pool = files["ippools.yaml"][0]["spec"]
    assert pool["ipipMode"] == "CrossSubnet" and pool["vxlanMode"] == "Never"
    env = env_of(files["calico-node-env.yaml"][0])
    assert env["IP6"] == "none" and env["FELIX_IPV6SUPPORT"] == "false" and env["CALICO_IPV4POOL_IPIP"] == "CrossSubnet"
    assert files["felixconfiguration.yaml"][0]["spec"]["ipv6Support"] is False


def test_vxlan_and_mesh_off():
    files = C.render_calico(calico_params(plan_of("unit-v6-primary-vxlan")))
    assert [(p["spec"]["ipipMode"], p["spec"]["vxlanMode"]) for p in files["ippools.yaml"]] == [
        ("Never", "Always"), ("Never", "CrossSubnet")]
    assert files["ippools.yaml"][0]["spec"]["blockSize"] == 120
    bgp = C.render_calico(calico_params(plan_of("unit-v4-dns-endpoint")))["bgp.yaml"]
    assert bgp[0]["spec"]["nodeToNodeMeshEnabled"] is False and bgp[1]["spec"]["nextHopMode"] == "Self"


def test_apply_plan_per_style():
    assert dict(C.apply_plan("operator"))["ippools.yaml"] == "reference"
    assert dict(C.apply_plan("manifest"))["calico-node-env.yaml"] == "patch"
    assert set(C.render_calico(calico_params(plan_of("seed004"), "operator"))) == set(dict(C.apply_plan("operator")))
    assert set(C.render_calico(calico_params(plan_of("seed004"), "manifest"))) == set(dict(C.apply_plan("manifest")))


# ------------------------------------------------------------------------------------------
# the schema checks do catch mistakes
# ------------------------------------------------------------------------------------------

def test_schema_rejects_a_wrong_field():
    pool = C.ippools(calico_params(plan_of("seed004")))[0]
    pool["spec"]["ipipMode"] = "Sometimes"
    with pytest.raises(jsonschema.ValidationError):
        validate_crd(pool)
    inst = C.installation(calico_params(plan_of("seed004")))
    inst["spec"]["calicoNetwork"]["ipPools"][0]["natOutgoing"] = True  # must be Enabled/Disabled
    with pytest.raises(jsonschema.ValidationError):
        validate_crd(inst)


def test_cel_rules_reject_ipip_on_ipv6():
    pool = C.ippools(calico_params(plan_of("seed004")))[1]
    pool["spec"]["ipipMode"] = "Always"
    with pytest.raises(AssertionError, match="IPIP on IPv6"):
        validate_crd(pool)


def test_kubernetes_validate_rejects_a_bad_config_map():
    cm = C.calico_config_map(calico_params(plan_of("seed004")))
    cm["data"]["veth_mtu"] = 0
    with pytest.raises(kubernetes_validate.ValidationError):
        validate_core(cm)


# ------------------------------------------------------------------------------------------
# issue 15, item 4, and the module's argument checks
# ------------------------------------------------------------------------------------------

def test_ipv6_only_manifest_has_a_hash_router_id_and_no_ipv4_pool():
    """Issue 15, item 4: IPv6-only calico-node needs a router ID that does not come from an IPv4
    address (CALICO_ROUTER_ID=hash) and must not create its default IPv4 pool
    (CALICO_IPV4POOL_CIDR=none: calico-node's startup skips the IPv4 pool for it)."""
    env = env_of(C.render_calico(calico_params(plan_of("ipv6-only"), "manifest"))["calico-node-env.yaml"][0])
    assert env["CALICO_ROUTER_ID"] == "hash"
    assert env["CALICO_IPV4POOL_CIDR"] == "none" and env["IP"] == "none"
    assert "NO_DEFAULT_POOLS" not in env  # calico-node refuses it together with a pool CIDR
    dual = env_of(C.render_calico(calico_params(plan_of("seed004"), "manifest"))["calico-node-env.yaml"][0])
    assert "CALICO_ROUTER_ID" not in dual and dual["CALICO_IPV4POOL_CIDR"] == "10.244.0.0/16"
    v4 = env_of(C.render_calico(calico_params(plan_of("ipv4-only"), "manifest"))["calico-node-env.yaml"][0])
    assert v4["CALICO_IPV6POOL_CIDR"] == "none" and "CALICO_ROUTER_ID" not in v4


def test_input_errors():
    params = calico_params(plan_of("seed004"))
    assert C.input_errors(params) == []
    assert [k for k, dummy in C.input_errors(dict(params, pools=params["pools"] * 2))] == ["pools"]
    assert [k for k, dummy in C.input_errors(dict(params, node_subnets={"ipv6": "fd00::/64"}))] == ["node_subnets"]
    peers = [dict(params["bgp_peers"][0], peer_ip="")]
    assert [k for k, dummy in C.input_errors(dict(params, bgp_peers=peers))] == ["bgp_peers[0]"]


def test_only_the_first_control_plane_node_gets_calico_inputs():
    from ansible_collections.dualstack.k8s.plugins.plugin_utils.role_inputs import calico_inputs
    plan = plan_of("seed004")
    assert calico_inputs(plan, "master2") == {} and calico_inputs(plan, "worker1") == {}
    assert calico_inputs(plan, "master1")["calico_node_subnets"] == {"ipv4": "172.30.154.0/24", "ipv6": "fd00:154::/120"}
