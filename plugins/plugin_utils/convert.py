# -*- coding: utf-8 -*-
# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE to the dualstack.k8s collection: the API may change without notice.
"""Single -> dual-stack conversion: the transition rules, in one place.

``live_state(raw)`` reads what a running cluster says about itself (the kubeadm-config ConfigMap,
the static pod manifests' flags, each kubelet's kubeadm-flags.env, Calico's IPPools and CNI IPAM,
the server version, the addresses on every host), ``transition_errors(old, plan)`` compares it
with the new plan and returns every refusal as ``(dotted config key, reason)``, and ``targets(old,
plan)`` computes what each step writes. The IPv4 values written are always the LIVE text (byte-
identical), never re-rendered from the config; the IPv6 values come from the plan.

Supported: IPv4-only -> IPv4-primary dual-stack (``["ipv4"] -> ["ipv4", "ipv6"]``), and the same
dual-stack again (a resumed or finished conversion: every step converges). Refused, before any
change: switching the primary family, reordering the families, dual -> single, IPv6-only -> dual,
Kubernetes older than MIN_VERSION, an IPAM other than Calico's, a host without its IPv6 address,
and an IPv4 range (pod, service, node mask, Calico pool, node-ip) that differs from the running
one. Sources: docs/convert.md.
"""

from __future__ import annotations

import ipaddress
import json
import re
import shlex

import yaml

# ServiceCIDR (MultiCIDRServiceAllocator) is GA and on by default from 1.33; the single -> dual
# conversion broke during the 1.33 cycle (kubernetes#131261, a release blocker) and was fixed
# before v1.33.0 by kubernetes#131263. Older releases are refused (docs/convert.md).
MIN_VERSION = (1, 33, 0)
FAMILIES = ("ipv4", "ipv6")
SUFFIX = {"ipv4": "v4", "ipv6": "v6"}
CALICO_IPAM = "calico-ipam"

APISERVER = "kube-apiserver"
CONTROLLER_MANAGER = "kube-controller-manager"


class ConvertError(Exception):
    """Live state that cannot be read (a missing ConfigMap, an unparsable manifest)."""


# ------------------------------------------------------------------------------------- parsing
def family_of(text):
    """'ipv4'/'ipv6' of an address or CIDR, None when it is neither."""
    try:
        net = ipaddress.ip_network(str(text).strip(), strict=False)
    except ValueError:
        return None
    return "ipv4" if net.version == 4 else "ipv6"


def split_list(text):
    """'a,b' -> ['a', 'b'] (stripped, empty entries dropped)."""
    return [item.strip() for item in str(text or "").split(",") if item.strip()]


def families_of(values):
    return [family_of(v) for v in values]


def parse_version(text):
    """'v1.34.2' / '1.33' / 'v1.33.0-rc.1+k3s' -> (1, 34, 2); None when unreadable."""
    m = re.match(r"^v?(\d+)\.(\d+)(?:\.(\d+))?", str(text or "").strip())
    if not m:
        return None
    return (int(m.group(1)), int(m.group(2)), int(m.group(3) or 0))


def manifest_flags(text):
    """The ``--name=value`` flags of a static pod manifest's command (kubeadm writes one per line,
    ``    - --name=value``), in order: {name: value}."""
    flags = {}
    for line in str(text or "").splitlines():
        m = re.match(r"^\s*-\s+[\"']?--([A-Za-z0-9-]+)(?:=(.*?))?[\"']?\s*$", line)
        if m:
            flags[m.group(1)] = m.group(2) if m.group(2) is not None else ""
    return flags


def kubelet_flags(text):
    """The flags of /var/lib/kubelet/kubeadm-flags.env (``KUBELET_KUBEADM_ARGS="--a=b --c=d"``)."""
    m = re.search(r"^\s*KUBELET_KUBEADM_ARGS=(.*)$", str(text or ""), re.M)
    if not m:
        return {}
    value = m.group(1).strip()
    words = shlex.split(value)
    if len(words) == 1 and " " in words[0]:
        words = shlex.split(words[0])
    flags = {}
    for word in words:
        if word.startswith("--"):
            name, _sep, val = word[2:].partition("=")
            flags[name] = val
    return flags


def cluster_configuration(text):
    """The ClusterConfiguration document of the kubeadm-config ConfigMap's data."""
    try:
        doc = yaml.safe_load(text or "")
    except yaml.YAMLError as exc:
        raise ConvertError("kubeadm-config ClusterConfiguration is not YAML: %s" % exc)
    if not isinstance(doc, dict) or doc.get("kind", "ClusterConfiguration") != "ClusterConfiguration":
        raise ConvertError("kubeadm-config has no ClusterConfiguration")
    return doc


def _extra_args(section):
    """kubeadm extraArgs as {name: value}: v1beta4 lists of {name, value}, v1beta3 maps."""
    args = (section or {}).get("extraArgs") or {}
    if isinstance(args, list):
        return {a.get("name"): str(a.get("value")) for a in args if isinstance(a, dict)}
    return {str(k): str(v) for k, v in args.items()}


def cni_ipam(conf):
    """IPAM type of a CNI conflist (calico-config's cni_network_config, JSON text or dict)."""
    if isinstance(conf, str):
        try:
            conf = json.loads(re.sub(r"__CNI_MTU__", "0", conf))
        except ValueError:
            return None
    for plugin in (conf or {}).get("plugins") or [conf or {}]:
        if plugin.get("type") == "calico":
            return (plugin.get("ipam") or {}).get("type")
    return None


def live_state(raw):
    """What the running cluster says, from the raw reads of convert.yml's preflight:

    raw = {
      "server_version": "v1.34.2",                       # kubectl version -o json: serverVersion.gitVersion
      "cluster_configuration": "<YAML text>",             # kubeadm-config data.ClusterConfiguration
      "manifests": {"master1": {"kube-apiserver": "<text>", "kube-controller-manager": "<text>"}},
      "kubelet_flags": {"master1": "<kubeadm-flags.env text>", ...},
      "ippools": [{"metadata": {"name": ..}, "spec": {"cidr": ..}}, ...],
      "calico_style": "manifest" | "operator",
      "cni_network_config": "<JSON text>" | None,         # manifest style: calico-config ConfigMap
      "installation": {...} | None,                       # operator style: Installation default
      "addresses": {"gw1": ["172.30.222.10", "fd54:222::a", ...], ...},
    }
    """
    cc = cluster_configuration(raw.get("cluster_configuration"))
    networking = cc.get("networking") or {}
    pods = split_list(networking.get("podSubnet"))
    services = split_list(networking.get("serviceSubnet"))
    cm_args = _extra_args(cc.get("controllerManager"))
    pools = {}
    for pool in raw.get("ippools") or []:
        cidr = (pool.get("spec") or {}).get("cidr")
        fam = family_of(cidr) if cidr else None
        if fam and not (pool.get("spec") or {}).get("disabled"):
            pools.setdefault(fam, []).append({"name": (pool.get("metadata") or {}).get("name"), "cidr": cidr})
    style = raw.get("calico_style") or "manifest"
    if style == "operator":
        inst = raw.get("installation") or {}
        ipam = ((inst.get("spec") or {}).get("cni") or {}).get("ipam", {}).get("type", "Calico")
        ipam = CALICO_IPAM if ipam == "Calico" else ipam
    else:
        ipam = cni_ipam(raw.get("cni_network_config"))
    return {
        "version": parse_version(raw.get("server_version")),
        "version_text": raw.get("server_version"),
        "families": families_of(services) or families_of(pods),
        "pod_subnets": pods,
        "service_subnets": services,
        "controller_manager_args": cm_args,
        "manifests": {node: {comp: manifest_flags(text) for comp, text in (comps or {}).items()}
                      for node, comps in (raw.get("manifests") or {}).items()},
        "kubelet_node_ips": {node: split_list(kubelet_flags(text).get("node-ip"))
                             for node, text in (raw.get("kubelet_flags") or {}).items()},
        "pools": pools,
        "calico_style": style,
        "ipam": ipam,
        "addresses": {h: [str(a).split("/", maxsplit=1)[0].split("%", maxsplit=1)[0] for a in addrs]
                      for h, addrs in (raw.get("addresses") or {}).items()},
    }


# ----------------------------------------------------------------------------------------- rules
def _same_net(a, b):
    try:
        return ipaddress.ip_network(a, strict=False) == ipaddress.ip_network(b, strict=False)
    except ValueError:
        return False


def _node_mask(old, family):
    """The running node mask of a family: the controller manager's flag, else kubeadm's default."""
    args = dict(old.get("controller_manager_args") or {})
    for flags in (old.get("manifests") or {}).values():
        args.update((flags or {}).get(CONTROLLER_MANAGER) or {})
    value = args.get("node-cidr-mask-size-%s" % family) or (
        args.get("node-cidr-mask-size") if family == (old.get("families") or ["ipv4"])[0] else None)
    if value:
        return int(value)
    # kubeadm's defaults for the primary family; a secondary family without a flag has none yet
    if family == (old.get("families") or ["ipv4"])[0]:
        return 24 if family == "ipv4" else 64
    return None


def transition_errors(old, plan, check_addresses=True):
    """Every refusal of old (live_state) -> plan, as [(dotted config key, reason)]. Empty: go."""
    errors = []
    new = list(plan["cluster"]["ip_families"])
    have = [f for f in old.get("families") or [] if f]
    if not have:
        return [("kubernetes.service_subnet_v4", "the kubeadm-config ConfigMap names no serviceSubnet: "
                 "this is not a cluster built by kubeadm (or the wrong kubeconfig)")]
    fam_key = "cluster.ip_families"
    if len(have) == len(new) > 1 and set(have) == set(new) and have != new:
        errors.append((fam_key, "the cluster runs %s, the config says %s: reordering the families is not "
                       "supported in place (it switches the primary family: Service ipFamilies[0], the default "
                       "ServiceCIDR and node podCIDRs[0] are immutable); keep ip_families = %s"
                       % (json.dumps(have), json.dumps(new), json.dumps(have))))
    elif have[0] != new[0]:
        errors.append((fam_key, "the cluster's primary family is %s, the config's is %s: switching the "
                       "primary family cannot be done in place (Service ipFamilies[0], the default ServiceCIDR "
                       "and node podCIDRs[0] are immutable); build a new cluster, or keep ip_families = %s first"
                       % (have[0], new[0], json.dumps(have[0]))))
    elif len(new) < len(have):
        errors.append((fam_key, "the cluster runs %s, the config says %s: dual -> single stack is not supported "
                       "in place (removing a family crashes kube-controller-manager, kubernetes#102698); keep "
                       "ip_families = %s" % (json.dumps(have), json.dumps(new), json.dumps(have))))
    elif have[0] != "ipv4":
        errors.append((fam_key, "the cluster is %s-only: this playbook converts IPv4-only clusters to "
                       "IPv4-primary dual-stack only" % have[0]))
    if errors:
        return errors

    version = old.get("version")
    if version is None or tuple(version) < MIN_VERSION:
        errors.append(("kubernetes.version", "the cluster runs Kubernetes %s; single -> dual-stack in place needs "
                       ">= %s (the ServiceCIDR conversion fix, kubernetes#131261 / #131263): upgrade the cluster "
                       "first, then set kubernetes.version to it" % (
                           old.get("version_text") or "(unknown)", ".".join(map(str, MIN_VERSION)))))
    if plan["kubernetes"].get("network_plugin", "calico") != "calico":
        errors.append(("kubernetes.network_plugin", "the conversion supports Calico only (got %s)"
                       % plan["kubernetes"].get("network_plugin")))
    if old.get("ipam") != CALICO_IPAM:
        errors.append(("kubernetes.network_plugin", "the cluster's CNI IPAM is %s, the conversion needs Calico's "
                       "IPAM (calico-ipam: IPv6 pod addresses come from Calico IPPools, not node podCIDRs)"
                       % (old.get("ipam") or "unknown")))

    # the families both sides have: byte-identical in meaning, and the live text is what gets written
    k = plan["kubernetes"]
    for i, fam in enumerate(have):
        sfx = SUFFIX[fam]
        if i < len(old["pod_subnets"]) and not _same_net(old["pod_subnets"][i], k["pod_subnets"][i]):
            errors.append(("kubernetes.pod_subnet_%s" % sfx, "the cluster's podSubnet is %s, the config says %s: "
                           "the existing range cannot change during the conversion"
                           % (old["pod_subnets"][i], k["pod_subnets"][i])))
        if i < len(old["service_subnets"]) and not _same_net(old["service_subnets"][i], k["service_subnets"][i]):
            errors.append(("kubernetes.service_subnet_%s" % sfx, "the cluster's serviceSubnet is %s, the config "
                           "says %s: the existing range cannot change (the kubernetes Service and every ClusterIP "
                           "live in it)" % (old["service_subnets"][i], k["service_subnets"][i])))
        mask = _node_mask(old, fam)
        if mask is not None and mask != k["node_mask_sizes"][fam]:
            errors.append(("kubernetes.node_mask_%s" % sfx, "kube-controller-manager runs with node mask /%d for "
                           "%s, the config says /%d: node podCIDRs are immutable" % (mask, fam, k["node_mask_sizes"][fam])))
    for pool in plan["calico"]["pools"]:
        live = (old.get("pools") or {}).get(pool["family"]) or []
        if live and not any(_same_net(p["cidr"], pool["cidr"]) for p in live):
            errors.append(("kubernetes.pod_subnet_%s" % SUFFIX[pool["family"]], "Calico's %s IPPool(s) %s do not "
                           "cover the pod subnet %s" % (pool["family"], ", ".join(p["cidr"] for p in live),
                                                        pool["cidr"])))
    nodes = plan["groups"]["k8s_control_plane"] + plan["groups"]["k8s_workers"]
    for node in nodes:
        ips = old.get("kubelet_node_ips", {}).get(node)
        if ips is None:
            continue
        want = plan["hosts"][node]["node_ips"]
        if ips and ips != want[:len(ips)]:
            errors.append(("network.%s_cidr" % (family_of(ips[0]) or "ipv4"), "the kubelet on %s runs with "
                           "--node-ip=%s, the plan gives it %s: the node's existing address cannot change"
                           % (node, ",".join(ips), ",".join(want))))
    if check_addresses:
        errors.extend(address_errors(old, plan))
    return errors


def address_errors(old, plan):
    """Hosts whose planned addresses (every family of the new plan) are on no interface."""
    errors = []
    addresses = old.get("addresses") or {}
    for name, host in plan["hosts"].items():
        if name not in addresses:
            continue
        have = {str(ipaddress.ip_address(a)) for a in addresses[name] if family_of(a)}
        for fam in plan["cluster"]["ip_families"]:
            want = host.get(fam)
            if want and str(ipaddress.ip_address(want)) not in have:
                errors.append(("network.%s_cidr" % fam, "%s has no %s address %s on any interface: give the "
                               "host its %s address first (OpenStack: the openstack stage adds the fixed IP, "
                               "DHCPv6/RA brings it to the VM)" % (name, fam, want, fam)))
    return errors


def mode(old, plan):
    """'convert' (a family is added) or 'converged' (the same families: every step only verifies)."""
    return "convert" if len(plan["cluster"]["ip_families"]) > len(old["families"]) else "converged"


# --------------------------------------------------------------------------------------- targets
def _joined(live, plan_values):
    """The live values (text kept) followed by the plan's values of the families the cluster lacks."""
    fams = families_of(live)
    return ",".join(list(live) + [v for v in plan_values if family_of(v) not in fams])


def new_cluster_configuration(text, plan):
    """kubeadm-config's ClusterConfiguration with both families (the IPv4 text unchanged)."""
    cc = cluster_configuration(text)
    k = plan["kubernetes"]
    networking = cc.setdefault("networking", {})
    networking["podSubnet"] = _joined(split_list(networking.get("podSubnet")), k["pod_subnets"])
    networking["serviceSubnet"] = _joined(split_list(networking.get("serviceSubnet")), k["service_subnets"])
    cm = cc.setdefault("controllerManager", {})
    masks = {"node-cidr-mask-size-%s" % f: str(k["node_mask_sizes"][f]) for f in plan["cluster"]["ip_families"]}
    args = cm.get("extraArgs")
    if isinstance(args, list):
        kept = [a for a in args if a.get("name") != "node-cidr-mask-size"]
        old = {a.get("name"): a for a in kept}
        bare = next((a.get("value") for a in args if a.get("name") == "node-cidr-mask-size"), None)
        if bare and "node-cidr-mask-size-ipv4" not in old:
            masks["node-cidr-mask-size-ipv4"] = str(bare)
        for name, value in masks.items():
            if name in old:
                if name != "node-cidr-mask-size-ipv4":
                    old[name]["value"] = value
            else:
                kept.append({"name": name, "value": value})
        cm["extraArgs"] = kept
    else:
        args = dict(args or {})
        bare = args.pop("node-cidr-mask-size", None)
        if bare and "node-cidr-mask-size-ipv4" not in args:
            masks["node-cidr-mask-size-ipv4"] = str(bare)
        for name, value in masks.items():
            if name not in args or name != "node-cidr-mask-size-ipv4":
                args[name] = value
        cm["extraArgs"] = args
    return yaml.safe_dump(cc, default_flow_style=False, sort_keys=False)


def component_flags(old, plan, node):
    """{component: {"set": {flag: value}, "remove": [flags]}} of a control-plane node's static pods."""
    k = plan["kubernetes"]
    flags = (old.get("manifests") or {}).get(node) or {}
    api = flags.get(APISERVER) or {}
    kcm = flags.get(CONTROLLER_MANAGER) or {}
    services_live = split_list(api.get("service-cluster-ip-range")) or list(old["service_subnets"])
    out = {APISERVER: {"set": {"service-cluster-ip-range": _joined(services_live, k["service_subnets"])},
                       "remove": []}}
    pods_live = split_list(kcm.get("cluster-cidr")) or list(old["pod_subnets"])
    kcm_services = split_list(kcm.get("service-cluster-ip-range")) or services_live
    sets = {"cluster-cidr": _joined(pods_live, k["pod_subnets"]),
            "service-cluster-ip-range": _joined(kcm_services, k["service_subnets"])}
    remove = []
    for fam in plan["cluster"]["ip_families"]:
        name = "node-cidr-mask-size-%s" % fam
        live = kcm.get(name) or (kcm.get("node-cidr-mask-size") if fam == "ipv4" else None)
        sets[name] = live or str(k["node_mask_sizes"][fam])
    if "node-cidr-mask-size" in kcm:
        remove.append("node-cidr-mask-size")  # not allowed with dual-stack
    out[CONTROLLER_MANAGER] = {"set": sets, "remove": remove}
    return out


def kubelet_node_ip(old, plan, node):
    """The node's --node-ip: the live IPv4 text, then the planned IPv6 address."""
    live = (old.get("kubelet_node_ips") or {}).get(node) or []
    return _joined(live, plan["hosts"][node]["node_ips"])


def new_kube_proxy_config(text, plan):
    """kube-proxy ConfigMap's config.conf with clusterCIDR of both families (YAML text)."""
    try:
        conf = yaml.safe_load(text or "") or {}
    except yaml.YAMLError as exc:
        raise ConvertError("kube-proxy config.conf is not YAML: %s" % exc)
    conf["clusterCIDR"] = _joined(split_list(conf.get("clusterCIDR")), plan["kubernetes"]["pod_subnets"])
    return yaml.safe_dump(conf, default_flow_style=False, sort_keys=False)


def new_cni_network_config(text, plan):
    """calico-config's cni_network_config with calico-ipam assign_ipv6 "true" (the rest kept)."""
    placeholder = "__CNI_MTU__"
    conf = json.loads(text.replace('"mtu": %s' % placeholder, '"mtu": "%s"' % placeholder))
    for plugin in conf.get("plugins") or [conf]:
        if plugin.get("type") == "calico":
            ipam = plugin.setdefault("ipam", {})
            for fam in plan["cluster"]["ip_families"]:
                ipam["assign_%s" % fam] = "true"
    return json.dumps(conf, indent=2).replace('"%s"' % placeholder, placeholder) + "\n"


def calico_inputs(plan):
    """calico_manifests' parameters of the new plan (module_utils.calico renders from them)."""
    c = plan["calico"]
    fams = plan["cluster"]["ip_families"]
    return {"style": c["style"], "pools": c["pools"],
            "node_subnets": {f: plan["network"][f]["cidr"] for f in fams},
            "service_subnets": plan["kubernetes"]["service_subnets"], "as_number": c["as_number"],
            "node_to_node_mesh": c["node_to_node_mesh"], "next_hop_mode": c["next_hop_mode"],
            "bgp_peers": c["peers"]}


def calico_changes(old, plan, live_installation=None):
    """What the Calico step applies, as [{"name", "action": apply|patch-merge|patch-strategic, "kind",
    "resource", "namespace", "body"}] in order: IPv6 pool (before assign_ipv6, cni-plugin#598),
    Felix IPv6, then IPAM + autodetection (calico-node is rolled by its DaemonSet update)."""
    from ansible_collections.dualstack.k8s.plugins.module_utils import calico as render  # noqa: PLC0415
    c = calico_inputs(plan)
    new_fams = [f for f in plan["cluster"]["ip_families"] if f not in old["families"]]
    out = []
    style = plan["calico"]["style"]
    if style == "manifest":
        for doc in render.ippools(c):
            if family_of(doc["spec"]["cidr"]) in new_fams:
                out.append({"name": "ippool-%s" % doc["metadata"]["name"], "action": "apply", "body": doc})
    out.append({"name": "felixconfiguration-default", "action": "patch-merge", "kind": "felixconfigurations",
                "resource": "default", "body": {"spec": {"ipv6Support": True}}})
    if style == "manifest":
        env = render.calico_node_env(c)
        keep = ("IP6", "IP6_AUTODETECTION_METHOD", "FELIX_IPV6SUPPORT") + tuple(
            "CALICO_IPV6POOL_%s" % s for s in ("CIDR", "BLOCK_SIZE", "VXLAN", "NAT_OUTGOING", "NODE_SELECTOR"))
        out.append({"name": "calico-node-env", "action": "patch-strategic", "kind": "daemonset",
                    "resource": "calico-node", "namespace": "kube-system",
                    "body": {"spec": {"template": {"spec": {"containers": [
                        {"name": "calico-node", "env": [e for e in env if e["name"] in keep]}]}}}}})
    else:
        inst = render.installation(c)["spec"]["calicoNetwork"]
        live_pools = (((live_installation or {}).get("spec") or {}).get("calicoNetwork") or {}).get("ipPools") or []
        pools = list(live_pools) + [p for p in inst["ipPools"] if family_of(p["cidr"]) in new_fams
                                    and not any(_same_net(p["cidr"], q.get("cidr", "")) for q in live_pools)]
        network = {"ipPools": pools}
        for fam in new_fams:
            key = "nodeAddressAutodetection%s" % SUFFIX[fam].upper()
            network[key] = inst[key]
        out.append({"name": "installation-default", "action": "patch-merge", "kind": "installations.operator.tigera.io",
                    "resource": "default", "body": {"spec": {"calicoNetwork": network}}})
    return out


def targets(old, plan, raw):
    """Everything the Kubernetes steps write, computed once on the controller."""
    cps = plan["groups"]["k8s_control_plane"]
    nodes = cps + plan["groups"]["k8s_workers"]
    out = {
        "mode": mode(old, plan),
        "cluster_configuration": new_cluster_configuration(raw["cluster_configuration"], plan),
        "flags": {node: component_flags(old, plan, node) for node in cps},
        "node_ips": {node: kubelet_node_ip(old, plan, node) for node in nodes},
        "kube_proxy_config": (new_kube_proxy_config(raw["kube_proxy_config"], plan)
                              if raw.get("kube_proxy_config") is not None else None),
        "calico": calico_changes(old, plan, raw.get("installation")),
    }
    if plan["calico"]["style"] == "manifest" and raw.get("cni_network_config"):
        # calico-node's install-cni writes the CNI config when the DaemonSet rolls: IPAM before the env patch
        cni = new_cni_network_config(raw["cni_network_config"], plan)
        out["cni_network_config"] = cni
        at = next(i for i, c in enumerate(out["calico"]) if c["name"] == "calico-node-env")
        out["calico"].insert(at, {"name": "calico-config", "action": "patch-merge", "kind": "configmap",
                                  "resource": "calico-config", "namespace": "kube-system",
                                  "body": {"data": {"cni_network_config": cni}}})
    return out


def convert_plan(raw, plan, check_addresses=True):
    """(errors, old, targets): the refusals; and when there are none, what each step writes."""
    try:
        old = live_state(raw)
    except ConvertError as exc:
        return [("kubernetes", str(exc))], None, None
    errors = transition_errors(old, plan, check_addresses=check_addresses)
    if errors:
        return errors, old, None
    try:
        return [], old, targets(old, plan, raw)
    except (ConvertError, ValueError) as exc:
        return [("kubernetes", str(exc))], old, None
