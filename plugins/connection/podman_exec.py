# -*- coding: utf-8 -*-
# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: podman_exec
short_description: Run tasks in a local podman container through C(podman exec), with pipelining
version_added: 0.1.0
description:
  - Reaches a running container of the local podman as its own host. Every command is one
    C(podman exec -i); files are streamed through the same kind of call, so with pipelining a module
    costs one C(podman exec) instead of the four (mkdir, copy, run, clean up) of a connection without it.
  - The embedded lab of dualstack.k8s uses it for its containers.
author:
  - dualstack.k8s contributors (@dualstack-k8s)
options:
  remote_addr:
    description: The container's name or id.
    type: str
    default: inventory_hostname
    vars:
      - name: inventory_hostname
      - name: ansible_host
  podman_executable:
    description: The podman command.
    type: str
    default: podman
    vars:
      - name: ansible_podman_executable
    env:
      - name: ANSIBLE_PODMAN_EXECUTABLE
  pipelining:
    description: Send modules over standard input instead of copying them into the container.
    type: bool
    default: true
    vars:
      - name: ansible_pipelining
    env:
      - name: ANSIBLE_PIPELINING
    ini:
      - section: connection
        key: pipelining
"""

import os
import shlex
import shutil
import subprocess

from ansible.errors import AnsibleConnectionFailure, AnsibleFileNotFound
from ansible.module_utils.common.text.converters import to_bytes, to_native
from ansible.plugins.connection import ConnectionBase
from ansible.utils.display import Display

display = Display()


class Connection(ConnectionBase):
    """podman exec into a local container."""

    transport = "dualstack.k8s.podman_exec"
    has_pipelining = True
    default_user = "root"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._podman = None

    def _connect(self):
        if not self._connected:
            self._podman = shutil.which(self.get_option("podman_executable"))
            if not self._podman:
                raise AnsibleConnectionFailure("podman executable %r not found" % self.get_option("podman_executable"))
            self._connected = True
        return self

    def _container(self):
        return self.get_option("remote_addr")

    def _run(self, shell_cmd, in_data=None):
        argv = [self._podman, "exec", "-i", self._container(), "/bin/sh", "-c", shell_cmd]
        display.vvv("EXEC %s" % " ".join(shlex.quote(a) for a in argv), host=self._container())
        proc = subprocess.run(argv, input=in_data or b"", capture_output=True, check=False)
        if proc.returncode in (125, 126, 127) and b"no such container" in proc.stderr.lower():
            raise AnsibleConnectionFailure("container %s: %s" % (self._container(), to_native(proc.stderr).strip()))
        return proc.returncode, proc.stdout, proc.stderr

    def exec_command(self, cmd, in_data=None, sudoable=False):
        super().exec_command(cmd, in_data=in_data, sudoable=sudoable)
        return self._run(cmd, in_data)

    def put_file(self, in_path, out_path):
        super().put_file(in_path, out_path)
        display.vvv("PUT %s TO %s" % (in_path, out_path), host=self._container())
        if not os.path.exists(to_bytes(in_path, errors="surrogate_or_strict")):
            raise AnsibleFileNotFound("file or module does not exist: %s" % in_path)
        with open(to_bytes(in_path, errors="surrogate_or_strict"), "rb") as handle:
            data = handle.read()
        code, dummy, err = self._run("cat > %s" % shlex.quote(out_path), data)
        if code != 0:
            raise AnsibleConnectionFailure("failed to write %s in %s: %s" % (out_path, self._container(), to_native(err)))

    def fetch_file(self, in_path, out_path):
        super().fetch_file(in_path, out_path)
        display.vvv("FETCH %s TO %s" % (in_path, out_path), host=self._container())
        code, out, err = self._run("cat %s" % shlex.quote(in_path))
        if code != 0:
            raise AnsibleConnectionFailure("failed to read %s in %s: %s" % (in_path, self._container(), to_native(err)))
        with open(to_bytes(out_path, errors="surrogate_or_strict"), "wb") as handle:
            handle.write(out)

    def close(self):
        self._connected = False
