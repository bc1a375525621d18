"""Benchmark: cold `lab up` + site run, warm re-runs, on the embedded lab (config/config.toml or
$DUALSTACK_CONFIG), over the lab's harness connection (root through nsenter) and over SSH as the user
`dsk` with sudo (DUALSTACK_LAB_CONNECTION=ssh), the way users reach their hosts.

For each connection: `lab down` (the image and virtualenvs stay cached), `lab up` (containers, SSH
user, stand-ins), a cold site run, the lab's WireGuard client (`lab client`), then warm site runs
(default 3; a run varies by about a second on a busy 2-core machine; the median is reported). Over
SSH, ansible-core's defaults apply: pipelining (ansible.cfg) and ControlPersist=60s, so a warm run
started within a minute of the last one reuses its SSH connections, as a user's would. Ends with
the lab up, so `lab/lab.py summary` can be read afterwards.

    .venv/bin/python benchmarks/lab_bench.py [--connection podman|ssh|both] [--warm N]
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
import tomllib

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(REPO, ".venv", "bin")


def run(connection, *cmd):
    env = dict(os.environ, CONTAINERS_CONF=os.path.join(REPO, "lab", "containers.conf"),
               DUALSTACK_LAB_CONNECTION=connection)
    t0 = time.perf_counter()
    res = subprocess.run(list(cmd), cwd=REPO, env=env, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise SystemExit("%s failed:\n%s\n%s" % (" ".join(cmd), res.stdout[-3000:], res.stderr[-2000:]))
    return time.perf_counter() - t0, res.stdout


def changed(output):
    return sum(int(n) for n in re.findall(r"changed=(\d+)", output.split("PLAY RECAP")[-1]))


def bench(connection, warm_count):
    lab = [os.path.join(VENV, "python"), "lab/lab.py"]
    site = [os.path.join(VENV, "ansible-playbook"), "playbooks/site.yml"]
    run(connection, *(lab + ["down"]))
    up, _out = run(connection, *(lab + ["up"]))
    cold, out = run(connection, *site)
    client, _out = run(connection, *(lab + ["client"]))
    warm_runs = [run(connection, *site) for _run in range(warm_count)]
    warm = statistics.median(seconds for seconds, _out in warm_runs)
    print("== connection %s" % connection)
    print("lab up (image cached, stand-ins): %.1f s" % up)
    print("cold site run: %.1f s (changed=%d)" % (cold, changed(out)))
    print("lab client (WireGuard client): %.1f s" % client)
    print("cold lab up + site run: %.1f s" % (up + cold))
    print("warm site runs: %s (changed=%s)" % (" ".join("%.1f s" % seconds for seconds, _out in warm_runs),
                                               "/".join(str(changed(o)) for _s, o in warm_runs)))
    print("warm site run, median: %.1f s, %.0f %% of the cold lab up + site run" % (warm, 100 * warm / (up + cold)),
          flush=True)
    return {"up": up, "cold": cold, "client": client, "warm": warm}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--connection", choices=["podman", "ssh", "both"], default="both")
    parser.add_argument("--warm", type=int, default=3, help="warm site runs (median reported)")
    args = parser.parse_args()
    sys.path.insert(0, os.path.join(REPO, ".collections"))
    from ansible_collections.dualstack.k8s.plugins.plugin_utils.config import config_path
    with open(config_path(), "rb") as handle:
        cluster = tomllib.load(handle)["cluster"]["name"]
    os.environ.setdefault("OS_CLIENT_CONFIG_FILE", os.path.join(REPO, ".cache", "lab", cluster, "clouds.yaml"))
    results = {}
    for connection in (["podman", "ssh"] if args.connection == "both" else [args.connection]):
        results[connection] = bench(connection, args.warm)
    if len(results) == 2:
        print("== ssh / harness: cold lab up + site run %.2fx, warm site run %.2fx" % (
            (results["ssh"]["up"] + results["ssh"]["cold"]) / (results["podman"]["up"] + results["podman"]["cold"]),
            results["ssh"]["warm"] / results["podman"]["warm"]))


if __name__ == "__main__":
    main()
