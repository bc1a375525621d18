"""Benchmark: load + validate + plan a 1 000-node config, and `ansible-inventory --list` on it.

    .venv/bin/python benchmarks/plan_bench.py [--nodes 1000] [--repeat 5]

Prints wall times (best and median of --repeat runs) and the peak memory of the plan step
(tracemalloc, and the process's max RSS).
"""

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, ".collections"))

from ansible_collections.dualstack.k8s.plugins.plugin_utils.plan import load_plan  # noqa: E402

CONFIG = """
[cluster]
name = "big"
ip_families = ["ipv4", "ipv6"]
[network]
ipv4_cidr = "10.10.0.0/20"
ipv6_cidr = "fd10:10::/64"
[gateways]
count = 3
[wireguard]
ipv4_cidr = "10.11.0.0/22"
ipv6_cidr = "fd10:11::/120"
%(peers)s
[kubernetes]
control_plane_count = 3
worker_count = %(workers)d
pod_subnet_v4 = "10.128.0.0/12"
pod_subnet_v6 = "fd10:244::/56"
service_subnet_v4 = "10.96.0.0/16"
service_subnet_v6 = "fd10:96::/108"
"""


def key(i):
    """A distinct, well-formed WireGuard public key per peer (validation refuses duplicates)."""
    import base64
    return base64.b64encode(bytes([i % 256, i // 256]) + bytes(30)).decode()


def write_config(path, nodes):
    peers = "\n".join('[[wireguard.peers]]\nname = "p%d"\npublic_key = "%s"' % (i, key(i)) for i in range(50))
    with open(path, "w") as handle:
        handle.write(CONFIG % {"workers": nodes - 6, "peers": peers})


def timed(func, repeat):
    times = []
    for _i in range(repeat):
        t0 = time.perf_counter()
        func()
        times.append(time.perf_counter() - t0)
    return min(times), statistics.median(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "big.toml")
        write_config(path, args.nodes)
        plan = load_plan(path)
        assert len(plan["hosts"]) == args.nodes
        best, median = timed(lambda: load_plan(path), args.repeat)
        tracemalloc.start()
        load_plan(path)
        _cur, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        print("load + validate + plan, %d nodes: best %.3f s, median %.3f s; peak Python allocations %.1f MiB, "
              "process max RSS %.1f MiB" % (args.nodes, best, median, peak / 2**20, rss))
        inv = os.path.join(os.path.dirname(sys.executable), "ansible-inventory")
        env = dict(os.environ, DUALSTACK_CONFIG=path)

        # Each host gets its own slice of the plan (plugins/plugin_utils/role_inputs.py), so both --list
        # (group vars merged into every host) and --list --export grow linearly with the nodes:
        # measured at a tenth of the nodes and at all of them.
        for nodes in sorted({max(10, args.nodes // 10), args.nodes}):
            cfg = os.path.join(tmp, "n%d.toml" % nodes)
            write_config(cfg, nodes)
            for args_ in (["--list"], ["--list", "--export"], ["--graph"]):
                sizes = []

                def inventory():
                    sizes.append(len(subprocess.run([inv] + args_, cwd=REPO, env=dict(env, DUALSTACK_CONFIG=cfg),
                                                    check=True, capture_output=True).stdout))
                best, median = timed(inventory, max(1, args.repeat // 2))
                print("ansible-inventory %s, %d nodes: best %.2f s, median %.2f s, %.2f MiB of output" % (
                    " ".join(args_), nodes, best, median, sizes[-1] / 2**20))
        empty = dict(env, DUALSTACK_CONFIG=os.path.join(REPO, "config", "examples", "ipv4-only.toml"))
        t0 = time.perf_counter()
        subprocess.run([inv, "--graph"], cwd=REPO, env=empty, check=True, capture_output=True)
        print("ansible-inventory --graph, 5 nodes (start-up baseline): %.2f s" % (time.perf_counter() - t0))


if __name__ == "__main__":
    main()
