#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: kubeadm_config
short_description: Write a node's kubeadm configuration (v1beta4) for a dual-stack cluster
version_added: 0.1.0
description:
  - Renders the C(kubeadm.k8s.io/v1beta4) configuration of one Kubernetes node from plain
    parameters and writes it to O(dest) with mode C(0600) (it holds the bootstrap token).
  - O(node_kind=init) (the first control-plane node) gets C(InitConfiguration),
    C(ClusterConfiguration), C(KubeletConfiguration) and C(KubeProxyConfiguration);
    O(node_kind=control-plane) a C(JoinConfiguration) with a C(controlPlane) block;
    O(node_kind=worker) a plain C(JoinConfiguration).
  - Dual-stack C(networking.podSubnet)/C(serviceSubnet) and the kubelet C(node-ip) keep the order
    given (primary family first); C(nodeRegistration.kubeletExtraArgs) and
    C(controllerManager.extraArgs) use v1beta4's list form; the node CIDR mask is always passed as
    the family-specific C(node-cidr-mask-size-ipv4)/C(-ipv6), which kubeadm validates.
  - Joins pin the cluster CA (C(discovery.bootstrapToken.caCertHashes)). Without O(ca_cert_hashes)
    the file carries a placeholder hash that makes C(kubeadm join) fail closed; skipping the CA
    check takes the explicit O(unsafe_skip_ca_verification=true).
  - Why a module and not M(ansible.builtin.template) - the v1beta4 documents are built as data and
    emitted by one deterministic YAML writer shared with calico_manifests (byte-identical output on
    every ansible-core version, golden-tested), and the module returns the rendered documents with
    the bootstrap token masked.
  - The parameters are trusted to be consistent (the dualstack.k8s.config inventory checks the
    config against kubeadm's rules before it computes them); the module checks only that what
    a node kind needs is there and the syntax of the token and CA hashes.
  - Runs on the managed node with the Python standard library only.
options:
  node_kind:
    description:
      - V(init) for the node that runs C(kubeadm init), V(control-plane) for further control-plane
        nodes, V(worker) for workers.
    type: str
    required: true
    choices: [init, control-plane, worker]
  node_name:
    description: C(nodeRegistration.name), the Kubernetes node name.
    type: str
    required: true
  node_ips:
    description:
      - The node's addresses for kubelet's C(node-ip), primary family first (one per family).
    type: list
    elements: str
    required: true
  control_plane_endpoint:
    description:
      - C(host:port) of the API (a VIP or DNS name; an IPv6 literal in brackets, C([fd00::fe]:6443)).
        C(controlPlaneEndpoint) on init, the discovery endpoint on joins.
    type: str
    required: true
  advertise_address:
    description: C(localAPIEndpoint.advertiseAddress) of a control-plane node. Default the first of O(node_ips).
    type: str
  bind_port:
    description: C(localAPIEndpoint.bindPort) of a control-plane node.
    type: int
    default: 6443
  cluster_name:
    description: C(clusterName) (init only).
    type: str
    default: kubernetes
  dns_domain:
    description: C(networking.dnsDomain) and kubelet's C(clusterDomain) (init only).
    type: str
    default: cluster.local
  kubernetes_version:
    description:
      - C(kubernetesVersion) (init only; required there) - an exact C(v1.34.2) or a minor C(1.34),
        written as C(stable-1.34).
    type: str
  pod_subnets:
    description: Pod CIDRs, primary family first, at most one per family (init only; required there).
    type: list
    elements: str
    default: []
  service_subnets:
    description: Service CIDRs, primary family first, at most one per family (init only; required there).
    type: list
    elements: str
    default: []
  node_mask_sizes:
    description:
      - Node CIDR mask size per family (keys V(ipv4)/V(ipv6)), one for each pod subnet's family (init only).
    type: dict
    default: {}
  cert_sans:
    description: C(apiServer.certSANs) (init only) - the VIPs and the endpoint's DNS name.
    type: list
    elements: str
    default: []
  resolv_conf:
    description:
      - KubeletConfiguration C(resolvConf) (init only; cluster-wide through the C(kubelet-config) ConfigMap) -
        the resolv.conf the kubelet gives pods with dnsPolicy Default, which CoreDNS forwards to.
      - Unset, kubeadm and the kubelet choose (C(/etc/resolv.conf), or systemd-resolved's file).
    type: path
  dest:
    description: Path of the configuration file.
    type: path
    default: /etc/kubernetes/kubeadm-config.yaml
  bootstrap_token:
    description:
      - Bootstrap token (C([a-z0-9]{6}.[a-z0-9]{16}), C(kubeadm token generate)) for
        C(InitConfiguration.bootstrapTokens) and the join discovery.
      - The default is a documented PLACEHOLDER that must be replaced before C(kubeadm init/join).
    type: str
    default: abcdef.0123456789abcdef
  ca_cert_hashes:
    description:
      - C(sha256:<hex>) hashes of the cluster CA's public key for C(discovery.bootstrapToken.caCertHashes)
        (joins). Empty - a placeholder hash that pins nothing real (C(kubeadm join) fails with it).
    type: list
    elements: str
    default: []
  unsafe_skip_ca_verification:
    description:
      - Joins trust whatever answers at the endpoint (C(unsafeSkipCAVerification), no CA pinning).
        Only for throw-away labs; ignored when O(ca_cert_hashes) is given.
    type: bool
    default: false
  certificate_key:
    description:
      - Key that decrypts the control-plane certificates uploaded by C(kubeadm init --upload-certs);
        set on C(InitConfiguration) and on control-plane joins.
    type: str
  cri_socket:
    description:
      - C(nodeRegistration.criSocket), e.g. C(unix:///run/containerd/containerd.sock). kubeadm
        detects it when omitted.
    type: str
author:
  - dualstack.k8s contributors (@dualstack-k8s)
attributes:
  check_mode:
    support: full
    description: Reports whether the file would change; writes nothing.
  diff_mode:
    support: full
    description: Returns the file before and after.
  idempotent:
    support: full
    description: Unchanged parameters give a byte-identical file and C(changed=false).
"""

EXAMPLES = r"""
- name: First control-plane node of a dual-stack, IPv6-primary cluster
  dualstack.k8s.kubeadm_config:
    node_kind: init
    node_name: master1
    node_ips: ["fd00:10::14", "10.0.0.20"]
    control_plane_endpoint: "[fd00:10::fe]:6443"
    kubernetes_version: "1.34"
    pod_subnets: ["fd20:244::/56", "10.244.0.0/16"]
    service_subnets: ["fd20:96::/108", "10.96.0.0/16"]
    node_mask_sizes: {ipv6: 72, ipv4: 24}
    cert_sans: ["fd00:10::fe", "10.0.0.254"]
    bootstrap_token: "{{ vault_kubeadm_token }}"

- name: A worker, pinning the cluster CA
  dualstack.k8s.kubeadm_config:
    node_kind: worker
    node_name: worker1
    node_ips: ["fd00:10::32", "10.0.0.50"]
    control_plane_endpoint: "[fd00:10::fe]:6443"
    bootstrap_token: "{{ vault_kubeadm_token }}"
    ca_cert_hashes: ["sha256:{{ ca_hash }}"]
"""

RETURN = r"""
dest:
  description: The file written.
  returned: always
  type: str
  sample: /etc/kubernetes/kubeadm-config.yaml
node_kind:
  description: C(init), C(join-control-plane) or C(join-worker).
  returned: success
  type: str
  sample: init
node_ip:
  description: The kubelet C(node-ip) value, primary family first.
  returned: success
  type: str
  sample: 172.30.154.20,fd54:154::14
documents:
  description: The rendered documents (the bootstrap token is masked).
  returned: success
  type: list
  elements: dict
  sample: [{"apiVersion": "kubeadm.k8s.io/v1beta4", "kind": "InitConfiguration"}]
placeholder_token:
  description: Whether the bootstrap token is still the placeholder.
  returned: success
  type: bool
placeholder_ca_hash:
  description: Whether a join file carries the placeholder CA hash (no O(ca_cert_hashes) given).
  returned: success
  type: bool
errors:
  description: Missing or malformed parameters, each with the parameter C(key) and the C(reason).
  returned: failure
  type: list
  elements: dict
  sample: [{"key": "node_mask_sizes", "reason": "no ipv6 mask for the pod subnet fd00::/56"}]
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dualstack.k8s.plugins.module_utils.files import exit_with_diff
from ansible_collections.dualstack.k8s.plugins.module_utils.kubeadm import (
    KIND_LABEL,
    NODE_KINDS,
    PLACEHOLDER_TOKEN,
    dump_yaml,
    ensure_files,
    file_header,
    input_errors,
    node_ip_arg,
    placeholder_ca_hash,
    render_kubeadm,
)

ARGUMENT_SPEC = dict(
    node_kind=dict(type="str", required=True, choices=list(NODE_KINDS)),
    node_name=dict(type="str", required=True),
    node_ips=dict(type="list", elements="str", required=True),
    control_plane_endpoint=dict(type="str", required=True),
    advertise_address=dict(type="str"),
    bind_port=dict(type="int", default=6443),
    cluster_name=dict(type="str", default="kubernetes"),
    dns_domain=dict(type="str", default="cluster.local"),
    kubernetes_version=dict(type="str"),
    pod_subnets=dict(type="list", elements="str", default=[]),
    service_subnets=dict(type="list", elements="str", default=[]),
    node_mask_sizes=dict(type="dict", default={}),
    cert_sans=dict(type="list", elements="str", default=[]),
    resolv_conf=dict(type="path"),
    dest=dict(type="path", default="/etc/kubernetes/kubeadm-config.yaml"),
    bootstrap_token=dict(type="str", default=PLACEHOLDER_TOKEN, no_log=True),
    ca_cert_hashes=dict(type="list", elements="str", default=[]),
    unsafe_skip_ca_verification=dict(type="bool", default=False),
    certificate_key=dict(type="str", no_log=True),
    cri_socket=dict(type="str"),
)
FILE_MODE = 0o600


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    p = dict(module.params)
    masks = {}
    for fam, value in (p["node_mask_sizes"] or {}).items():
        try:
            masks[fam] = int(value)
        except (TypeError, ValueError):
            masks[fam] = value
    p["node_mask_sizes"] = masks
    errors = input_errors(p)
    if errors:
        module.fail_json(msg="kubeadm_config: " + "; ".join("%s: %s" % e for e in errors), dest=p["dest"],
                         errors=[dict(key=k, reason=r) for k, r in errors])
    documents = render_kubeadm(p)
    text = dump_yaml(documents, header=file_header(p))
    changed, dummy, diffs = ensure_files(module, {p["dest"]: text}, FILE_MODE)
    result = dict(changed=changed, dest=p["dest"], node_kind=KIND_LABEL[p["node_kind"]],
                  node_ip=node_ip_arg(p["node_ips"]), documents=documents,
                  placeholder_token=p["bootstrap_token"] == PLACEHOLDER_TOKEN,
                  placeholder_ca_hash=placeholder_ca_hash(p))
    exit_with_diff(module, result, diffs[0] if diffs else None)


if __name__ == "__main__":
    main()
