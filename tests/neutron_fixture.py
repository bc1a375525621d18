# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A real neutron-server on a free 127.0.0.1 port for pytest (and scripts such as the benchmark).

    from tests.neutron_fixture import make_neutron_fixture
    neutron_server = make_neutron_fixture()          # in a conftest.py: session-scoped fixture

The fixture yields a :class:`NeutronServer`: started with SQLite in a temp dir, the external
network ``public`` (flat, physical network ``public``, v4 + v6 subnet) created, ``clouds.yaml``
entry ``lab`` written and ``OS_CLIENT_CONFIG_FILE`` set for the session. It counts requests
(``requests()``, ``reset_requests()``), can be stopped/restarted, and can crash on purpose
(``die_after_writes()``). The server runs with the neutron virtualenv's python
(``.cache/neutron-venv``, requirements/neutron.txt; override with ``DUALSTACK_NEUTRON_PYTHON``).
"""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NEUTRON_PYTHON = Path(os.environ.get("DUALSTACK_NEUTRON_PYTHON", REPO / ".cache/neutron-venv/bin/python"))
SERVER_SCRIPT = REPO / "lab" / "neutron_server.py"


def _load_server_lib():
    spec = importlib.util.spec_from_file_location("dualstack_neutron_server", SERVER_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


server_lib = _load_server_lib()


class NeutronServer:
    """One neutron-server process on 127.0.0.1 with its SQLite state in ``state_dir``."""

    def __init__(self, state_dir, cloud="lab", bootstrap_external=True, python=NEUTRON_PYTHON):
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.cloud = cloud
        self.python = Path(python)
        self.bootstrap = bootstrap_external
        self.clouds_yaml = self.state_dir / "clouds.yaml"
        self.port_file = self.state_dir / "port"
        self.log_file = self.state_dir / "neutron.log"
        self.port = 0
        self.proc = None
        self.external = None

    # -- life cycle ---------------------------------------------------------------------------
    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/"

    @property
    def env(self):
        """Environment for Ansible/openstacksdk subprocesses."""
        return dict(os.environ, OS_CLIENT_CONFIG_FILE=str(self.clouds_yaml))

    def start(self, port=None, timeout=90):
        if not self.python.exists():
            raise FileNotFoundError(
                f"{self.python} missing: python3.11 -m venv .cache/neutron-venv && "
                ".cache/neutron-venv/bin/pip install -r requirements/neutron.txt")
        self.port_file.unlink(missing_ok=True)
        wanted = self.port if port is None else port
        log = open(self.log_file, "ab")  # pylint: disable=consider-using-with
        self.proc = subprocess.Popen(  # pylint: disable=consider-using-with
            [str(self.python), str(SERVER_SCRIPT), "--state-dir", str(self.state_dir),
             "--port", str(wanted or 0), "--port-file", str(self.port_file), "--exit-with-parent"],
            stdout=log, stderr=subprocess.STDOUT, cwd=str(REPO), start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while not self.port_file.exists():
            if self.proc.poll() is not None:
                raise RuntimeError(f"neutron-server exited ({self.proc.returncode}); see {self.log_file}")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"neutron-server did not listen within {timeout}s; see {self.log_file}")
            time.sleep(0.1)
        self.port = int(self.port_file.read_text().strip())
        server_lib.write_clouds_yaml(str(self.clouds_yaml), self.port, self.cloud)
        while True:
            try:
                with urllib.request.urlopen(self.url + "v2.0/networks?limit=1", timeout=10) as resp:
                    if resp.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError):
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"neutron-server not answering on {self.url}; see {self.log_file}")
            time.sleep(0.2)
        if self.bootstrap:
            self.external = server_lib.bootstrap_external(self.port)
        self.reset_requests()
        return self

    def stop(self, timeout=15):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self):
        """Stop (if running) and start again on the same state (same port when it is free)."""
        self.stop()
        try:
            return self.start(port=self.port)
        except (RuntimeError, TimeoutError):
            return self.start(port=0)

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    # -- counters and faults ------------------------------------------------------------------
    def _control(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url.rstrip("/") + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            text = resp.read()
        return json.loads(text) if text else None

    def requests(self):
        """Requests per method since the last reset, e.g. {'GET': 6}."""
        return self._control("GET", server_lib.COUNTER_PATH)

    def timing(self):
        """Seconds Neutron spent answering, per method, since the last reset."""
        return self._control("GET", server_lib.TIMING_PATH)

    def reset_requests(self):
        self._control("DELETE", server_lib.COUNTER_PATH)

    def die_after_writes(self, count, when="after"):
        """Crash the server at the ``count``-th changing request ('before' or 'after' Neutron
        processed it)."""
        self._control("POST", server_lib.FAULT_PATH, {"die_after_writes": count, "when": when})

    def connection(self):
        import openstack  # pylint: disable=import-outside-toplevel

        return openstack.connect(auth_type="none", network_endpoint_override=self.url)


def make_neutron_fixture(name="neutron_server", scope="session", cloud="lab"):
    """A pytest fixture starting one NeutronServer for the ``scope`` and setting
    OS_CLIENT_CONFIG_FILE while it runs. Skips the tests when the neutron venv is missing."""
    import pytest  # pylint: disable=import-outside-toplevel

    @pytest.fixture(scope=scope, name=name)
    def _fixture():
        if not NEUTRON_PYTHON.exists():
            pytest.skip(f"no neutron virtualenv at {NEUTRON_PYTHON} (requirements/neutron.txt)")
        with tempfile.TemporaryDirectory(prefix="dualstack-neutron-") as tmp:
            server = NeutronServer(tmp, cloud=cloud)
            old = os.environ.get("OS_CLIENT_CONFIG_FILE")
            server.start()
            os.environ["OS_CLIENT_CONFIG_FILE"] = str(server.clouds_yaml)
            try:
                yield server
            finally:
                server.stop()
                if old is None:
                    os.environ.pop("OS_CLIENT_CONFIG_FILE", None)
                else:
                    os.environ["OS_CLIENT_CONFIG_FILE"] = old

    return _fixture
