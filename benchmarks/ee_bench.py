"""Benchmark: the execution environment (issue 17). Its image size and build time, cold (every layer
rebuilt: `ee/build.py --force` with podman's layer cache bypassed, the base image and wheelhouse
kept) and cached (the image of the current inputs exists: nothing is built); then a warm site run
inside the EE (ansible-runner --process-isolation, ee/run.py) against a warm site run on the host,
both over SSH, on the same lab (tests/integration/lab/ee.toml, cluster "ee"; brought up and
converged first unless --keep-lab finds it up).

    .venv/bin/python benchmarks/ee_bench.py [--warm N] [--skip-cold] [--keep-lab]

Ends with the lab down unless --keep-lab.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(REPO, ".venv", "bin")
CONFIG = os.path.join(REPO, "tests", "integration", "lab", "ee.toml")
STATE = os.path.join(REPO, ".cache", "lab", "ee")
sys.path.insert(0, os.path.join(REPO, "ee"))

import build  # noqa: E402  (ee/build.py)
import run as ee_run  # noqa: E402  (ee/run.py)


def env():
    return dict(os.environ, CONTAINERS_CONF=os.path.join(REPO, "lab", "containers.conf"), DUALSTACK_CONFIG=CONFIG,
                DUALSTACK_LAB_CONNECTION="ssh", OS_CLIENT_CONFIG_FILE=os.path.join(STATE, "clouds.yaml"),
                ANSIBLE_NOCOLOR="1")


def sh(*cmd, timeout=1800):
    t0 = time.perf_counter()
    res = subprocess.run(list(cmd), cwd=REPO, env=env(), capture_output=True, text=True, timeout=timeout, check=False)
    if res.returncode != 0:
        raise SystemExit("%s failed:\n%s\n%s" % (" ".join(cmd), res.stdout[-3000:], res.stderr[-2000:]))
    return time.perf_counter() - t0, res.stdout


def changed(output):
    return sum(int(n) for n in re.findall(r"changed=(\d+)", output.split("PLAY RECAP")[-1]))


def image_size(ref):
    out = subprocess.run(["podman", "image", "inspect", "--format", "{{.Size}}", ref], env=env(), capture_output=True,
                         text=True, check=True).stdout
    return int(out.strip())


def extravars():
    path = os.path.join(STATE, "awx-extravars.json")
    if not os.path.exists(path):
        key = subprocess.run(["wg", "genkey"], capture_output=True, text=True, check=True).stdout.strip()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump({"wireguard_private_key": key}, handle)
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--warm", type=int, default=2, help="warm runs each way (median reported)")
    ap.add_argument("--skip-cold", action="store_true", help="do not rebuild the image from scratch")
    ap.add_argument("--keep-lab", action="store_true", help="use the lab if it is up, and leave it up")
    args = ap.parse_args()
    results = {}
    os.environ["CONTAINERS_CONF"] = os.path.join(REPO, "lab", "containers.conf")
    if not args.skip_cold:
        t0 = time.perf_counter()
        os.environ["BUILDAH_LAYERS"] = "false"  # podman build: no layer cache
        try:
            tag = build.ensure_image(force=True)
        finally:
            os.environ.pop("BUILDAH_LAYERS")
        results["build_cold_s"] = round(time.perf_counter() - t0, 1)
    t0 = time.perf_counter()
    tag = build.ensure_image()
    results["build_cached_s"] = round(time.perf_counter() - t0, 1)
    results["image"] = tag
    results["image_mb"] = round(image_size(tag) / 1e6)
    results["base_image_mb"] = round(image_size(build.base_image.ensure_image()) / 1e6)

    up = os.path.exists(os.path.join(STATE, "hosts.json"))
    if not (args.keep_lab and up):
        sh(os.path.join(VENV, "python"), "lab/lab.py", "down")
        sh(os.path.join(VENV, "python"), "lab/lab.py", "up")
    try:
        ev = extravars()
        dt, out = sh(os.path.join(VENV, "ansible-playbook"), "playbooks/site.yml", "-e", "@" + ev)
        results["converge_host_s"] = round(dt, 1)
        host, inside = [], []
        for dummy in range(args.warm):
            dt, out = sh(os.path.join(VENV, "ansible-playbook"), "playbooks/site.yml", "-e", "@" + ev)
            assert changed(out) == 0, out[-3000:]
            host.append(dt)
            t0 = time.perf_counter()
            res = ee_run.run_playbook("playbooks/site.yml", CONFIG, image=tag, extravars=json.load(open(ev)))
            inside.append(time.perf_counter() - t0)
            assert res.returncode == 0 and changed(res.stdout) == 0, res.stdout[-3000:]
        results["warm_site_host_ssh_s"] = round(statistics.median(host), 1)
        results["warm_site_ee_ssh_s"] = round(statistics.median(inside), 1)
        results["warm_runs"] = args.warm
    finally:
        if not args.keep_lab:
            subprocess.run([os.path.join(VENV, "python"), "lab/lab.py", "down"], cwd=REPO, env=env(),
                           capture_output=True, check=False)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
