"""kubeadm rendering from the plain inputs role_inputs.kubeadm_inputs computes: golden files, the
kubeadm facts of docs/kubernetes.md, a v1beta4 structural check, CA pinning of joins and the
module's argument checks. The config rules (CIDR limits, node mask range, endpoint syntax) are
tested where they live, with plugins/plugin_utils/rules.py.

Regenerate the golden files after a reviewed change with
``DUALSTACK_UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/test_kubeadm.py tests/unit/test_calico.py``
and review the diff before committing it.
"""

import glob
import json
import os
import stat
import sys

import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if os.path.join(REPO, ".collections") not in sys.path:
    sys.path.insert(0, os.path.join(REPO, ".collections"))

from ansible_collections.dualstack.k8s.plugins.module_utils import kubeadm as K  # noqa: E402
from examples import EXAMPLES, GOLDEN, check_golden, kubeadm_params, plan_of  # noqa: E402


def k8s_nodes(plan):
    return plan["groups"]["k8s_control_plane"] + plan["groups"]["k8s_workers"]


def docs_by_kind(docs):
    return dict((d["kind"], d) for d in docs)


def arg_map(args):
    assert isinstance(args, list), "v1beta4 extraArgs must be a list of {name, value}"
    for item in args:
        assert set(item) == {"name", "value"} and isinstance(item["value"], str), item
    return dict((a["name"], a["value"]) for a in args)


# ------------------------------------------------------------------------------------------
# v1beta4 structural check. No JSON schema for kubeadm's config types is published (kubeadm
# validates in Go, and kubernetes-validate covers only API-server objects), so this encodes
# the field names/types the renderer uses, as documented for kubeadm.k8s.io/v1beta4.
# ------------------------------------------------------------------------------------------

ARGS = ("list", {"name": str, "value": str})
NODE_REGISTRATION = {"name": str, "criSocket": str, "kubeletExtraArgs": ARGS, "taints": list,
                     "ignorePreflightErrors": list, "imagePullPolicy": str}
API_ENDPOINT = {"advertiseAddress": str, "bindPort": int}
STRUCTURE = {
    "InitConfiguration": {
        "bootstrapTokens": ("list", {"token": str, "description": str, "ttl": str, "groups": list,
                                     "usages": list}),
        "localAPIEndpoint": API_ENDPOINT, "nodeRegistration": NODE_REGISTRATION, "certificateKey": str,
        "skipPhases": list,
    },
    "ClusterConfiguration": {
        "clusterName": str, "kubernetesVersion": str, "controlPlaneEndpoint": str,
        "networking": {"dnsDomain": str, "podSubnet": str, "serviceSubnet": str},
        "apiServer": {"certSANs": list, "extraArgs": ARGS},
        "controllerManager": {"extraArgs": ARGS}, "scheduler": {"extraArgs": ARGS},
    },
    "JoinConfiguration": {
        "discovery": {"bootstrapToken": {"apiServerEndpoint": str, "token": str, "caCertHashes": list,
                                         "unsafeSkipCAVerification": bool}},
        "nodeRegistration": NODE_REGISTRATION,
        "controlPlane": {"localAPIEndpoint": API_ENDPOINT, "certificateKey": str},
    },
}
REQUIRED = {
    "InitConfiguration": ["localAPIEndpoint", "nodeRegistration"],
    "ClusterConfiguration": ["networking", "controlPlaneEndpoint", "kubernetesVersion"],
    "JoinConfiguration": ["discovery", "nodeRegistration"],
}


def check_structure(value, spec, where):
    if isinstance(spec, tuple):
        assert isinstance(value, list), "%s: expected a list (v1beta4), got %r" % (where, value)
        for i, item in enumerate(value):
            check_structure(item, spec[1], "%s[%d]" % (where, i))
    elif isinstance(spec, dict):
        assert isinstance(value, dict), "%s: expected a mapping" % where
        for key, item in value.items():
            assert key in spec, "%s: unknown field %r" % (where, key)
            check_structure(item, spec[key], "%s.%s" % (where, key))
    else:
        assert isinstance(value, spec) and not (spec is int and isinstance(value, bool)), (
            "%s: expected %s, got %r" % (where, spec.__name__, value))


def check_kubeadm_document(doc):
    kind = doc["kind"]
    if doc["apiVersion"] != K.API_VERSION:
        assert kind in ("KubeletConfiguration", "KubeProxyConfiguration")
        return
    body = dict((k, v) for k, v in doc.items() if k not in ("apiVersion", "kind"))
    check_structure(body, STRUCTURE[kind], kind)
    for key in REQUIRED[kind]:
        assert key in body, "%s: %s is required" % (kind, key)
    reg = body.get("nodeRegistration")
    if reg:
        assert "node-ip" in arg_map(reg["kubeletExtraArgs"])


def test_structural_check_rejects_map_extra_args():
    doc = {"apiVersion": K.API_VERSION, "kind": "JoinConfiguration",
           "discovery": {"bootstrapToken": {"apiServerEndpoint": "a:1", "token": K.PLACEHOLDER_TOKEN}},
           "nodeRegistration": {"name": "n", "kubeletExtraArgs": {"node-ip": "10.0.0.1"}}}
    with pytest.raises(AssertionError, match="list"):
        check_kubeadm_document(doc)


# ------------------------------------------------------------------------------------------
# golden files and generic facts, for every example and every node
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_golden_and_facts(example):
    plan = plan_of(example)
    fams = plan["cluster"]["ip_families"]
    k = plan["kubernetes"]
    for name in k8s_nodes(plan):
        params = kubeadm_params(plan, name)
        text = K.render_kubeadm_text(params)
        check_golden(os.path.join(GOLDEN, example, "kubeadm", name + ".yaml"), text)
        docs = K.render_kubeadm(params)
        # the emitter is plain YAML: a YAML parser reads back exactly the documents
        assert list(yaml.safe_load_all(text)) == docs
        assert text == K.render_kubeadm_text(kubeadm_params(plan, name)), "rendering must be deterministic"
        for doc in docs:
            check_kubeadm_document(doc)
        host = plan["hosts"][name]
        by_kind = docs_by_kind(docs)
        reg = (by_kind.get("InitConfiguration") or by_kind["JoinConfiguration"])["nodeRegistration"]
        node_ip = arg_map(reg["kubeletExtraArgs"])["node-ip"]
        # node-ip: every family, in cluster family order, primary first
        assert node_ip == ",".join(host[f] for f in fams)
        assert node_ip.split(",")[0] == host["primary_ip"]
        assert len(node_ip.split(",")) == len(fams)
        if name == k["first_control_plane"]:
            assert list(by_kind) == ["InitConfiguration", "ClusterConfiguration", "KubeletConfiguration",
                                     "KubeProxyConfiguration"]
            cc = by_kind["ClusterConfiguration"]
            assert cc["networking"]["podSubnet"] == ",".join(k["pod_subnets"])
            assert cc["networking"]["serviceSubnet"] == ",".join(k["service_subnets"])
            assert cc["networking"]["dnsDomain"] == plan["cluster"]["dns_domain"]
            assert cc["controlPlaneEndpoint"] == k["control_plane_endpoint"]
            assert cc["apiServer"]["certSANs"] == k["cert_sans"]
            cm = arg_map(cc["controllerManager"]["extraArgs"])
            assert "cluster-cidr" not in cm and "service-cluster-ip-range" not in cm
            # always family-specific, single stack included (issue 15, item 3)
            assert list(cm) == ["node-cidr-mask-size-%s" % f for f in fams]
            init = by_kind["InitConfiguration"]
            assert init["localAPIEndpoint"]["advertiseAddress"] == host["primary_ip"]
            assert K.family_of(host["primary_ip"]) == K.family_of(k["service_subnets"][0])
            assert by_kind["KubeProxyConfiguration"]["clusterCIDR"] == ",".join(k["pod_subnets"])
        else:
            join = by_kind["JoinConfiguration"]
            assert list(by_kind) == ["JoinConfiguration"]
            bt = join["discovery"]["bootstrapToken"]
            assert bt["apiServerEndpoint"] == k["control_plane_endpoint"]
            assert bt["token"] == K.PLACEHOLDER_TOKEN
            # pinned by default (issue 15, item 7): a placeholder that fails closed, never a skip
            assert bt["caCertHashes"] == [K.PLACEHOLDER_CA_HASH] and "unsafeSkipCAVerification" not in bt
            if host["role"] == "control_plane":
                assert join["controlPlane"]["localAPIEndpoint"]["advertiseAddress"] == host["primary_ip"]
            else:
                assert "controlPlane" not in join


def test_no_golden_file_is_orphaned():
    """Every golden kubeadm file belongs to a current example and node."""
    for path in glob.glob(os.path.join(GOLDEN, "*", "kubeadm", "*.yaml.golden")):
        example = path.split(os.sep)[-3]
        assert example in EXAMPLES, "%s: no such example" % path
        assert os.path.basename(path)[:-len(".yaml.golden")] in k8s_nodes(plan_of(example)), "%s: no such node" % path


# ------------------------------------------------------------------------------------------
# the facts of docs/kubernetes.md, spelled out per example
# ------------------------------------------------------------------------------------------

def rendered(example, name, **extra):
    return docs_by_kind(K.render_kubeadm(kubeadm_params(plan_of(example), name, **extra)))


def test_seed004_ipv4_primary():
    docs = rendered("seed004", "master1")
    cc = docs["ClusterConfiguration"]
    assert cc["networking"]["podSubnet"] == "10.244.0.0/16,fdff:2::/56"
    assert cc["networking"]["serviceSubnet"] == "10.96.0.0/12,fdff:3::/108"
    assert cc["controlPlaneEndpoint"] == "172.30.154.254:6443"
    assert cc["apiServer"]["certSANs"] == ["172.30.154.254", "fd00:154::fe"]
    assert cc["controllerManager"]["extraArgs"] == [
        {"name": "node-cidr-mask-size-ipv4", "value": "24"},
        {"name": "node-cidr-mask-size-ipv6", "value": "72"}]
    assert docs["InitConfiguration"]["nodeRegistration"]["kubeletExtraArgs"] == [
        {"name": "node-ip", "value": "172.30.154.20,fd00:154::14"}]
    assert docs["InitConfiguration"]["localAPIEndpoint"] == {"advertiseAddress": "172.30.154.20", "bindPort": 6443}
    assert docs["KubeProxyConfiguration"]["clusterCIDR"] == "10.244.0.0/16,fdff:2::/56"
    worker = rendered("seed004", "worker4")["JoinConfiguration"]
    assert worker["nodeRegistration"]["kubeletExtraArgs"] == [{"name": "node-ip", "value": "172.30.154.53,fd00:154::35"}]


def test_ipv6_primary_orders_ipv6_first_and_brackets_the_endpoint():
    docs = rendered("ipv6-primary", "master1")
    cc = docs["ClusterConfiguration"]
    assert cc["networking"]["podSubnet"] == "fd20:244::/56,10.244.0.0/16"
    assert cc["networking"]["serviceSubnet"] == "fd20:96::/108,10.96.0.0/16"
    assert cc["controlPlaneEndpoint"] == "[2001:db8:20:0:ffff:ffff:ffff:fffe]:6443"
    assert cc["controllerManager"]["extraArgs"] == [
        {"name": "node-cidr-mask-size-ipv6", "value": "72"},
        {"name": "node-cidr-mask-size-ipv4", "value": "24"}]
    assert docs["InitConfiguration"]["localAPIEndpoint"]["advertiseAddress"] == "2001:db8:20::14"
    assert arg_map(docs["InitConfiguration"]["nodeRegistration"]["kubeletExtraArgs"])["node-ip"] == \
        "2001:db8:20::14,10.20.0.20"
    master2 = rendered("ipv6-primary", "master2")["JoinConfiguration"]
    assert master2["controlPlane"]["localAPIEndpoint"] == {"advertiseAddress": "2001:db8:20::15", "bindPort": 6443}
    assert master2["discovery"]["bootstrapToken"]["apiServerEndpoint"] == "[2001:db8:20:0:ffff:ffff:ffff:fffe]:6443"
    text = K.render_kubeadm_text(kubeadm_params(plan_of("ipv6-primary"), "master1"))
    assert 'controlPlaneEndpoint: "[2001:db8:20:0:ffff:ffff:ffff:fffe]:6443"' in text


def test_ipv6_only_single_stack():
    docs = rendered("ipv6-only", "master1")
    cc = docs["ClusterConfiguration"]
    assert cc["networking"] == {"dnsDomain": "c2.k8s.example", "podSubnet": "2001:db8:32::/64",
                                "serviceSubnet": "2001:db8:33::/108"}
    assert cc["controllerManager"]["extraArgs"] == [{"name": "node-cidr-mask-size-ipv6", "value": "80"}]
    assert arg_map(docs["InitConfiguration"]["nodeRegistration"]["kubeletExtraArgs"])["node-ip"] == "2001:db8:30::14"
    assert docs["KubeletConfiguration"]["clusterDomain"] == "c2.k8s.example"


def test_ipv4_only_single_stack():
    docs = rendered("ipv4-only", "master1")
    cc = docs["ClusterConfiguration"]
    assert cc["networking"]["podSubnet"] == "10.244.0.0/16"
    assert cc["controllerManager"]["extraArgs"] == [{"name": "node-cidr-mask-size-ipv4", "value": "24"}]
    assert arg_map(docs["InitConfiguration"]["nodeRegistration"]["kubeletExtraArgs"])["node-ip"] == "10.40.0.20"


def test_single_stack_node_mask_is_family_specific():
    """Issue 15, item 3: an IPv6-only /96 pod subnet with node mask /112 is valid for kubeadm only
    with node-cidr-mask-size-ipv6 (with the bare flag kubeadm checks its IPv6 default /64 against
    the /96 and fails in kubeadm init)."""
    params = kubeadm_params(plan_of("ipv6-only"), "master1", pod_subnets=["2001:db8:32::/96"],
                            node_mask_sizes={"ipv6": 112})
    cm = docs_by_kind(K.render_kubeadm(params))["ClusterConfiguration"]["controllerManager"]["extraArgs"]
    assert cm == [{"name": "node-cidr-mask-size-ipv6", "value": "112"}]
    assert all(a["name"] != "node-cidr-mask-size" for a in cm)


def test_dns_endpoint_and_exact_version():
    docs = rendered("unit-v4-dns-endpoint", "master1")
    assert docs["ClusterConfiguration"]["controlPlaneEndpoint"] == "api.v4only.example:6443"
    assert docs["ClusterConfiguration"]["apiServer"]["certSANs"] == ["172.30.170.254", "api.v4only.example"]
    assert docs["ClusterConfiguration"]["kubernetesVersion"] == "stable-1.34"
    assert rendered("unit-v6-primary-vxlan", "master1")["ClusterConfiguration"]["kubernetesVersion"] == "v1.34.2"
    cc = rendered("seed004", "master1", kubernetes_version="v1.34.3")
    assert cc["ClusterConfiguration"]["kubernetesVersion"] == "v1.34.3"
    assert K.kubernetes_version("1.34") == "stable-1.34" and K.kubernetes_version("stable-1.34") == "stable-1.34"


def test_join_options():
    plan = plan_of("seed004")
    token = "0a1b2c.0123456789abcdef"
    ca = "sha256:" + "ab" * 32
    docs = K.render_kubeadm(kubeadm_params(plan, "master2", bootstrap_token=token, ca_cert_hashes=[ca],
                                           certificate_key="k" * 64))
    join = docs_by_kind(docs)["JoinConfiguration"]
    assert join["discovery"]["bootstrapToken"] == {"apiServerEndpoint": "172.30.154.254:6443", "token": token,
                                                   "caCertHashes": [ca]}
    assert join["controlPlane"]["certificateKey"] == "k" * 64
    init = docs_by_kind(K.render_kubeadm(kubeadm_params(plan, "master1", bootstrap_token=token,
                                                        cri_socket="unix:///run/containerd/containerd.sock")))
    assert init["InitConfiguration"]["bootstrapTokens"][0]["token"] == token
    assert init["InitConfiguration"]["nodeRegistration"]["criSocket"] == "unix:///run/containerd/containerd.sock"
    assert "PLACEHOLDER" not in K.render_kubeadm_text(kubeadm_params(plan, "master1", bootstrap_token=token))
    assert "PLACEHOLDER" in K.render_kubeadm_text(kubeadm_params(plan, "master1"))


def test_joins_pin_the_ca_by_default():
    """Issue 15, item 7: without a CA hash a join used unsafeSkipCAVerification; now it carries a
    placeholder hash (kubeadm join fails closed with it) and skipping is an explicit opt-in."""
    plan = plan_of("seed004")
    for name in ("master2", "worker1"):
        bt = rendered("seed004", name)["JoinConfiguration"]["discovery"]["bootstrapToken"]
        assert "unsafeSkipCAVerification" not in bt and bt["caCertHashes"] == [K.PLACEHOLDER_CA_HASH]
        text = K.render_kubeadm_text(kubeadm_params(plan, name))
        assert "The CA hash is a PLACEHOLDER" in text
        assert K.placeholder_ca_hash(kubeadm_params(plan, name))
    skip = rendered("seed004", "worker1", unsafe_skip_ca_verification=True)["JoinConfiguration"]
    assert skip["discovery"]["bootstrapToken"]["unsafeSkipCAVerification"] is True
    assert "caCertHashes" not in skip["discovery"]["bootstrapToken"]
    assert "CA verification is SKIPPED" in K.render_kubeadm_text(
        kubeadm_params(plan, "worker1", unsafe_skip_ca_verification=True))
    # a given hash wins over the opt-in
    ca = "sha256:" + "cd" * 32
    bt = rendered("seed004", "worker1", ca_cert_hashes=[ca], unsafe_skip_ca_verification=True)
    assert bt["JoinConfiguration"]["discovery"]["bootstrapToken"]["caCertHashes"] == [ca]
    assert "unsafeSkipCAVerification" not in bt["JoinConfiguration"]["discovery"]["bootstrapToken"]
    assert not K.placeholder_ca_hash(kubeadm_params(plan, "master1"))


def test_ca_hash_command_matches_kubeadm(tmp_path):
    """The role's CA hash (tasks/ca_hash.yml, run on the first control-plane node with openssl) is
    kubeadm's: sha256 over the DER SubjectPublicKeyInfo of the CA certificate (RSA and ECDSA CAs)."""
    import datetime
    import hashlib
    import shutil
    import subprocess
    pytest.importorskip("cryptography")
    if not shutil.which("openssl"):
        pytest.skip("openssl is not installed")
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    with open(os.path.join(REPO, "roles", "kubeadm", "tasks", "ca_hash.yml")) as handle:
        tasks = yaml.safe_load(handle)
    shell = [t for t in tasks if "ansible.builtin.shell" in t][0]["ansible.builtin.shell"]
    for key in (rsa.generate_private_key(public_exponent=65537, key_size=2048), ec.generate_private_key(ec.SECP256R1())):
        name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "kubernetes")])
        now = datetime.datetime(2026, 1, 1)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
                .sign(key, hashes.SHA256()))
        path = tmp_path / "ca.crt"
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        spki = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        cmd = shell["cmd"].replace("{{ kubeadm_ca_cert_path | quote }}", str(path))
        assert "{{" not in cmd, cmd
        out = subprocess.run(["/bin/bash", "-c", cmd], capture_output=True, text=True, check=True).stdout
        assert out.split()[0] == hashlib.sha256(spki).hexdigest()


# ------------------------------------------------------------------------------------------
# the module's argument checks (config rules are tested with plugin_utils/rules.py)
# ------------------------------------------------------------------------------------------

def test_input_errors():
    plan = plan_of("seed004")
    assert K.input_errors(kubeadm_params(plan, "master1")) == []
    assert K.input_errors(kubeadm_params(plan, "worker1")) == []
    params = kubeadm_params(plan, "master1", node_mask_sizes={"ipv4": 24})
    assert [k for k, dummy in K.input_errors(params)] == ["node_mask_sizes"]
    params = kubeadm_params(plan, "master1", pod_subnets=[], kubernetes_version="")
    assert [k for k, dummy in K.input_errors(params)] == ["pod_subnets", "kubernetes_version"]
    params = kubeadm_params(plan, "worker1", bootstrap_token="ABCDEF.0123456789abcdef", ca_cert_hashes=["sha256:xyz"])
    assert [k for k, dummy in K.input_errors(params)] == ["bootstrap_token", "ca_cert_hashes"]


def test_a_worker_gets_only_its_own_slice():
    from ansible_collections.dualstack.k8s.plugins.plugin_utils.role_inputs import kubeadm_inputs
    plan = plan_of("seed004")
    worker = kubeadm_inputs(plan, "worker4")
    assert sorted(worker) == ["kubeadm_ca_host", "kubeadm_control_plane_endpoint", "kubeadm_node_ips",
                              "kubeadm_node_kind", "kubeadm_node_name"]
    assert worker["kubeadm_ca_host"] == "master1" and worker["kubeadm_node_kind"] == "worker"


# ------------------------------------------------------------------------------------------
# YAML emitter and file output
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["24", "1.34", "true", "no", "on", "null", "~", "", "10:20", "fd00::1",
                                   "a: b", "x #y", "-a", "all()", "a,b", "*x", "&x", "!x", "@x", "'q'", '"q"',
                                   "1e3", "0x1f", ".5", "v1.34.2", "line\nbreak", "tab\tx", "ü"])
def test_scalars_read_back_as_strings(value):
    text = K.dump_yaml([{"k": value, "l": [value]}])
    assert list(yaml.safe_load_all(text)) == [{"k": value, "l": [value]}]


def test_nested_structures_read_back():
    doc = {"a": [{"b": [1, 2], "c": {}}, [], [3, [4]]], "d": {"e": None, "f": False, "g": 1.5}, "h": []}
    assert list(yaml.safe_load_all(K.dump_yaml([doc, doc]))) == [doc, doc]


class FakeModule(object):
    def __init__(self, check_mode=False):
        self.check_mode = check_mode


def test_ensure_files_check_mode_idempotence_and_mode(tmp_path):
    path = str(tmp_path / "etc" / "kubernetes" / "kubeadm-config.yaml")
    content = K.render_kubeadm_text(kubeadm_params(plan_of("seed004"), "master1"))
    changed, results, diffs = K.ensure_files(FakeModule(check_mode=True), {path: content}, 0o600)
    assert changed and not os.path.exists(path) and diffs[0]["after"] == content
    changed, results, diffs = K.ensure_files(FakeModule(), {path: content}, 0o600)
    assert changed and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    changed, results, diffs = K.ensure_files(FakeModule(), {path: content}, 0o600)
    assert not changed and not diffs
    changed, dummy, dummy = K.ensure_files(FakeModule(check_mode=True), {path: content}, 0o600)
    assert not changed
    os.chmod(path, 0o644)
    changed, dummy, diffs = K.ensure_files(FakeModule(), {path: content}, 0o600)
    assert changed and not diffs and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    changed, results, dummy = K.ensure_files(FakeModule(), {}, 0o600, remove=[path])
    assert changed and results[0]["state"] == "absent" and not os.path.exists(path)


# ------------------------------------------------------------------------------------------
# the modules themselves (argument spec, check mode, failure with the config keys)
# ------------------------------------------------------------------------------------------

def run_module(main, args):
    from ansible.module_utils.testing import patch_module_args
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            main()


def module_result(capsys):
    return json.loads(capsys.readouterr().out)


def test_kubeadm_config_module(tmp_path, capsys):
    from ansible_collections.dualstack.k8s.plugins.modules import kubeadm_config
    dest = str(tmp_path / "kubeadm-config.yaml")
    plan = plan_of("ipv6-primary")
    args = kubeadm_params(plan, "worker2", dest=dest, _ansible_check_mode=True, _ansible_diff=True)
    run_module(kubeadm_config.main, args)
    result = module_result(capsys)
    assert result["changed"] and not os.path.exists(dest) and result["diff"]["after"]
    assert result["node_kind"] == "join-worker" and result["node_ip"] == "2001:db8:20::33,10.20.0.51"
    assert result["placeholder_ca_hash"] is True
    args["_ansible_check_mode"] = False
    run_module(kubeadm_config.main, dict(args, bootstrap_token="0a1b2c.0123456789abcdef"))
    result = module_result(capsys)
    assert result["changed"] and stat.S_IMODE(os.stat(dest).st_mode) == 0o600
    assert "0123456789abcdef" not in json.dumps(result["documents"]), "the token must be masked (no_log)"
    run_module(kubeadm_config.main, dict(args, bootstrap_token="0a1b2c.0123456789abcdef"))
    assert module_result(capsys)["changed"] is False
    run_module(kubeadm_config.main, dict(args, node_kind="gateway"))
    result = module_result(capsys)
    assert result["failed"] and "node_kind" in result["msg"]
    init = kubeadm_params(plan, "master1", dest=dest, node_mask_sizes={"ipv6": 72})
    run_module(kubeadm_config.main, init)
    result = module_result(capsys)
    assert result["failed"] and result["errors"][0]["key"] == "node_mask_sizes"
    # node masks may come as strings from an inventory: the module takes their int value
    init["node_mask_sizes"] = {"ipv6": "72", "ipv4": "24"}
    run_module(kubeadm_config.main, init)
    result = module_result(capsys)
    assert not result.get("failed") and result["node_kind"] == "init"


def test_calico_manifests_module_switches_style(tmp_path, capsys):
    from ansible_collections.dualstack.k8s.plugins.modules import calico_manifests
    from examples import calico_params
    dest = str(tmp_path / "calico")
    args = dict(calico_params(plan_of("seed004")), dest=dest)
    run_module(calico_manifests.main, args)
    result = module_result(capsys)
    assert result["changed"] and result["style"] == "operator"
    assert sorted(os.listdir(dest)) == ["bgp.yaml", "felixconfiguration.yaml", "installation.yaml", "ippools.yaml"]
    run_module(calico_manifests.main, dict(args, style="manifest"))
    result = module_result(capsys)
    assert "installation.yaml" not in os.listdir(dest) and "calico-node-env.yaml" in os.listdir(dest)
    assert [a["action"] for a in result["apply"]] == ["apply", "patch", "apply", "apply", "apply"]
    run_module(calico_manifests.main, dict(args, style="manifest"))
    assert module_result(capsys)["changed"] is False
    run_module(calico_manifests.main, dict(args, node_subnets={"ipv4": "172.30.154.0/24"}))
    result = module_result(capsys)
    assert result["failed"] and result["errors"][0]["key"] == "node_subnets"
