"""Helpers for the tests that run on rootful podman: Molecule scenarios of the gateway roles and the
embedded lab's end-to-end runs.

Imported by test_molecule.py, test_failover.py, lab/test_*.py and benchmarks/failover_bench.py (not a
conftest: the lead owns tests/conftest.py). Every podman call uses CONTAINERS_CONF=lab/containers.conf.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import time
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = REPO / ".venv" / "bin"
MOLECULE_DIR = REPO / "extensions" / "molecule"
CONTAINERS_CONF = REPO / "lab" / "containers.conf"


def lab_env() -> dict:
    """Environment for podman and molecule: the lab's containers.conf and the venv first on PATH."""
    env = dict(os.environ)
    env["CONTAINERS_CONF"] = str(CONTAINERS_CONF)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("NO_COLOR", "1")
    env.setdefault("ANSIBLE_NOCOLOR", "1")
    env.setdefault("ANSIBLE_FORCE_COLOR", "0")
    return env


def skip_reason() -> str | None:
    """Why the podman lab cannot run here, or None."""
    if os.geteuid() != 0:
        return "the lab needs rootful podman (run as root)"
    for tool in ("podman", "debootstrap", "wg"):
        if not shutil.which(tool):
            return f"{tool} is not installed"
    if not (VENV_BIN / "molecule").exists():
        return "molecule is not installed in .venv"
    return None


def podman(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(["podman", *args], env=lab_env(), capture_output=True, text=True,
                          check=check, timeout=timeout)


def pexec(container: str, *cmd: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
    return podman("exec", container, *cmd, check=check, timeout=timeout)


def molecule(action: str, scenario: str, timeout: float = 1800, log: Path | None = None) -> subprocess.CompletedProcess:
    """Run `molecule <action> -s <scenario>` from the collection root; output to `log` if given."""
    cmd = [str(VENV_BIN / "molecule"), action, "-s", scenario]
    out = open(log, "w") if log else subprocess.PIPE  # noqa: SIM115
    try:
        return subprocess.run(cmd, cwd=REPO, env=lab_env(), stdout=out, stderr=subprocess.STDOUT,
                              text=True, timeout=timeout, check=False)
    finally:
        if log:
            out.close()


def scenario_names(scenario: str) -> tuple[list[str], list[str]]:
    """Container and network names a scenario's config.toml plans (dsk-<cluster.name>-...)."""
    cfg = tomllib.loads((MOLECULE_DIR / scenario / "config.toml").read_text())
    prefix = f"dsk-{cfg['cluster']['name']}-"
    out = podman("ps", "-a", "--format", "{{.Names}}", check=False).stdout.split()
    nets = podman("network", "ls", "--format", "{{.Name}}", check=False).stdout.split()
    return [c for c in out if c.startswith(prefix)], [n for n in nets if n.startswith(prefix)]


def assert_clean(scenario: str) -> None:
    containers, networks = scenario_names(scenario)
    assert not containers and not networks, f"left behind: {containers} {networks}"


def scenario_plan_names(scenario: str) -> dict:
    """Names and addresses the failover tests need, from the scenario's plan (plan_info through ansible)."""
    sys.path.insert(0, str(REPO / ".collections"))
    from ansible_collections.dualstack.k8s.plugins.plugin_utils.plan import load_plan  # noqa: PLC0415

    return load_plan(str(MOLECULE_DIR / scenario / "config.toml"))


def vip_holder(plan: dict) -> str | None:
    """The gateway whose node interface holds the IPv4 (else IPv6) VIP, or None."""
    vip = plan["vips"]["ipv4"] or plan["vips"]["ipv6"]
    for gw in plan["groups"]["gateways"]:
        out = pexec(plan["lab"]["containers"][gw], "ip", "-o", "addr", "show", check=False).stdout
        if re.search(rf"\s{re.escape(vip)}/", out):
            return gw
    return None


def wait_for(predicate, timeout: float, interval: float = 0.05):
    """Poll predicate() until it returns a truthy value; returns (value, seconds) or (None, timeout)."""
    start = time.monotonic()
    while True:
        value = predicate()
        elapsed = time.monotonic() - start
        if value:
            return value, elapsed
        if elapsed > timeout:
            return None, elapsed
        time.sleep(interval)


PING_LINE = re.compile(r"^\[(?P<ts>\d+\.\d+)\].*icmp_seq=(?P<seq>\d+)")


def probe_until_stable(proc: subprocess.Popen, answer_times, t_kill: float, settled, interval: float,
                       stable_s: float = 3.0) -> str:
    """Collect a running probe's output until the path is back for good, then stop the probe.

    `answer_times(output)` gives the sorted times of the answers; `settled()` says the failover is
    over (the watchers finished). The probe is stopped once, after `settled()` became true, answers
    have come without an outage gap (3 intervals + 0.5 s, as recovery() counts one) for `stable_s`
    seconds after the kill and after the settling; else it runs to its own count (the bound).
    Returns the whole output.
    """
    lines: list[str] = []

    def read():
        for line in iter(proc.stdout.readline, ""):
            lines.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    gap = 3 * interval + 0.5
    t_settled = None
    while proc.poll() is None:
        time.sleep(0.2)
        if t_settled is None:
            t_settled = time.time() if settled() else None
            continue
        times = answer_times("".join(lines))
        if not times or time.time() - times[-1] > gap:
            continue
        start = times[-1]
        for earlier, later in zip(reversed(times[:-1]), reversed(times)):
            if later - earlier > gap:
                break
            start = earlier
        if times[-1] - max(start, t_settled, t_kill) >= stable_s:
            proc.terminate()
            break
    proc.wait(timeout=30)
    reader.join(timeout=10)
    return "".join(lines)


def ping_times(output: str) -> list:
    return sorted(float(m["ts"]) for m in map(PING_LINE.match, output.splitlines()) if m)


def bgp_established(container: str) -> bool:
    out = pexec(container, "birdc", "show", "protocols", check=False).stdout
    sessions = [line for line in out.splitlines() if re.match(r"^\S+\s+BGP\s", line)]
    return bool(sessions) and all("Established" in line for line in sessions)


def measure_failover(plan: dict, family: str = "ipv6", interval: float = 0.1, max_seconds: float = 45.0) -> dict:
    """Kill keepalived (SIGKILL) on the VIP holder while the WireGuard client pings a node.

    Returns seconds from the kill to: the VIP on the other gateway (vip_s), BGP Established there
    (bgp_s), the first ping reply through the tunnel after the outage (path_s); and the lost pings.
    The ping stops once the path has answered for 3 s after the VIPs moved and BGP came up
    (probe_until_stable); bounded: at most max_seconds (count = max_seconds / interval).
    """
    lab = plan["lab"]["containers"]
    client = lab[plan["lab"]["wireguard_client"]]
    node = plan["hosts"][plan["groups"]["k8s_control_plane"][0]][family]
    holder = vip_holder(plan)
    assert holder, "no gateway holds the VIPs"
    other = next(g for g in plan["groups"]["gateways"] if g != holder)
    vip = plan["vips"]["ipv4"] or plan["vips"]["ipv6"]
    count = int(max_seconds / interval)
    flag = "-6" if family == "ipv6" else "-4"
    # sessions the other gateway may still count as Established from an earlier hold expire first
    wait_for(lambda: not bgp_established(lab[other]), timeout=20, interval=0.5)
    loops = int(max_seconds / 0.02)
    # watchers inside the new holder: print the wall-clock time the VIP / all BGP sessions appear
    vip_watch = subprocess.Popen(
        ["podman", "exec", lab[other], "sh", "-c",
         f"i=0; while [ $i -lt {loops} ] && ! ip -o addr show | grep -q ' {vip}/'; do sleep 0.02; i=$((i+1)); done; date +%s.%N"],
        env=lab_env(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    bgp_watch = subprocess.Popen(
        ["podman", "exec", lab[other], "sh", "-c",
         f"i=0; while [ $i -lt {int(max_seconds / 0.1)} ]; do "
         "out=$(birdc show protocols | grep -E '^[^ ]+ +BGP '); "
         "[ -n \"$out\" ] && ! echo \"$out\" | grep -vq Established && break; sleep 0.1; i=$((i+1)); done; date +%s.%N"],
        env=lab_env(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    ping = subprocess.Popen(
        ["podman", "exec", client, "ping", flag, "-D", "-n", "-i", str(interval), "-W", "1", "-c", str(count), node],
        env=lab_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        time.sleep(2.0)  # a baseline of replies before the kill
        t_kill = time.time()
        pexec(lab[holder], "systemctl", "kill", "--signal=SIGKILL", "keepalived")
        out = probe_until_stable(ping, ping_times, t_kill, interval=interval,
                                 settled=lambda: vip_watch.poll() is not None and bgp_watch.poll() is not None)
        t_end = time.time()
        vip_s = float(vip_watch.communicate(timeout=max_seconds + 30)[0].strip()) - t_kill
        bgp_s = float(bgp_watch.communicate(timeout=max_seconds + 30)[0].strip()) - t_kill
    finally:
        for proc in (ping, vip_watch, bgp_watch):
            if proc.poll() is None:
                proc.kill()
    replies = sorted((float(m["ts"]), int(m["seq"])) for m in map(PING_LINE.match, out.splitlines()) if m)
    sent = max((seq for dummy, seq in replies), default=0)  # the probe stops early: the highest sequence
    before = [ts for ts, dummy in replies if ts < t_kill]
    after = [ts for ts, dummy in replies if ts >= t_kill]
    path_s = None
    if before and after:
        # the outage is the largest gap between replies around the kill; the path is back at the
        # first reply after it, provided replies keep coming (at least 5 more)
        times = [before[-1]] + after
        gap, back = max((times[i + 1] - times[i], times[i + 1]) for i in range(len(times) - 1))
        if t_end - times[-1] > 3.0:
            path_s = None  # no replies at the end: the path did not come back
        elif gap <= 3 * interval:
            path_s = 0.0
        elif len([t for t in after if t >= back]) >= 5:
            path_s = back - t_kill
    return {
        "holder": holder, "new_holder": other, "family": family, "interval": interval,
        "vip_s": round(vip_s, 2), "bgp_s": round(bgp_s, 2),
        "path_s": round(path_s, 2) if path_s is not None else None,
        "lost": sent - len(replies), "sent": sent,
    }


def restore_keepalived(plan: dict, gateway: str, timeout: float = 30) -> None:
    """Start keepalived again on `gateway`; with preemption (plan gateways.vrrp_preempt) wait until it
    holds the VIPs again, then until its BGP sessions are up (all bounded)."""
    lab = plan["lab"]["containers"]
    pexec(lab[gateway], "systemctl", "start", "keepalived")
    if plan["gateways"].get("vrrp_preempt", True):
        wait_for(lambda: vip_holder(plan) == gateway, timeout=timeout, interval=0.2)
    time.sleep(1.0)
    holder = vip_holder(plan)
    if holder:
        wait_for(lambda: bgp_established(lab[holder]), timeout=timeout, interval=0.5)


# ------------------------------------------------------------------------------------------------
# The embedded lab's end-to-end runs (tests/integration/lab/): `lab/lab.py` and ansible-playbook
# against the tests' own lab (tests/integration/lab/e2e.toml, cluster "e2e"), over the harness
# connection (default) or over SSH as a user with sudo (connection="ssh": DUALSTACK_LAB_CONNECTION).
E2E_CONFIG = REPO / "tests" / "integration" / "lab" / "e2e.toml"
E2E_STATE = REPO / ".cache" / "lab" / "e2e"


def lab_state(config: str | Path = E2E_CONFIG) -> Path:
    """Where `lab/lab.py` keeps the state of the lab a config describes: .cache/lab/<cluster.name>."""
    cfg = tomllib.loads(Path(config).read_text())
    return REPO / ".cache" / "lab" / cfg.get("cluster", {}).get("name", "dualstack")


def e2e_env(config: str | Path = E2E_CONFIG, connection: str = "podman") -> dict:
    env = lab_env()
    env.update(DUALSTACK_CONFIG=str(config), DUALSTACK_LAB_CONNECTION=connection, ANSIBLE_NOCOLOR="1",
               OS_CLIENT_CONFIG_FILE=str(lab_state(config) / "clouds.yaml"))
    return env


def e2e_sh(cmd: list, config: str | Path = E2E_CONFIG, connection: str = "podman", timeout: float = 900,
           check: bool = True) -> subprocess.CompletedProcess:
    res = subprocess.run(cmd, cwd=REPO, env=e2e_env(config, connection), capture_output=True, text=True,
                         timeout=timeout, check=False)
    if check and res.returncode != 0:
        # the first failed task in full (a long run's tail may not show it), then the tail
        first = res.stdout.find("fatal: [")
        failed = res.stdout[max(0, res.stdout.rfind("TASK [", 0, first)):first + 3000] if first >= 0 else ""
        what = (" ".join(map(str, cmd)), res.returncode, failed, res.stdout[-6000:], res.stderr[-3000:])
        raise AssertionError("%s -> %d\n%s\n...\n%s\n%s" % what)
    return res


def e2e_lab(*args: str, **kw) -> subprocess.CompletedProcess:
    return e2e_sh([str(VENV_BIN / "python"), "lab/lab.py", *args], **kw)


def e2e_playbook(*args: str, **kw) -> subprocess.CompletedProcess:
    return e2e_sh([str(VENV_BIN / "ansible-playbook"), *args], **kw)


def recap(output: str) -> dict:
    """{host: {"ok": n, "changed": n, "failed": n, ...}} from a PLAY RECAP."""
    out = {}
    for line in output.split("PLAY RECAP")[-1].splitlines():
        m = re.match(r"^(\S+)\s+:\s+(.*)$", line.strip())
        if m:
            out[m.group(1)] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(2))}
    return out


def assert_summary_ok(plan: dict, summary: subprocess.CompletedProcess) -> None:
    """`lab summary` after a site run and `lab client`: VIPs, every BGP session, pings both families."""
    assert summary.returncode == 0, summary.stdout + summary.stderr
    fams = plan["cluster"]["ip_families"]
    assert re.search(r"VIPs on exactly one gateway(, both families together)?: yes", summary.stdout), summary.stdout
    for f in fams:
        assert re.search(r"%s \S+\s+OK" % ("IPv6" if f == "ipv6" else "IPv4"), summary.stdout), summary.stdout
    nodes = len(plan["groups"]["k8s_control_plane"]) + len(plan["groups"]["k8s_workers"])
    n = len(fams) * nodes
    assert "%d of %d sessions Established" % (n, n) in summary.stdout, summary.stdout
    assert "FAILED" not in summary.stdout, summary.stdout


def load(config):
    """The plan of a lab config (as the inventory plugin makes it)."""
    from ansible_collections.dualstack.k8s.plugins.plugin_utils.plan import load_plan
    return load_plan(config)


def cold_and_warm(config, connection="podman"):
    """Cold site run, the client, the summary; then a warm re-run: (cold s, warm s, summary text)."""
    kw = {"config": config, "connection": connection}
    t0 = time.time()
    res = e2e_playbook("playbooks/site.yml", timeout=1500, **kw)
    cold = time.time() - t0
    rc = recap(res.stdout)
    assert rc and all(v["failed"] == 0 and v["unreachable"] == 0 for v in rc.values()), res.stdout[-4000:]
    e2e_lab("client", **kw)
    summary = e2e_lab("summary", check=False, **kw)
    print(summary.stdout)
    assert_summary_ok(load(config), summary)
    t0 = time.time()
    res = e2e_playbook("playbooks/site.yml", timeout=1500, **kw)
    warm = time.time() - t0
    rc = recap(res.stdout)
    changed = {h: v["changed"] for h, v in rc.items() if v["changed"]}
    assert not changed, "not idempotent: %s\n%s" % (changed, res.stdout[-6000:])
    print("%s: cold site run %.1f s, warm %.1f s (%s)" % (os.path.basename(config), cold, warm, connection))
    return cold, warm, summary.stdout
