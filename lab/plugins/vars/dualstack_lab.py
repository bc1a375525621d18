# -*- coding: utf-8 -*-
# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# The embedded lab's connection settings: NOT part of the dualstack.k8s collection (lab/ is not
# shipped). Enabled by the root ansible.cfg (vars_plugins = ./lab/plugins/vars,
# vars_plugins_enabled = ansible.builtin.host_group_vars, dualstack_lab). Public ansible-core API
# only (BaseVarsPlugin), ansible-core 2.16 - 2.19, standard library only.

from __future__ import annotations

DOCUMENTATION = r"""
name: dualstack_lab
short_description: How Ansible reaches the embedded lab's hosts (harness connection or SSH)
requirements:
  - enabled in vars_plugins_enabled (REQUIRES_ENABLED)
description:
  - For the hosts of the config's cluster whose lab is up (C(lab/lab.py up) wrote
    C(.cache/lab/<cluster>/hosts.json); C(lab/lab.py down) removes it) it returns the connection
    variables. Any other host, and every host while that lab is down, gets nothing from it.
  - The config is the file named by E(DUALSTACK_CONFIG), else C(config/config.toml) of the checkout;
    only its C(cluster.name) is read.
  - By default (E(DUALSTACK_LAB_CONNECTION) unset or C(podman)) the hosts are reached as root through
    the lab's harness connection C(dualstack_lab_podman) (nsenter into the container), without privilege
    escalation (C(ansible_become=false) overrides the playbooks' C(become)).
  - With E(DUALSTACK_LAB_CONNECTION=ssh) they are reached the way real hosts are - over SSH, at the
    container's address on the lab's network, as the user C(lab/lab.py up) made (C(dsk), NOPASSWD sudo)
    with the lab's key (C(.cache/lab/ssh/id_ed25519)), the host keys checked against the lab's own
    known_hosts (written by C(lab up) from each container's host key, removed by C(lab down)); C(become)
    as the playbooks declare it, through sudo. Pipelining and ControlPersist are ansible-core's
    (C(ansible.cfg) turns pipelining on).
options:
  connection:
    description: C(podman) (the harness connection) or C(ssh).
    type: str
    default: podman
    choices: [podman, ssh]
    env:
      - name: DUALSTACK_LAB_CONNECTION
"""

import json
import os
import shlex
import tomllib

from ansible.errors import AnsibleError
from ansible.inventory.host import Host
from ansible.plugins.vars import BaseVarsPlugin

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
MODES = ("podman", "ssh")

_CACHE = {}


def _mtime(path):
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None


def _cluster(config):
    """cluster.name of the config (cached while the file is unchanged), or None."""
    key = ("config", config, _mtime(config))
    if key not in _CACHE:
        try:
            with open(config, "rb") as handle:
                _CACHE[key] = str(tomllib.load(handle).get("cluster", {}).get("name", "dualstack"))
        except (OSError, tomllib.TOMLDecodeError):
            _CACHE[key] = None
    return _CACHE[key]


def _state(cluster):
    """The lab's hosts.json (cached while unchanged), or None when that lab is down."""
    path = os.path.join(REPO, ".cache", "lab", cluster, "hosts.json")
    key = ("state", path, _mtime(path))
    if key not in _CACHE:
        try:
            with open(path, encoding="utf-8") as handle:
                _CACHE[key] = json.load(handle)
        except (OSError, ValueError):
            _CACHE[key] = None
    return _CACHE[key]


def connection_vars(mode, state, name):
    """The connection variables of host `name` of a lab that is up."""
    host = state["hosts"][name]
    if mode == "podman":
        return {
            "ansible_connection": "dualstack_lab_podman",
            "ansible_host": host["container"],
            "ansible_python_interpreter": "/usr/bin/python3",
            # the harness connection is root in the container already: no sudo round trip per task
            "ansible_become": False,
        }
    ssh = state["ssh"]
    args = ["-o", "UserKnownHostsFile=%s" % ssh["known_hosts"], "-o", "GlobalKnownHostsFile=/dev/null",
            "-o", "StrictHostKeyChecking=yes", "-o", "IdentitiesOnly=yes"]
    return {
        "ansible_connection": "ssh",
        "ansible_host": host["address"],
        "ansible_user": ssh["user"],
        "ansible_ssh_private_key_file": ssh["private_key_file"],
        "ansible_ssh_common_args": " ".join(shlex.quote(a) for a in args),
        # the lab's own known_hosts is checked (ansible.cfg's host_key_checking=False would add
        # StrictHostKeyChecking=no before these arguments)
        "ansible_ssh_host_key_checking": True,
        "ansible_python_interpreter": "/usr/bin/python3",
        "ansible_become_method": "sudo",
    }


class VarsModule(BaseVarsPlugin):
    REQUIRES_ENABLED = True

    def get_vars(self, loader, path, entities, cache=True):
        super().get_vars(loader, path, entities)
        mode = os.environ.get("DUALSTACK_LAB_CONNECTION") or "podman"
        if mode not in MODES:
            raise AnsibleError("DUALSTACK_LAB_CONNECTION=%s: use one of %s" % (mode, ", ".join(MODES)))
        config = os.environ.get("DUALSTACK_CONFIG") or os.path.join(REPO, "config", "config.toml")
        cluster = _cluster(os.path.abspath(config))
        state = _state(cluster) if cluster else None
        if not state:
            return {}
        data = {}
        for entity in entities if isinstance(entities, list) else [entities]:
            if isinstance(entity, Host) and entity.name in state.get("hosts", {}):
                data.update(connection_vars(mode, state, entity.name))
        return data
