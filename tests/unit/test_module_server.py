"""The lab connection's module server (plugins/plugin_utils/module_server.py), run here as a local
process: every run must look like a fresh ``python3`` that read its script from standard input
(exit codes, both outputs, environment, argv, atexit, a clean __main__, standard input empty,
child processes), and a real AnsiballZ payload must give the same result through the server (with
ansible.module_utils imported from its zip) as through a fresh interpreter."""

import base64
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import textwrap

import pytest

from ansible_collections.dualstack.k8s.plugins.plugin_utils.module_server_client import PAYLOAD_ZIP
from ansible_collections.dualstack.k8s.plugins.plugin_utils import module_server

ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "DSK_TEST": "from-request"}


def start(tmp_path, preload_zip=None):
    sock = str(tmp_path / "srv.sock")
    argv = [sys.executable, module_server.__file__, sock] + ([preload_zip] if preload_zip else [])
    proc = subprocess.run(argv, capture_output=True, check=True, timeout=60, env=dict(os.environ, DSK_TEST="server"))
    word, pid = proc.stdout.split()
    assert word == b"ready" and stat.S_ISSOCK(os.stat(sock).st_mode)
    return sock, int(pid)


@pytest.fixture()
def server(tmp_path):
    sock, pid = start(tmp_path)
    yield sock
    os.kill(pid, signal.SIGTERM)


def run(sock_path, source, env=None):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(sock_path)
    return module_server.request(sock, textwrap.dedent(source).encode(), env or ENV)


def test_exit_codes_and_both_outputs(server):
    assert run(server, "import sys\nprint('out')\nsys.stderr.write('err\\n')\nsys.exit(3)\n") == (3, b"out\n", b"err\n")
    assert run(server, "print('no exit')\n") == (0, b"no exit\n", b"")
    assert run(server, "import sys\nsys.exit('a message')\n") == (1, b"", b"a message\n")
    rc, out, err = run(server, "raise RuntimeError('boom')\n")
    assert rc == 1 and out == b"" and b"RuntimeError: boom" in err and b"Traceback" in err
    assert run(server, "import os\nprint('lost', flush=True)\nos._exit(5)\n") == (5, b"lost\n", b"")
    rc, out, err = run(server, "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n")
    assert rc == 128 + signal.SIGKILL


def test_a_run_sees_a_fresh_interpreter(server):
    source = """
        import json, os, sys, __main__
        print(json.dumps({"argv": sys.argv, "env": os.environ.get("DSK_TEST"), "stdin": sys.stdin.read(),
                          "leftover": hasattr(__main__, "MARK"), "cwd": os.getcwd(), "path0": sys.path[0]}))
        MARK = 1
    """
    first = json.loads(run(server, source)[1])
    assert first == {"argv": [""], "env": "from-request", "stdin": "", "leftover": False, "cwd": "/", "path0": ""}
    assert json.loads(run(server, source)[1])["leftover"] is False  # nothing carried over from a run


def test_atexit_runs_and_child_processes_are_waited_for(server, tmp_path):
    marker = tmp_path / "atexit"
    source = f"""
        import atexit, subprocess
        atexit.register(lambda: open({str(marker)!r}, "w").write("done"))
        print(subprocess.run(["sh", "-c", "exit 7"]).returncode)
    """
    assert run(server, source) == (0, b"7\n", b"")
    assert marker.read_text() == "done"


def test_large_outputs_and_concurrent_runs(server):
    source = "import sys\nsys.stdout.write('x' * 3000000)\nsys.stderr.write('y' * 100000)\n"
    socks = []
    for dummy in range(4):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(server)
        socks.append(sock)
    results = [module_server.request(sock, source.encode(), ENV) for sock in socks]
    assert all(r == (0, b"x" * 3000000, b"y" * 100000) for r in results)


def test_a_cut_reply_is_an_error():
    import threading

    def answer(sock, reply):
        with sock:
            while sock.recv(65536):
                pass
            sock.sendall(reply)

    for reply, message in ((b'{"rc": 0, "stdout": 10, "stderr": 0}\nshort', "cut short"), (b"", "no result")):
        left, right = socket.socketpair()
        thread = threading.Thread(target=answer, args=(right, reply))
        thread.start()
        with pytest.raises(ValueError, match=message):
            module_server.request(left, b"print(1)", ENV)
        thread.join()


def test_a_real_ansiballz_payload_gives_the_same_result(tmp_path):
    """Capture the payload ansible-core pipes into the interpreter, then run it fresh and twice through
    a server that imported ansible.module_utils from the payload's zip."""
    capture = tmp_path / "payload.py"
    wrapper = tmp_path / "python-tee"
    wrapper.write_text(f"#!/bin/sh\ntee {capture} | {sys.executable} \"$@\"\n")
    wrapper.chmod(0o755)
    bindir = os.path.dirname(sys.executable)
    subprocess.run([os.path.join(bindir, "ansible"), "localhost", "-i", "localhost,", "-c", "local", "-m", "ping",
                    "-a", "data=through-the-server", "-e", f"ansible_python_interpreter={wrapper}"],
                   check=True, capture_output=True, timeout=120, env=dict(os.environ, ANSIBLE_PIPELINING="1"))
    payload = capture.read_bytes()
    found = PAYLOAD_ZIP.search(payload)
    assert found, "the payload's zip_data was not found (ansible-core changed the AnsiballZ wrapper?)"
    preload = tmp_path / "preload.zip"
    preload.write_bytes(base64.b64decode(found.group(2)))
    fresh = subprocess.run([sys.executable], input=payload, capture_output=True, check=False, env=ENV, cwd="/")
    sock, pid = start(tmp_path, str(preload))
    try:
        for dummy in range(2):
            conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            conn.connect(sock)
            rc, out, err = module_server.request(conn, payload, ENV)
            assert (rc, err) == (fresh.returncode, fresh.stderr) == (0, b"")
            assert json.loads(out)["ping"] == json.loads(fresh.stdout)["ping"] == "through-the-server"
    finally:
        os.kill(pid, signal.SIGTERM)
