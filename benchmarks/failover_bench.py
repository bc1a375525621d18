"""Benchmark: gateway failover recovery time, per daemon killed on the VIP holder.

    .venv/bin/python benchmarks/failover_bench.py [--runs 3] [--daemons keepalived,wireguard-go,bird,haproxy]
                                                  [--keep] [--no-write]

Uses Molecule scenario `gateways` (2 gateways, advert_int 0.2, keepalived tracking bird.service,
haproxy.service and wg0; 1 node with bird as calico/node stand-in and an HTTPS API stand-in; the
WireGuard client alice on the external network). Per run, on the VIP holder:

- keepalived: SIGKILL (systemd's ExecStopPost removes the VIPs);
- wireguard-go: SIGKILL (wg0 disappears; keepalived's wg0 check gives up the VIPs, its release hook
  restarts wg-quick);
- bird, haproxy: SIGKILL with systemd's restart disabled for the run (a runtime drop-in
  Restart=no: the daemon stays down, as in a crash loop or with a broken config).

The client probes the path through the tunnel every 0.1 s: ICMPv6 to the node for keepalived,
wireguard-go and bird; an HTTPS GET /readyz through the IPv4 VIP to the API for haproxy. The probe
stops once the path has answered for 3 s without a gap after the VIPs moved (at most 30 s).
Measured from the kill: the VIPs on the other gateway, and the first answer through the tunnel
after the outage (0 when the path never broke). Then the daemon is repaired and the first gateway
takes the VIPs back (preempt). Writes benchmarks/RESULTS.md, section "Gateways" (others kept).
Lab addresses only; every loop is bounded.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))

from conftest_lab import (  # noqa: E402
    PING_LINE,
    lab_env,
    molecule,
    pexec,
    ping_times,
    probe_until_stable,
    scenario_plan_names,
    skip_reason,
    vip_holder,
    wait_for,
)

SCENARIO = "gateways"
RESULTS = REPO / "benchmarks" / "RESULTS.md"
DAEMONS = ("keepalived", "wireguard-go", "bird", "haproxy")
INTERVAL = 0.1
MAX_S = 30.0
NORESTART = "/run/systemd/system/{unit}.service.d/90-bench-norestart.conf"

# HTTPS GET /readyz through the VIP, every INTERVAL s for at most MAX_S s: "<unix time> <1|0>" per try
HTTPS_PROBE = r"""
import socket, ssl, sys, time
vip, port, count, interval = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
for _ in range(count):
    t = time.time(); ok = 0
    try:
        with socket.create_connection((vip, port), timeout=0.5) as raw, ctx.wrap_socket(raw) as s:
            s.settimeout(0.5); s.sendall(b"GET /readyz HTTP/1.0\r\n\r\n")
            ok = int(s.recv(64).startswith(b"HTTP/1.0 200"))
    except OSError:
        pass
    print("%.3f %d" % (t, ok), flush=True)
    time.sleep(max(0.0, interval - (time.time() - t)))
"""


def names(plan: dict) -> dict:
    lab = plan["lab"]["containers"]
    node = plan["hosts"][plan["groups"]["k8s_control_plane"][0]]
    return {"lab": lab, "client": lab[plan["lab"]["wireguard_client"]], "node6": node["ipv6"],
            "vip": plan["vips"]["ipv4"] or plan["vips"]["ipv6"], "port": plan["kubernetes"]["api_port"]}


def path_up(plan: dict) -> bool:
    n = names(plan)
    ping = pexec(n["client"], "ping", "-6", "-c", "1", "-W", "1", n["node6"], check=False).returncode == 0
    api = "1" in pexec(n["client"], "python3", "-c", HTTPS_PROBE, n["vip"], str(n["port"]), "1", "0.1",
                       check=False).stdout.split()[-1:]
    return ping and api


def start_probe(plan: dict, daemon: str, count: int) -> subprocess.Popen:
    n = names(plan)
    if daemon == "haproxy":
        cmd = ["python3", "-c", HTTPS_PROBE, n["vip"], str(n["port"]), str(count), str(INTERVAL)]
    else:
        cmd = ["ping", "-6", "-D", "-n", "-i", str(INTERVAL), "-W", "1", "-c", str(count), n["node6"]]
    return subprocess.Popen(["podman", "exec", n["client"], *cmd], env=lab_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def ok_times(daemon: str, out: str) -> list:
    if daemon == "haproxy":
        return [float(t) for t, ok in (line.split() for line in out.splitlines() if len(line.split()) == 2)
                if ok == "1"]
    return ping_times(out)


def recovery(times: list, t_kill: float, t_end: float) -> tuple:
    """(seconds from the kill to the first answer after the FIRST outage, 0 if the path never broke;
    the longest gap in seconds, which may be a later switch such as the preempt back)."""
    before = [t for t in times if t < t_kill]
    after = [t for t in times if t >= t_kill]
    if not before or not after or t_end - after[-1] > 3.0:
        return None, None  # no baseline, or no answers at the end: the path did not come back
    seq = [before[-1]] + after
    gaps = [(seq[i + 1] - seq[i], seq[i + 1]) for i in range(len(seq) - 1)]
    outages = [(gap, back) for gap, back in gaps if gap > 3 * INTERVAL + 0.5]
    if not outages:
        return 0.0, max(g for g, _b in gaps)
    return outages[0][1] - t_kill, max(g for g, _b in outages)


def kill(plan: dict, daemon: str, holder: str) -> None:
    c = names(plan)["lab"][holder]
    if daemon == "wireguard-go":
        pid = pexec(c, "pidof", "wireguard-go").stdout.split()[0]
        pexec(c, "kill", "-KILL", pid)
    else:
        pexec(c, "systemctl", "kill", "--signal=SIGKILL", daemon)


def no_restart(plan: dict, daemon: str, holder: str, on: bool) -> None:
    if daemon not in ("bird", "haproxy"):
        return
    c = names(plan)["lab"][holder]
    path = NORESTART.format(unit=daemon)
    if on:
        pexec(c, "sh", "-c", f"mkdir -p {os.path.dirname(path)} && printf '[Service]\\nRestart=no\\n' > {path}")
    else:
        pexec(c, "rm", "-f", path)
    pexec(c, "systemctl", "daemon-reload")


def repair(plan: dict, daemon: str, holder: str) -> None:
    c = names(plan)["lab"][holder]
    no_restart(plan, daemon, holder, on=False)
    unit = {"wireguard-go": "wg-quick@wg0"}.get(daemon, daemon)
    if daemon == "wireguard-go":
        # keepalived's release hook restarts wg-quick; only if wg0 is still missing, start it here
        wait_for(lambda: pexec(c, "test", "-d", "/sys/class/net/wg0", check=False).returncode == 0, 10, 0.5)
        if pexec(c, "test", "-d", "/sys/class/net/wg0", check=False).returncode != 0:
            pexec(c, "systemctl", "restart", unit)
    else:
        pexec(c, "systemctl", "start", unit)


def measure(plan: dict, daemon: str) -> dict:
    n = names(plan)
    holder = vip_holder(plan)
    assert holder, "no gateway holds the VIPs"
    other = next(g for g in plan["groups"]["gateways"] if g != holder)
    count = int(MAX_S / INTERVAL)
    loops = int(MAX_S / 0.02)
    vip_watch = subprocess.Popen(
        ["podman", "exec", n["lab"][other], "sh", "-c",
         f"i=0; while [ $i -lt {loops} ] && ! ip -o addr show | grep -q ' {n['vip']}/'; do sleep 0.02; i=$((i+1)); done;"
         " date +%s.%N"], env=lab_env(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    no_restart(plan, daemon, holder, on=True)
    probe = start_probe(plan, daemon, count)
    try:
        time.sleep(2.0)  # a baseline of answers before the kill
        t_kill = time.time()
        kill(plan, daemon, holder)
        out = probe_until_stable(probe, lambda text: ok_times(daemon, text), t_kill, interval=INTERVAL,
                                 settled=lambda: vip_watch.poll() is not None)
        t_end = time.time()
        vip_s = float(vip_watch.communicate(timeout=MAX_S + 30)[0].strip()) - t_kill
    finally:
        for proc in (probe, vip_watch):
            if proc.poll() is None:
                proc.kill()
        repair(plan, daemon, holder)
    times = ok_times(daemon, out)
    sent = probes_sent(daemon, out)
    path_s, longest = recovery(times, t_kill, t_end)
    return {"daemon": daemon, "holder": holder, "new_holder": other, "vip_s": round(vip_s, 2),
            "path_s": round(path_s, 2) if path_s is not None else None,
            "longest_gap_s": round(longest, 2) if longest is not None else None,
            "lost": sent - len(times), "sent": sent}


def probes_sent(daemon: str, out: str) -> int:
    """Probes sent until the probe stopped (the tries printed, or the highest ICMP sequence answered)."""
    if daemon == "haproxy":
        return len([line for line in out.splitlines() if len(line.split()) == 2])
    return max((int(m["seq"]) for m in map(PING_LINE.match, out.splitlines()) if m), default=0)


def settle(plan: dict, first: str) -> None:
    """Wait (bounded) until the first gateway holds the VIPs again (preempt) and the path works."""
    wait_for(lambda: vip_holder(plan) == first, timeout=40, interval=0.5)
    wait_for(lambda: path_up(plan), timeout=60, interval=0.5)
    time.sleep(2.0)


def write_section(text: str) -> None:
    old = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    pattern = re.compile(r"^## Gateways\n.*?(?=^## |\Z)", re.S | re.M)
    new = pattern.sub(lambda _m: text, old) if pattern.search(old) else old.rstrip("\n") + "\n\n" + text
    RESULTS.write_text(new.rstrip("\n") + "\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--daemons", default=",".join(DAEMONS))
    ap.add_argument("--keep", action="store_true", help="reuse a running scenario and leave it running")
    ap.add_argument("--no-write", action="store_true", help="print only, do not update RESULTS.md")
    args = ap.parse_args()
    daemons = [d for d in args.daemons.split(",") if d]
    assert set(daemons) <= set(DAEMONS), daemons
    reason = skip_reason()
    if reason:
        print(f"cannot run: {reason}", file=sys.stderr)
        return 2
    log_dir = REPO / "tests" / "output"
    log_dir.mkdir(parents=True, exist_ok=True)
    timings = {}
    try:
        for action in ("create", "converge", "verify"):
            t0 = time.monotonic()
            res = molecule(action, SCENARIO, timeout=1500, log=log_dir / f"failover-bench-{action}.log")
            timings[action] = time.monotonic() - t0
            if res.returncode != 0:
                print(f"molecule {action} failed: tests/output/failover-bench-{action}.log", file=sys.stderr)
                return 1
        plan = scenario_plan_names(SCENARIO)
        first = plan["groups"]["gateways"][0]
        results = {d: [] for d in daemons}
        for i in range(args.runs):
            for daemon in daemons:
                settle(plan, first)
                result = measure(plan, daemon)
                print(f"run {i + 1}: {result}", flush=True)
                results[daemon].append(result)
        settle(plan, first)

        def med(rows, key):
            vals = [r[key] for r in rows if r[key] is not None]
            return round(statistics.median(vals), 2) if vals else None

        lines = [
            "## Gateways",
            "",
            f"`benchmarks/failover_bench.py --runs {args.runs}` on {time.strftime('%Y-%m-%d')} "
            f"({platform.machine()}, {os.cpu_count()} cores, shared with other jobs): Molecule scenario `gateways`, "
            "2 gateways (keepalived VRRPv3 `advert_int 0.2`, unicast, v4+v6 instances in one sync group, tracking "
            "`bird.service`, `haproxy.service` and `wg0` every 1 s, fall 2; wireguard-go), 1 node with bird as "
            "calico/node stand-in and an HTTPS API stand-in, WireGuard client on the external network. One daemon "
            "is killed with SIGKILL on the VIP holder (bird and haproxy with systemd's restart disabled: they stay "
            "down). The client probes every 0.1 s: ICMPv6 to the node through the tunnel (HTTPS GET /readyz "
            "through the VIP for haproxy). Seconds from the kill (0: the path never broke):",
            "",
            "| daemon killed | VIPs on the other gateway (median) | path back through the new holder (median) | runs (path s) | longest gap in 30 s (median) |",
            "|---|---|---|---|---|",
        ]
        for daemon, rows in results.items():
            lines.append(f"| {daemon} | {med(rows, 'vip_s')} | {med(rows, 'path_s')} | "
                         + ", ".join(str(r["path_s"]) for r in rows) + f" | {med(rows, 'longest_gap_s')} |")
        lines += [
            "",
            "Reading: on every switch the new holder's vip-acquired hooks restart its BGP sessions (no error-wait "
            "back-off from the attempts made while the VIPs were elsewhere) and start the WireGuard handshakes. "
            "keepalived dead - ExecStopPost drops the VIPs, the backup takes over after ~3 adverts. "
            "wireguard-go dead - wg0 disappears, the tracked check fails twice (1-2 s), the holder goes to FAULT "
            "(priority-0 advert: the backup takes over at once), the endpoint sync and the vip-acquired hook make "
            "the new holder start the handshake. bird dead - the tracked check moves the VIPs before the node's hold "
            "timer (9 s) would withdraw the routes. haproxy dead "
            "- the VIP refuses connections until the tracked check moves it. After the repair the first gateway "
            "preempts the VIPs back (a second, equally short switch). See docs/gateways.md.",
            "",
            f"Set-up times (Molecule): create {timings.get('create', 0):.0f} s, converge "
            f"{timings.get('converge', 0):.0f} s, verify {timings.get('verify', 0):.0f} s.",
            "",
        ]
        text = "\n".join(lines)
        print(text)
        if not args.no_write:
            write_section(text)
        return 0
    finally:
        if not args.keep:
            molecule("destroy", SCENARIO, timeout=300, log=log_dir / "failover-bench-destroy.log")


if __name__ == "__main__":
    sys.exit(main())
