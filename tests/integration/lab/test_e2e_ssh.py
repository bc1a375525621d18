"""End to end on the embedded lab the way users reach their hosts (issue 14 item 8): over SSH, as
the unprivileged user `dsk` with the lab's key, host keys checked, `become` through sudo as the
playbooks declare it (DUALSTACK_LAB_CONNECTION=ssh; lab/plugins/vars/dualstack_lab.py).

A cold `lab up` + site run + the lab's WireGuard client, then a warm re-run that changes nothing,
both over SSH, with the same checks as the harness connection's run in test_e2e.py. The times are
printed (pytest -s) next to those of test_e2e.py; benchmarks/lab_bench.py measures both.

The tests' own lab (tests/integration/lab/e2e.toml, cluster "e2e"); they run in file order.
"""

import os
import re
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from conftest_lab import E2E_CONFIG, E2E_STATE, VENV_BIN, assert_summary_ok, e2e_lab, e2e_playbook, e2e_sh, recap  # noqa: E402

pytestmark = [pytest.mark.lab]

SSH = {"connection": "ssh"}


@pytest.fixture(scope="module")
def plan():
    from ansible_collections.dualstack.k8s.plugins.plugin_utils.plan import load_plan
    e2e_lab("down", **SSH)
    t0 = time.time()
    e2e_lab("up", timeout=1200, **SSH)
    print("lab up (stand-ins over SSH): %.1f s" % (time.time() - t0))
    yield load_plan(str(E2E_CONFIG))
    e2e_lab("down", check=False, **SSH)


def hosts(plan):
    return plan["groups"]["gateways"] + plan["groups"]["k8s_control_plane"] + plan["groups"]["k8s_workers"]


def test_hosts_are_reached_over_ssh_as_a_user_with_sudo(plan):
    plain = e2e_sh([str(VENV_BIN / "ansible"), "all", "-m", "ansible.builtin.command", "-a", "id -un", "-vvv"], **SSH)
    become = e2e_sh([str(VENV_BIN / "ansible"), "all", "-b", "-m", "ansible.builtin.command", "-a", "id -un"], **SSH)
    for name in hosts(plan):
        assert re.search(r"^%s \| CHANGED \| rc=0 >>\ndsk$" % re.escape(name), plain.stdout, re.M), plain.stdout[-3000:]
        assert re.search(r"^%s \| CHANGED \| rc=0 >>\nroot$" % re.escape(name), become.stdout, re.M), become.stdout
        address = plan["hosts"][name]["primary_ip"]
        assert re.search(r"^<%s> SSH: EXEC ssh .*-o StrictHostKeyChecking=yes" % re.escape(address), plain.stdout, re.M)
    assert "StrictHostKeyChecking=no" not in plain.stdout
    # the lab's own known_hosts holds one key per host, written by `lab up`
    known = (E2E_STATE / "ssh_known_hosts").read_text().splitlines()
    assert len(known) == len(plan["lab"]["containers"])
    assert oct((E2E_STATE / "ssh_known_hosts").stat().st_mode & 0o777) == "0o600"


def test_cold_site_run_over_ssh(plan):
    t0 = time.time()
    res = e2e_playbook("playbooks/site.yml", timeout=1500, **SSH)
    print("cold site run over SSH: %.1f s" % (time.time() - t0))
    rc = recap(res.stdout)
    assert rc and all(v["failed"] == 0 and v["unreachable"] == 0 for v in rc.values()), res.stdout[-4000:]
    e2e_lab("client", **SSH)
    summary = e2e_lab("summary", check=False, **SSH)
    print(summary.stdout)
    assert_summary_ok(plan, summary)


def test_warm_site_run_over_ssh_changes_nothing(plan):
    t0 = time.time()
    res = e2e_playbook("playbooks/site.yml", timeout=1500, **SSH)
    print("warm site run over SSH: %.1f s" % (time.time() - t0))
    rc = recap(res.stdout)
    assert rc and all(v["failed"] == 0 and v["unreachable"] == 0 for v in rc.values()), res.stdout[-4000:]
    changed = {h: v["changed"] for h, v in rc.items() if v["changed"]}
    assert not changed, "not idempotent over SSH: %s\n%s" % (changed, res.stdout[-6000:])


def test_a_changed_host_key_is_refused(plan):
    """The host keys are checked: a known_hosts entry that does not match makes the host unreachable."""
    path = E2E_STATE / "ssh_known_hosts"
    good = path.read_text()
    first = hosts(plan)[0]
    address = plan["hosts"][first]["primary_ip"]
    other = [line for line in good.splitlines() if not line.startswith(address + " ")][0].split(" ", 1)[1]
    path.write_text("".join(("%s %s\n" % (address, other)) if line.startswith(address + " ") else line + "\n"
                            for line in good.splitlines()))
    try:
        res = e2e_sh([str(VENV_BIN / "ansible"), first, "-m", "ansible.builtin.ping",
                      "-e", "ansible_ssh_common_args='-o ControlPath=none " + _common_args(path) + "'"],
                     check=False, **SSH)
    finally:
        path.write_text(good)
    assert res.returncode != 0
    assert "UNREACHABLE" in res.stdout and "Host key verification failed" in res.stdout + res.stderr, res.stdout


def _common_args(known_hosts):
    return ("-o UserKnownHostsFile=%s -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes "
            "-o IdentitiesOnly=yes" % known_hosts)
