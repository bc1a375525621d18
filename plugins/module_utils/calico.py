# -*- coding: utf-8 -*-
# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE to the dualstack.k8s collection: the API may change without notice.
"""Calico resources from plain inputs: pure functions, standard library only.

``render_calico(c)`` returns an ordered dict ``file name -> list of documents``. ``c`` holds the
calico_manifests module's parameters (``style``, ``pools``, ``node_subnets``, ``service_subnets``,
``as_number``, ``node_to_node_mesh``, ``next_hop_mode``, ``bgp_peers``); the families and their
order are those of ``pools`` (primary first).

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

The renderer trusts its input: Calico's limits (block sizes, IPIP only on IPv4, the AS check,
pool = pod subnet) are checked once, on the controller, by ``plugins/plugin_utils/rules.py``.
"""

from __future__ import annotations

import json

from ansible_collections.dualstack.k8s.plugins.module_utils.kubeadm import dump_yaml

CALICO_API_VERSION = "projectcalico.org/v3"
OPERATOR_API_VERSION = "operator.tigera.io/v1"
ENCAPSULATIONS = ("None", "IPIP", "VXLAN", "IPIPCrossSubnet", "VXLANCrossSubnet")
NEXT_HOP_MODES = ("Auto", "Self", "Keep")
STYLES = ("operator", "manifest")
FAMILIES = ("ipv4", "ipv6")
SUFFIX = {"ipv4": "v4", "ipv6": "v6"}
NODE_SELECTOR = "all()"
MTU_PLACEHOLDER = "__CNI_MTU__"


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


def _families(c):
    """The cluster families, primary first: those of the pools, in their order."""
    return [pool["family"] for pool in c["pools"]]


# ------------------------------------------------------------------------------------------
# projectcalico.org/v3 resources
# ------------------------------------------------------------------------------------------

def ippools(c):
    docs = []
    for pool in c["pools"]:
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


def bgp_configuration(c):
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


def bgp_peers(c):
    """One BGPPeer per family: every node peers with the gateway VIP (the LB-master, seed 004).

    ``nextHopMode`` (Auto|Self|Keep) replaces the deprecated ``keepOriginalNextHop``; the
    shipped schema has both and forbids setting both, so only ``nextHopMode`` is rendered
    (``Keep`` is seed 002's ``keepOriginalNextHop: true``).
    """
    docs = []
    for peer in c["bgp_peers"]:
        docs.append({
            "apiVersion": CALICO_API_VERSION,
            "kind": "BGPPeer",
            "metadata": _metadata(peer.get("name") or "gateway-vip-%s" % peer["family"]),
            "spec": {
                "peerIP": peer["peer_ip"],
                "asNumber": peer["as_number"],
                "nodeSelector": NODE_SELECTOR,
                "nextHopMode": c["next_hop_mode"],
            },
        })
    return docs


def felix_configuration(c):
    return {
        "apiVersion": CALICO_API_VERSION,
        "kind": "FelixConfiguration",
        "metadata": _metadata("default"),
        "spec": {"ipv6Support": "ipv6" in _families(c)},
    }


# ------------------------------------------------------------------------------------------
# operator style
# ------------------------------------------------------------------------------------------

def installation(c):
    fams = _families(c)
    network = {
        "bgp": "Enabled",
        "ipPools": [{
            "name": pool["name"],
            "cidr": pool["cidr"],
            "blockSize": pool["block_size"],
            "encapsulation": pool["encapsulation"],
            "natOutgoing": "Enabled" if pool["nat_outgoing"] else "Disabled",
            "nodeSelector": NODE_SELECTOR,
        } for pool in c["pools"]],
    }
    for fam in fams:
        network["nodeAddressAutodetection%s" % SUFFIX[fam].upper()] = {"cidrs": [c["node_subnets"][fam]]}
    return {
        "apiVersion": OPERATOR_API_VERSION,
        "kind": "Installation",
        "metadata": _metadata("default"),
        "spec": {
            "calicoNetwork": network,
            "serviceCIDRs": list(c["service_subnets"]),
        },
    }


# ------------------------------------------------------------------------------------------
# manifest style
# ------------------------------------------------------------------------------------------

def cni_network_config(c):
    """The CNI conflist calico's install-cni writes (placeholders __X__ are filled by install-cni)."""
    fams = _families(c)
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


def calico_config_map(c):
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _metadata("calico-config", "kube-system"),
        "data": {
            "typha_service_name": "none",
            "calico_backend": "bird",
            "veth_mtu": "0",
            "cni_network_config": cni_network_config(c) + "\n",
        },
    }


def calico_node_env(c):
    """calico-node's dual-stack environment, as a list of {name, value} (all strings).

    Single stack: calico-node would still create a default pool of the missing family (IPv4:
    the first free of 192.168.0.0/16, 172.16-31.0.0/16; IPv6: a random ULA), so that family's
    ``CALICO_IPVxPOOL_CIDR`` is ``none``, which its startup code reads as "no pool of this family"
    (``NO_DEFAULT_POOLS`` cannot be used: it must not be combined with the pool CIDR variables).
    IPv6-only: BGP needs a 32-bit router ID and the node has no IPv4 address to take it from, so
    ``CALICO_ROUTER_ID=hash`` derives it from the node name (issue 15, item 4).
    """
    fams = _families(c)
    subnets = c["node_subnets"]
    env = [
        ("IP", "autodetect" if "ipv4" in fams else "none"),
        ("IP6", "autodetect" if "ipv6" in fams else "none"),
    ]
    if "ipv4" in fams:
        env.append(("IP_AUTODETECTION_METHOD", "cidr=%s" % subnets["ipv4"]))
    else:
        env.append(("CALICO_ROUTER_ID", "hash"))
    if "ipv6" in fams:
        env.append(("IP6_AUTODETECTION_METHOD", "cidr=%s" % subnets["ipv6"]))
    env.append(("FELIX_IPV6SUPPORT", "true" if "ipv6" in fams else "false"))
    for pool in c["pools"]:
        prefix = "CALICO_%sPOOL_" % pool["family"].upper()
        ipip, vxlan = tunnel_modes(pool["encapsulation"])
        env.append((prefix + "CIDR", pool["cidr"]))
        env.append((prefix + "BLOCK_SIZE", str(pool["block_size"])))
        if pool["family"] == "ipv4":
            env.append((prefix + "IPIP", ipip))
        env.append((prefix + "VXLAN", vxlan))
        env.append((prefix + "NAT_OUTGOING", "true" if pool["nat_outgoing"] else "false"))
        env.append((prefix + "NODE_SELECTOR", NODE_SELECTOR))
    for fam in FAMILIES:
        if fam not in fams:
            env.append(("CALICO_%sPOOL_CIDR" % fam.upper(), "none"))
    return [{"name": name, "value": value} for name, value in env]


def calico_node_patch(c):
    """Strategic-merge patch of DaemonSet kube-system/calico-node: env entries merge by name."""
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "calico-node", "namespace": "kube-system"},
        "spec": {"template": {"spec": {"containers": [
            {"name": "calico-node", "env": calico_node_env(c)},
        ]}}},
    }


# ------------------------------------------------------------------------------------------
# the whole set
# ------------------------------------------------------------------------------------------

def render_calico(c):
    """{file name: [documents]} of the given style (``c["style"]``)."""
    files = {}
    if c["style"] == "operator":
        files["installation.yaml"] = [installation(c)]
    else:
        files["calico-config.yaml"] = [calico_config_map(c)]
        files["calico-node-env.yaml"] = [calico_node_patch(c)]
    files["ippools.yaml"] = ippools(c)
    files["bgp.yaml"] = [bgp_configuration(c)] + bgp_peers(c)
    files["felixconfiguration.yaml"] = [felix_configuration(c)]
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


def render_calico_texts(c):
    """{file name: YAML text} with a header naming the file's use."""
    style = c["style"]
    uses = dict(apply_plan(style))
    texts = {}
    for name, docs in render_calico(c).items():
        header = ["Managed by dualstack.k8s (calico_manifests module); rendered from the address plan.",
                  "Calico style %s; this file is %s." % (style, {
                      "apply": "applied with kubectl apply -f",
                      "patch": "a strategic-merge patch of DaemonSet kube-system/calico-node",
                      "reference": "for reference only (the operator's Installation creates these pools)",
                  }[uses[name]])]
        texts[name] = dump_yaml(docs, header=header)
    return texts


def input_errors(c):
    """What the renderer cannot do without (the module's argument checks; config rules live in
    plugin_utils/rules.py): one pool per family, a node subnet for each pool family."""
    errors = []
    fams = [pool.get("family") for pool in c.get("pools") or []]
    if not fams or len(set(fams)) != len(fams) or not set(fams) <= set(FAMILIES):
        errors.append(("pools", "one pool per family (ipv4, ipv6), primary first; got families %s" % fams))
    for fam in fams:
        if fam in FAMILIES and not (c.get("node_subnets") or {}).get(fam):
            errors.append(("node_subnets", "no %s node subnet for address autodetection" % fam))
    for i, peer in enumerate(c.get("bgp_peers") or []):
        if peer.get("family") not in FAMILIES or not peer.get("peer_ip") or not peer.get("as_number"):
            errors.append(("bgp_peers[%d]" % i, "needs family (ipv4/ipv6), peer_ip and as_number"))
    return errors
