# -*- coding: utf-8 -*-
# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE to the dualstack.k8s collection: the API may change without notice.
"""kubeadm configuration from the plan: pure functions, standard library only.

``render_kubeadm(plan, host)`` returns the YAML documents (as dicts) of one
node's ``/etc/kubernetes/kubeadm-config.yaml``:

- the first control-plane node: ``InitConfiguration`` + ``ClusterConfiguration``
  (kubeadm.k8s.io/v1beta4) + ``KubeletConfiguration`` + ``KubeProxyConfiguration``;
- every other control-plane node: ``JoinConfiguration`` with a ``controlPlane`` block;
- workers: a plain ``JoinConfiguration``.

Joining nodes take the kubelet and kube-proxy configuration from the cluster
(kubeadm uploads them to the ``kubelet-config`` and ``kube-proxy`` ConfigMaps at
init and ignores such documents in a join file), so they are rendered only once,
into the init file. Every node still gets its own ``node-ip`` through
``nodeRegistration.kubeletExtraArgs``.

``validate_kubeadm(plan)`` re-checks, on the plan itself, the rules kubeadm
enforces (and the family-order rules of this collection) and returns
``(config_key, reason)`` pairs. ``rules.py`` already enforces them when the
config loads; this is the defence in depth for a plan that did not come from
``build_plan`` (a hand-made or edited dict).

Nothing here computes an address or a CIDR: every value is taken from the plan.
This file runs on the managed node (through the kubeadm_config module), so it
uses the standard library only; ``dump_yaml`` is a small, deterministic YAML
emitter for the plain data these renderers produce (PyYAML is not required).
"""

from __future__ import annotations

import ipaddress
import json
import re

from ansible_collections.dualstack.k8s.plugins.module_utils.errors import KeyedErrors
from ansible_collections.dualstack.k8s.plugins.module_utils.files import FilesError, converge

API_VERSION = "kubeadm.k8s.io/v1beta4"
KUBELET_API_VERSION = "kubelet.config.k8s.io/v1beta1"
KUBE_PROXY_API_VERSION = "kubeproxy.config.k8s.io/v1alpha1"

# A syntactically valid bootstrap token that MUST be replaced (role variable
# kubeadm_bootstrap_token, `kubeadm token generate`). The kubeadm_run tasks refuse it.
PLACEHOLDER_TOKEN = "abcdef.0123456789abcdef"
TOKEN_RE = re.compile(r"^[a-z0-9]{6}\.[a-z0-9]{16}$")
CA_HASH_RE = re.compile(r"^sha256:[0-9a-f]{64}$")

FAMILY_VERSION = {"ipv4": 4, "ipv6": 6}
VERSION_FAMILY = {4: "ipv4", 6: "ipv6"}
SUFFIX = {"ipv4": "v4", "ipv6": "v6"}
ADDRESS_BITS = {"ipv4": 32, "ipv6": 128}
MAX_SERVICE_HOST_BITS = 20
MAX_NODE_MASK_DELTA = 16
K8S_ROLES = ("control_plane", "worker")


class KubeadmError(KeyedErrors, ValueError):
    """The plan breaks a kubeadm rule; ``errors`` holds (config_key, reason) pairs."""

    def __init__(self, errors):
        super().__init__(errors, "the plan breaks kubeadm's rules, nothing was rendered:")


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
            return VERSION_FAMILY[ipaddress.ip_network(text, strict=True).version]
        return VERSION_FAMILY[ipaddress.ip_address(text).version]
    except (ValueError, TypeError):
        return None


def host_key(host):
    """The config key of a planned node: its kubernetes.control_plane[i] / workers[i] entry (for counted
    nodes, the i-th node the count plans)."""
    role = host.get("role")
    index = host.get("index", 0)
    if role == "control_plane":
        return "kubernetes.control_plane[%d]" % index
    if role == "worker":
        return "kubernetes.workers[%d]" % index
    return "gateways.hosts[%d]" % index


def k8s_hosts(plan):
    """Names of the Kubernetes nodes in plan order (control plane first)."""
    groups = plan.get("groups") or {}
    return list(groups.get("k8s_control_plane", [])) + list(groups.get("k8s_workers", []))


def node_ip_arg(host):
    """kubelet --node-ip: the host's plan node_ips, primary family first, comma-joined."""
    return ",".join(host["node_ips"])


def controller_manager_args(plan):
    """node-cidr-mask-size-ipv4/-ipv6 in family order (single stack: node-cidr-mask-size)."""
    fams = plan["cluster"]["ip_families"]
    masks = plan["kubernetes"]["node_mask_sizes"]
    if len(fams) == 1:
        return extra_args([("node-cidr-mask-size", masks[fams[0]])])
    return extra_args([("node-cidr-mask-size-%s" % f, masks[f]) for f in fams])


def kubernetes_version(plan, override=None):
    """kubeadm's kubernetesVersion: an exact vX.Y.Z, or stable-X.Y for a minor-only plan version."""
    version = (override or plan["kubernetes"]["version"]).lstrip("v")
    if version.count(".") >= 2:
        return "v" + version
    return "stable-" + version


# ------------------------------------------------------------------------------------------
# rendering
# ------------------------------------------------------------------------------------------

def _node_registration(plan, name, cri_socket=None):
    host = plan["hosts"][name]
    reg = {"name": name}
    if cri_socket:
        reg["criSocket"] = cri_socket
    reg["kubeletExtraArgs"] = extra_args([("node-ip", node_ip_arg(host))])
    return reg


def _local_api_endpoint(plan, name):
    return {"advertiseAddress": plan["hosts"][name]["primary_ip"], "bindPort": plan["kubernetes"]["api_port"]}


def init_configuration(plan, name, token=PLACEHOLDER_TOKEN, cri_socket=None, certificate_key=None):
    doc = {
        "apiVersion": API_VERSION,
        "kind": "InitConfiguration",
        "bootstrapTokens": [{
            "token": token,
            "description": "dualstack.k8s bootstrap token (replace the placeholder: kubeadm_bootstrap_token)",
            "ttl": "24h0m0s",
            "groups": ["system:bootstrappers:kubeadm:default-node-token"],
            "usages": ["signing", "authentication"],
        }],
        "localAPIEndpoint": _local_api_endpoint(plan, name),
        "nodeRegistration": _node_registration(plan, name, cri_socket),
    }
    if certificate_key:
        doc["certificateKey"] = certificate_key
    return doc


def cluster_configuration(plan, kubernetes_version_override=None):
    k = plan["kubernetes"]
    return {
        "apiVersion": API_VERSION,
        "kind": "ClusterConfiguration",
        "clusterName": plan["cluster"]["name"],
        "kubernetesVersion": kubernetes_version(plan, kubernetes_version_override),
        "controlPlaneEndpoint": k["control_plane_endpoint"],
        "networking": {
            "dnsDomain": plan["cluster"]["dns_domain"],
            "podSubnet": ",".join(k["pod_subnets"]),
            "serviceSubnet": ",".join(k["service_subnets"]),
        },
        "apiServer": {"certSANs": list(k["cert_sans"])},
        # kubeadm passes networking.podSubnet/serviceSubnet on as --cluster-cidr and
        # --service-cluster-ip-range itself: only the per-family node mask is added here.
        "controllerManager": {"extraArgs": controller_manager_args(plan)},
    }


def kubelet_configuration(plan):
    return {
        "apiVersion": KUBELET_API_VERSION,
        "kind": "KubeletConfiguration",
        "cgroupDriver": "systemd",
        "clusterDomain": plan["cluster"]["dns_domain"],
    }


def kube_proxy_configuration(plan):
    return {
        "apiVersion": KUBE_PROXY_API_VERSION,
        "kind": "KubeProxyConfiguration",
        "clusterCIDR": ",".join(plan["kubernetes"]["pod_subnets"]),
    }


def join_configuration(plan, name, token=PLACEHOLDER_TOKEN, ca_cert_hashes=None, cri_socket=None,
                       certificate_key=None):
    discovery = {"apiServerEndpoint": plan["kubernetes"]["control_plane_endpoint"], "token": token}
    if ca_cert_hashes:
        discovery["caCertHashes"] = list(ca_cert_hashes)
    else:
        # without the CA hash the join trusts the first API server it reaches: lab use only
        discovery["unsafeSkipCAVerification"] = True
    doc = {
        "apiVersion": API_VERSION,
        "kind": "JoinConfiguration",
        "discovery": {"bootstrapToken": discovery},
        "nodeRegistration": _node_registration(plan, name, cri_socket),
    }
    if plan["hosts"][name]["role"] == "control_plane":
        control_plane = {"localAPIEndpoint": _local_api_endpoint(plan, name)}
        if certificate_key:
            control_plane["certificateKey"] = certificate_key
        doc["controlPlane"] = control_plane
    return doc


def node_kind(plan, name):
    """'init' (first control-plane node), 'join-control-plane' or 'join-worker'."""
    host = plan["hosts"].get(name)
    if host is None or host.get("role") not in K8S_ROLES:
        raise KubeadmError([("hosts", "%r is not a Kubernetes node of the plan (%s)" % (
            name, ", ".join(k8s_hosts(plan)) or "none"))])
    if name == plan["kubernetes"]["first_control_plane"]:
        return "init"
    return "join-control-plane" if host["role"] == "control_plane" else "join-worker"


def render_kubeadm(plan, name, token=PLACEHOLDER_TOKEN, ca_cert_hashes=None, cri_socket=None,
                   certificate_key=None, kubernetes_version_override=None, validate=True):
    """The kubeadm documents (dicts, in file order) of one node. Raises KubeadmError."""
    if validate:
        errors = validate_kubeadm(plan) + validate_join_options(token, ca_cert_hashes)
        if errors:
            raise KubeadmError(errors)
    kind = node_kind(plan, name)
    if kind == "init":
        return [
            init_configuration(plan, name, token, cri_socket, certificate_key),
            cluster_configuration(plan, kubernetes_version_override),
            kubelet_configuration(plan),
            kube_proxy_configuration(plan),
        ]
    return [join_configuration(plan, name, token, ca_cert_hashes, cri_socket, certificate_key)]


def file_header(plan, name, token=PLACEHOLDER_TOKEN):
    """Comment lines at the top of a node's kubeadm-config.yaml."""
    header = [
        "Managed by dualstack.k8s (kubeadm_config module); rendered from the address plan.",
        "Node %s (%s). Local edits are overwritten." % (name, node_kind(plan, name)),
    ]
    if token == PLACEHOLDER_TOKEN:
        header.append("The bootstrap token %s is a PLACEHOLDER: set kubeadm_bootstrap_token "
                      "(kubeadm token generate) before kubeadm init/join." % PLACEHOLDER_TOKEN)
    return header


def render_kubeadm_text(plan, name, **kwargs):
    """The file content: a header comment and the documents as YAML."""
    docs = render_kubeadm(plan, name, **kwargs)
    return dump_yaml(docs, header=file_header(plan, name, kwargs.get("token", PLACEHOLDER_TOKEN)))


# ------------------------------------------------------------------------------------------
# validation (defence in depth: rules.py enforces the same at config load)
# ------------------------------------------------------------------------------------------

def _check_cidr_list(errors, fams, cidrs, stem, what):
    """<= 2 CIDRs, one per family, in cluster family order; keys name kubernetes.<stem>_v4/_v6."""
    parsed = []
    for cidr in cidrs:
        fam = family_of(cidr) if isinstance(cidr, str) else None
        if fam is None:
            errors.append(("kubernetes.%s_%s" % (stem, SUFFIX[fams[min(len(parsed), len(fams) - 1)]]),
                           "%r is not a valid CIDR (network address without host bits)" % (cidr,)))
            return None
        parsed.append((fam, ipaddress.ip_network(cidr)))
    keys = ["kubernetes.%s_%s" % (stem, SUFFIX[f]) for f, dummy in parsed]
    if len(parsed) > 2:
        errors.append((keys[2], "kubeadm takes at most two %s CIDRs, got %d (%s)" % (
            what, len(parsed), ",".join(cidrs))))
        return None
    if len(parsed) == 2 and parsed[0][0] == parsed[1][0]:
        errors.append((keys[1], "two %s %s CIDRs: a dual-stack %s needs one CIDR of each family"
                       % (parsed[0][0], what, what)))
        return None
    got = [f for f, dummy in parsed]
    if got != list(fams):
        key = keys[0] if keys else "kubernetes.%s_%s" % (stem, SUFFIX[fams[0]])
        errors.append((key, "%s CIDRs are in family order %s, cluster.ip_families is %s (the first CIDR "
                       "decides the primary family)" % (what, got, list(fams))))
        return None
    return dict(parsed)


def _check_endpoint(errors, endpoint):
    key = "kubernetes.control_plane_endpoint"
    if not isinstance(endpoint, str) or not endpoint:
        errors.append((key, "controlPlaneEndpoint is empty"))
        return
    if endpoint.startswith("["):
        host, sep, rest = endpoint[1:].partition("]")
        if not sep or family_of(host) != "ipv6":
            errors.append((key, "%r: a bracketed host must be an IPv6 literal, [addr]:port" % endpoint))
            return
        port = rest[1:] if rest.startswith(":") else (None if not rest else "bad")
    else:
        if family_of(endpoint) == "ipv6" or endpoint.count(":") > 1:
            errors.append((key, "%r: an IPv6 literal must be bracketed, e.g. [fd00::fe]:6443" % endpoint))
            return
        host, dummy, port = endpoint.partition(":")
        port = port if ":" in endpoint else None
        if family_of(host) is None and not re.match(
                r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$", host):
            errors.append((key, "%r: host is neither an IP address nor a DNS name" % endpoint))
            return
    if port is not None and (not port.isdigit() or not 0 < int(port) < 65536):
        errors.append(("kubernetes.api_port", "controlPlaneEndpoint %r has an invalid port" % endpoint))


def validate_kubeadm(plan):
    """Every kubeadm rule the plan breaks, as (config_key, reason) pairs; [] when it is fine."""
    errors = []
    try:
        fams = list(plan["cluster"]["ip_families"])
        k = plan["kubernetes"]
        hosts = plan["hosts"]
    except (KeyError, TypeError) as exc:
        return [("", "not a plan: missing %s" % exc)]
    if not fams or len(fams) > 2 or len(set(fams)) != len(fams) or not set(fams) <= set(FAMILY_VERSION):
        return [("cluster.ip_families", "must be one or two distinct families of ipv4/ipv6, got %s" % fams)]

    pods = _check_cidr_list(errors, fams, k.get("pod_subnets") or [], "pod_subnet", "pod subnet")
    services = _check_cidr_list(errors, fams, k.get("service_subnets") or [], "service_subnet", "service subnet")

    if services:
        for fam, net in services.items():
            host_bits = ADDRESS_BITS[fam] - net.prefixlen
            if host_bits > MAX_SERVICE_HOST_BITS:
                errors.append(("kubernetes.service_subnet_%s" % SUFFIX[fam],
                               "%s has %d host bits; kubeadm allows at most %d (/%d or smaller)"
                               % (net, host_bits, MAX_SERVICE_HOST_BITS, ADDRESS_BITS[fam] - MAX_SERVICE_HOST_BITS)))
    if pods:
        masks = k.get("node_mask_sizes") or {}
        for fam, net in pods.items():
            key = "kubernetes.node_mask_%s" % SUFFIX[fam]
            mask = masks.get(fam)
            if not isinstance(mask, int) or isinstance(mask, bool):
                errors.append((key, "node CIDR mask size of %s is missing" % fam))
            elif mask < net.prefixlen:
                errors.append((key, "/%d is shorter than the pod subnet %s (the node CIDR must fit in it)"
                               % (mask, net)))
            elif mask - net.prefixlen > MAX_NODE_MASK_DELTA:
                errors.append((key, "/%d is more than %d bits longer than the pod subnet %s (kubeadm limit)"
                               % (mask, MAX_NODE_MASK_DELTA, net)))
            elif mask > ADDRESS_BITS[fam]:
                errors.append((key, "/%d is longer than an %s address" % (mask, fam)))
            elif 2 ** min(mask - net.prefixlen, 32) < len(k8s_hosts(plan)):
                # not a kubeadm check, but the controller manager's CIDR allocator runs out
                errors.append((key, "/%d node CIDRs in the pod subnet %s give %d nodes a CIDR, the plan has %d "
                               "Kubernetes nodes (use a longer node mask or a larger pod subnet)"
                               % (mask, net, 2 ** (mask - net.prefixlen), len(k8s_hosts(plan)))))

    _check_endpoint(errors, k.get("control_plane_endpoint"))

    for san in k.get("cert_sans") or []:
        if family_of(san) is None and not re.match(r"^[a-z0-9.-]+$", str(san)):
            errors.append(("kubernetes.control_plane_endpoint", "certSAN %r is neither an IP nor a DNS name" % san))

    first_service_family = fams[0] if not services else next(iter(services))
    cp = (plan.get("groups") or {}).get("k8s_control_plane") or []
    if not cp or k.get("first_control_plane") not in cp:
        errors.append(("kubernetes.control_plane_count", "the plan has no first control-plane node"))
    for name in k8s_hosts(plan):
        host = hosts.get(name)
        if host is None:
            errors.append(("kubernetes.workers", "group member %r is not in plan.hosts" % name))
            continue
        key = host_key(host)
        ips = host.get("node_ips") or []
        got = [family_of(ip) if isinstance(ip, str) and "/" not in ip else None for ip in ips]
        if None in got:
            errors.append((key, "host %s: node_ips %s holds an invalid address" % (name, ips)))
            continue
        if got != fams:
            errors.append((key, "host %s: node-ip %s is in family order %s, cluster.ip_families is %s "
                           "(kubelet's node-ip must follow the cluster family order)" % (name, ",".join(ips), got, fams)))
            continue
        primary = host.get("primary_ip")
        if host.get("role") == "control_plane" and family_of(primary or "") != first_service_family:
            errors.append((key, "host %s: advertiseAddress %s is %s, the first service subnet is %s (the "
                           "kubernetes Service takes its ClusterIP from that family)" % (
                               name, primary, family_of(primary or ""), first_service_family)))
        elif primary != ips[0]:
            errors.append((key, "host %s: primary_ip %s is not the first node-ip %s" % (name, primary, ips[0])))
    return errors


def validate_join_options(token, ca_cert_hashes):
    """Syntax of the bootstrap token and CA hashes given to the renderer."""
    errors = []
    if not isinstance(token, str) or not TOKEN_RE.match(token):
        errors.append(("kubeadm_bootstrap_token", "a bootstrap token is [a-z0-9]{6}.[a-z0-9]{16} "
                       "(kubeadm token generate)"))
    for value in ca_cert_hashes or []:
        if not isinstance(value, str) or not CA_HASH_RE.match(value):
            errors.append(("kubeadm_ca_cert_hashes", "%r is not sha256:<64 hex digits>" % (value,)))
    return errors


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
    removed one, diffs the before/after of the contents that change. Check mode, validation and the
    atomic write come from module_utils.files (the one writer of this collection).
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
