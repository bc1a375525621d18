"""Ingress frontends (issue 18 item 3): [[ingress.frontends]] -> rules -> plan["ingress"] -> the haproxy role's
haproxy_ingress_frontends (and the gateways' non-local bind of a family the cluster lacks).

Each bad config names the key to change; the role inputs match roles/haproxy's argument specs down to
the suboptions of each frontend; without frontends nothing changes for the existing inputs; the template
renders the frontends (and, without any, exactly what it rendered before).
"""

import copy
import os
import sys
import tomllib

import pytest
import yaml

from ansible_collections.dualstack.k8s.plugins.plugin_utils import role_inputs as R
from ansible_collections.dualstack.k8s.plugins.plugin_utils.config import ConfigError, parse_config
from ansible_collections.dualstack.k8s.plugins.plugin_utils.plan import build_plan

from examples import EXAMPLES, plan_of
from test_role_inputs_gateways import check, spec_of

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAB_CONFIG = os.path.join(REPO, "tests", "integration", "lab", "ingress.toml")
KEY = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="


def base():
    """tests/integration/lab/ingress.toml (IPv4-only, both public VIPs, one frontend) with an inline key."""
    with open(LAB_CONFIG, "rb") as handle:
        data = tomllib.load(handle)
    data["wireguard"]["peers"] = [{"name": "ivan", "public_key": KEY}]
    return data


def plan_with(data):
    return build_plan(parse_config(data, source=os.path.join(REPO, "config", "test.toml")))


def errors_of(data):
    with pytest.raises(ConfigError) as info:
        parse_config(data, source=os.path.join(REPO, "config", "test.toml"))
    return info.value.errors


def frontend(**kw):
    out = {"name": "http", "port": 80, "backend_port": 30080}
    out.update(kw)
    return out


def with_frontends(*frontends, **top):
    data = base()
    data["ingress"] = dict({"frontends": list(frontends)}, **top)
    return data


BAD = [
    ("port-is-api", [frontend(port=6443)], {}, "ingress.frontends[0].port", "api_port"),
    ("port-is-ssh", [frontend(port=22)], {}, "ingress.frontends[0].port", "sshd"),
    ("port-is-bgp", [frontend(port=179)], {}, "ingress.frontends[0].port", "bird"),
    ("port-twice", [frontend(), frontend(name="other", backend_port=30081)], {}, "ingress.frontends[1].port",
     "also the port"),
    ("name-twice", [frontend(), frontend(port=443)], {}, "ingress.frontends[1].name", "used twice"),
    ("backend-below-nodeport-range", [frontend(backend_port=8080)], {}, "ingress.frontends[0].backend_port",
     "NodePort range 30000-32767"),
    ("backend-outside-own-range", [frontend(backend_port=30080)], {"node_port_range": [31000, 31999]},
     "ingress.frontends[0].backend_port", "31000-31999"),
    ("range-reversed", [frontend()], {"node_port_range": [32767, 30000]}, "ingress.node_port_range", "[first, last]"),
    ("range-one-value", [frontend()], {"node_port_range": [30000]}, "ingress.node_port_range", "[first, last]"),
    ("port-zero", [frontend(port=0)], {}, "ingress.frontends[0].port", "greater than or equal to 1"),
    ("bad-name", [frontend(name="Web_1")], {}, "ingress.frontends[0].name", "host name"),
    ("unknown-backends", [frontend(backends="gateways")], {}, "ingress.frontends[0].backends", "workers"),
    ("unknown-key", [frontend(proxy=True)], {}, "ingress.frontends[0].proxy", "unknown key"),
]


@pytest.mark.parametrize("frontends,top,key,words", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_ingress_names_the_key(frontends, top, key, words):
    errors = errors_of(with_frontends(*frontends, **top))
    hits = [msg for k, msg in errors if k == key]
    assert hits, "no error on %s: %s" % (key, errors)
    assert any(words in msg for msg in hits), hits


def test_no_public_vip_is_refused():
    data = with_frontends(frontend())
    del data["gateways"]["public_vip_v4"], data["gateways"]["public_vip_v6"]
    errors = errors_of(data)
    assert [m for k, m in errors if k == "ingress.frontends" and "public_vip_v4" in m], errors


def test_no_backend_node_is_refused():
    data = with_frontends(frontend())
    data["kubernetes"]["worker_count"] = 0
    errors = errors_of(data)
    assert [m for k, m in errors if k == "ingress.frontends[0].backends" and "no such node" in m], errors
    # the control plane as backends is fine then
    data["ingress"]["frontends"][0]["backends"] = "control_plane"
    assert plan_with(data)["ingress"]["frontends"][0]["backends"] == ["master1"]


def test_lab_ingress_client_needs_an_ipv6_external_network():
    data = base()
    del data["lab"]["external_cidr_v6"], data["gateways"]["public_vip_v6"]
    errors = errors_of(data)
    assert [m for k, m in errors if k == "lab.external_cidr_v6" and "ingress_client" in m], errors
    data = base()
    data["lab"]["ingress_client"] = "ivan"
    assert [m for k, m in errors_of(data) if k == "lab.ingress_client"]


def test_plan_binds_both_public_vips_and_targets_the_workers_primary_address():
    plan = plan_with(base())
    assert plan["cluster"]["ip_families"] == ["ipv4"]
    assert plan["ingress"] == {"node_port_range": [30000, 32767], "frontends": [{
        "name": "http", "port": 80, "addresses": ["172.30.240.254", "fd54:240::fe"], "backend_port": 30080,
        "backend_group": "workers", "backends": ["worker1"], "send_proxy_v2": True, "health_check": True}]}
    hap = R.haproxy_inputs(plan, "gw1")["haproxy_ingress_frontends"]
    assert hap == [{"name": "http", "port": 80, "addresses": ["172.30.240.254", "fd54:240::fe"],
                    "backends": [{"name": "worker1", "address": "172.30.242.50"}], "backend_port": 30080,
                    "send_proxy_v2": True, "check": True}]
    # the gateways bind the IPv6 public VIP of an IPv4-only cluster: IPv6 non-local bind, no IPv6 forwarding
    gw = R.sysctl_inputs(plan, "gw1")
    assert gw["sysctl_families"] == ["ipv4"] and gw["sysctl_extra"] == {"net.ipv6.ip_nonlocal_bind": "1"}
    assert "sysctl_extra" not in R.sysctl_inputs(plan, "worker1")
    # the lab's IPv6-only ingress client
    assert plan["lab"]["ingress_client"] == {"name": "iris", "ipv6": "fd54:240::96"}
    assert plan["lab"]["external_hosts"]["iris"] == {"ipv6": "fd54:240::96"}
    assert plan["lab"]["containers"]["iris"] == "dsk-ing-iris"


def test_backends_follow_the_primary_family_and_the_chosen_nodes():
    data = base()
    data["cluster"]["ip_families"] = ["ipv6", "ipv4"]
    data["network"]["ipv6_cidr"] = "fd54:242::/120"
    data["kubernetes"].update(pod_subnet_v6="fdff:62::/56", service_subnet_v6="fdff:63::/112", worker_count=2)
    data["wireguard"]["ipv6_cidr"] = "fd54:241::/120"
    data["ingress"]["frontends"] = [frontend(backends="nodes", send_proxy_v2=False, health_check=False)]
    plan = plan_with(data)
    fe = R.haproxy_inputs(plan, "gw2")["haproxy_ingress_frontends"][0]
    assert fe["addresses"] == ["fd54:240::fe", "172.30.240.254"]  # the primary family first
    assert fe["backends"] == [{"name": n, "address": plan["hosts"][n]["ipv6"]} for n in ("master1", "worker1", "worker2")]
    assert fe["send_proxy_v2"] is False and fe["check"] is False
    assert "sysctl_extra" not in R.sysctl_inputs(plan, "gw1")  # both families are the cluster's


def test_only_one_public_vip_binds_that_one():
    data = with_frontends(frontend())
    del data["gateways"]["public_vip_v6"], data["lab"]["ingress_client"]
    plan = plan_with(data)
    assert plan["ingress"]["frontends"][0]["addresses"] == ["172.30.240.254"]
    assert "sysctl_extra" not in R.sysctl_inputs(plan, "gw1")


def test_openstack_security_group_opens_the_ingress_port_on_the_gateways():
    data = base()
    data["openstack"] = {"cloud": "lab"}
    plan = plan_with(data)
    groups = R.openstack_network_inputs(plan)["openstack_network_security_groups"]
    gw = next(g for g in groups if g["name"].endswith("-gateways"))
    assert [r for r in gw["rules"] if r["description"] == "Ingress http on the public VIPs"
            and r["port_range_min"] == r["port_range_max"] == 80 and r["protocol"] == "tcp"]


def _check_suboptions(value, options, where):
    for key, opt in options.items():
        if opt.get("required"):
            assert key in value, "%s: required %s missing" % (where, key)
    for key, item in value.items():
        assert key in options, "%s: %s is no suboption" % (where, key)
        check(item, options[key], "%s.%s" % (where, key))


def test_inputs_match_the_argument_specs_down_to_the_suboptions():
    spec = spec_of("haproxy")["haproxy_ingress_frontends"]
    plans = [plan_with(base())] + [plan_of(name) for name in sorted(EXAMPLES)]
    for plan in plans:
        for gw in plan["groups"]["gateways"]:
            inputs = R.haproxy_inputs(plan, gw)
            value = inputs["haproxy_ingress_frontends"]
            check(value, spec, "haproxy_ingress_frontends")
            for i, fe in enumerate(value):
                _check_suboptions(fe, spec["options"], "haproxy_ingress_frontends[%d]" % i)
                backends = fe["backends"]
                assert backends and all(set(b) == {"name", "address"} for b in backends)
            extra = R.sysctl_inputs(plan, gw).get("sysctl_extra")
            if extra is not None:
                check(extra, spec_of("sysctl")["sysctl_extra"], "sysctl_extra")


def test_no_frontends_changes_no_other_input():
    """Every example: an empty list for haproxy and nothing else new (no sysctl_extra, no new SG rule)."""
    for name in sorted(EXAMPLES):
        plan = plan_of(name)
        assert plan["ingress"] == {"node_port_range": [30000, 32767], "frontends": []}
        for gw in plan["groups"]["gateways"]:
            assert R.haproxy_inputs(plan, gw)["haproxy_ingress_frontends"] == []
            assert "sysctl_extra" not in R.sysctl_inputs(plan, gw)


def test_role_defaults_no_ingress():
    with open(os.path.join(REPO, "roles", "haproxy", "defaults", "main.yml")) as handle:
        assert yaml.safe_load(handle)["haproxy_ingress_frontends"] == []


# ------------------------------------------------------------------------------------------ template
API = {"haproxy_frontend_addresses": ["172.30.242.254"], "haproxy_backends": [{"name": "master1", "address": "172.30.242.20"}]}


@pytest.fixture(scope="module")
def renders(tmp_path_factory):
    """roles/haproxy/templates/haproxy.cfg.j2 rendered by ansible-playbook (the collection's ansible.cfg, so
    ansible.utils' filters), without and with the lab config's frontends: {"api": text, "ingress": text}."""
    import json
    import subprocess
    tmp = tmp_path_factory.mktemp("haproxy")
    fes = R.haproxy_inputs(plan_with(base()), "gw1")["haproxy_ingress_frontends"]
    with open(os.path.join(REPO, "roles", "haproxy", "defaults", "main.yml")) as handle:
        defaults = yaml.safe_load(handle)
    template = os.path.join(REPO, "roles", "haproxy", "templates", "haproxy.cfg.j2")
    plays = [{"hosts": "localhost", "gather_facts": False, "vars": dict(defaults, **API), "tasks": [
        {"name": "api", "ansible.builtin.template": {"src": template, "dest": str(tmp / "api.cfg"), "mode": "0644"}},
        {"name": "ingress", "ansible.builtin.template": {"src": template, "dest": str(tmp / "ingress.cfg"),
                                                         "mode": "0644"},
         "vars": {"haproxy_ingress_frontends": fes}}]}]
    (tmp / "play.yml").write_text(json.dumps(plays))
    cmd = [os.path.join(REPO, ".venv", "bin", "ansible-playbook"), "-i", "localhost,", "-c", "local",
           "-e", "ansible_python_interpreter=%s" % sys.executable, str(tmp / "play.yml")]
    res = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
                         env=dict(os.environ, ANSIBLE_NOCOLOR="1"))
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    return {k: (tmp / ("%s.cfg" % k)).read_text() for k in ("api", "ingress")}


def test_template_without_frontends_renders_the_api_only(renders):
    out = renders["api"]
    assert out.endswith("    server master1 172.30.242.20:6443 check\n")
    assert "ingress" not in out


def test_template_renders_the_frontends_with_proxy_v2_and_checks(renders):
    out = renders["ingress"]
    assert out.startswith(renders["api"]), "the API part changed"
    assert ("\n# ingress http: TCP on the public VIPs, to a NodePort of the nodes, PROXY protocol v2\n"
            "frontend ingress_http\n    bind 172.30.240.254:80\n    bind [fd54:240::fe]:80 v6only\n"
            "    default_backend ingress_http\n") in out
    assert out.endswith("backend ingress_http\n    balance roundrobin\n    default-server inter 2s fall 3 rise 2 "
                        "send-proxy-v2 check-send-proxy\n    server worker1 172.30.242.50:30080 check\n")


def test_example_config_variant():
    """The copy in the module docstring of docs/ingress.md parses (a dual-stack example with ingress)."""
    data = copy.deepcopy(base())
    data["ingress"]["frontends"].append(frontend(name="https", port=443, backend_port=30443))
    plan = plan_with(data)
    assert [fe["name"] for fe in plan["ingress"]["frontends"]] == ["http", "https"]
