# -*- coding: utf-8 -*-
# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE to the dualstack.k8s collection: the API may change without notice.
"""The address-plan report: a plan dict -> a table a person reads at a glance."""

from __future__ import annotations


def _table(headers, rows):
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(str(c))) for w, c in zip(widths, row)]
    line = "  ".join("%-*s" % (w, h) for w, h in zip(widths, headers)).rstrip()
    out = [line, "  ".join("-" * w for w in widths)]
    for row in rows:
        out.append("  ".join("%-*s" % (w, "" if c is None else c) for w, c in zip(widths, row)).rstrip())
    return out


def plan_table(plan):
    """Hosts x families, VIPs, every CIDR and mask size, as plain text lines."""
    fams = plan["cluster"]["ip_families"]
    label = {"ipv4": "IPv4", "ipv6": "IPv6"}
    out = ["Cluster %s: %s (primary %s), DNS domain %s" % (
        plan["cluster"]["name"], " + ".join(label[f] for f in fams), label[fams[0]],
        plan["cluster"]["dns_domain"]), ""]
    rows = [(name, h["role"].replace("_", "-")) + tuple(h[f] for f in fams) + (",".join(h["node_ips"]),)
            for name, h in plan["hosts"].items()]
    out += _table(["host", "role"] + [label[f] for f in fams] + ["kubelet node-ip"], rows)
    out.append("")
    k = plan["kubernetes"]
    rows = []
    for f in fams:
        net = plan["network"][f]
        rows.append(("node subnet", label[f], net["cidr"], "router %s%s" % (
            net["gateway"], ", %s" % net["mode"] if f == "ipv6" else "")))
    for f in fams:
        rows.append(("gateway VIP", label[f], plan["vips"][f], "VRRP, HAProxy :%d, BGP source" % k["api_port"]))
    for key in ("public_ipv4", "public_ipv6"):
        if plan["vips"].get(key):
            rows.append(("public VIP", label[key[7:]], plan["vips"][key], "WireGuard endpoint"))
    wg = plan["wireguard"]
    for f in fams:
        if wg.get(f):
            rows.append(("WireGuard", label[f], wg[f]["cidr"], "gateway %s, udp/%d" % (wg[f]["gateway"], wg["port"])))
    for i, f in enumerate(fams):
        rows.append(("pod subnet", label[f], k["pod_subnets"][i], "node mask /%d" % k["node_mask_sizes"][f]))
    for i, f in enumerate(fams):
        rows.append(("service subnet", label[f], k["service_subnets"][i], ""))
    for pool in plan["calico"]["pools"]:
        rows.append(("Calico pool", label[pool["family"]], pool["cidr"], "block /%d, encapsulation %s, natOutgoing %s" % (
            pool["block_size"], pool["encapsulation"], "on" if pool["nat_outgoing"] else "off")))
    out += _table(["what", "family", "address", "notes"], rows)
    out += ["", "controlPlaneEndpoint %s; gateways AS %d, nodes (Calico) AS %d" % (
        k["control_plane_endpoint"], plan["gateways"]["as_number"], plan["calico"]["as_number"])]
    for peer in wg["peers"]:
        out.append("WireGuard peer %s: %s" % (peer["name"], ", ".join(peer["allowed_ips"])))
    return out
