# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run Ansible (the .venv's ansible-playbook, cwd = the checkout) and read Neutron state, for the
OpenStack integration tests and benchmarks/openstack_bench.py."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
VENV_BIN = Path(os.environ.get("DUALSTACK_VENV_BIN", REPO / ".venv" / "bin"))
PLAYBOOK = REPO / "playbooks" / "openstack.yml"


LAB_CONFIG = REPO / "config" / "config.toml"


def _collections():
    collections = str(REPO / ".collections")
    if collections not in sys.path:
        sys.path.insert(0, collections)


def lab_plan(config=None):
    """The plan of config/config.toml (plugins/plugin_utils/plan.py)."""
    _collections()
    from ansible_collections.dualstack.k8s.plugins.plugin_utils.plan import load_plan  # noqa: E402

    return load_plan(str(config or LAB_CONFIG))


def inputs(plan):
    """The openstack_network role's inputs for ``plan`` (plugins/plugin_utils/role_inputs.py)."""
    _collections()
    from ansible_collections.dualstack.k8s.plugins.plugin_utils.role_inputs import (  # noqa: E402
        openstack_network_inputs,
    )

    return openstack_network_inputs(plan)


def write_config(path, replace=(), append=""):
    """config/config.toml with ``replace`` = [(regex, text)] applied and ``append`` added; the
    WireGuard key file made absolute. Returns the path written."""
    text = LAB_CONFIG.read_text()
    text = re.sub(r'public_key_file = "([^"]+)"',
                  lambda m: 'public_key_file = "%s"' % (LAB_CONFIG.parent / m.group(1)).resolve(), text)
    for pattern, value in replace:
        text, count = re.subn(pattern, value, text, flags=re.M)
        assert count, f"{pattern!r} not in {LAB_CONFIG}"
    Path(path).write_text(text + append)
    return str(path)


class Result:
    def __init__(self, proc, seconds):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.seconds = seconds
        try:
            self.data = json.loads(proc.stdout[proc.stdout.index("{"):])
        except ValueError:
            self.data = {"plays": [], "stats": {}}

    @property
    def tasks(self):
        """Results of every task on localhost, in order."""
        out = []
        for play in self.data.get("plays", []):
            for task in play.get("tasks", []):
                res = task.get("hosts", {}).get("localhost")
                if res is not None:
                    out.append(dict(res, _task=task["task"]["name"]))
        return out

    @property
    def stats(self):
        return self.data.get("stats", {}).get("localhost", {})

    @property
    def changed(self):
        return self.stats.get("changed", 0)

    @property
    def failed(self):
        return self.rc != 0 or self.stats.get("failures", 0) > 0

    def last(self):
        return self.tasks[-1] if self.tasks else {}

    def __repr__(self):
        return f"<Result rc={self.rc} changed={self.changed} {self.seconds:.2f}s>\n{self.stdout[-4000:]}\n{self.stderr[-2000:]}"


class Ansible:
    """``env`` is a callable returning the environment (the server's clouds.yaml may move)."""

    def __init__(self, env, venv_bin=VENV_BIN):
        self._env = env
        self.bin = Path(venv_bin)

    def _run(self, args, extra_vars=None, env=None):
        env = dict(self._env(), ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_JSON_INDENT="0",
                   ANSIBLE_NOCOLOR="1", ANSIBLE_DEPRECATION_WARNINGS="0", **(env or {}))
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
            json.dump(extra_vars or {}, fh)
            vars_file = fh.name
        try:
            start = time.monotonic()
            proc = subprocess.run([str(self.bin / "ansible-playbook"), "-e", f"@{vars_file}", *args],
                                  cwd=str(REPO), env=env, capture_output=True, text=True, timeout=600, check=False)
            return Result(proc, time.monotonic() - start)
        finally:
            os.unlink(vars_file)

    def playbook(self, config=None, check=False, diff=False, **extra_vars):
        """playbooks/openstack.yml (plan_info -> role inputs -> role) for ``config`` (default:
        config/config.toml); ``extra_vars`` such as openstack_network_state."""
        args = ["-i", "localhost,", str(PLAYBOOK)]
        args += ["--check"] if check else []
        args += ["--diff"] if diff else []
        return self._run(args, extra_vars, env={"DUALSTACK_CONFIG": str(config or LAB_CONFIG)})

    def role(self, role_inputs, check=False, diff=False, **overrides):
        """The openstack_network role alone, its plain inputs given as extra vars."""
        play = [{"hosts": "localhost", "connection": "local", "gather_facts": False,
                 "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"},
                 "roles": ["dualstack.k8s.openstack_network"]}]
        with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as fh:
            json.dump(play, fh)
            play_file = fh.name
        try:
            args = ["-i", "localhost,", play_file] + (["--check"] if check else []) + (["--diff"] if diff else [])
            return self._run(args, dict(role_inputs, **overrides))
        finally:
            os.unlink(play_file)

    def tasks(self, tasks):
        """One playbook running ``tasks``: dicts with ``module`` (short name), ``args`` and optional
        ``check``/``diff`` (task-level check_mode/diff). Errors do not stop the play; returns the
        Result whose ``tasks`` are the results in order."""
        play = [{"hosts": "localhost", "connection": "local", "gather_facts": False,
                 "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"},
                 "tasks": [{"name": f"{i} {t['module']}", f"dualstack.k8s.{t['module']}": t["args"],
                            "check_mode": bool(t.get("check")), "diff": bool(t.get("diff", True)),
                            "ignore_errors": True} for i, t in enumerate(tasks)]}]
        with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as fh:
            json.dump(play, fh)
            play_file = fh.name
        try:
            return self._run(["-i", "localhost,", play_file])
        finally:
            os.unlink(play_file)

    def module(self, name, args, check=False, diff=False):
        """One task ``dualstack.k8s.<name>`` with ``args``; returns (Result, task result)."""
        result = self.tasks([{"module": name, "args": args, "check": check, "diff": diff}])
        return result, result.last()


# ------------------------------------------------------------------------------------------------
# Neutron state through openstacksdk
# ------------------------------------------------------------------------------------------------
def snapshot(conn):
    """Every network resource, comparable between two points in time (timestamps dropped)."""
    drop = {"updated_at", "created_at", "revision_number", "status", "location"}

    def clean(items):
        out = []
        for item in items:
            data = item.to_dict(computed=False) if hasattr(item, "to_dict") else dict(item)
            out.append({k: v for k, v in data.items() if k not in drop})
        return sorted(out, key=lambda d: str(d.get("id")))

    net = conn.network
    return {"networks": clean(net.networks()), "subnets": clean(net.subnets()), "ports": clean(net.ports()),
            "routers": clean(net.routers()), "security_groups": clean(net.security_groups()),
            "rules": clean(net.security_group_rules())}
