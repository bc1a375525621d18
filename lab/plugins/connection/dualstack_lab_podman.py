# -*- coding: utf-8 -*-
# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# The embedded lab's harness connection: NOT part of the dualstack.k8s collection (lab/ is not
# shipped). Switched on by the root ansible.cfg (connection_plugins = ./lab/plugins/connection) and
# selected for the lab's hosts by the lab's vars plugin (lab/plugins/vars/dualstack_lab.py).
# Public ansible-core API only (ConnectionBase), ansible-core 2.16 - 2.19.

from __future__ import annotations

DOCUMENTATION = r"""
name: dualstack_lab_podman
short_description: The embedded lab's containers as hosts, through nsenter or podman exec (pipelined)
description:
  - Reaches a running container of the local rootful podman as its own host, as root, with no
    privilege escalation. The embedded lab of dualstack.k8s (C(lab/lab.py)) uses it as its fast
    harness connection; C(DUALSTACK_LAB_CONNECTION=ssh) reaches the same containers over SSH instead.
  - Every command is one call; files are streamed through the same kind of call. With pipelining a
    module costs one call instead of four (mkdir, copy, run, clean up).
  - With O(method=nsenter) (what C(auto) picks when the controller runs as root and has C(nsenter)) a
    command enters the container's namespaces directly (a few milliseconds) instead of going through
    C(podman exec) (a few hundred under load). The container's PID comes from one C(podman inspect),
    cached and checked against the process start time, so a restarted container is looked up again.
    The command runs with a clean environment (PATH, HOME, LANG, container=podman) in the container's
    root and working directory, as C(podman exec) would run it.
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
  method:
    description:
      - How a command enters the container. C(auto) uses C(nsenter) when the controller runs as root
        and has it, else C(podman exec).
    type: str
    default: auto
    choices: [auto, nsenter, podman]
    vars:
      - name: ansible_podman_exec_method
    env:
      - name: ANSIBLE_PODMAN_EXEC_METHOD
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

import json
import os
import shlex
import shutil
import subprocess
import tempfile

from ansible.errors import AnsibleConnectionFailure, AnsibleFileNotFound
from ansible.module_utils.common.text.converters import to_bytes, to_native
from ansible.plugins.connection import ConnectionBase
from ansible.utils.display import Display

display = Display()

# The environment of a command run through nsenter (podman exec would apply the image's).
CLEAN_ENV = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root",
             "LANG=C.UTF-8", "container=podman"]
NAMESPACES = ["--mount", "--uts", "--ipc", "--net", "--pid", "--cgroup", "--root", "--wd"]


def _start_time(pid):
    """Field 22 of /proc/PID/stat (start time in clock ticks), or None when there is no such process."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    return data[data.rindex(b")") + 2:].split()[19].decode()


class Connection(ConnectionBase):
    """nsenter (or podman exec) into a local container."""

    transport = "dualstack_lab_podman"
    has_pipelining = True
    default_user = "root"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._podman = None
        self._nsenter = None

    def _connect(self):
        if not self._connected:
            self._podman = shutil.which(self.get_option("podman_executable"))
            if not self._podman:
                raise AnsibleConnectionFailure("podman executable %r not found" % self.get_option("podman_executable"))
            method = self.get_option("method")
            nsenter = shutil.which("nsenter")
            if method == "nsenter" and (not nsenter or os.geteuid() != 0):
                raise AnsibleConnectionFailure("method nsenter needs root and nsenter on the controller")
            if method != "podman" and nsenter and os.geteuid() == 0:
                self._nsenter = nsenter
            self._connected = True
        return self

    def _container(self):
        return self.get_option("remote_addr")

    def _cache_file(self):
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in self._container())
        return os.path.join(tempfile.gettempdir(), "dualstack-lab-podman-%d" % os.geteuid(), safe + ".json")

    def _pid(self):
        """The container's PID 1 on the host: cached, valid while that process lives with the same start time."""
        path = self._cache_file()
        try:
            with open(path, encoding="utf-8") as handle:
                cached = json.load(handle)
            if _start_time(cached["pid"]) == cached["start"]:
                return cached["pid"]
        except (OSError, ValueError, KeyError, TypeError):
            pass
        proc = subprocess.run([self._podman, "inspect", "--type", "container", "--format", "{{.State.Pid}}",
                               self._container()], capture_output=True, check=False)
        pid = int(proc.stdout.strip() or 0) if proc.returncode == 0 else 0
        if pid <= 0:
            raise AnsibleConnectionFailure("container %s is not running: %s" % (
                self._container(), to_native(proc.stderr).strip() or "no PID"))
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path))
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"pid": pid, "start": _start_time(pid)}, handle)
        os.replace(tmp, path)
        return pid

    def _argv(self, shell_cmd):
        if self._nsenter:
            return ([self._nsenter, "--target", str(self._pid())] + NAMESPACES + ["/usr/bin/env", "-i"] + CLEAN_ENV
                    + ["/bin/sh", "-c", shell_cmd])
        return [self._podman, "exec", "-i", self._container(), "/bin/sh", "-c", shell_cmd]

    def _run(self, shell_cmd, in_data=None):
        argv = self._argv(shell_cmd)
        display.vvv("EXEC %s" % " ".join(shlex.quote(a) for a in argv), host=self._container())
        proc = subprocess.run(argv, input=in_data or b"", capture_output=True, check=False)
        if self._nsenter and proc.returncode != 0 and proc.stderr.startswith(b"nsenter:"):
            raise AnsibleConnectionFailure("container %s: %s" % (self._container(), to_native(proc.stderr).strip()))
        if proc.returncode in (125, 126, 127) and b"no such container" in proc.stderr.lower():
            raise AnsibleConnectionFailure("container %s: %s" % (self._container(), to_native(proc.stderr).strip()))
        return proc.returncode, proc.stdout, proc.stderr

    def exec_command(self, cmd, in_data=None, sudoable=True):
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
