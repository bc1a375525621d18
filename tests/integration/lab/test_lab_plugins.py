"""The lab's own Ansible plugins (lab/plugins/): the vars plugin that says how the lab's hosts are
reached, and that neither plugin uses ansible-core's private API. Fast: no container needed; the
vars plugin reads a hosts.json written here for a cluster of its own ("varstest")."""

import importlib.util
import json
import os
import shutil
import subprocess

import pytest
from ansible.errors import AnsibleError
from ansible.inventory.group import Group
from ansible.inventory.host import Host

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
PLUGINS = os.path.join(REPO, "lab", "plugins")
STATE = os.path.join(REPO, ".cache", "lab", "varstest")


def load(kind, name):
    spec = importlib.util.spec_from_file_location("lab_%s_%s" % (kind, name), os.path.join(PLUGINS, kind, name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def lab(tmp_path, monkeypatch):
    config = tmp_path / "varstest.toml"
    config.write_text('[cluster]\nname = "varstest"\n')
    monkeypatch.setenv("DUALSTACK_CONFIG", str(config))
    monkeypatch.delenv("DUALSTACK_LAB_CONNECTION", raising=False)
    shutil.rmtree(STATE, ignore_errors=True)
    yield load("vars", "dualstack_lab").VarsModule()
    shutil.rmtree(STATE, ignore_errors=True)


def up():
    os.makedirs(STATE)
    with open(os.path.join(STATE, "hosts.json"), "w") as handle:
        json.dump({"cluster": "varstest",
                   "hosts": {"gw1": {"container": "dsk-varstest-gw1", "address": "172.30.199.10"}},
                   "ssh": {"user": "dsk", "private_key_file": "/k/id_ed25519", "known_hosts": "/k/known_hosts"}},
                  handle)


def test_nothing_while_the_lab_is_down(lab):
    assert lab.get_vars(None, REPO, [Host("gw1")]) == {}


def test_harness_connection_for_the_labs_hosts_only(lab):
    up()
    assert lab.get_vars(None, REPO, [Host("gw1")]) == {
        "ansible_connection": "dualstack_lab_podman", "ansible_host": "dsk-varstest-gw1",
        "ansible_python_interpreter": "/usr/bin/python3", "ansible_become": False}
    assert lab.get_vars(None, REPO, [Host("elsewhere")]) == {}
    assert lab.get_vars(None, REPO, [Group("gateways")]) == {}


def test_ssh_as_a_user_with_sudo_and_checked_host_keys(lab, monkeypatch):
    up()
    monkeypatch.setenv("DUALSTACK_LAB_CONNECTION", "ssh")
    got = lab.get_vars(None, REPO, [Host("gw1")])
    assert got["ansible_connection"] == "ssh" and got["ansible_host"] == "172.30.199.10"
    assert got["ansible_user"] == "dsk" and got["ansible_ssh_private_key_file"] == "/k/id_ed25519"
    assert "UserKnownHostsFile=/k/known_hosts" in got["ansible_ssh_common_args"]
    assert "StrictHostKeyChecking=yes" in got["ansible_ssh_common_args"]
    assert got["ansible_ssh_host_key_checking"] is True
    assert "ansible_become" not in got  # the playbooks' become: true applies, through sudo
    assert got["ansible_become_method"] == "sudo"


def test_an_unknown_connection_is_refused(lab, monkeypatch):
    up()
    monkeypatch.setenv("DUALSTACK_LAB_CONNECTION", "telnet")
    with pytest.raises(AnsibleError, match="DUALSTACK_LAB_CONNECTION=telnet"):
        lab.get_vars(None, REPO, [Host("gw1")])


def test_public_api_only():
    res = subprocess.run(["grep", "-rnE", r"ansible\._internal|trust_as_template|module_server", PLUGINS,
                          os.path.join(REPO, "lab", "lab.py")], capture_output=True, text=True, check=False)
    assert res.stdout == ""


def test_ansible_finds_both_plugins_through_ansible_cfg():
    env = dict(os.environ, PATH=os.path.join(REPO, ".venv", "bin") + os.pathsep + os.environ["PATH"])
    for kind, name in (("connection", "dualstack_lab_podman"), ("vars", "dualstack_lab")):
        res = subprocess.run([os.path.join(REPO, ".venv", "bin", "ansible-doc"), "-t", kind, name], cwd=REPO,
                             env=env, capture_output=True, text=True, check=False, timeout=120)
        assert res.returncode == 0 and name in res.stdout, res.stdout + res.stderr
