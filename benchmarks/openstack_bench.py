# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""OpenStack benchmark: our role vs openstack.cloud 2.5.0 doing the same work on a real neutron-server.

    .venv/bin/python benchmarks/openstack_bench.py [--workload lab|reference|both] [--json FILE]

For each workload it starts nothing new: one neutron-server (SQLite, 127.0.0.1, free port) serves
all runs; every run is a fresh `ansible-playbook` process, timed wall-clock, with the requests it
caused counted per method by the server's middleware.

- ours: `playbooks/openstack.yml` (role openstack_network, ONE neutron_plan module process) with
  plan_info mapping config.toml to the role's plain inputs, .venv (openstacksdk 4.x).
- baseline: a generated playbook building the same resources with openstack.cloud 2.5.0
  modules (network, subnet, security_group, security_group_rule, router with interfaces, port),
  run from .cache/baseline-venv (requirements/baseline.txt, openstacksdk 3.3.0).

Workloads: `lab` = config/config.toml (2 gateways, 1 control plane, 2 workers); `reference` = the
same config with 3 control-plane nodes and 3 workers (8 dual-stack ports, as in
/work/shared/docs/neutron.md). Each side runs cold, warm (changed=0) and --check (on the converged
cloud), then everything is torn down with the role's state=absent.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / ".collections"))

from neutron_fixture import NeutronServer  # noqa: E402
from ansible_collections.dualstack.k8s.plugins.plugin_utils.plan import load_plan  # noqa: E402
from ansible_collections.dualstack.k8s.plugins.plugin_utils.role_inputs import openstack_network_inputs  # noqa: E402

OURS_BIN = REPO / ".venv" / "bin"
BASELINE_BIN = REPO / ".cache" / "baseline-venv" / "bin"
METHODS = ("GET", "POST", "PUT", "DELETE")


def workload_config(name, tmp):
    """Path of the config.toml of a workload."""
    config = REPO / "config" / "config.toml"
    if name == "lab":
        return config
    text = config.read_text()
    match = re.search(r'public_key_file\s*=\s*"([^"]+)"', text)
    if match:  # the copy lives elsewhere: inline the key
        key_file = (config.parent / match.group(1)).resolve()
        key = key_file.read_text().strip() if key_file.exists() else "A" * 43 + "="
        text = text.replace(match.group(0), f'public_key = "{key}"')
    text = re.sub(r"control_plane_count\s*=\s*\d+", "control_plane_count = 3", text)
    text = re.sub(r"worker_count\s*=\s*\d+", "worker_count = 3", text)
    path = Path(tmp) / f"{name}.toml"
    path.write_text(text)
    return path


def baseline_playbook(plan, path):
    """openstack.cloud 2.5.0 tasks building what neutron_plan builds from the role's inputs."""
    inputs = openstack_network_inputs(plan)
    cloud = inputs["openstack_network_cloud"]
    network = inputs["openstack_network_network"]
    tasks = [{"name": "network", "openstack.cloud.network": {"cloud": cloud, "name": network}}]
    for item in inputs["openstack_network_subnets"]:
        v6 = ":" in item["cidr"]
        args = {"cloud": cloud, "name": item["name"], "network": network, "cidr": item["cidr"],
                "ip_version": 6 if v6 else 4, "gateway_ip": item["gateway_ip"], "is_dhcp_enabled": True}
        if item["allocation_pools"]:
            args["allocation_pool_start"] = item["allocation_pools"][0]["start"]
            args["allocation_pool_end"] = item["allocation_pools"][0]["end"]
        if v6:
            args["ipv6_ra_mode"] = args["ipv6_address_mode"] = item["ipv6_mode"]
        tasks.append({"name": f"subnet {item['name']}", "openstack.cloud.subnet": args})
    # port fixed_ips take subnet ids only (and a subnet task returns none in check mode)
    tasks.append({"name": "subnet ids", "openstack.cloud.subnets_info": {"cloud": cloud},
                  "register": "all_subnets"})
    for group in inputs["openstack_network_security_groups"]:
        tasks.append({"name": f"security group {group['name']}",
                      "openstack.cloud.security_group": {"cloud": cloud, "name": group["name"],
                                                         "description": group["description"]}})
    for group in inputs["openstack_network_security_groups"]:
        for rule in group["rules"]:
            args = {"cloud": cloud, "security_group": group["name"], "direction": rule["direction"],
                    "ether_type": rule["ethertype"]}
            for key in ("protocol", "port_range_min", "port_range_max", "remote_ip_prefix", "remote_group"):
                if rule.get(key) is not None:
                    args[key] = rule[key]
            if "protocol" not in args:
                args["protocol"] = "any"
            tasks.append({"name": f"rule {group['name']} {rule['description']} {rule['ethertype']}",
                          "openstack.cloud.security_group_rule": args})
    if inputs["openstack_network_router"]:
        tasks.append({"name": "router", "openstack.cloud.router": {
            "cloud": cloud, "name": inputs["openstack_network_router"],
            "network": inputs["openstack_network_external_network"],
            "interfaces": [item["name"] for item in inputs["openstack_network_subnets"]]}})
    for port in inputs["openstack_network_ports"] + inputs["openstack_network_vip_ports"]:
        args = {"cloud": cloud, "name": port["name"], "network": network,
                "fixed_ips": [{"subnet_id": "{{ (all_subnets.subnets | selectattr('name', 'equalto', '%s') "
                                            "| first).id }}" % f["subnet"], "ip_address": f["ip_address"]}
                              for f in port["fixed_ips"]]}
        if port.get("security_groups") is not None:
            args["security_groups"] = port["security_groups"]
        if port.get("allowed_address_pairs"):
            args["allowed_address_pairs"] = port["allowed_address_pairs"]
        tasks.append({"name": f"port {port['name']}", "openstack.cloud.port": args})
    play = [{"name": "baseline", "hosts": "localhost", "connection": "local", "gather_facts": False,
             "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"}, "tasks": tasks}]
    Path(path).write_text(json.dumps(play, indent=1))
    return len(tasks)


def run(server, cmd, env, cwd):
    server.reset_requests()
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=str(cwd), env=env, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - start
    counts = server.requests()
    recap = re.findall(r"changed=(\d+).*?failed=(\d+)", proc.stdout)
    changed, failed = (int(recap[-1][0]), int(recap[-1][1])) if recap else (None, None)
    if proc.returncode != 0:
        print(proc.stdout[-3000:], proc.stderr[-2000:], file=sys.stderr)
    return {"seconds": round(seconds, 2), "rc": proc.returncode, "changed": changed, "failed": failed,
            **{m: counts.get(m, 0) for m in METHODS}}


def repeated(server, cmd, env, cwd, times):
    """The median run of ``times`` (its counts), with every wall time in ``runs``."""
    rows = sorted((run(server, cmd, env, cwd) for _attempt in range(times)), key=lambda r: r["seconds"])
    median = dict(rows[len(rows) // 2])
    median["runs"] = [r["seconds"] for r in rows]
    return median


def bench_workload(server, name, tmp, repeat=1):
    config = workload_config(name, tmp)
    plan = load_plan(str(config))
    env = dict(server.env, DUALSTACK_CONFIG=str(config), ANSIBLE_NOCOLOR="1")
    ours_cmd = [str(OURS_BIN / "ansible-playbook"), "playbooks/openstack.yml"]
    inputs = openstack_network_inputs(plan)
    results = {"workload": name, "hosts": len(plan["hosts"]),
               "ports": len(inputs["openstack_network_ports"]) + len(inputs["openstack_network_vip_ports"]),
               "rules": sum(len(g["rules"]) for g in inputs["openstack_network_security_groups"])}
    results["ours"] = {
        "cold": run(server, ours_cmd, env, REPO),
        "warm": repeated(server, ours_cmd, env, REPO, repeat),
        "check": repeated(server, ours_cmd + ["--check"], env, REPO, repeat),
    }
    teardown = run(server, ours_cmd + ["-e", "openstack_network_state=absent"], env, REPO)
    results["ours"]["absent"] = teardown

    if (BASELINE_BIN / "ansible-playbook").exists():
        play = Path(tmp) / f"baseline-{name}.json"
        results["baseline_tasks"] = baseline_playbook(plan, play)
        cfg = Path(tmp) / "ansible.cfg"
        cfg.write_text("[defaults]\nhost_key_checking = False\nretry_files_enabled = False\n"
                       "interpreter_python = auto_silent\n")
        base_env = dict(server.env, ANSIBLE_CONFIG=str(cfg), ANSIBLE_NOCOLOR="1")
        base_cmd = [str(BASELINE_BIN / "ansible-playbook"), "-i", "localhost,", str(play)]
        results["baseline"] = {
            "cold": run(server, base_cmd, base_env, tmp),
            "warm": run(server, base_cmd, base_env, tmp),
            "check": run(server, base_cmd + ["--check"], base_env, tmp),
        }
        run(server, ours_cmd + ["-e", "openstack_network_state=absent"], env, REPO)  # same names: clean up
    return results


def table(results):
    lines = []
    for res in results:
        lines.append(f"\nWorkload `{res['workload']}`: {res['hosts']} host ports + {res['ports'] - res['hosts']} VIP "
                     f"ports, {res['rules']} security-group rules in 3 groups, 2 subnets, router + gateway + "
                     f"2 interfaces.\n")
        lines.append("| side | run | wall (median, min–max) | GET | POST | PUT | DELETE | changed |")
        lines.append("|---|---|---|---|---|---|---|---|")
        for side in ("ours", "baseline"):
            for kind, row in res.get(side, {}).items():
                ok = "" if row["rc"] == 0 else " (FAILED)"
                spread = f" ({min(row['runs']):.2f}–{max(row['runs']):.2f})" if len(row.get("runs", [])) > 1 else ""
                lines.append(f"| {side} | {kind} | {row['seconds']:.2f} s{spread} | {row['GET']} | {row['POST']} | "
                             f"{row['PUT']} | {row['DELETE']} | {row['changed']}{ok} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", choices=["lab", "reference", "both"], default="both")
    parser.add_argument("--json", help="also write the raw results here")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of our warm and --check (median reported; the baseline runs once)")
    args = parser.parse_args(argv)
    workloads = ["lab", "reference"] if args.workload == "both" else [args.workload]
    with tempfile.TemporaryDirectory(prefix="dualstack-bench-") as tmp:
        server = NeutronServer(Path(tmp) / "neutron").start()
        try:
            load = os.getloadavg()
            results = [bench_workload(server, name, tmp, args.repeat) for name in workloads]
        finally:
            server.stop()
    print(f"load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} CPUs")
    print(table(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
