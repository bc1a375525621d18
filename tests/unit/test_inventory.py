"""The inventory plugin: groups, each host's own role inputs, plain exported values, linear size,
and a bad config refused with the key before any host is listed."""

import json
import os
import subprocess
import sys

import pytest

from ansible_collections.dualstack.k8s.plugins.plugin_utils.plan import load_plan
from ansible_collections.dualstack.k8s.plugins.plugin_utils.role_inputs import host_inputs

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(REPO, "config", "examples")
VENV_216 = os.path.join(REPO, ".cache", "venv-2.16", "bin")

BIG = """
[cluster]
name = "big"
ip_families = ["ipv4", "ipv6"]
[network]
ipv4_cidr = "10.10.0.0/20"
ipv6_cidr = "fd10:10::/64"
[wireguard]
ipv4_cidr = "10.11.0.0/22"
ipv6_cidr = "fd10:11::/120"
[kubernetes]
control_plane_count = 3
worker_count = %d
pod_subnet_v4 = "10.128.0.0/12"
pod_subnet_v6 = "fd10:244::/56"
service_subnet_v4 = "10.96.0.0/16"
service_subnet_v6 = "fd10:96::/108"
"""


def _inventory(config, *args, bindir=None):
    # the inventory plugin alone: not the lab's vars plugin, which adds connection settings for a lab of
    # the same config that happens to be up
    env = dict(os.environ, DUALSTACK_CONFIG=config, ANSIBLE_VARS_ENABLED="ansible.builtin.host_group_vars")
    return subprocess.run([os.path.join(bindir or os.path.dirname(sys.executable), "ansible-inventory"), *args],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_groups_and_each_hosts_own_slice():
    config = os.path.join(EXAMPLES, "ipv6-primary.toml")
    res = _inventory(config, "--list")
    assert res.returncode == 0, res.stderr
    inv = json.loads(res.stdout)
    assert set(inv["k8s_nodes"]["children"]) == {"k8s_control_plane", "k8s_workers"}
    assert inv["gateways"]["hosts"] == ["gw1", "gw2"]
    hostvars = inv["_meta"]["hostvars"]
    master2 = hostvars["master2"]
    assert master2["dualstack_node_ips"][0] == master2["dualstack_ipv6"]
    assert master2["dualstack_role"] == "control_plane"
    assert "dualstack_plan" not in master2  # never the whole plan
    assert "ansible_connection" not in master2  # the plugin adds no connection settings
    # the host's variables are exactly the mapping's role inputs (plus the cluster-wide facts)
    plan = load_plan(config)
    for name in ("gw1", "master2", "worker3"):
        want = host_inputs(plan, name)
        got = {k: v for k, v in hostvars[name].items() if k in want}
        assert got == json.loads(json.dumps(want)), name
    assert not any(k.startswith(("bird_", "keepalived_", "haproxy_", "wireguard_")) for k in master2)
    assert hostvars["gw1"]["bird_neighbors"] and hostvars["gw1"]["keepalived_priority"] == 200


def test_export_is_plain_values_for_awx():
    res = _inventory(os.path.join(EXAMPLES, "ipv4-only.toml"), "--list", "--export")
    assert res.returncode == 0, res.stderr
    assert "__ansible_unsafe" not in res.stdout
    exported = json.loads(res.stdout)
    assert exported["all"]["vars"]["dualstack_cluster_name"]


@pytest.mark.skipif(not os.path.exists(os.path.join(VENV_216, "ansible-inventory")),
                    reason="no ansible-core 2.16 virtualenv (tools/setup.sh makes .cache/venv-2.16)")
def test_export_is_the_same_on_ansible_core_216():
    config = os.path.join(EXAMPLES, "ipv6-only.toml")
    new = _inventory(config, "--list", "--export")
    old = _inventory(config, "--list", "--export", bindir=VENV_216)
    assert new.returncode == 0 and old.returncode == 0, new.stderr + old.stderr
    new, old = json.loads(new.stdout), json.loads(old.stdout)
    new["_meta"].pop("profile", None)  # 2.19 names its serialization profile
    assert new == old


def test_inventory_grows_linearly_with_the_nodes(tmp_path):
    sizes = {}
    for workers in (50, 200):
        cfg = tmp_path / ("n%d.toml" % workers)
        cfg.write_text(BIG % workers)
        res = _inventory(str(cfg), "--list")
        assert res.returncode == 0, res.stderr
        sizes[workers] = len(res.stdout)
    # 4x the workers: about 4x the output (the whole plan on every host made it 16x)
    assert sizes[200] / sizes[50] < 4.5, sizes


def test_bad_config_fails_with_the_key_and_no_partial_inventory(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(open(os.path.join(EXAMPLES, "ipv4-only.toml")).read().replace(
        'service_subnet_v4 = "10.96.0.0/12"', 'service_subnet_v4 = "10.96.0.0/8"'))
    res = _inventory(str(bad), "--list")
    assert res.returncode != 0
    assert "kubernetes.service_subnet_v4" in res.stderr
    assert '"_meta"' not in res.stdout
