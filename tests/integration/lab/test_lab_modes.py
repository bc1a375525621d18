"""The IPv6-only mode on the embedded lab (issue 16): cold site run, the lab's summary and a `changed=0`
re-run (IPv6-primary: test_lab_v6primary.py; IPv4-only is planned and rendered in the unit tests:
tests/golden/ipv4-only, and is the conversion lab's starting point), and the paths only it has:

- NAT64/DNS64 on the gateways: from the IPv6-only node, `getent ahostsv6 web.outside.test` answers an
  address inside the NAT64 prefix and an HTTP GET by name returns 200 from the IPv4-only outside host;
  after a gateway failover (keepalived SIGKILLed on the VIP holder) it works again, timed;
- routable pod addresses: the gateways learn the nodes' IPAM blocks over BGP (import limited to the pod
  subnet) and the WireGuard client pings the address standing in for a pod, no NAT.

Ansible reaches the IPv6-only lab's hosts over SSH as the user `dsk` with sudo (DUALSTACK_LAB_CONNECTION=ssh)
to IPv6 addresses, host keys checked; its site runs use the harness connection (test_e2e.py does its cold
site run and the one inside the execution environment over SSH). The lab is the tests' own (cluster name m6,
its own subnets); the tests run in order and share it. It measures an outage (NAT64 after a failover), so
tools/run-tests.sh runs it in the phase where tests run one at a time.
"""

import os
import re
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from conftest_lab import (VENV_BIN, cold_and_warm, e2e_lab, e2e_playbook, e2e_sh, lab_env, lab_state, load,  # noqa: E402
                          pexec, vip_holder, wait_for)

pytestmark = [pytest.mark.lab, pytest.mark.outage]  # NAT64 failover: runs alone

HERE = os.path.dirname(os.path.abspath(__file__))
V6ONLY = os.path.join(HERE, "modes-v6only.toml")
SSH = {"config": V6ONLY, "connection": "ssh"}
HARNESS = {"config": V6ONLY}


# ------------------------------------------------------------------------------------ IPv6-only
@pytest.fixture(scope="module")
def v6only():
    e2e_lab("down", **HARNESS)
    t0 = time.time()
    e2e_lab("up", timeout=1200, **HARNESS)
    print("IPv6-only lab up: %.1f s" % (time.time() - t0))
    yield load(V6ONLY)
    e2e_lab("down", check=False, **HARNESS)


def hosts(plan):
    return plan["groups"]["gateways"] + plan["groups"]["k8s_control_plane"] + plan["groups"]["k8s_workers"]


def test_v6only_hosts_have_only_ipv6_and_are_reached_over_ssh_with_sudo(v6only):
    plain = e2e_sh([str(VENV_BIN / "ansible"), "all", "-m", "ansible.builtin.command", "-a", "id -un", "-vvv"], **SSH)
    become = e2e_sh([str(VENV_BIN / "ansible"), "all", "-b", "-m", "ansible.builtin.command", "-a", "id -un"], **SSH)
    for name in hosts(v6only):
        assert re.search(r"^%s \| CHANGED \| rc=0 >>\ndsk$" % re.escape(name), plain.stdout, re.M), plain.stdout[-3000:]
        assert re.search(r"^%s \| CHANGED \| rc=0 >>\nroot$" % re.escape(name), become.stdout, re.M), become.stdout
        address = v6only["hosts"][name]["primary_ip"]
        assert ":" in address
        assert re.search(r"^<%s> SSH: EXEC ssh .*-o StrictHostKeyChecking=yes" % re.escape(address), plain.stdout, re.M)
    assert "StrictHostKeyChecking=no" not in plain.stdout
    known = (lab_state(V6ONLY) / "ssh_known_hosts").read_text().splitlines()
    assert len(known) == len(v6only["lab"]["containers"])
    assert oct((lab_state(V6ONLY) / "ssh_known_hosts").stat().st_mode & 0o777) == "0o600"
    # the nodes' network has no IPv4 at all; the client is IPv6-only, the outside host IPv4-only
    containers = v6only["lab"]["containers"]
    for name in v6only["groups"]["k8s_control_plane"] + v6only["groups"]["k8s_workers"] + [v6only["lab"]["wireguard_client"]]:
        out = pexec(containers[name], "ip", "-4", "-o", "addr", "show", "scope", "global").stdout
        assert out.strip() == "", "%s has IPv4: %s" % (name, out)
    out = pexec(containers["web"], "ip", "-6", "-o", "addr", "show", "scope", "global").stdout
    assert out.strip() == "", "the outside host has IPv6: %s" % out


def test_v6only_cold_and_warm_site_runs(v6only):
    dummy, dummy, summary = cold_and_warm(V6ONLY)
    # the summary's IPv6-only lines: NAT64 by name from a node, the routable pod from the client
    assert re.search(r"web\.outside\.test -> fd64:64::[0-9a-f:]+, HTTP GET by name: 200", summary), summary
    assert re.search(r"pod +2001:db8:185::\S+ +OK .*no NAT", summary), summary


NAT64_FILES = ["/etc/tayga/dualstack-nat64.conf", "/etc/unbound/unbound.conf", "/etc/dualstack-k8s/nat64-masquerade.nft",
               "/etc/systemd/system/dualstack-nat64.service", "/etc/bird/bird.conf"]


def test_v6only_render_writes_what_the_site_run_wrote(v6only, tmp_path):
    """playbooks/render.yml (no host touched) gives the NAT64/DNS64 and resolver files byte for byte."""
    out = tmp_path / "review"
    e2e_playbook("playbooks/render.yml", "-e", "render_dir=%s" % out, timeout=600, **HARNESS)
    lab = v6only["lab"]["containers"]
    for gw in v6only["groups"]["gateways"]:
        for path in NAT64_FILES:
            assert (out / gw / path.lstrip("/")).read_text() == pexec(lab[gw], "cat", path).stdout, (gw, path)
    for node in v6only["groups"]["k8s_control_plane"] + v6only["groups"]["k8s_workers"]:
        live = pexec(lab[node], "cat", "/etc/resolv.conf").stdout
        assert (out / node / "etc/resolv.conf").read_text() == live
        assert "nameserver %s" % v6only["vips"]["ipv6"] in live


def test_v6only_gateways_import_only_pod_blocks(v6only):
    """The VIP holder installed one route per node's block, inside the pod subnet, learnt by BGP."""
    holder = vip_holder(v6only)
    routes = pexec(v6only["lab"]["containers"][holder], "ip", "-6", "route", "show", "proto", "bird").stdout
    blocks = {v["block"] for v in v6only["lab"]["pod_standins"].values()}
    learnt = {line.split()[0] for line in routes.splitlines() if line.strip()}
    assert learnt == blocks, routes


def test_v6only_nat64_comes_back_after_a_gateway_failover(v6only):
    """SIGKILL keepalived on the VIP holder while an IPv6-only node fetches http://web.outside.test/ by
    name every 0.1 s: the time until it answers 200 again (goal: 3 s). Bounded: 300 tries, 1 s each."""
    lab = v6only["lab"]["containers"]
    node = lab[v6only["groups"]["k8s_workers"][0]]
    holder = vip_holder(v6only)
    assert holder
    loop = ("i=0; while [ $i -lt 300 ]; do "
            "if curl -s -o /dev/null --max-time 1 -w '%{http_code}' http://web.outside.test/ | grep -q 200; "
            "then echo ok $(date +%s.%N); else echo fail $(date +%s.%N); fi; sleep 0.1; i=$((i+1)); done")
    proc = subprocess.Popen(["podman", "exec", node, "sh", "-c", loop], env=lab_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        time.sleep(2.0)
        t_kill = time.time()
        pexec(lab[holder], "systemctl", "kill", "--signal=SIGKILL", "keepalived")
        time.sleep(8.0)
    finally:
        proc.kill()
        out = proc.communicate()[0]
    samples = [(line.split()[0], float(line.split()[1])) for line in out.splitlines() if len(line.split()) == 2]
    before = [s for s in samples if s[1] < t_kill]
    assert before and before[-1][0] == "ok", "NAT64 did not work before the failover: %s" % before[-5:]
    after = [s for s in samples if s[1] >= t_kill]
    fails = [t for state, t in after if state == "fail"]
    back = next((t for state, t in after if state == "ok" and (not fails or t > fails[-1])), None)
    assert after and after[-1][0] == "ok", "NAT64 did not come back: %s" % after[-10:]
    outage = (back - t_kill) if fails else 0.0
    print("NAT64 by name after failover: back after %.2f s (%d failed GETs)" % (outage, len(fails)))
    assert outage < 10
    other = vip_holder(v6only)
    assert other and other != holder
    pexec(lab[holder], "systemctl", "start", "keepalived")
    wait_for(lambda: vip_holder(v6only) == holder, timeout=30, interval=0.5)


def test_v6only_changed_host_key_is_refused(v6only):
    """The host keys are checked: a known_hosts entry that does not match makes the host unreachable."""
    path = lab_state(V6ONLY) / "ssh_known_hosts"
    good = path.read_text()
    first = hosts(v6only)[0]
    address = v6only["hosts"][first]["primary_ip"]
    other = [line for line in good.splitlines() if not line.startswith(address + " ")][0].split(" ", 1)[1]
    path.write_text("".join(("%s %s\n" % (address, other)) if line.startswith(address + " ") else line + "\n"
                            for line in good.splitlines()))
    args = ("-o ControlPath=none -o UserKnownHostsFile=%s -o GlobalKnownHostsFile=/dev/null "
            "-o StrictHostKeyChecking=yes -o IdentitiesOnly=yes" % path)
    try:
        res = e2e_sh([str(VENV_BIN / "ansible"), first, "-m", "ansible.builtin.ping",
                      "-e", "ansible_ssh_common_args='%s'" % args], check=False, **SSH)
    finally:
        path.write_text(good)
    assert res.returncode != 0
    assert "UNREACHABLE" in res.stdout and "Host key verification failed" in res.stdout + res.stderr, res.stdout
