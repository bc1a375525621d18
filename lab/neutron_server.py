# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A real neutron-server on 127.0.0.1 for tests and the lab.

Run with the neutron virtualenv's python (``.cache/neutron-venv/bin/python``):

    python lab/neutron_server.py --state-dir .cache/neutron [--port 0] [--port-file F]
                                 [--bootstrap-external] [--clouds-yaml F --cloud lab]

It writes neutron.conf, ml2_conf.ini and api-paste.ini into the state dir, creates the
SQLite schema from the models (alembic migrations fail on SQLite), and serves
``neutron.wsgi.api:application`` single-threaded (SQLite locks under threads).

The application is wrapped in a request-counting middleware:
``GET /__dualstack/requests`` returns ``{"GET": n, "POST": n, ...}`` and
``DELETE /__dualstack/requests`` resets the counters; neither call is counted.
``GET /__dualstack/timing`` returns the seconds Neutron spent per method since the reset.

The module also works as a library from any python (``write_config``, ``write_clouds_yaml``,
``bootstrap_external``, ``RequestCounter``); only ``serve`` needs neutron importable.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import sys
import threading
import time

COUNTER_PATH = "/__dualstack/requests"
FAULT_PATH = "/__dualstack/fault"
TIMING_PATH = "/__dualstack/timing"
EXTERNAL_NETWORK = "public"
EXTERNAL_V4 = "172.30.152.0/24"
EXTERNAL_V6 = "fd54:152::/120"


class RequestCounter:
    """WSGI middleware counting requests per HTTP method.

    Also a fault switch for tests, ``POST /__dualstack/fault`` with JSON
    ``{"die_after_writes": N, "when": "before"|"after"}``: the process exits (like a crash or a
    ``kill -9``) at the N-th changing request from now, either before Neutron sees it or after
    Neutron committed it but before the answer is sent.
    """

    def __init__(self, app):
        self.app = app
        self.counts: dict[str, int] = {}
        self.seconds: dict[str, float] = {}
        self._lock = threading.Lock()
        self._fault = None

    def reset(self) -> None:
        with self._lock:
            self.counts.clear()
            self.seconds.clear()

    def __call__(self, environ, start_response):
        method = environ.get("REQUEST_METHOD", "GET").upper()
        path = environ.get("PATH_INFO", "").rstrip("/")
        if path == FAULT_PATH:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            fault = json.loads(environ["wsgi.input"].read(length) or b"{}") if method == "POST" else None
            self._fault = [int(fault["die_after_writes"]), fault.get("when", "before")] if fault else None
            start_response("204 No Content", [])
            return [b""]
        if path in (COUNTER_PATH, TIMING_PATH):
            if method == "DELETE":
                self.reset()
            with self._lock:
                data = self.counts if path == COUNTER_PATH else {m: round(t, 3) for m, t in self.seconds.items()}
                body = json.dumps(data).encode()
            start_response("200 OK", [("Content-Type", "application/json"),
                                      ("Content-Length", str(len(body)))])
            return [body]
        with self._lock:
            self.counts[method] = self.counts.get(method, 0) + 1
        if self._fault and method != "GET":
            self._fault[0] -= 1
            if self._fault[0] <= 0:
                if self._fault[1] == "before":
                    os._exit(3)
                body = b"".join(self.app(environ, lambda *a, **k: None))  # committed, never answered
                del body
                os._exit(3)
        started = time.monotonic()
        try:
            return list(self.app(environ, start_response))
        finally:
            with self._lock:
                self.seconds[method] = self.seconds.get(method, 0.0) + time.monotonic() - started


def _venv_prefix() -> str:
    return sys.prefix


def write_config(state_dir: str, venv_prefix: str | None = None) -> dict[str, str]:
    """Write neutron.conf, ml2_conf.ini and api-paste.ini; return their paths."""
    state_dir = os.path.abspath(state_dir)
    os.makedirs(os.path.join(state_dir, "lock"), exist_ok=True)
    prefix = venv_prefix or _venv_prefix()
    paste_src = os.path.join(prefix, "etc", "neutron", "api-paste.ini")
    paste = os.path.join(state_dir, "api-paste.ini")
    shutil.copyfile(paste_src, paste)
    db = os.path.join(state_dir, "neutron.db")
    conf = os.path.join(state_dir, "neutron.conf")
    with open(conf, "w", encoding="utf-8") as fh:
        fh.write(f"""[DEFAULT]
core_plugin = ml2
service_plugins = router
auth_strategy = noauth
transport_url = fake:/
notify_nova_on_port_status_changes = false
notify_nova_on_port_data_changes = false
# no agents in this server: do not try to schedule DHCP for every port and subnet
dhcp_agent_notification = false
api_paste_config = {paste}
use_stderr = true
debug = false
log_file =

[database]
connection = sqlite:///{db}

[oslo_concurrency]
lock_path = {os.path.join(state_dir, "lock")}
""")
    ml2 = os.path.join(state_dir, "ml2_conf.ini")
    with open(ml2, "w", encoding="utf-8") as fh:
        fh.write("""[ml2]
type_drivers = flat,vlan,vxlan
tenant_network_types = vxlan
mechanism_drivers =
extension_drivers = port_security

[ml2_type_vxlan]
vni_ranges = 1:1000

[ml2_type_flat]
flat_networks = public
""")
    return {"conf": conf, "ml2": ml2, "paste": paste, "db": db, "dir": state_dir}


def create_schema(db_path: str) -> None:
    import sqlalchemy
    from neutron.db.migration.models import head

    engine = sqlalchemy.create_engine(f"sqlite:///{db_path}")
    head.get_metadata().create_all(engine)
    engine.dispose()


def load_application(paths: dict[str, str]):
    """Import neutron with our config and return the WSGI application."""
    os.environ["OS_NEUTRON_CONFIG_DIR"] = paths["dir"]
    os.environ["OS_NEUTRON_CONFIG_FILES"] = "neutron.conf;ml2_conf.ini"
    sys.argv = sys.argv[:1]  # neutron parses sys.argv at import
    from neutron.wsgi import api  # pylint: disable=import-outside-toplevel

    return api.application


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_clouds_yaml(path: str, port: int, cloud: str = "lab") -> str:
    """clouds.yaml for openstacksdk/Ansible: no auth, network endpoint on loopback."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(f"""clouds:
  {cloud}:
    auth_type: none
    network_endpoint_override: http://127.0.0.1:{port}/
    region_name: RegionOne
""")
    return path


def bootstrap_external(port: int, name: str = EXTERNAL_NETWORK,
                       v4: str = EXTERNAL_V4, v6: str | None = EXTERNAL_V6) -> dict:
    """Create (idempotently) the flat router:external network with a v4 and a v6 subnet."""
    import openstack  # pylint: disable=import-outside-toplevel

    conn = openstack.connect(auth_type="none", network_endpoint_override=f"http://127.0.0.1:{port}/")
    net = conn.network.find_network(name)
    if net is None:
        net = conn.network.create_network(
            name=name, is_router_external=True, provider_network_type="flat",
            provider_physical_network="public", is_shared=False)
    subnets = {s.ip_version: s for s in conn.network.subnets(network_id=net.id)}
    for version, cidr in ((4, v4), (6, v6)):
        if cidr and version not in subnets:
            kwargs = {"ipv6_ra_mode": "dhcpv6-stateful", "ipv6_address_mode": "dhcpv6-stateful"} if version == 6 else {}
            subnets[version] = conn.network.create_subnet(
                network_id=net.id, name=f"{name}-v{version}", ip_version=version, cidr=cidr,
                is_dhcp_enabled=version == 6, **kwargs)
    conn.close()
    return {"network_id": net.id, "subnets": {v: s.id for v, s in subnets.items()}}


def serve(state_dir: str, port: int = 0, port_file: str | None = None, ready=None):
    """Configure, create the schema and serve forever (single-threaded)."""
    from wsgiref import simple_server  # pylint: disable=import-outside-toplevel

    paths = write_config(state_dir)
    create_schema(paths["db"])
    app = RequestCounter(load_application(paths))

    class QuietHandler(simple_server.WSGIRequestHandler):
        def log_message(self, *args):  # noqa: D401 - silence access log
            pass

    httpd = simple_server.make_server("127.0.0.1", port, app, handler_class=QuietHandler)
    bound = httpd.server_address[1]
    if port_file:
        tmp = port_file + ".tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(f"{bound}\n")
        os.replace(tmp, port_file)
    print(f"neutron-server listening on http://127.0.0.1:{bound}/", flush=True)
    if ready is not None:
        ready(bound)
    signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        httpd.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        httpd.server_close()


def _exit_on_signal(*_args):
    raise SystemExit(0)


def exit_with_parent(interval: float = 1.0) -> None:
    """Exit when the process that started us is gone (no orphaned servers after a killed pytest)."""
    parent = os.getppid()

    def watch():
        while True:
            time.sleep(interval)
            if os.getppid() != parent:
                os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--port", type=int, default=0, help="0 = pick a free port")
    parser.add_argument("--port-file", help="write the bound port here once listening")
    parser.add_argument("--bootstrap-external", action="store_true",
                        help=f"create the external network '{EXTERNAL_NETWORK}' (v4 + v6 subnet)")
    parser.add_argument("--external-v4", default=EXTERNAL_V4)
    parser.add_argument("--external-v6", default=EXTERNAL_V6)
    parser.add_argument("--clouds-yaml", help="write a clouds.yaml entry for this server")
    parser.add_argument("--cloud", default="lab", help="clouds.yaml entry name")
    parser.add_argument("--exit-with-parent", action="store_true",
                        help="stop when the parent process exits (used by the pytest fixture)")
    args = parser.parse_args(argv)
    if args.exit_with_parent:
        exit_with_parent()

    def ready(bound):
        if args.clouds_yaml:
            write_clouds_yaml(args.clouds_yaml, bound, args.cloud)
        if args.bootstrap_external:
            # The server is single-threaded: bootstrap from a helper thread once it serves.
            threading.Thread(target=_bootstrap_when_up, args=(bound, args), daemon=True).start()

    serve(args.state_dir, args.port, args.port_file, ready)
    return 0


def _bootstrap_when_up(port, args):
    try:
        info = bootstrap_external(port, v4=args.external_v4, v6=args.external_v6 or None)
        print(f"external network ready: {json.dumps(info)}", flush=True)
    except Exception as exc:  # noqa: BLE001 - report and keep serving
        print(f"bootstrap of external network failed: {exc}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
