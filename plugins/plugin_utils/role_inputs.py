# -*- coding: utf-8 -*-
# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE to the dualstack.k8s collection: the API may change without notice.
"""The one plan -> role-input mapping.

The roles of this collection know nothing of config.toml or the plan: each takes plain inputs
(its ``meta/argument_specs.yml``). This module is the only place that turns the plan
(plugins/plugin_utils/plan.py) into those inputs:

- ``host_inputs(plan, name)``: every role input of one host (the inventory plugin sets them as
  that host's variables). A host gets its own slice: a worker gets no list of every node, so the
  inventory grows linearly with the number of hosts.
- ``controller_inputs(plan)``: the inputs of the roles that run on the controller (Neutron).

One function per role, ``<role>_inputs``; each returns a dict of that role's variables.
"""

from __future__ import annotations

GATEWAY_ROLES = ("sysctl", "wireguard", "keepalived", "haproxy", "bird", "check_dualstack")
NODE_ROLES = ("sysctl", "kubeadm", "calico", "check_dualstack")

# What two roles share is an input of both, set here once.
WIREGUARD_INTERFACE = "wg0"
KEEPALIVED_HOOK_DIR = "/etc/keepalived"
RA_MODES = ("slaac", "dhcpv6-stateless", "dhcpv6-stateful")


def _fams(plan):
    return plan["cluster"]["ip_families"]


def _host(plan, name):
    return plan["hosts"][name]


def _vips(plan):
    """{family: node-network VIP or None} for both families."""
    return {f: plan["vips"].get(f) for f in ("ipv4", "ipv6")}


def _forwards(host):
    return host["role"] in ("gateway", "control_plane", "worker")


def _accept_ra(plan, host):
    network6 = plan["network"].get("ipv6") or {}
    return bool(_forwards(host) and "ipv6" in _fams(plan) and network6.get("mode") in RA_MODES)


# --------------------------------------------------------------------------------------- sysctl
def sysctl_inputs(plan, name):
    host = _host(plan, name)
    return {
        "sysctl_families": list(_fams(plan)),
        "sysctl_forwarding": _forwards(host),
        "sysctl_nonlocal_bind": host["role"] == "gateway",
        "sysctl_accept_ra": _accept_ra(plan, host),
        # the interface holding this address gets accept_ra = 2 (found from facts on the host)
        "sysctl_accept_ra_address": host.get("ipv6") or "",
    }


# ------------------------------------------------------------------------------------ wireguard
def wireguard_inputs(plan, name):
    wg = plan["wireguard"]
    fams = _fams(plan)
    vips = _vips(plan)
    gateways = plan["groups"]["gateways"]
    primary = plan["cluster"]["primary_family"]
    reply = {f: (plan["vips"].get("public_%s" % f) or vips[f]) for f in ("ipv4", "ipv6")}
    return {
        "wireguard_interface": WIREGUARD_INTERFACE,
        "wireguard_port": wg["port"],
        "wireguard_addresses": ["%s/%d" % (wg[f]["gateway"], wg[f]["prefixlen"]) for f in fams if wg.get(f)],
        "wireguard_peers": [{"name": p["name"], "public_key": p["public_key"], "allowed_ips": p["allowed_ips"]}
                            for p in wg["peers"]],
        "wireguard_reply_source": reply,
        "wireguard_endpoint_sync": len(gateways) > 1,
        "wireguard_endpoint_sync_port": wg["endpoint_sync_port"],
        "wireguard_endpoint_sync_addresses": [a for a in (_host(plan, name).get(f) for f in fams) if a],
        "wireguard_endpoint_sync_gateways": sorted(
            _host(plan, g)[primary] for g in gateways if g != name and _host(plan, g).get(primary)),
        "wireguard_vips": sorted({v for v in list(reply.values()) + list(vips.values()) if v}),
        "wireguard_hook_dir": KEEPALIVED_HOOK_DIR,
    }


# ----------------------------------------------------------------------------------- keepalived
def keepalived_inputs(plan, name):
    host = _host(plan, name)
    gw = plan["gateways"]
    vips = _vips(plan)
    others = [_host(plan, g) for g in plan["groups"]["gateways"] if g != name]
    return {
        "keepalived_families": [f for f in _fams(plan) if vips[f]],
        "keepalived_vips": vips,
        "keepalived_vip_prefixlen": {f: (plan["network"][f] or {}).get("prefixlen", 32 if f == "ipv4" else 128)
                                     for f in ("ipv4", "ipv6")},
        "keepalived_public_vips": {f: plan["vips"].get("public_%s" % f) for f in ("ipv4", "ipv6")},
        "keepalived_unicast_src": {f: host.get(f) for f in ("ipv4", "ipv6")},
        "keepalived_unicast_peers": {f: [o[f] for o in others if o.get(f)] for f in ("ipv4", "ipv6")},
        "keepalived_router_id": gw["vrrp_router_id"],
        "keepalived_advert_int": gw["vrrp_advert_int"],
        "keepalived_priority": host["vrrp_priority"],
        "keepalived_preempt": gw["vrrp_preempt"],
        "keepalived_hook_dir": KEEPALIVED_HOOK_DIR,
    }


# -------------------------------------------------------------------------------------- haproxy
def haproxy_inputs(plan, name):
    del name
    primary = plan["cluster"]["primary_family"]
    vips = _vips(plan)
    api_port = plan["kubernetes"]["api_port"]
    return {
        "haproxy_frontend_addresses": [vips[f] for f in _fams(plan) if vips[f]],
        "haproxy_frontend_port": api_port,
        "haproxy_backends": [{"name": n, "address": _host(plan, n).get(primary) or _host(plan, n)["primary_ip"]}
                             for n in plan["groups"]["k8s_control_plane"]],
        "haproxy_backend_port": api_port,
    }


# ----------------------------------------------------------------------------------------- bird
def bird_inputs(plan, name):
    host = _host(plan, name)
    vips = _vips(plan)
    wg = plan["wireguard"]
    nodes = plan["groups"]["k8s_control_plane"] + plan["groups"]["k8s_workers"]
    return {
        "bird_families": [f for f in _fams(plan) if vips[f]],
        "bird_vips": vips,
        "bird_local_as": plan["gateways"]["as_number"],
        "bird_peer_as": plan["calico"]["as_number"],
        "bird_neighbors": [{"name": n, "ipv4": _host(plan, n).get("ipv4"), "ipv6": _host(plan, n).get("ipv6")}
                           for n in nodes],
        "bird_router_id": host.get("ipv4") or "0.0.0.%d" % (host["index"] + 1),
        "bird_export_prefixes": {f: ([wg[f]["cidr"]] if wg.get(f) else []) for f in ("ipv4", "ipv6")},
        "bird_export_extra": {f: list(wg["export_extra"].get(f, [])) for f in ("ipv4", "ipv6")},
        "bird_direct_interfaces": [WIREGUARD_INTERFACE],
    }


# -------------------------------------------------------------------------------------- kubeadm
def kubeadm_inputs(plan, name):
    """Owned by the Kubernetes side: kubeadm_config's plain parameters for this node."""
    del plan, name
    return {}


# --------------------------------------------------------------------------------------- calico
def calico_inputs(plan, name):
    """Owned by the Kubernetes side: calico_manifests' plain parameters (first control-plane node)."""
    del plan, name
    return {}


# ------------------------------------------------------------------------------ check_dualstack
def check_dualstack_inputs(plan, name):
    """Owned by the Kubernetes side: what check_dualstack compares on this host."""
    del plan, name
    return {}


# ----------------------------------------------------------------------------- openstack_network
def openstack_network_inputs(plan):
    """Owned by the OpenStack side: the Neutron spec of the cluster (controller role)."""
    del plan
    return {}


ROLE_FUNCTIONS = {
    "sysctl": sysctl_inputs,
    "wireguard": wireguard_inputs,
    "keepalived": keepalived_inputs,
    "haproxy": haproxy_inputs,
    "bird": bird_inputs,
    "kubeadm": kubeadm_inputs,
    "calico": calico_inputs,
    "check_dualstack": check_dualstack_inputs,
}


def host_summary(plan, name):
    """The host's own facts from the plan, for playbooks and reports (not role inputs)."""
    host = _host(plan, name)
    return {
        "dualstack_role": host["role"],
        "dualstack_ipv4": host.get("ipv4"),
        "dualstack_ipv6": host.get("ipv6"),
        "dualstack_node_ips": list(host["node_ips"]),
        "dualstack_primary_ip": host["primary_ip"],
    }


def host_inputs(plan, name):
    """Every variable the inventory sets on one host: its summary and the inputs of its roles."""
    roles = GATEWAY_ROLES if _host(plan, name)["role"] == "gateway" else NODE_ROLES
    out = host_summary(plan, name)
    for role in roles:
        out.update(ROLE_FUNCTIONS[role](plan, name))
    return out


def cluster_vars(plan):
    """The few cluster-wide facts set on group ``all`` (small: no per-host lists)."""
    return {
        "dualstack_cluster_name": plan["cluster"]["name"],
        "dualstack_ip_families": list(_fams(plan)),
        "dualstack_openstack": plan.get("openstack") is not None,
    }


def controller_inputs(plan):
    """Inputs of the roles that run on the controller, by role."""
    return {"openstack_network": openstack_network_inputs(plan) if plan.get("openstack") else {}}
