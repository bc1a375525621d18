"""Ingress requests/s through HAProxy over IPv6 with PROXY protocol v2, on the embedded lab.

    DUALSTACK_CONFIG=tests/integration/lab/ingress.toml .venv/bin/python lab/lab.py up
    DUALSTACK_CONFIG=tests/integration/lab/ingress.toml .venv/bin/ansible-playbook playbooks/gateways.yml
    DUALSTACK_CONFIG=tests/integration/lab/ingress.toml .venv/bin/python benchmarks/ingress_bench.py [--seconds 5]

(tests/integration/lab/test_lab_ingress.py runs the same measurement on its own lab.) The client is the lab's
IPv6-only ingress client (lab.ingress_client) on the external network; the target the first ingress
frontend on the public IPv6 VIP; the backend the stand-in lab/standins/proxy_echo.py on the NodePort,
which answers only after a valid PROXY v2 header. Each request is a new TCP connection (HTTP/1.0, as
an ingress sees new clients), from a fixed number of concurrent workers; every answer must carry the
client's own IPv6 address. Bounded: at most --count requests and --seconds seconds. Lab addresses only.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, ".collections"))

# Runs inside the client container (python3 of the lab image, standard library only).
CLIENT = r"""
import json, socket, sys, threading, time
host, port, count, seconds, workers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
request = ("GET /source HTTP/1.0\r\nHost: [%s]\r\n\r\n" % host).encode()
lock = threading.Lock()
state = {"sent": 0, "ok": 0, "bad": 0, "errors": 0, "sources": set()}
deadline = time.monotonic() + seconds
def worker():
    while True:
        with lock:
            if state["sent"] >= count or time.monotonic() > deadline:
                return
            state["sent"] += 1
        try:
            with socket.create_connection((host, port), timeout=3) as s:
                s.sendall(request)
                data = b""
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            good = head.startswith(b"HTTP/1.0 200")
            with lock:
                state["ok" if good else "bad"] += 1
                state["sources"].add(body.decode().strip())
        except OSError:
            with lock:
                state["errors"] += 1
t0 = time.monotonic()
threads = [threading.Thread(target=worker) for _ in range(workers)]
for t in threads: t.start()
for t in threads: t.join()
elapsed = time.monotonic() - t0
print(json.dumps({"requests": state["ok"], "bad": state["bad"], "errors": state["errors"], "seconds": round(elapsed, 3),
                  "per_second": round(state["ok"] / elapsed, 1) if elapsed else 0.0, "workers": workers,
                  "sources": sorted(state["sources"])}))
"""


def measure(container, host, port, count=2000, seconds=5.0, workers=4, env=None):
    """Run the bounded request loop in `container` against host:port; returns the result dict."""
    cmd = ["podman", "exec", container, "python3", "-c", CLIENT, host, str(port), str(count), str(seconds),
           str(workers)]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=seconds + 60, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main(argv=None):
    from ansible_collections.dualstack.k8s.plugins.plugin_utils.plan import load_plan

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args(argv)
    plan = load_plan()
    lab = plan["lab"]
    client = lab.get("ingress_client")
    if not client or not plan["ingress"]["frontends"] or not plan["vips"]["public_ipv6"]:
        sys.exit("the config needs [[ingress.frontends]], gateways.public_vip_v6 and lab.ingress_client")
    fe = plan["ingress"]["frontends"][0]
    env = dict(os.environ, CONTAINERS_CONF=os.path.join(REPO, "lab", "containers.conf"))
    result = measure(lab["containers"][client["name"]], plan["vips"]["public_ipv6"], fe["port"], args.count,
                     args.seconds, args.workers, env=env)
    print("ingress over IPv6 with PROXY v2: %(requests)d requests in %(seconds)s s = %(per_second)s req/s "
          "(%(workers)d workers, new connection each; %(bad)d bad, %(errors)d errors)" % result)
    print("client addresses the backend read: %s (client %s)" % (", ".join(result["sources"]), client["ipv6"]))
    return 0 if result["sources"] == [client["ipv6"]] and not result["bad"] and not result["errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
