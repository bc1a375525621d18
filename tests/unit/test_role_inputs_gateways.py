"""role_inputs: the gateway side (sysctl, wireguard, keepalived, haproxy, bird).

Each function turns the plan into the plain inputs of one role on one host; the roles' argument
specs must accept them (every required input present, types that match), the roles' defaults are
plain values of the declared types, and what two roles share is set once, identically."""

import json
import os
import re
import sys

import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if os.path.join(REPO, ".collections") not in sys.path:
    sys.path.insert(0, os.path.join(REPO, ".collections"))

from ansible_collections.dualstack.k8s.plugins.plugin_utils import role_inputs as R  # noqa: E402
from examples import EXAMPLES, plan_of  # noqa: E402

ROLES = {"sysctl": R.sysctl_inputs, "wireguard": R.wireguard_inputs, "keepalived": R.keepalived_inputs,
         "haproxy": R.haproxy_inputs, "bird": R.bird_inputs, "nat64": R.nat64_inputs, "resolver": R.resolver_inputs}
# roles that run only when the config asks for them (no inputs: not run)
OPTIONAL = ("nat64", "resolver")
NODE_SIDE = ("sysctl", "resolver")
TYPES = {"str": (str,), "path": (str,), "int": (int,), "bool": (bool,), "list": (list,), "dict": (dict,),
         "float": (int, float), "raw": (str, bool, int, float, list, dict, type(None))}


def spec_of(role):
    with open(os.path.join(REPO, "roles", role, "meta", "argument_specs.yml")) as handle:
        return yaml.safe_load(handle)["argument_specs"]["main"]["options"]


def defaults_of(role):
    with open(os.path.join(REPO, "roles", role, "defaults", "main.yml")) as handle:
        return yaml.safe_load(handle) or {}


def check(value, spec, where):
    want = TYPES[spec["type"]]
    assert isinstance(value, want) and not (bool not in want and isinstance(value, bool)), (
        "%s: %r is not %s" % (where, value, spec["type"]))
    if "choices" in spec:
        items = value if isinstance(value, list) else [value]
        assert all(i in spec["choices"] for i in items), "%s: %r not in %s" % (where, value, spec["choices"])
    if spec["type"] == "list" and "elements" in spec:
        for i, item in enumerate(value):
            check(item, {"type": spec["elements"]}, "%s[%d]" % (where, i))


@pytest.mark.parametrize("role", sorted(ROLES))
def test_defaults_are_plain_typed_and_in_the_spec(role):
    spec, defaults = spec_of(role), defaults_of(role)
    for key, value in defaults.items():
        assert key in spec, "%s: default %s is not in argument_specs" % (role, key)
        assert "{{" not in json.dumps(value), "%s: default %s is an expression" % (role, key)
        assert "dualstack_" not in json.dumps(value), "%s: default %s reads the plan" % (role, key)
        check(value, spec[key], "%s default %s" % (role, key))
        assert spec[key].get("default") == value, "%s: argument_specs default of %s differs" % (role, key)
        assert not spec[key].get("required"), "%s: %s is required and has a default" % (role, key)
    for key, option in spec.items():
        assert key in defaults or option.get("required"), "%s: %s has neither a default nor required" % (role, key)


@pytest.mark.parametrize("role", sorted(ROLES))
def test_roles_read_no_plan_and_no_other_role(role):
    """No dualstack_* variable and no other role's prefix anywhere in the role."""
    others = [r + "_" for r in ROLES if r != role]
    for base, _dirs, files in os.walk(os.path.join(REPO, "roles", role)):
        for name in files:
            path = os.path.join(base, name)
            if name.endswith(".py"):
                continue
            text = open(path, encoding="utf-8").read()
            # the Jinja of the file, and the bare expressions of `when:` / `that:` lists in tasks
            jinja = " ".join(re.findall(r"\{\{.*?\}\}|\{%.*?%\}", text, re.S))
            jinja += " ".join(re.findall(r"(?m)^\s+(?:when:|-)\s+(.*)$", text)) if "/tasks/" in path else ""
            names = set(re.findall(r"\b[a-z][a-z0-9_]*\b", jinja))
            assert not [n for n in names if n.startswith("dualstack_")], "%s reads the plan" % path
            for prefix in others:
                assert not [n for n in names if n.startswith(prefix)], "%s reads %s*" % (path, prefix)


@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_inputs_match_the_argument_specs(example):
    plan = plan_of(example)
    for name in plan["groups"]["gateways"] + plan["groups"]["k8s_control_plane"] + plan["groups"]["k8s_workers"]:
        gateway = name in plan["groups"]["gateways"]
        roles = [r for r in ROLES if r != "resolver"] if gateway else list(NODE_SIDE)
        for role in roles:
            inputs, spec = ROLES[role](plan, name), spec_of(role)
            if role in OPTIONAL and not inputs:
                continue
            for key, value in inputs.items():
                assert key in spec, "%s %s: %s is no input of role %s" % (example, name, key, role)
                if value is not None:
                    check(value, spec[key], "%s %s %s" % (example, name, key))
            missing = [k for k, o in spec.items() if o.get("required") and inputs.get(k) is None]
            assert not missing, "%s %s %s: required %s missing" % (example, name, role, missing)
            json.dumps(inputs)  # plain data only


def test_shared_inputs_are_set_once_and_identically():
    plan = plan_of("ipv6-primary")
    wg, ka, bird = (R.wireguard_inputs(plan, "gw1"), R.keepalived_inputs(plan, "gw1"), R.bird_inputs(plan, "gw1"))
    assert wg["wireguard_hook_dir"] == ka["keepalived_hook_dir"] == bird["bird_hook_dir"]
    assert bird["bird_direct_interfaces"] == [wg["wireguard_interface"]]
    assert ka["keepalived_track_interfaces"] == [wg["wireguard_interface"]]
    assert sorted(ka["keepalived_track_services"]) == ["bird.service", "haproxy.service"]
    # the role defaults agree where the mapping does not set a value
    assert (defaults_of("wireguard")["wireguard_hook_dir"] == defaults_of("keepalived")["keepalived_hook_dir"]
            == defaults_of("bird")["bird_hook_dir"])
    assert defaults_of("bird")["bird_direct_interfaces"] == [defaults_of("wireguard")["wireguard_interface"]]


def test_topology_per_gateway():
    plan = plan_of("ipv6-primary")
    gws = plan["groups"]["gateways"]
    hosts = plan["hosts"]
    for name in gws:
        ka = R.keepalived_inputs(plan, name)
        others = [g for g in gws if g != name]
        assert ka["keepalived_unicast_src"] == {"ipv4": hosts[name]["ipv4"], "ipv6": hosts[name]["ipv6"]}
        assert ka["keepalived_unicast_peers"]["ipv6"] == [hosts[g]["ipv6"] for g in others]
        assert ka["keepalived_priority"] == hosts[name]["vrrp_priority"]
        assert ka["keepalived_families"] == ["ipv6", "ipv4"]
        wg = R.wireguard_inputs(plan, name)
        assert wg["wireguard_endpoint_sync_gateways"] == sorted(hosts[g]["ipv6"] for g in others)
        assert wg["wireguard_addresses"][0].startswith(plan["wireguard"]["ipv6"]["gateway"] + "/")
    nodes = plan["groups"]["k8s_control_plane"] + plan["groups"]["k8s_workers"]
    bird = R.bird_inputs(plan, gws[0])
    assert [n["name"] for n in bird["bird_neighbors"]] == nodes
    assert bird["bird_local_as"] != bird["bird_peer_as"]
    assert bird["bird_export_prefixes"]["ipv6"] == [plan["wireguard"]["ipv6"]["cidr"]]
    hap = R.haproxy_inputs(plan, gws[0])
    assert hap["haproxy_frontend_addresses"] == [plan["vips"]["ipv6"], plan["vips"]["ipv4"]]
    # backends: the primary family's address of every control-plane node
    assert hap["haproxy_backends"] == [{"name": n, "address": hosts[n]["ipv6"]}
                                       for n in plan["groups"]["k8s_control_plane"]]


def test_single_stack_has_no_other_family():
    plan = plan_of("ipv6-only")
    gw = plan["groups"]["gateways"][0]
    ka = R.keepalived_inputs(plan, gw)
    assert ka["keepalived_families"] == ["ipv6"] and not ka["keepalived_vips"]["ipv4"]
    assert R.bird_inputs(plan, gw)["bird_export_prefixes"]["ipv4"] == []
    assert all(":" in a for a in R.haproxy_inputs(plan, gw)["haproxy_frontend_addresses"])
    assert R.sysctl_inputs(plan, gw)["sysctl_families"] == ["ipv6"]


def test_sysctl_per_role():
    plan = plan_of("seed004")
    gw = R.sysctl_inputs(plan, plan["groups"]["gateways"][0])
    worker = R.sysctl_inputs(plan, plan["groups"]["k8s_workers"][0])
    assert gw["sysctl_nonlocal_bind"] is True and worker["sysctl_nonlocal_bind"] is False
    assert gw["sysctl_forwarding"] is True and worker["sysctl_forwarding"] is True
