"""What a person wants to see after a site run on the embedded lab, read from the live hosts:
the address plan, which gateway holds the VIPs, BGP sessions per node and family, an IPv6 and an
IPv4 ping from the WireGuard client to a node through the tunnel, and where the kubeadm and
Calico configs were written."""

from __future__ import annotations

import json
import re

from ansible_collections.dualstack.k8s.plugins.plugin_utils.report import plan_table

KUBEADM_PATH = "/etc/kubernetes/kubeadm-config.yaml"
CALICO_DIR = "/etc/kubernetes/dualstack/calico"
LABEL = {"ipv4": "IPv4", "ipv6": "IPv6"}


def vip_holders(plan, run):
    """{family: [gateways holding that VIP]}."""
    holders = {f: [] for f in plan["cluster"]["ip_families"]}
    for gw in plan["groups"]["gateways"]:
        code, out = run(plan["lab"]["containers"][gw], "ip", "-j", "addr", "show")
        if code != 0:
            continue
        addrs = {a["local"] for link in json.loads(out or "[]") for a in link.get("addr_info", [])}
        for f in holders:
            if plan["vips"][f] in addrs:
                holders[f].append(gw)
    return holders


def bgp_sessions(plan, run, gateway):
    """{(node, family): state} from `birdc show protocols all` on the gateway holding the VIPs."""
    code, out = run(plan["lab"]["containers"][gateway], "birdc", "-r", "show", "protocols", "all")
    sessions = {}
    if code != 0:
        return sessions
    blocks = re.split(r"\n(?=\S)", out)
    by_ip = {}
    for name, host in plan["hosts"].items():
        for f in ("ipv4", "ipv6"):
            if host[f]:
                by_ip[host[f]] = (name, f)
    for block in blocks:
        head = block.split("\n", 1)[0].split()
        if len(head) < 4 or head[1] != "BGP":
            continue
        match = re.search(r"Neighbor address:\s+(\S+)", block)
        if not match or match.group(1) not in by_ip:
            continue
        state = re.search(r"BGP state:\s+(\S+)", block)
        sessions[by_ip[match.group(1)]] = state.group(1) if state else head[3]
    return sessions


def ping(plan, run, family, target):
    client = plan["lab"]["containers"][plan["lab"]["wireguard_client"]]
    code, out = run(client, "ping", "-%s" % family[-1], "-c", "3", "-i", "0.2", "-W", "2", target, timeout=20)
    match = re.search(r"(\d+) received.*?(?:rtt [^=]+= [\d.]+/([\d.]+)/)?", out, re.S)
    received = int(match.group(1)) if match else 0
    avg = re.search(r"rtt [^=]+= [\d.]+/([\d.]+)/", out)
    return code == 0 and received > 0, received, avg.group(1) if avg else "-"


def nat64_path(plan, run):
    """From the first node: the outside host's name through DNS64 (an address inside the NAT64 prefix),
    then HTTP by name through NAT64. (ok, text)."""
    import ipaddress
    node = plan["lab"]["containers"][(plan["groups"]["k8s_workers"] or plan["groups"]["k8s_control_plane"])[0]]
    fqdn = plan["lab"]["outside"]["fqdn"]
    code, out = run(node, "getent", "ahostsv6", fqdn, timeout=20)
    addr = out.split()[0] if code == 0 and out.split() else None
    prefix = ipaddress.ip_network(plan["nat64"]["prefix"])
    if not addr or ipaddress.ip_address(addr) not in prefix:
        return False, "getent ahostsv6 %s: %s (want an address in %s)" % (fqdn, addr or "no answer", prefix)
    code, out = run(node, "curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{time_total}", "--max-time", "5",
                    "http://%s/" % fqdn, timeout=20)
    status = out.split()[0] if out.split() else "-"
    return code == 0 and status == "200", "%s -> %s, HTTP GET by name: %s (%s s)" % (
        fqdn, addr, status, out.split()[1] if len(out.split()) > 1 else "-")


def ingress_paths(plan, run):
    """Each ingress frontend from a client of each public VIP's family: the IPv6-only ingress client
    (lab.ingress_client) and the WireGuard client's external address; the backend stand-in
    (lab/standins/proxy_echo.py) answers the client address it read from the PROXY v2 header, which must
    be the client's own. [(ok, text)]."""
    lab = plan["lab"]
    clients = {}
    if lab.get("ingress_client"):
        clients["ipv6"] = (lab["ingress_client"]["name"], lab["ingress_client"]["ipv6"])
    wg = lab.get("wireguard_client")
    if wg and lab["external_hosts"].get(wg, {}).get("ipv4"):
        clients["ipv4"] = (wg, lab["external_hosts"][wg]["ipv4"])
    out = []
    for fe in (plan.get("ingress") or {}).get("frontends", []):
        for address in fe["addresses"]:
            family = "ipv6" if ":" in address else "ipv4"
            if family not in clients:
                continue
            name, own = clients[family]
            url = "http://%s:%d/source" % ("[%s]" % address if family == "ipv6" else address, fe["port"])
            code, got = run(lab["containers"][name], "curl", "-sS", "-g", "--max-time", "5", url, timeout=20)
            got = got.strip() if code == 0 else "no answer"
            out.append((got == own, "%-6s %s from %s (%s): the backend read %s" % (
                fe["name"], url, name, own, got)))
    return out


def summary(plan, run):
    lines = ["", "=" * 78, "dualstack.k8s lab summary", "=" * 78]
    lines += plan_table(plan)
    fams = plan["cluster"]["ip_families"]
    holders = vip_holders(plan, run)
    lines.append("")
    master = None
    for f in fams:
        who = holders[f]
        lines.append("VIP %-5s %-18s held by: %s" % (LABEL[f], plan["vips"][f], ", ".join(who) or "NOBODY"))
        master = master or (who[0] if len(who) == 1 else None)
    ok = all(len(holders[f]) == 1 for f in fams) and len({holders[f][0] for f in fams if holders[f]}) == 1
    together = ", both families together" if len(fams) == 2 else ""
    lines.append("VIPs on exactly one gateway%s: %s" % (together, "yes" if ok else "NO"))
    if master:
        sessions = bgp_sessions(plan, run, master)
        lines.append("")
        lines.append("BGP sessions on the LB-master %s (sourced from the VIPs):" % master)
        for name in plan["groups"]["k8s_control_plane"] + plan["groups"]["k8s_workers"]:
            cells = ["%s %s" % (LABEL[f], sessions.get((name, f), "none")) for f in fams]
            lines.append("  %-10s %s" % (name, "   ".join(cells)))
        established = sum(1 for v in sessions.values() if v == "Established")
        expected = len(fams) * (len(plan["groups"]["k8s_control_plane"]) + len(plan["groups"]["k8s_workers"]))
        lines.append("  %d of %d sessions Established" % (established, expected))
        ok = ok and established == expected
    all_ok = ok and master is not None
    if plan["lab"].get("wireguard_client"):
        node = (plan["groups"]["k8s_workers"] or plan["groups"]["k8s_control_plane"])[0]
        lines.append("")
        lines.append("Ping from WireGuard client %s to %s through the tunnel:" % (plan["lab"]["wireguard_client"], node))
        for f in sorted(fams, key=lambda x: x != "ipv6"):
            good, received, avg = ping(plan, run, f, plan["hosts"][node][f])
            all_ok = all_ok and good
            lines.append("  %s %-16s %s (%d/3 replies, avg %s ms)" % (
                LABEL[f], plan["hosts"][node][f], "OK" if good else "FAILED", received, avg))
        pods = plan["lab"].get("pod_standins") or {}
        if pods:
            pod_node = sorted(pods)[-1]
            target = pods[pod_node]["address"]
            good, received, avg = ping(plan, run, "ipv6", target)
            all_ok = all_ok and good
            lines.append("  pod    %-16s %s (%d/3 replies, avg %s ms; routable pod address on %s, no NAT)" % (
                target, "OK" if good else "FAILED", received, avg, pod_node))
    if plan.get("nat64") and plan["lab"].get("outside"):
        good, text = nat64_path(plan, run)
        all_ok = all_ok and good
        lines.append("")
        lines.append("IPv4-only %s from an IPv6 node through DNS64 + NAT64 on the gateways:" % plan["lab"]["outside"]["fqdn"])
        lines.append("  %s %s" % ("OK    " if good else "FAILED", text))
    ingress = ingress_paths(plan, run) if (plan.get("ingress") or {}).get("frontends") else []
    if ingress:
        lines.append("")
        lines.append("Ingress on the public VIPs through HAProxy, client address by PROXY protocol v2:")
        for good, text in ingress:
            all_ok = all_ok and good
            lines.append("  %s %s" % ("OK    " if good else "FAILED", text))
    lines.append("")
    lines.append("Kubernetes configs written:")
    first_cp = plan["kubernetes"]["first_control_plane"]
    for name in plan["groups"]["k8s_control_plane"] + plan["groups"]["k8s_workers"]:
        code, _out = run(plan["lab"]["containers"][name], "test", "-s", KUBEADM_PATH)
        lines.append("  %-10s %s %s" % (name, KUBEADM_PATH, "" if code == 0 else "(MISSING)"))
    code, out = run(plan["lab"]["containers"][first_cp], "ls", CALICO_DIR)
    lines.append("  %-10s %s/ %s" % (first_cp, CALICO_DIR, " ".join(out.split()) if code == 0 else "(MISSING)"))
    lines.append("=" * 78)
    print("\n".join(lines))
    return 0 if all_ok else 1
