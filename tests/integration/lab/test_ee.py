"""The site run as AWX runs it (issue 17): sliced, and inside the execution environment.

One lab of its own (tests/integration/lab/ee.toml, cluster "ee": 1 control-plane node, 1 worker,
2 gateways), reached over SSH as the user dsk (DUALSTACK_LAB_CONNECTION=ssh): the harness connection
(nsenter) cannot work from inside a container. The tests run in file order:

1. a cold site run as an AWX job template with job slicing 2: the hosts of the inventory sorted by
   name and dealt round-robin into 2 slices (AWX's Inventory.get_sliced_hosts), each slice a
   whole site run limited to its hosts (and localhost: AWX's slice inventories keep the implicit
   localhost), both at once; the WireGuard private key comes as an extra variable, as the
   credential type in extensions/awx/credential_types/ injects it (the gateways are in different
   slices and must share one key). Then `lab client` and `lab summary` are OK.
2. the EE image (ee/build.py) is built or found by the hash of its inputs; a second call builds nothing.
3. a warm site run inside the EE with ansible-runner --process-isolation (ee/run.py): changed=0.

Times are printed (pytest -s); benchmarks/ee_bench.py measures the EE against the host.
"""

import json
import os
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from conftest_lab import REPO, VENV_BIN, assert_summary_ok, e2e_lab, e2e_sh, lab_state, recap, skip_reason  # noqa: E402

pytestmark = [pytest.mark.lab]

CONFIG = REPO / "tests" / "integration" / "lab" / "ee.toml"
SSH = {"config": CONFIG, "connection": "ssh"}
SLICES = 2

sys.path.insert(0, str(REPO / "ee"))


@pytest.fixture(scope="module")
def plan():
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    from ansible_collections.dualstack.k8s.plugins.plugin_utils.plan import load_plan
    e2e_lab("down", **SSH)
    t0 = time.time()
    e2e_lab("up", timeout=1200, **SSH)
    print("lab up (ee, SSH): %.1f s" % (time.time() - t0))
    yield load_plan(str(CONFIG))
    e2e_lab("down", check=False, **SSH)


@pytest.fixture(scope="module")
def extravars(plan):
    """What the job's credentials inject as extra variables (the WireGuard credential: the gateways'
    shared private key), in a 0600 file as ansible-runner's env/extravars."""
    key = subprocess.run(["wg", "genkey"], capture_output=True, text=True, check=True).stdout.strip()
    path = lab_state(CONFIG) / "awx-extravars.json"
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"wireguard_private_key": key}, handle)
    return path


def awx_slices(count):
    """The hosts of the inventory as AWX slices them: sorted by name, slice i gets hosts[i::count]."""
    res = e2e_sh([str(VENV_BIN / "ansible-inventory"), "--list", "--export"], **SSH)
    names = sorted(json.loads(res.stdout)["_meta"]["hostvars"])
    return [names[i::count] for i in range(count)]


def test_cold_site_run_in_two_awx_slices(plan, extravars):
    slices = awx_slices(SLICES)
    assert sorted(sum(slices, [])) == sorted(plan["hosts"]) and all(slices)
    # the gateways are dealt into different slices: the shared WireGuard key must come from outside
    assert len({i for i, s in enumerate(slices) for h in s if h in plan["groups"]["gateways"]}) == SLICES
    from conftest_lab import e2e_env
    t0 = time.time()
    procs = [subprocess.Popen([str(VENV_BIN / "ansible-playbook"), "playbooks/site.yml", "--limit",
                               ",".join(hosts + ["localhost"]), "-e", "@%s" % extravars],
                              cwd=REPO, env=e2e_env(CONFIG, "ssh"), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
             for hosts in slices]
    outs = [p.communicate(timeout=1500)[0] for p in procs]
    print("cold site run in %d slices at once over SSH: %.1f s (%s)" % (SLICES, time.time() - t0, slices))
    for hosts, proc, out in zip(slices, procs, outs):
        rc = recap(out)
        assert proc.returncode == 0, out[-6000:]
        assert sorted(rc) == sorted(hosts + ["localhost"]), rc
        assert all(v["failed"] == 0 and v["unreachable"] == 0 for v in rc.values()), out[-4000:]
    e2e_lab("client", **SSH)
    summary = e2e_lab("summary", check=False, **SSH)
    print(summary.stdout)
    assert_summary_ok(plan, summary)
    # one WireGuard identity on both gateways (the injected key), as in an unsliced run
    from conftest_lab import pexec
    pubs = {pexec(plan["lab"]["containers"][gw], "sh", "-c", "wg pubkey < /etc/wireguard/wg0.key").stdout
            for gw in plan["groups"]["gateways"]}
    assert len(pubs) == 1, pubs


def test_ee_image_is_built_and_cached(plan):
    import build
    t0 = time.time()
    tag = build.ensure_image()
    first = time.time() - t0
    t0 = time.time()
    again = build.ensure_image()
    second = time.time() - t0
    print("EE image %s: %.1f s, again (cached) %.1f s" % (tag, first, second))
    assert again == tag
    assert second < 60, "the second call must find the image by its inputs' hash, not build it"
    out = subprocess.run(["podman", "run", "--rm", tag, "ansible-galaxy", "collection", "list"],
                         env=dict(os.environ, CONTAINERS_CONF=str(REPO / "lab" / "containers.conf")),
                         capture_output=True, text=True, timeout=120, check=True).stdout
    for name in ("dualstack.k8s", "ansible.posix", "ansible.utils"):
        assert name in out, out


def test_warm_site_run_inside_the_ee_changes_nothing(plan, extravars):
    import run
    t0 = time.time()
    res = run.run_playbook("playbooks/site.yml", CONFIG, image=run.IMAGE,
                           extravars=json.loads(extravars.read_text()), timeout=1500)
    print("warm site run inside the EE (ansible-runner, SSH): %.1f s" % (time.time() - t0))
    rc = recap(res.stdout)
    assert res.returncode == 0, res.stdout[-6000:] + res.stderr[-3000:]
    assert sorted(rc) == sorted(list(plan["hosts"]) + ["localhost"]), rc
    assert all(v["failed"] == 0 and v["unreachable"] == 0 for v in rc.values()), res.stdout[-4000:]
    changed = {h: v["changed"] for h, v in rc.items() if v["changed"]}
    assert not changed, "not idempotent inside the EE: %s\n%s" % (changed, res.stdout[-6000:])
