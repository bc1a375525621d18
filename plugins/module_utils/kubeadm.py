# -*- coding: utf-8 -*-
# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE to the dualstack.k8s collection: the API may change without notice.
"""kubeadm configuration of one node from plain inputs: pure functions, standard library only.

``render_kubeadm(node)`` returns the YAML documents (as dicts) of one node's
``/etc/kubernetes/kubeadm-config.yaml``. ``node`` holds the kubeadm_config module's parameters
(plain values a user can pass by hand; ``plugins/plugin_utils/role_inputs.py`` computes them from
the plan):

- ``node_kind: init`` (the first control-plane node): ``InitConfiguration`` +
  ``ClusterConfiguration`` (kubeadm.k8s.io/v1beta4) + ``KubeletConfiguration`` +
  ``KubeProxyConfiguration``;
- ``node_kind: control-plane``: ``JoinConfiguration`` with a ``controlPlane`` block;
- ``node_kind: worker``: a plain ``JoinConfiguration``.

Joining nodes take the kubelet and kube-proxy configuration from the cluster (kubeadm uploads
them to the ``kubelet-config`` and ``kube-proxy`` ConfigMaps at init and ignores such documents in
a join file), so they are rendered only once, into the init file. Every node still gets its own
``node-ip`` through ``nodeRegistration.kubeletExtraArgs``.

The renderer trusts its input: the config rules (kubeadm's CIDR limits, the node mask range, the
endpoint syntax, the family order) are checked once, on the controller, by
``plugins/plugin_utils/rules.py`` before any plan exists. Nothing here computes an address or a
CIDR. This file runs on the managed node (through the kubeadm_config module), so it uses the
standard library only; ``dump_yaml`` is a small, deterministic YAML emitter for the plain data
these renderers produce (PyYAML is not required).
"""

from __future__ import annotations

import ipaddress
import json
import re

from ansible_collections.dualstack.k8s.plugins.module_utils.files import FilesError, converge

API_VERSION = "kubeadm.k8s.io/v1beta4"
KUBELET_API_VERSION = "kubelet.config.k8s.io/v1beta1"
KUBE_PROXY_API_VERSION = "kubeproxy.config.k8s.io/v1alpha1"

# A syntactically valid bootstrap token that MUST be replaced (role variable
# kubeadm_bootstrap_token, `kubeadm token generate`). The kubeadm_run tasks refuse it.
PLACEHOLDER_TOKEN = "abcdef.0123456789abcdef"
# The CA hash a join file carries while the cluster CA does not exist yet (before kubeadm init).
# It pins nothing real, so a join with it fails closed; the kubeadm_run tasks replace it with the
# hash of the first control-plane node's CA before they join (and refuse it).
PLACEHOLDER_CA_HASH = "sha256:" + "0" * 64
TOKEN_RE = re.compile(r"^[a-z0-9]{6}\.[a-z0-9]{16}$")
CA_HASH_RE = re.compile(r"^sha256:[0-9a-f]{64}$")

NODE_KINDS = ("init", "control-plane", "worker")
# the node_kind a result reports (unchanged from earlier releases)
KIND_LABEL = {"init": "init", "control-plane": "join-control-plane", "worker": "join-worker"}
VERSION_FAMILY = {4: "ipv4", 6: "ipv6"}


# ------------------------------------------------------------------------------------------
# small helpers
# ------------------------------------------------------------------------------------------

def extra_args(pairs):
    """v1beta4 extraArgs: a LIST of {name, value} (values are strings), in the given order."""
    return [{"name": name, "value": str(value)} for name, value in pairs]


def family_of(text):
    """'ipv4'/'ipv6' of an address or CIDR string, None when it is neither."""
    try:
        if "/" in text:
            return VERSION_FAMILY[ipaddress.ip_network(text, strict=False).version]
        return VERSION_FAMILY[ipaddress.ip_address(text).version]
    except (ValueError, TypeError):
        return None


def node_ip_arg(node_ips):
    """kubelet --node-ip: the node's addresses, primary family first, comma-joined."""
    return ",".join(node_ips)


def controller_manager_args(pod_subnets, node_mask_sizes):
    """node-cidr-mask-size-ipv4/-ipv6 in pod-subnet order, single stack included.

    kubeadm validates the node mask against the pod subnet with the family-specific flags only
    (without them it assumes 24 for IPv4 and 64 for IPv6), so the bare node-cidr-mask-size is
    never emitted (issue 15, item 3).
    """
    fams = [family_of(cidr) for cidr in pod_subnets]
    return extra_args([("node-cidr-mask-size-%s" % f, node_mask_sizes[f]) for f in fams])


def kubernetes_version(version):
    """kubeadm's kubernetesVersion: an exact vX.Y.Z, or stable-X.Y for a minor-only version."""
    if version.startswith("stable-") or version in ("stable", "latest"):
        return version
    version = version.lstrip("v")
    if version.count(".") >= 2:
        return "v" + version
    return "stable-" + version


def input_errors(node):
    """What the renderer cannot do without: missing per-kind inputs and the syntax of the secrets
    (a node mask per pod-subnet family, a token kubeadm accepts, sha256:<hex> hashes). These are
    the module's argument checks, not config rules (those live in plugin_utils/rules.py)."""
    errors = []
    kind = node.get("node_kind")
    if kind == "init":
        for key in ("pod_subnets", "service_subnets", "kubernetes_version"):
            if not node.get(key):
                errors.append((key, "required for node_kind init"))
        masks = node.get("node_mask_sizes") or {}
        for cidr in node.get("pod_subnets") or []:
            fam = family_of(cidr)
            if fam is None:
                errors.append(("pod_subnets", "%r is not a CIDR" % (cidr,)))
            elif not isinstance(masks.get(fam), int) or isinstance(masks.get(fam), bool):
                errors.append(("node_mask_sizes", "no %s mask for the pod subnet %s" % (fam, cidr)))
    if not node.get("node_ips"):
        errors.append(("node_ips", "at least one address (primary family first)"))
    token = node.get("bootstrap_token", PLACEHOLDER_TOKEN)
    if not isinstance(token, str) or not TOKEN_RE.match(token):
        errors.append(("bootstrap_token", "a bootstrap token is [a-z0-9]{6}.[a-z0-9]{16} (kubeadm token generate)"))
    for value in node.get("ca_cert_hashes") or []:
        if not isinstance(value, str) or not CA_HASH_RE.match(value):
            errors.append(("ca_cert_hashes", "%r is not sha256:<64 lowercase hex digits>" % (value,)))
    return errors


# ------------------------------------------------------------------------------------------
# rendering
# ------------------------------------------------------------------------------------------

def _node_registration(node):
    reg = {"name": node["node_name"]}
    if node.get("cri_socket"):
        reg["criSocket"] = node["cri_socket"]
    reg["kubeletExtraArgs"] = extra_args([("node-ip", node_ip_arg(node["node_ips"]))])
    return reg


def _local_api_endpoint(node):
    return {"advertiseAddress": node.get("advertise_address") or node["node_ips"][0],
            "bindPort": node.get("bind_port") or 6443}


def _token(node):
    return node.get("bootstrap_token") or PLACEHOLDER_TOKEN


def init_configuration(node):
    doc = {
        "apiVersion": API_VERSION,
        "kind": "InitConfiguration",
        "bootstrapTokens": [{
            "token": _token(node),
            "description": "dualstack.k8s bootstrap token (replace the placeholder: kubeadm_bootstrap_token)",
            "ttl": "24h0m0s",
            "groups": ["system:bootstrappers:kubeadm:default-node-token"],
            "usages": ["signing", "authentication"],
        }],
        "localAPIEndpoint": _local_api_endpoint(node),
        "nodeRegistration": _node_registration(node),
    }
    if node.get("certificate_key"):
        doc["certificateKey"] = node["certificate_key"]
    return doc


def cluster_configuration(node):
    return {
        "apiVersion": API_VERSION,
        "kind": "ClusterConfiguration",
        "clusterName": node.get("cluster_name") or "kubernetes",
        "kubernetesVersion": kubernetes_version(node["kubernetes_version"]),
        "controlPlaneEndpoint": node["control_plane_endpoint"],
        "networking": {
            "dnsDomain": node.get("dns_domain") or "cluster.local",
            "podSubnet": ",".join(node["pod_subnets"]),
            "serviceSubnet": ",".join(node["service_subnets"]),
        },
        "apiServer": {"certSANs": list(node.get("cert_sans") or [])},
        # kubeadm passes networking.podSubnet/serviceSubnet on as --cluster-cidr and
        # --service-cluster-ip-range itself: only the per-family node mask is added here.
        "controllerManager": {"extraArgs": controller_manager_args(node["pod_subnets"], node["node_mask_sizes"])},
    }


def kubelet_configuration(node):
    out = {
        "apiVersion": KUBELET_API_VERSION,
        "kind": "KubeletConfiguration",
        "cgroupDriver": "systemd",
        "clusterDomain": node.get("dns_domain") or "cluster.local",
    }
    if node.get("resolv_conf"):
        out["resolvConf"] = node["resolv_conf"]
    return out


def kube_proxy_configuration(node):
    return {
        "apiVersion": KUBE_PROXY_API_VERSION,
        "kind": "KubeProxyConfiguration",
        "clusterCIDR": ",".join(node["pod_subnets"]),
    }


def ca_pinning(node):
    """(caCertHashes or None, unsafeSkipCAVerification) of a join: the given hashes; skipping only on
    the explicit opt-in; otherwise the placeholder hash (a join with it fails closed)."""
    hashes = list(node.get("ca_cert_hashes") or [])
    if hashes:
        return hashes, False
    if node.get("unsafe_skip_ca_verification"):
        return None, True
    return [PLACEHOLDER_CA_HASH], False


def placeholder_ca_hash(node):
    return node.get("node_kind") != "init" and ca_pinning(node)[0] == [PLACEHOLDER_CA_HASH]


def join_configuration(node):
    bootstrap = {"apiServerEndpoint": node["control_plane_endpoint"], "token": _token(node)}
    hashes, skip = ca_pinning(node)
    if hashes:
        bootstrap["caCertHashes"] = hashes
    if skip:
        bootstrap["unsafeSkipCAVerification"] = True
    doc = {
        "apiVersion": API_VERSION,
        "kind": "JoinConfiguration",
        "discovery": {"bootstrapToken": bootstrap},
        "nodeRegistration": _node_registration(node),
    }
    if node["node_kind"] == "control-plane":
        control_plane = {"localAPIEndpoint": _local_api_endpoint(node)}
        if node.get("certificate_key"):
            control_plane["certificateKey"] = node["certificate_key"]
        doc["controlPlane"] = control_plane
    return doc


def render_kubeadm(node):
    """The kubeadm documents (dicts, in file order) of one node."""
    if node["node_kind"] == "init":
        return [init_configuration(node), cluster_configuration(node), kubelet_configuration(node),
                kube_proxy_configuration(node)]
    return [join_configuration(node)]


def file_header(node):
    """Comment lines at the top of a node's kubeadm-config.yaml."""
    header = [
        "Managed by dualstack.k8s (kubeadm_config module); rendered from the address plan.",
        "Node %s (%s). Local edits are overwritten." % (node["node_name"], KIND_LABEL[node["node_kind"]]),
    ]
    if _token(node) == PLACEHOLDER_TOKEN:
        header.append("The bootstrap token %s is a PLACEHOLDER: set kubeadm_bootstrap_token "
                      "(kubeadm token generate) before kubeadm init/join." % PLACEHOLDER_TOKEN)
    if placeholder_ca_hash(node):
        header.append("The CA hash is a PLACEHOLDER (the cluster CA does not exist yet): the kubeadm_run "
                      "tasks pin the first control-plane node's CA before kubeadm join.")
    elif node.get("node_kind") != "init" and ca_pinning(node)[1]:
        header.append("CA verification is SKIPPED (kubeadm_unsafe_skip_ca_verification): the join trusts "
                      "whatever answers at the endpoint.")
    return header


def render_kubeadm_text(node):
    """The file content: a header comment and the documents as YAML."""
    return dump_yaml(render_kubeadm(node), header=file_header(node))


# ------------------------------------------------------------------------------------------
# YAML output
# ------------------------------------------------------------------------------------------

_PLAIN_RE = re.compile(r"^[A-Za-z0-9_./][A-Za-z0-9_./()-]*$")
_NUMBER_RE = re.compile(r"^[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?$|^0[xob][0-9a-fA-F_]+$")
_KEYWORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~", ".inf", ".nan"}


def yaml_scalar(value):
    """One scalar, plain when unambiguous for YAML 1.1 and 1.2 readers, else double-quoted."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    text = str(value)
    if (_PLAIN_RE.match(text) and not _NUMBER_RE.match(text) and text.lower() not in _KEYWORDS
            and not text.startswith("./") and text[0] not in "-."):
        return text
    return json.dumps(text)


def _emit(value, indent, lines, prefix):
    """Append ``value`` as block YAML; ``prefix`` is what precedes it on its first line."""
    pad = " " * indent
    if isinstance(value, dict):
        if not value:
            lines.append(prefix + "{}")
            return
        first = True
        for key, item in value.items():
            head = (prefix if first else pad) + yaml_scalar(key) + ":"
            first = False
            if isinstance(item, (dict, list)) and item:
                lines.append(head)
                _emit(item, indent + 2, lines, " " * (indent + 2))
            else:
                _emit(item, indent, lines, head + " ")
        return
    if isinstance(value, list):
        if not value:
            lines.append(prefix + "[]")
            return
        first = True
        for item in value:
            head = (prefix if first else pad) + "- "
            first = False
            if isinstance(item, (dict, list)) and item:
                _emit(item, indent + 2, lines, head)
            else:
                _emit(item, indent + 2, lines, head)
        return
    if isinstance(value, str) and "\n" in value:
        # literal block for multi-line strings (CNI JSON in a ConfigMap)
        lines.append(prefix.rstrip() + " |" + ("-" if not value.endswith("\n") else ""))
        for line in value.rstrip("\n").split("\n"):
            lines.append((pad + "  " + line) if line else "")
        return
    lines.append(prefix + yaml_scalar(value))


def dump_yaml(docs, header=None):
    """Documents (dicts) as one multi-document YAML text, deterministic for equal input."""
    out = []
    for line in header or []:
        out.append("# " + line if line else "#")
    for doc in docs:
        out.append("---")
        _emit(doc, 0, out, "")
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------------------------------
# file output shared by the kubeadm_config and calico_manifests modules: one place for
# check mode, diff and idempotence
# ------------------------------------------------------------------------------------------

def ensure_files(module, contents, mode, remove=()):
    """Write {path: text} (mode e.g. 0o600) and delete the paths in ``remove`` that exist.

    Returns (changed, results, diffs): results are {path, changed, state} per written path and per
    removed one, diffs the before/after of the contents that change. Check mode and the atomic
    write come from module_utils.files.
    """
    entries = [dict(path=path, content=text, mode=mode) for path, text in contents.items()]
    entries += [dict(path=path, state="absent") for path in remove]
    try:
        res = converge(entries, check_mode=module.check_mode, want_diff=True)
    except FilesError as exc:
        module.fail_json(msg=str(exc))
    results = [dict(path=f["path"], changed=f["changed"], state=f["state"])
               for f in res["files"] if f["state"] != "absent" or f["changed"]]
    diffs = [d for d, f in zip(res["diff"], [f for f in res["files"] if f["changed"]])
             if f["state"] == "absent" or {"create", "content"} & set(f["changes"])]
    return res["changed"], results, diffs
