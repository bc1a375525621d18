"""Benchmark: kubeadm + Calico rendering for a 1 000-node cluster (target <= 2 s).

The config is generated here (dual-stack, IPv4 primary, 3 control-plane nodes + 997 workers,
node subnets /20 and /64 with dhcpv6-stateful). Measured, each as the best of --repeat runs:

- plan: config dict -> validated Config -> plan (config.py + rules.py + plan.py: the rules run here,
  once, for context);
- inputs: role_inputs.kubeadm_inputs / calico_inputs for every node (what the inventory sets), with
  the size of the largest and the total as JSON;
- kubeadm: the YAML text of all 1 000 nodes from their plain inputs (render + dump);
- calico: every Calico file of both styles;
- per-node module path: what one host's kubeadm_config run does (argument checks + render of its own
  file from its own slice), for the last worker.

Usage: .venv/bin/python benchmarks/render_bench.py [--repeat N] [--workers N]
"""

import argparse
import json
import os
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, ".collections"))

from ansible_collections.dualstack.k8s.plugins.module_utils import calico as C  # noqa: E402
from ansible_collections.dualstack.k8s.plugins.module_utils import kubeadm as K  # noqa: E402
from ansible_collections.dualstack.k8s.plugins.plugin_utils.config import parse_config  # noqa: E402
from ansible_collections.dualstack.k8s.plugins.plugin_utils.plan import build_plan  # noqa: E402
from ansible_collections.dualstack.k8s.plugins.plugin_utils.role_inputs import calico_inputs, kubeadm_inputs  # noqa: E402


def params(prefix, inputs):
    """Role inputs -> module parameters (what the roles pass)."""
    return dict((k[len(prefix):], v) for k, v in inputs.items() if k.startswith(prefix) and k != "kubeadm_ca_host")


def config(workers):
    return {
        "cluster": {"name": "bench", "ip_families": ["ipv4", "ipv6"]},
        "network": {"ipv4_cidr": "10.128.0.0/20", "ipv6_cidr": "fd00:128::/64", "ipv6_mode": "dhcpv6-stateful"},
        "gateways": {"count": 2},
        "kubernetes": {"control_plane_count": 3, "worker_count": workers,
                       "pod_subnet_v4": "10.244.0.0/16", "pod_subnet_v6": "fdff:2::/56",
                       "service_subnet_v4": "10.96.0.0/12", "service_subnet_v6": "fdff:3::/108",
                       "node_mask_v4": 26},
    }


def best(func, repeat):
    times = []
    result = None
    for dummy in range(repeat):
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
    return min(times), result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--workers", type=int, default=997)
    args = parser.parse_args()

    t_plan, plan = best(lambda: build_plan(parse_config(config(args.workers))), args.repeat)
    nodes = plan["groups"]["k8s_control_plane"] + plan["groups"]["k8s_workers"]
    first = plan["kubernetes"]["first_control_plane"]

    def inputs_all():
        return dict((name, dict(kubeadm_inputs(plan, name), **calico_inputs(plan, name))) for name in nodes)

    t_inputs, inputs = best(inputs_all, args.repeat)
    sizes = [len(json.dumps(v)) for v in inputs.values()]
    node_params = dict((name, params("kubeadm_", inputs[name])) for name in nodes)
    calico = params("calico_", inputs[first])

    def kubeadm_all():
        return [K.render_kubeadm_text(node_params[name]) for name in nodes]

    def calico_all():
        return [C.render_calico_texts(dict(calico, style=style)) for style in C.STYLES]

    def one_node():
        p = node_params[nodes[-1]]
        assert not K.input_errors(p)
        return K.render_kubeadm_text(p)

    t_kubeadm, texts = best(kubeadm_all, args.repeat)
    t_calico, dummy = best(calico_all, args.repeat)
    t_node, dummy = best(one_node, args.repeat)
    total = t_inputs + t_kubeadm + t_calico

    print("nodes: %d Kubernetes nodes (%d hosts in the plan), best of %d runs" % (
        len(nodes), len(plan["hosts"]), args.repeat))
    print("plan (config -> plan, context):        %8.1f ms" % (t_plan * 1000))
    print("role inputs, all nodes:                %8.1f ms  (largest %d bytes, total %d bytes as JSON)" % (
        t_inputs * 1000, max(sizes), sum(sizes)))
    print("kubeadm YAML, all nodes:               %8.1f ms  (%d files, %d bytes)" % (
        t_kubeadm * 1000, len(texts), sum(len(t) for t in texts)))
    print("calico, both styles:                   %8.1f ms" % (t_calico * 1000))
    print("rendering total (inputs+kubeadm+calico): %7.1f ms  target <= 2000 ms: %s" % (
        total * 1000, "PASS" if total <= 2.0 else "FAIL"))
    print("one node as the module does it (argument checks + render): %.2f ms" % (t_node * 1000))
    return 0 if total <= 2.0 else 1


if __name__ == "__main__":
    sys.exit(main())
