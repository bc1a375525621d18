"""role_inputs: the Kubernetes side (kubeadm_inputs, calico_inputs, check_dualstack_inputs).

Each function turns the plan into the plain inputs of one role on one host; the roles' argument
specs must accept them, and each host gets only its own slice (a worker gets no list of nodes)."""

import json
import os
import sys

import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if os.path.join(REPO, ".collections") not in sys.path:
    sys.path.insert(0, os.path.join(REPO, ".collections"))

from ansible_collections.dualstack.k8s.plugins.plugin_utils import role_inputs as R  # noqa: E402
from examples import EXAMPLES, plan_of  # noqa: E402

TYPES = {"str": str, "path": str, "int": int, "bool": bool, "list": list, "dict": dict}


def argument_spec(role):
    with open(os.path.join(REPO, "roles", role, "meta", "argument_specs.yml")) as handle:
        return yaml.safe_load(handle)["argument_specs"]["main"]["options"]


def defaults(role):
    with open(os.path.join(REPO, "roles", role, "defaults", "main.yml")) as handle:
        return yaml.safe_load(handle) or {}


def check_against_spec(value, spec, where):
    want = TYPES[spec["type"]]
    assert isinstance(value, want) and not (want is int and isinstance(value, bool)), (
        "%s: %r is not %s" % (where, value, spec["type"]))
    if "choices" in spec:
        items = value if isinstance(value, list) else [value]
        assert all(item in spec["choices"] for item in items), "%s: %r not in %s" % (where, value, spec["choices"])
    if spec["type"] == "list" and "elements" in spec:
        for i, item in enumerate(value):
            if spec["elements"] == "dict" and "options" in spec:
                for key, sub in item.items():
                    assert key in spec["options"], "%s[%d]: unknown %s" % (where, i, key)
                    check_against_spec(sub, spec["options"][key], "%s[%d].%s" % (where, i, key))
                for key, sub in spec["options"].items():
                    assert not sub.get("required") or key in item, "%s[%d]: %s missing" % (where, i, key)
            else:
                check_against_spec(item, {"type": spec["elements"]}, "%s[%d]" % (where, i))


FUNCTIONS = {"kubeadm": R.kubeadm_inputs, "calico": R.calico_inputs, "check_dualstack": R.check_dualstack_inputs}


@pytest.mark.parametrize("role", sorted(FUNCTIONS))
def test_role_specs_defaults_are_plain_and_typed(role):
    spec = argument_spec(role)
    for key, value in defaults(role).items():
        assert key in spec, "%s: default %s is not in argument_specs" % (role, key)
        assert "{{" not in json.dumps(value), "%s: default %s is an expression" % (role, key)
        check_against_spec(value, spec[key], "%s default %s" % (role, key))
        assert not spec[key].get("required"), "%s: %s is required and has a default" % (role, key)
    for key, option in spec.items():
        assert key in defaults(role) or option.get("required") or key in OPTIONAL_WITHOUT_DEFAULT, (
            "%s: %s has neither a default nor required: true" % (role, key))


OPTIONAL_WITHOUT_DEFAULT = set()


@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_inputs_match_the_argument_specs(example):
    plan = plan_of(example)
    nodes = plan["groups"]["k8s_control_plane"] + plan["groups"]["k8s_workers"]
    for name in nodes + plan["groups"]["gateways"]:
        roles = ["check_dualstack"] + (["kubeadm", "calico"] if name in nodes else [])
        for role in roles:
            inputs = FUNCTIONS[role](plan, name)
            spec = argument_spec(role)
            for key, value in inputs.items():
                assert key in spec, "%s %s: %s is no input of the role" % (example, name, key)
                check_against_spec(value, spec[key], "%s %s %s" % (example, name, key))
            if inputs:  # a role that runs on this host gets every required input
                missing = [k for k, o in spec.items() if o.get("required") and k not in inputs]
                assert not missing, "%s %s %s: required %s missing" % (example, name, role, missing)
            json.dumps(inputs)  # plain data only


def test_kubeadm_kinds_and_slices():
    plan = plan_of("seed004")
    init = R.kubeadm_inputs(plan, "master1")
    assert init["kubeadm_node_kind"] == "init" and init["kubeadm_pod_subnets"] == ["10.244.0.0/16", "fdff:2::/56"]
    assert init["kubeadm_node_mask_sizes"] == {"ipv4": 24, "ipv6": 72}
    master2 = R.kubeadm_inputs(plan, "master2")
    assert master2["kubeadm_node_kind"] == "control-plane" and master2["kubeadm_advertise_address"] == "172.30.154.21"
    assert "kubeadm_pod_subnets" not in master2
    worker = R.kubeadm_inputs(plan, "worker1")
    assert worker == {"kubeadm_node_kind": "worker", "kubeadm_node_name": "worker1",
                      "kubeadm_node_ips": ["172.30.154.50", "fd00:154::32"],
                      "kubeadm_control_plane_endpoint": "172.30.154.254:6443", "kubeadm_ca_host": "master1"}


def test_worker_slice_does_not_grow_with_the_cluster():
    """A worker's inputs do not list other nodes: their size is independent of the node count."""
    plan = plan_of("seed004")
    sizes = {name: len(json.dumps(R.host_inputs(plan, name))) for name in plan["groups"]["k8s_workers"]}
    assert max(sizes.values()) - min(sizes.values()) < 40, sizes
    for name in plan["groups"]["k8s_workers"]:
        text = json.dumps(R.host_inputs(plan, name))
        others = [n for n in plan["groups"]["k8s_workers"] if n != name]
        assert not any('"%s"' % n in text for n in others)


def test_check_dualstack_inputs():
    plan = plan_of("ipv6-primary")
    gw = R.check_dualstack_inputs(plan, "gw1")
    assert gw["check_dualstack_role"] == "gateway" and gw["check_dualstack_node_ips"] == []
    assert gw["check_dualstack_families"] == ["ipv6", "ipv4"] and gw["check_dualstack_cluster_checks"] is False
    master1 = R.check_dualstack_inputs(plan, "master1")
    assert master1["check_dualstack_cluster_checks"] is True
    assert master1["check_dualstack_node_ips"] == ["2001:db8:20::14", "10.20.0.20"]
    assert list(master1["check_dualstack_addresses"]) == ["ipv6", "ipv4"]
    single = R.check_dualstack_inputs(plan_of("ipv6-only"), "worker1")
    assert list(single["check_dualstack_addresses"]) == ["ipv6"]


def test_calico_inputs_on_the_first_control_plane_node_only():
    plan = plan_of("ipv6-only")
    assert all(R.calico_inputs(plan, n) == {} for n in plan["groups"]["k8s_workers"] + plan["groups"]["k8s_control_plane"][1:])
    c = R.calico_inputs(plan, plan["kubernetes"]["first_control_plane"])
    assert [p["family"] for p in c["calico_pools"]] == ["ipv6"] and list(c["calico_node_subnets"]) == ["ipv6"]
