"""Benchmark: cold `lab up` + site run, warm re-runs, on the embedded lab (config/config.toml or
$DUALSTACK_CONFIG). Starts from `lab down` (the image and virtualenvs stay cached) and ends with the lab
up, so `lab/lab.py summary` can be read afterwards. The warm run is repeated (default 3 times; a run
varies by about a second on a busy 2-core machine) and the ratio uses the median.

    .venv/bin/python benchmarks/lab_bench.py [WARM_RUNS]
"""

import os
import re
import statistics
import subprocess
import sys
import time
import tomllib

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(REPO, ".venv", "bin")


def run(*cmd):
    env = dict(os.environ, CONTAINERS_CONF=os.path.join(REPO, "lab", "containers.conf"))
    t0 = time.perf_counter()
    res = subprocess.run(list(cmd), cwd=REPO, env=env, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise SystemExit("%s failed:\n%s\n%s" % (" ".join(cmd), res.stdout[-3000:], res.stderr[-2000:]))
    return time.perf_counter() - t0, res.stdout


def changed(output):
    return sum(int(n) for n in re.findall(r"changed=(\d+)", output.split("PLAY RECAP")[-1]))


def main():
    lab = [os.path.join(VENV, "python"), "lab/lab.py"]
    run(*(lab + ["down"]))
    up, _out = run(*(lab + ["up"]))
    sys.path.insert(0, os.path.join(REPO, ".collections"))
    from ansible_collections.dualstack.k8s.plugins.plugin_utils.config import config_path
    with open(config_path(), "rb") as handle:
        cluster = tomllib.load(handle)["cluster"]["name"]
    os.environ.setdefault("OS_CLIENT_CONFIG_FILE", os.path.join(REPO, ".cache", "lab", cluster, "clouds.yaml"))
    cold, out = run(os.path.join(VENV, "ansible-playbook"), "playbooks/site.yml")
    warm_runs = [run(os.path.join(VENV, "ansible-playbook"), "playbooks/site.yml")
                 for _run in range(int(sys.argv[1]) if len(sys.argv) > 1 else 3)]
    warm = statistics.median(seconds for seconds, _out in warm_runs)
    print("lab up (image cached): %.1f s" % up)
    print("cold site run: %.1f s (changed=%d)" % (cold, changed(out)))
    print("cold lab up + site run: %.1f s (target <= 180 s)" % (up + cold))
    print("warm site runs: %s (changed=%s)" % (" ".join("%.1f s" % seconds for seconds, _out in warm_runs),
                                               "/".join(str(changed(o)) for _s, o in warm_runs)))
    print("warm site run, median: %.1f s, %.0f %% of the cold lab up + site run (target <= 30 %%)"
          % (warm, 100 * warm / (up + cold)))


if __name__ == "__main__":
    main()
