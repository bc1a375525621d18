# -*- coding: utf-8 -*-
# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE to the dualstack.k8s collection: the API may change without notice.
"""Calico resources from the plan: pure functions, standard library only.

``render_calico(plan)`` returns an ordered dict ``file name -> list of documents``:

- ``installation.yaml`` (operator style, ``calico.style = "operator"``, the default):
  ``operator.tigera.io/v1`` Installation ``default`` with ``calicoNetwork.ipPools[]`` per family,
  ``nodeAddressAutodetectionV4/V6`` (``cidrs: [node subnet]``) and ``bgp: Enabled``.
  The operator is upstream's recommended install: it owns the CNI config, calico-node's
  environment and upgrades, so nothing of Calico's own manifest has to be patched.
- ``calico-config.yaml`` + ``calico-node-env.yaml`` (manifest style): the ``calico-config``
  ConfigMap whose ``cni_network_config`` JSON sets ``calico-ipam`` ``assign_ipv4``/``assign_ipv6``
  (strings, as the CNI plugin reads them) and a strategic-merge patch of the ``calico-node``
  DaemonSet with the dual-stack environment (``IP``/``IP6``, autodetection methods,
  ``FELIX_IPV6SUPPORT``, ``CALICO_IPV4POOL_*``/``CALICO_IPV6POOL_*``). env entries, not
  ``envFrom``: Calico's manifest already sets ``IP``/``FELIX_IPV6SUPPORT`` in ``env``, which
  would win over an ``envFrom`` ConfigMap.
- ``ippools.yaml``: one ``projectcalico.org/v3`` IPPool per family (both styles; in operator
  style the Installation creates pools of the same names and the file is the reference).
- ``bgp.yaml``: BGPConfiguration ``default`` and one BGPPeer per family to the gateway VIP.
- ``felixconfiguration.yaml``: FelixConfiguration ``default`` (``ipv6Support``).

Why ``projectcalico.org/v3`` and not ``crd.projectcalico.org/v1``: v3 is Calico's public API,
taken by calicoctl, by the Calico API server and (current releases) by Calico's own v3 CRDs,
and it is validated and defaulted on the way in (the shipped v3 CRDs carry the CEL rules, e.g.
"IPIP is not supported on IPv6 pools"). ``crd.projectcalico.org/v1`` is Calico's internal
storage format; Calico documents it as not to be edited directly.

Every value comes from the plan (``calico``, ``network``, ``kubernetes``, ``cluster``).
"""

from __future__ import annotations

import json

from ansible_collections.dualstack.k8s.plugins.module_utils.errors import KeyedErrors
from ansible_collections.dualstack.k8s.plugins.module_utils.kubeadm import (
    ADDRESS_BITS,
    SUFFIX,
    dump_yaml,
    family_of,
)

CALICO_API_VERSION = "projectcalico.org/v3"
OPERATOR_API_VERSION = "operator.tigera.io/v1"
BLOCK_LIMITS = {"ipv4": (20, 32), "ipv6": (116, 128)}
ENCAPSULATIONS = {
    "ipv4": ("None", "IPIP", "VXLAN", "IPIPCrossSubnet", "VXLANCrossSubnet"),
    "ipv6": ("None", "VXLAN", "VXLANCrossSubnet"),
}
NEXT_HOP_MODES = ("Auto", "Self", "Keep")
STYLES = ("operator", "manifest")
NODE_SELECTOR = "all()"
MTU_PLACEHOLDER = "__CNI_MTU__"


class CalicoError(KeyedErrors, ValueError):
    """The plan's Calico part is inconsistent; ``errors`` holds (config_key, reason) pairs."""

    def __init__(self, errors):
        super().__init__(errors, "the plan's Calico settings are invalid, nothing was rendered:")


def tunnel_modes(encapsulation):
    """Operator-style encapsulation -> IPPool (ipipMode, vxlanMode)."""
    ipip = vxlan = "Never"
    if encapsulation.startswith("IPIP"):
        ipip = "CrossSubnet" if encapsulation.endswith("CrossSubnet") else "Always"
    elif encapsulation.startswith("VXLAN"):
        vxlan = "CrossSubnet" if encapsulation.endswith("CrossSubnet") else "Always"
    return ipip, vxlan


def _metadata(name, namespace=None, labels=True):
    meta = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    if labels:
        meta["labels"] = {"app.kubernetes.io/managed-by": "dualstack.k8s"}
    return meta


def _families(plan):
    return list(plan["cluster"]["ip_families"])


# ------------------------------------------------------------------------------------------
# projectcalico.org/v3 resources
# ------------------------------------------------------------------------------------------

def ippools(plan):
    docs = []
    for pool in plan["calico"]["pools"]:
        ipip, vxlan = tunnel_modes(pool["encapsulation"])
        docs.append({
            "apiVersion": CALICO_API_VERSION,
            "kind": "IPPool",
            "metadata": _metadata(pool["name"]),
            "spec": {
                "cidr": pool["cidr"],
                "blockSize": pool["block_size"],
                "ipipMode": ipip,
                "vxlanMode": vxlan,
                "natOutgoing": bool(pool["nat_outgoing"]),
                "nodeSelector": NODE_SELECTOR,
            },
        })
    return docs


def bgp_configuration(plan):
    c = plan["calico"]
    return {
        "apiVersion": CALICO_API_VERSION,
        "kind": "BGPConfiguration",
        "metadata": _metadata("default"),
        "spec": {
            "asNumber": c["as_number"],
            "nodeToNodeMeshEnabled": bool(c["node_to_node_mesh"]),
            "logSeverityScreen": "Info",
        },
    }


def bgp_peers(plan):
    """One BGPPeer per family: every node peers with the gateway VIP (the LB-master, seed 004).

    ``nextHopMode`` (Auto|Self|Keep) replaces the deprecated ``keepOriginalNextHop``; the
    shipped schema has both and forbids setting both, so only ``nextHopMode`` is rendered
    (``Keep`` is seed 002's ``keepOriginalNextHop: true``).
    """
    c = plan["calico"]
    docs = []
    for peer in c["peers"]:
        docs.append({
            "apiVersion": CALICO_API_VERSION,
            "kind": "BGPPeer",
            "metadata": _metadata("gateway-vip-%s" % peer["family"]),
            "spec": {
                "peerIP": peer["peer_ip"],
                "asNumber": peer["as_number"],
                "nodeSelector": NODE_SELECTOR,
                "nextHopMode": c["next_hop_mode"],
            },
        })
    return docs


def felix_configuration(plan):
    return {
        "apiVersion": CALICO_API_VERSION,
        "kind": "FelixConfiguration",
        "metadata": _metadata("default"),
        "spec": {"ipv6Support": "ipv6" in _families(plan)},
    }


# ------------------------------------------------------------------------------------------
# operator style
# ------------------------------------------------------------------------------------------

def installation(plan):
    fams = _families(plan)
    network = {
        "bgp": "Enabled",
        "ipPools": [{
            "name": pool["name"],
            "cidr": pool["cidr"],
            "blockSize": pool["block_size"],
            "encapsulation": pool["encapsulation"],
            "natOutgoing": "Enabled" if pool["nat_outgoing"] else "Disabled",
            "nodeSelector": NODE_SELECTOR,
        } for pool in plan["calico"]["pools"]],
    }
    for fam in fams:
        network["nodeAddressAutodetection%s" % SUFFIX[fam].upper()] = {"cidrs": [plan["network"][fam]["cidr"]]}
    return {
        "apiVersion": OPERATOR_API_VERSION,
        "kind": "Installation",
        "metadata": _metadata("default"),
        "spec": {
            "calicoNetwork": network,
            "serviceCIDRs": list(plan["kubernetes"]["service_subnets"]),
        },
    }


# ------------------------------------------------------------------------------------------
# manifest style
# ------------------------------------------------------------------------------------------

def cni_network_config(plan):
    """The CNI conflist calico's install-cni writes (placeholders __X__ are filled by install-cni)."""
    fams = _families(plan)
    conf = {
        "name": "k8s-pod-network",
        "cniVersion": "0.3.1",
        "plugins": [
            {
                "type": "calico",
                "log_level": "info",
                "log_file_path": "/var/log/calico/cni/cni.log",
                "datastore_type": "kubernetes",
                "nodename": "__KUBERNETES_NODE_NAME__",
                "mtu": MTU_PLACEHOLDER,
                "ipam": {
                    "type": "calico-ipam",
                    "assign_ipv4": "true" if "ipv4" in fams else "false",
                    "assign_ipv6": "true" if "ipv6" in fams else "false",
                },
                "policy": {"type": "k8s"},
                "kubernetes": {"kubeconfig": "__KUBECONFIG_FILEPATH__"},
            },
            {"type": "portmap", "snat": True, "capabilities": {"portMappings": True}},
            {"type": "bandwidth", "capabilities": {"bandwidth": True}},
        ],
    }
    # install-cni substitutes __CNI_MTU__ textually with a number, as in Calico's own manifest
    return json.dumps(conf, indent=2).replace('"%s"' % MTU_PLACEHOLDER, MTU_PLACEHOLDER)


def calico_config_map(plan):
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _metadata("calico-config", "kube-system"),
        "data": {
            "typha_service_name": "none",
            "calico_backend": "bird",
            "veth_mtu": "0",
            "cni_network_config": cni_network_config(plan) + "\n",
        },
    }


def calico_node_env(plan):
    """calico-node's dual-stack environment, as a list of {name, value} (all strings)."""
    fams = _families(plan)
    detect = plan["calico"]["autodetection"]
    env = [
        ("IP", "autodetect" if "ipv4" in fams else "none"),
        ("IP6", "autodetect" if "ipv6" in fams else "none"),
    ]
    if "ipv4" in fams:
        env.append(("IP_AUTODETECTION_METHOD", detect["ipv4"]))
    if "ipv6" in fams:
        env.append(("IP6_AUTODETECTION_METHOD", detect["ipv6"]))
    env.append(("FELIX_IPV6SUPPORT", "true" if "ipv6" in fams else "false"))
    for pool in plan["calico"]["pools"]:
        prefix = "CALICO_%sPOOL_" % pool["family"].upper()
        ipip, vxlan = tunnel_modes(pool["encapsulation"])
        env.append((prefix + "CIDR", pool["cidr"]))
        env.append((prefix + "BLOCK_SIZE", str(pool["block_size"])))
        if pool["family"] == "ipv4":
            env.append((prefix + "IPIP", ipip))
        env.append((prefix + "VXLAN", vxlan))
        env.append((prefix + "NAT_OUTGOING", "true" if pool["nat_outgoing"] else "false"))
        env.append((prefix + "NODE_SELECTOR", NODE_SELECTOR))
    return [{"name": name, "value": value} for name, value in env]


def calico_node_patch(plan):
    """Strategic-merge patch of DaemonSet kube-system/calico-node: env entries merge by name."""
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "calico-node", "namespace": "kube-system"},
        "spec": {"template": {"spec": {"containers": [
            {"name": "calico-node", "env": calico_node_env(plan)},
        ]}}},
    }


# ------------------------------------------------------------------------------------------
# the whole set
# ------------------------------------------------------------------------------------------

def render_calico(plan, style=None, validate=True):
    """{file name: [documents]} for the plan's (or the given) style. Raises CalicoError."""
    style = style or plan["calico"]["style"]
    if validate:
        errors = validate_calico(plan, style)
        if errors:
            raise CalicoError(errors)
    files = {}
    if style == "operator":
        files["installation.yaml"] = [installation(plan)]
    else:
        files["calico-config.yaml"] = [calico_config_map(plan)]
        files["calico-node-env.yaml"] = [calico_node_patch(plan)]
    files["ippools.yaml"] = ippools(plan)
    files["bgp.yaml"] = [bgp_configuration(plan)] + bgp_peers(plan)
    files["felixconfiguration.yaml"] = [felix_configuration(plan)]
    return files


# How the role applies each file: "apply" (kubectl apply -f), "patch" (kubectl patch
# --type strategic on the named DaemonSet) or "reference" (kept on disk, not applied:
# in operator style the Installation owns the IP pools).
def apply_plan(style):
    if style == "operator":
        return [("installation.yaml", "apply"), ("ippools.yaml", "reference"), ("bgp.yaml", "apply"),
                ("felixconfiguration.yaml", "apply")]
    return [("calico-config.yaml", "apply"), ("calico-node-env.yaml", "patch"), ("ippools.yaml", "apply"),
            ("bgp.yaml", "apply"), ("felixconfiguration.yaml", "apply")]


def render_calico_texts(plan, style=None):
    """{file name: YAML text} with a header naming the file's use."""
    style = style or plan["calico"]["style"]
    uses = dict(apply_plan(style))
    texts = {}
    for name, docs in render_calico(plan, style).items():
        header = ["Managed by dualstack.k8s (calico_manifests module); rendered from the address plan.",
                  "Calico style %s; this file is %s." % (style, {
                      "apply": "applied with kubectl apply -f",
                      "patch": "a strategic-merge patch of DaemonSet kube-system/calico-node",
                      "reference": "for reference only (the operator's Installation creates these pools)",
                  }[uses[name]])]
        texts[name] = dump_yaml(docs, header=header)
    return texts


def validate_calico(plan, style=None):
    """(config_key, reason) pairs for Calico settings the plan gets wrong; [] when fine."""
    errors = []
    try:
        fams = _families(plan)
        c = plan["calico"]
    except (KeyError, TypeError) as exc:
        return [("", "not a plan: missing %s" % exc)]
    style = style or c.get("style")
    if style not in STYLES:
        errors.append(("calico.style", "%r is not one of %s" % (style, ", ".join(STYLES))))
    pools = c.get("pools") or []
    got = [p.get("family") for p in pools]
    if got != fams:
        errors.append(("cluster.ip_families", "Calico pools are for %s, the cluster families are %s "
                       "(one pool per family, primary first)" % (got, fams)))
    pod_subnets = (plan.get("kubernetes") or {}).get("pod_subnets") or []
    for i, pool in enumerate(pools):
        fam = pool.get("family")
        if fam not in SUFFIX:
            continue
        s = SUFFIX[fam]
        cidr = pool.get("cidr")
        if family_of(cidr or "") != fam:
            errors.append(("kubernetes.pod_subnet_%s" % s, "pool %r is not an %s CIDR" % (cidr, fam)))
            continue
        if i < len(pod_subnets) and pod_subnets[i] != cidr:
            errors.append(("kubernetes.pod_subnet_%s" % s, "pool %s differs from the pod subnet %s"
                           % (cidr, pod_subnets[i])))
        block = pool.get("block_size")
        lo, hi = BLOCK_LIMITS[fam]
        prefix = int(cidr.split("/")[1])
        if not isinstance(block, int) or not lo <= block <= hi:
            errors.append(("calico.block_size_%s" % s, "%r is outside Calico's %s range %d-%d" % (block, fam, lo, hi)))
        elif block < prefix:
            errors.append(("calico.block_size_%s" % s, "/%d blocks are larger than the pool %s" % (block, cidr)))
        elif block > ADDRESS_BITS[fam]:
            errors.append(("calico.block_size_%s" % s, "/%d is longer than an %s address" % (block, fam)))
        if pool.get("encapsulation") not in ENCAPSULATIONS[fam]:
            errors.append(("calico.encapsulation_%s" % s, "%r is not valid for %s (one of %s; IPIP is IPv4-only)"
                           % (pool.get("encapsulation"), fam, ", ".join(ENCAPSULATIONS[fam]))))
    if c.get("next_hop_mode") not in NEXT_HOP_MODES:
        errors.append(("calico.next_hop_mode", "%r is not one of %s" % (c.get("next_hop_mode"), ", ".join(NEXT_HOP_MODES))))
    peers = c.get("peers") or []
    if [p.get("family") for p in peers] != fams:
        errors.append(("gateways.vip_%s" % SUFFIX.get(fams[0], "v4"), "BGP peers are for %s, the cluster families "
                       "are %s (one gateway VIP peer per family)" % ([p.get("family") for p in peers], fams)))
    for peer in peers:
        fam = peer.get("family")
        if fam in SUFFIX and family_of(peer.get("peer_ip") or "") != fam:
            errors.append(("gateways.vip_%s" % SUFFIX[fam], "peer %r is not an %s address" % (peer.get("peer_ip"), fam)))
        if peer.get("as_number") == c.get("as_number"):
            errors.append(("gateways.as_number", "the gateways' AS %s equals calico.as_number (eBGP needs two ASes)"
                           % c.get("as_number")))
    for fam in fams:
        net = (plan.get("network") or {}).get(fam) or {}
        if family_of(net.get("cidr") or "") != fam:
            errors.append(("network.%s_cidr" % fam, "node subnet %r (autodetection cidrs) is not an %s CIDR"
                           % (net.get("cidr"), fam)))
        if (c.get("autodetection") or {}).get(fam) != "cidr=%s" % net.get("cidr"):
            errors.append(("network.%s_cidr" % fam, "calico.autodetection.%s %r does not name the node subnet %s"
                           % (fam, (c.get("autodetection") or {}).get(fam), net.get("cidr"))))
    return errors
