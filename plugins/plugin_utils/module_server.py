# -*- coding: utf-8 -*-
# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A module server for the connections ``dualstack.k8s.podman_exec`` (the lab's containers) and
``dualstack.k8s.local_server`` (localhost, on the controller).

``podman_exec`` copies this file into a lab container and starts it there (inside the container's
namespaces) the first time a pipelined module runs on that container; it listens on a unix socket
in the container's /run. ``local_server`` starts it on the controller with the playbook's Python,
its socket in ``local_dir()`` (0700); ``lab down`` stops it (``stop_servers``). For each module run it receives the AnsiballZ payload that a fresh
``python3`` would read from its standard input, and runs it in a forked child, with standard input
from /dev/null, standard output and error captured, the given environment and ``sys.argv == ['']``,
exactly as ``/bin/sh -c '/usr/bin/python3 && sleep 0'`` would. It answers with the exit code and
both outputs.

What it saves is the interpreter start and the imports every module repeats: the server imports the
standard library modules that modules use and ``ansible.module_utils.basic`` (from the first
payload's own zip) once, and every run is a fork of that state. The socket name carries a
fingerprint of the controller's ansible-core and of this file, so a different controller gets a
server of its own. Anything ``ansible.*`` the server did not import is found in the zip of the
payload being run. Modules named after the zip on the command line are imported too (python3-apt in
the containers, openstacksdk on the controller). A preloaded module is the version installed when the
server started; a server lives until 30 idle minutes have passed (or ``lab down``).

Only standard library; runs on the container's Python 3.
"""
from __future__ import annotations

import atexit
import builtins
import json
import os
import signal
import socket
import sys
import tempfile
import traceback
import types
import zipimport

# Imported once by the server; each module run starts with them loaded.
PRELOAD_STDLIB = (
    "abc", "argparse", "ast", "base64", "collections", "contextlib", "copy", "ctypes", "dataclasses",
    "datetime", "enum", "errno", "fcntl", "functools", "glob", "grp", "hashlib", "importlib",
    "importlib.util", "inspect", "io", "itertools", "json", "locale", "numbers", "operator",
    "pathlib", "platform", "pwd", "re", "runpy", "select", "selectors", "shlex", "shutil", "stat",
    "string", "struct", "subprocess", "syslog", "tempfile", "textwrap", "threading", "time",
    "traceback", "typing", "uuid", "warnings", "zipfile", "zipimport",
)
PRELOAD_ANSIBLE = ("ansible.module_utils.basic", "ansible.module_utils._internal._ansiballz._loader")
MAX_HEADER = 1 << 20
IDLE_EXIT = 1800  # seconds without a request, then the server goes away


class PayloadFinder:
    """Finds an ``ansible.*`` module the server did not import in the running payload's zip.

    The packages the server imported have a ``__path__`` into the first payload's zip only; the
    AnsiballZ wrapper of each run puts its own zip on ``sys.path``, and this finder looks there.
    """

    preload_zip = None

    @classmethod
    def find_spec(cls, fullname, path=None, target=None):
        if not fullname.startswith("ansible."):
            return None
        parent = fullname.rpartition(".")[0].replace(".", "/")
        for entry in sys.path:
            if not entry.endswith(".zip") or entry == cls.preload_zip or not os.path.isfile(entry):
                continue
            try:
                spec = zipimport.zipimporter(entry + "/" + parent + "/").find_spec(fullname)
            except zipimport.ZipImportError:
                continue
            if spec is not None:
                return spec
        return None


def _import_all(names):
    for name in names:
        try:
            __import__(name)
        except Exception:  # pylint: disable=broad-except
            pass


def preload(preload_zip, extra=()):
    """Import the standard library list, then ansible.module_utils from the first payload's zip, then
    the ``extra`` modules (from the server's own sys.path; one that fails to import is left out)."""
    _import_all(PRELOAD_STDLIB)
    if preload_zip and os.path.isfile(preload_zip):
        PayloadFinder.preload_zip = preload_zip
        sys.path.insert(0, preload_zip)
        try:
            for name in PRELOAD_ANSIBLE:
                __import__(name)
        except Exception:  # pylint: disable=broad-except
            # A half-imported ansible would be worse than none: every run imports it from its own zip.
            for name in [n for n in sys.modules if n == "ansible" or n.startswith("ansible.")]:
                del sys.modules[name]
        finally:
            sys.path.remove(preload_zip)
    _import_all(extra)


def _read_exact(conn, size):
    chunks = []
    while size:
        chunk = conn.recv(min(size, 1 << 20))
        if not chunk:
            raise EOFError("the request ended early")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _read_header(conn):
    data = b""
    while b"\n" not in data:
        chunk = conn.recv(4096)
        if not chunk or len(data) > MAX_HEADER:
            raise EOFError("no request header")
        data += chunk
    line, rest = data.split(b"\n", 1)
    return json.loads(line), rest


def _exit_code(exc):
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    sys.stderr.write("%s\n" % (code,))
    return 1


def run_payload(payload, env, cwd, path, out_fd, err_fd):
    """In the forked child: become a fresh ``python3`` that read ``payload`` from standard input."""
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(out_fd, 1)
    os.dup2(err_fd, 2)
    for fd in (devnull, out_fd, err_fd):
        os.close(fd)
    os.environ.clear()
    os.environ.update(env)
    try:
        os.chdir(cwd)
    except OSError:
        os.chdir("/")
    sys.argv = [""]
    sys.path[:] = path
    main = types.ModuleType("__main__")
    main.__builtins__ = builtins
    sys.modules["__main__"] = main
    sys.meta_path.insert(0, PayloadFinder)
    code = 0
    try:
        exec(compile(payload, "<stdin>", "exec"), main.__dict__)  # pylint: disable=exec-used
    except SystemExit as exc:
        code = _exit_code(exc)
    except BaseException:  # pylint: disable=broad-except
        traceback.print_exc()
        code = 1
    try:
        atexit._run_exitfuncs()  # pylint: disable=protected-access
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # pylint: disable=broad-except
                pass
        os._exit(code)


def _drain(fd):
    os.lseek(fd, 0, os.SEEK_SET)
    chunks = []
    while True:
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def handle(conn, path):
    """One request: header line, payload; answer header line, stdout, stderr."""
    request, rest = _read_header(conn)
    size = int(request["size"])
    payload = rest + _read_exact(conn, size - len(rest)) if size > len(rest) else rest[:size]
    out_fd = os.memfd_create("stdout")
    err_fd = os.memfd_create("stderr")
    pid = os.fork()
    if pid == 0:
        conn.close()
        run_payload(payload, request.get("env") or {}, request.get("cwd") or "/", path, out_fd, err_fd)
    dummy, status = os.waitpid(pid, 0)
    rc = os.waitstatus_to_exitcode(status)
    if rc < 0:
        rc = 128 - rc  # what /bin/sh reports for a child killed by a signal
    out, err = _drain(out_fd), _drain(err_fd)
    conn.sendall(json.dumps({"rc": rc, "stdout": len(out), "stderr": len(err)}).encode() + b"\n" + out + err)


def request(sock, payload, env, cwd="/"):
    """The client side (the connection plugin, on the controller): send one payload on a connected
    socket, return ``(rc, stdout, stderr)``. Raises OSError, or ValueError on a malformed reply."""
    with sock:
        sock.sendall(json.dumps({"size": len(payload), "env": env, "cwd": cwd}).encode() + b"\n" + payload)
        sock.shutdown(socket.SHUT_WR)
        reply = b"".join(iter(lambda: sock.recv(1 << 20), b""))
    line, sep, data = reply.partition(b"\n")
    try:
        result = json.loads(line)
        out_len, err_len = int(result["stdout"]), int(result["stderr"])
        rc = int(result["rc"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError("no result in the reply (%r)" % reply[:200]) from exc
    if not sep or len(data) != out_len + err_len:
        raise ValueError("the reply is cut short (%d of %d bytes)" % (len(data), out_len + err_len))
    return rc, data[:out_len], data[out_len:]


def serve(listener, path):
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # handlers are reaped by the kernel
    listener.settimeout(IDLE_EXIT)
    while True:
        try:
            conn, dummy = listener.accept()
        except socket.timeout:
            return
        if os.fork() == 0:
            listener.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            conn.settimeout(None)
            try:
                handle(conn, path)
            except Exception:  # pylint: disable=broad-except
                pass
            finally:
                os._exit(0)
        conn.close()


def main(argv):
    """``module_server.py SOCKET [PRELOAD_ZIP [MODULE ...]]``: prints ``ready PID`` once it listens,
    then detaches. The MODULEs are imported after ansible.module_utils (``dualstack.k8s.local_server``
    preloads openstack for the Neutron modules)."""
    sock_path = argv[1]
    preload_zip = argv[2] if len(argv) > 2 else ""
    # What a fresh `python3` reading its script from standard input has on sys.path.
    path = [""] + sys.path[1:]
    preload(preload_zip, argv[3:])
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        os.unlink(sock_path)
    except FileNotFoundError:
        pass
    old_umask = os.umask(0o077)
    listener.bind(sock_path)
    os.umask(old_umask)
    listener.listen(64)
    pid = os.fork()
    if pid:
        with open(sock_path + ".pid", "w", encoding="ascii") as handle:
            handle.write("%d\n" % pid)
        sys.stdout.write("ready %d\n" % pid)
        sys.stdout.flush()
        os._exit(0)
    os.setsid()
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    os.chdir("/")
    try:
        serve(listener, path)
    finally:
        for name in (sock_path, sock_path + ".pid"):
            try:
                os.unlink(name)
            except OSError:
                pass


def local_dir():
    """Where ``dualstack.k8s.local_server`` keeps this user's servers on the controller (mode 0700)."""
    return os.path.join(tempfile.gettempdir(), "dualstack-modsrv-%d" % os.geteuid())


def stop_servers(directory):
    """Stop every module server with a pid file in ``directory`` (``lab down`` stops the controller's).
    Modules already running finish; the next one starts a new server. Returns how many were stopped."""
    stopped = 0
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return 0
    for name in names:
        if not name.endswith(".sock.pid"):
            continue
        base = os.path.join(directory, name[:-len(".sock.pid")])
        try:
            with open(base + ".sock.pid", encoding="ascii") as handle:
                pid = int(handle.read().strip())
            with open("/proc/%d/cmdline" % pid, "rb") as handle:
                ours = b"module_server.py" in handle.read()
        except (OSError, ValueError):
            ours = False
        if ours:
            try:
                os.kill(pid, signal.SIGTERM)
                stopped += 1
            except ProcessLookupError:
                pass
        for path in (base + ".sock", base + ".sock.pid", base + ".zip", base + ".lock"):
            try:
                os.unlink(path)
            except OSError:
                pass
    return stopped


if __name__ == "__main__":
    main(sys.argv)
