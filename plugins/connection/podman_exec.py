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
  - With O(method=nsenter) (the default C(auto) picks it when the controller runs as root and has
    C(nsenter)), a command enters the container's namespaces directly with C(nsenter) instead of going
    through C(podman exec), a few milliseconds instead of a few hundred per call. The container's PID
    is looked up with C(podman inspect) once and cached (checked against the process start time, so a
    restarted container is looked up again). The command runs with a clean environment (PATH, HOME,
    LANG, container=podman), in the container's root and working directory.
  - With O(module_server=true) (the default, with O(method=nsenter) only), a pipelined module does not
    start a Python of its own. It is sent to a small server in the container (started on first use,
    see C(plugins/plugin_utils/module_server.py)) that has the standard library and
    C(ansible.module_utils.basic) imported already and runs each module in a fork of itself, with the
    same environment, standard input, output and exit code as C(/bin/sh -c 'python3 && sleep 0').
    This takes the interpreter start and the imports off every task. Everything else (commands, file
    transfers, modules that are not pipelined) goes through C(nsenter) as before, and so does a module
    when the server cannot be started.
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
  module_server:
    description:
      - Run pipelined modules through the module server in the container (O(method=nsenter) only).
    type: bool
    default: true
    vars:
      - name: ansible_podman_exec_module_server
    env:
      - name: ANSIBLE_PODMAN_EXEC_MODULE_SERVER
  module_server_preload:
    description:
      - Python modules the server imports once, after C(ansible.module_utils.basic), from the
        container's own Python. One that cannot be imported is left out.
      - The default is python3-apt's, which every run of C(ansible.builtin.apt) would import again.
    type: list
    elements: str
    default: [apt, apt_pkg]
    vars:
      - name: ansible_podman_exec_module_server_preload
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
import re
import shlex
import shutil
import subprocess
import tempfile

from ansible.errors import AnsibleConnectionFailure, AnsibleFileNotFound
from ansible.module_utils.common.text.converters import to_bytes, to_native
from ansible.plugins.connection import ConnectionBase
from ansible.utils.display import Display

from ansible_collections.dualstack.k8s.plugins.plugin_utils import module_server, module_server_client as client
from ansible_collections.dualstack.k8s.plugins.plugin_utils.module_server_client import ServerUnavailable

display = Display()

# The environment of a command run through nsenter (podman exec would apply the image's).
CLEAN_ENV = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root",
             "LANG=C.UTF-8", "container=podman"]
NAMESPACES = ["--mount", "--uts", "--ipc", "--net", "--pid", "--cgroup", "--root", "--wd"]
# How ansible-core runs a pipelined module: the interpreter reads the AnsiballZ payload on stdin.
PIPELINED_MODULE = re.compile(r"^/bin/sh -c '(/[A-Za-z0-9_./-]*python[0-9.]*) && sleep 0'$")
SERVER_DIR = "/run/dualstack-lab-modsrv"


def _start_time(pid):
    """Field 22 of /proc/PID/stat (start time in clock ticks), or None when there is no such process."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    return data[data.rindex(b")") + 2:].split()[19].decode()


class Connection(ConnectionBase):
    """podman exec into a local container."""

    transport = "dualstack.k8s.podman_exec"
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
        return os.path.join(tempfile.gettempdir(), "dualstack-podman-exec-%d" % os.geteuid(), safe + ".json")

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

    def _nsenter_argv(self, command):
        """``command`` (a list) in the container's namespaces, with the clean environment."""
        return [self._nsenter, "--target", str(self._pid())] + NAMESPACES + ["/usr/bin/env", "-i"] + CLEAN_ENV + command

    def _argv(self, shell_cmd):
        if self._nsenter:
            return self._nsenter_argv(["/bin/sh", "-c", shell_cmd])
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

    def exec_command(self, cmd, in_data=None, sudoable=False):
        super().exec_command(cmd, in_data=in_data, sudoable=sudoable)
        match = PIPELINED_MODULE.match(cmd) if in_data else None
        if match and self._nsenter and self.get_option("module_server"):
            try:
                return self._run_in_server(match.group(1), in_data)
            except ServerUnavailable as exc:
                display.vvv("module server: %s; running the module through nsenter" % exc, host=self._container())
        return self._run(cmd, in_data)

    # The module server (plugins/plugin_utils/module_server.py).

    def _server_paths(self, interpreter):
        name = client.fingerprint(interpreter, self._preload())
        root = "/proc/%d/root" % self._pid()
        return root, SERVER_DIR + "/" + name

    def _preload(self):
        return list(self.get_option("module_server_preload") or [])

    def _start_server(self, root, base, interpreter, in_data):
        """Copy the server into the container and start it there; the first payload's zip is what it
        imports ansible.module_utils from."""
        args = [interpreter, base + ".py", base + ".sock"]
        try:
            os.makedirs(root + SERVER_DIR, mode=0o700, exist_ok=True)
            with open(module_server.__file__, "rb") as handle:
                source = handle.read()
            with open(root + base + ".py", "wb") as handle:
                handle.write(source)
            zip_data = client.payload_zip(in_data)
            if zip_data:
                with open(root + base + ".zip", "wb") as handle:
                    handle.write(zip_data)
        except (OSError, ValueError) as exc:
            raise ServerUnavailable("cannot copy it into the container: %s" % exc) from exc
        args += [base + ".zip" if zip_data else ""] + self._preload()
        argv = self._nsenter_argv(args)
        display.vvv("START module server %s" % " ".join(shlex.quote(a) for a in argv), host=self._container())
        try:
            proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, check=False, timeout=60)
        except subprocess.TimeoutExpired as exc:
            raise ServerUnavailable("it did not answer within 60 s") from exc
        if proc.returncode != 0 or not proc.stdout.startswith(b"ready "):
            raise ServerUnavailable("it did not start: %s" % to_native(proc.stderr or proc.stdout).strip()[-500:])

    def _run_in_server(self, interpreter, in_data):
        root, base = self._server_paths(interpreter)
        sock_path = root + base + ".sock"
        sock = client.connect_or_start(sock_path, self._cache_file() + ".server.lock",
                                       lambda: self._start_server(root, base, interpreter, in_data))
        display.vvv("MODULE SERVER %s (%d bytes)" % (base, len(in_data)), host=self._container())
        try:
            return module_server.request(sock, in_data, dict(item.split("=", 1) for item in CLEAN_ENV))
        except (OSError, ValueError) as exc:
            raise AnsibleConnectionFailure("container %s: module server: %s" % (self._container(), exc)) from exc

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
