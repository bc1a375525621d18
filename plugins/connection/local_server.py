# -*- coding: utf-8 -*-
# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: local_server
short_description: The local connection, with pipelined modules run by a module server on the controller
version_added: 0.1.0
extends_documentation_fragment:
  - connection_pipelining
description:
  - Runs tasks on the controller like C(ansible.builtin.local).
  - A pipelined module (C(/bin/sh -c '[NAME=VALUE ...] PYTHON && sleep 0'), no privilege escalation)
    does not start a Python of its own. It is sent to a module server on the controller, the same
    server that C(dualstack.k8s.podman_exec) runs in each lab container (see
    C(plugins/plugin_utils/module_server.py)). The server has the standard library,
    C(ansible.module_utils.basic) and the modules of O(module_server_preload) imported already, and
    runs each module in a fork of itself. The module gets the environment it would have had
    (the worker's, plus the task's C(environment)), the same working directory, standard input,
    output and exit code.
  - The server is started on first use with the module's interpreter. Its socket is in a directory
    only the user can enter, C(<tmp>/dualstack-modsrv-<uid>). Its name is a fingerprint of
    ansible-core, the server code, the interpreter and the preload list. The server exits after
    30 minutes without a request.
  - Everything else (commands, file transfers, privilege escalation, a module when the server cannot
    be started) goes through C(ansible.builtin.local) unchanged.
  - The embedded lab of dualstack.k8s uses it for C(localhost), where the Neutron modules and the
    WireGuard client configuration run.
author:
  - dualstack.k8s contributors (@dualstack-k8s)
options:
  module_server:
    description:
      - Run pipelined modules in the module server. V(false) makes this connection C(ansible.builtin.local).
    type: bool
    default: true
    vars:
      - name: ansible_local_server_module_server
    env:
      - name: DUALSTACK_LOCAL_MODULE_SERVER
  module_server_preload:
    description:
      - Python modules the server imports once, after C(ansible.module_utils.basic), from its
        interpreter's own path. One that cannot be imported is left out.
      - The lab preloads C(openstack) for the Neutron modules.
    type: list
    elements: str
    default: []
    vars:
      - name: ansible_local_server_module_server_preload
"""

import os
import re
import shlex
import subprocess

from ansible.errors import AnsibleConnectionFailure
from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.connection.local import Connection as LocalConnection
from ansible.utils.display import Display

from ansible_collections.dualstack.k8s.plugins.plugin_utils import module_server, module_server_client as client
from ansible_collections.dualstack.k8s.plugins.plugin_utils import private_dir
from ansible_collections.dualstack.k8s.plugins.plugin_utils.module_server_client import ServerUnavailable

display = Display()

SHELL = re.compile(r"^/bin/sh -c (.+)$", re.S)
ASSIGNMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", re.S)
PYTHON = re.compile(r"^/[A-Za-z0-9_./+-]*python[0-9.]*$")


def pipelined_module(cmd):
    """``(environment, interpreter)`` of a pipelined module's command line
    (``/bin/sh -c '[NAME=VALUE ...] /path/to/python && sleep 0'``), or None."""
    shell = SHELL.match(cmd)
    if not shell:
        return None
    try:
        words = shlex.split(shell.group(1))
        inner = shlex.split(words[0]) if len(words) == 1 else []
    except ValueError:
        return None
    if len(inner) < 4 or inner[-3:] != ["&&", "sleep", "0"] or not PYTHON.match(inner[-4]) \
            or not words[0].endswith(" %s && sleep 0" % inner[-4]) and words[0] != "%s && sleep 0" % inner[-4]:
        return None
    assignments = [ASSIGNMENT.match(word) for word in inner[:-4]]
    if not all(assignments):
        return None
    return dict(found.groups() for found in assignments), inner[-4]


class Connection(LocalConnection):
    """ansible.builtin.local, with pipelined modules run in a module server."""

    transport = "dualstack.k8s.local_server"

    def exec_command(self, cmd, in_data=None, sudoable=True):
        module = pipelined_module(cmd) if in_data and self.get_option("module_server") else None
        if module and not (sudoable and self.become):
            try:
                return self._run_in_server(module[0], module[1], in_data)
            except ServerUnavailable as exc:
                display.vvv("module server: %s; running the module as ansible.builtin.local does" % exc,
                            host=self._play_context.remote_addr)
        return super().exec_command(cmd, in_data=in_data, sudoable=sudoable)

    def _run_in_server(self, task_env, interpreter, in_data):
        preload = list(self.get_option("module_server_preload") or [])
        try:
            directory = private_dir.ensure(module_server.local_dir())
        except OSError as exc:
            raise ServerUnavailable(str(exc)) from exc
        base = os.path.join(directory, client.fingerprint(interpreter, preload))
        sock = client.connect_or_start(base + ".sock", base + ".lock",
                                       lambda: self._start_server(base, interpreter, in_data, preload))
        display.vvv("MODULE SERVER %s (%d bytes)" % (base, len(in_data)), host=self._play_context.remote_addr)
        env = dict(os.environ)
        env.update(task_env)
        try:
            # the directory a local command would run in: self.cwd if set, else the worker's
            return module_server.request(sock, in_data, env, cwd=self.cwd or os.getcwd())
        except (OSError, ValueError) as exc:
            raise AnsibleConnectionFailure("module server: %s" % exc) from exc

    def _start_server(self, base, interpreter, in_data, preload):
        args = [interpreter, module_server.__file__, base + ".sock"]
        zip_data = client.payload_zip(in_data)
        if zip_data:
            try:
                with open(base + ".zip", "wb") as handle:
                    handle.write(zip_data)
            except OSError as exc:
                raise ServerUnavailable("cannot write %s.zip: %s" % (base, exc)) from exc
        args += [base + ".zip" if zip_data else ""] + preload
        display.vvv("START module server %s" % " ".join(shlex.quote(a) for a in args),
                    host=self._play_context.remote_addr)
        try:
            proc = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, check=False, timeout=60,
                                  cwd="/")
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ServerUnavailable("it did not start: %s" % exc) from exc
        if proc.returncode != 0 or not proc.stdout.startswith(b"ready "):
            raise ServerUnavailable("it did not start: %s" % to_native(proc.stderr or proc.stdout).strip()[-500:])
