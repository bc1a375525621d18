#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: kubeadm_config
short_description: Write a node's kubeadm configuration (v1beta4) from the dualstack.k8s plan
version_added: 0.1.0
description:
  - Renders the C(kubeadm.k8s.io/v1beta4) configuration of one Kubernetes node from the address plan
    and writes it to O(dest) with mode C(0600) (it holds the bootstrap token).
  - The first control-plane node gets C(InitConfiguration), C(ClusterConfiguration),
    C(KubeletConfiguration) and C(KubeProxyConfiguration); other control-plane nodes a
    C(JoinConfiguration) with a C(controlPlane) block; workers a plain C(JoinConfiguration).
  - Dual-stack C(networking.podSubnet)/C(serviceSubnet) and the kubelet C(node-ip) follow the plan's
    family order; C(nodeRegistration.kubeletExtraArgs) and C(controllerManager.extraArgs) use
    v1beta4's list form.
  - The plan is checked against kubeadm's own rules first (at most two CIDRs, one per family;
    at most 20 service host bits; node mask within [pod prefix, pod prefix + 16]; advertise address
    family; bracketed IPv6 endpoint; node-ip order). A violation fails the module and names the
    config key; nothing is written.
  - Runs on the managed node with the Python standard library only.
options:
  plan:
    description:
      - The address plan (inventory variable C(dualstack_plan), see C(docs/plan-contract.md)).
    type: dict
    required: true
  host:
    description:
      - The plan host name of the node (normally C(inventory_hostname)).
    type: str
    required: true
  dest:
    description:
      - Path of the configuration file.
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
      - C(sha256:<hex>) hashes of the cluster CA for C(discovery.bootstrapToken.caCertHashes).
      - When empty, joins use C(unsafeSkipCAVerification) (lab use only).
    type: list
    elements: str
    default: []
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
  kubernetes_version:
    description:
      - Exact Kubernetes version (C(v1.34.2)) for C(kubernetesVersion), e.g. from
        C(kubeadm version -o short). Defaults to the plan's version (C(stable-X.Y) for a minor-only one).
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
    description: An unchanged plan gives a byte-identical file and C(changed=false).
"""

EXAMPLES = r"""
- name: Write the kubeadm configuration of this node
  dualstack.k8s.kubeadm_config:
    plan: "{{ dualstack_plan }}"
    host: "{{ inventory_hostname }}"
    bootstrap_token: "{{ kubeadm_bootstrap_token }}"

- name: Render to another path in check mode, with the exact kubeadm version
  dualstack.k8s.kubeadm_config:
    plan: "{{ dualstack_plan }}"
    host: master1
    dest: /tmp/kubeadm-master1.yaml
    kubernetes_version: v1.34.2
  check_mode: true
"""

RETURN = r"""
dest:
  description: The file written.
  returned: always
  type: str
  sample: /etc/kubernetes/kubeadm-config.yaml
node_kind:
  description: C(init) (first control-plane node), C(join-control-plane) or C(join-worker).
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
errors:
  description: The kubeadm rules the plan breaks, each with the config C(key) and the C(reason).
  returned: failure on an invalid plan
  type: list
  elements: dict
  sample: [{"key": "kubernetes.service_subnet_v6", "reason": "fd00::/96 has 32 host bits"}]
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dualstack.k8s.plugins.module_utils.files import exit_with_diff
from ansible_collections.dualstack.k8s.plugins.module_utils.kubeadm import (
    PLACEHOLDER_TOKEN,
    KubeadmError,
    dump_yaml,
    ensure_files,
    file_header,
    node_ip_arg,
    node_kind,
    render_kubeadm,
)

ARGUMENT_SPEC = dict(
    plan=dict(type="dict", required=True),
    host=dict(type="str", required=True),
    dest=dict(type="path", default="/etc/kubernetes/kubeadm-config.yaml"),
    bootstrap_token=dict(type="str", default=PLACEHOLDER_TOKEN, no_log=True),
    ca_cert_hashes=dict(type="list", elements="str", default=[]),
    certificate_key=dict(type="str", no_log=True),
    cri_socket=dict(type="str"),
    kubernetes_version=dict(type="str"),
)
FILE_MODE = 0o600


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    p = module.params
    plan, host = p["plan"], p["host"]
    options = dict(token=p["bootstrap_token"], ca_cert_hashes=p["ca_cert_hashes"], cri_socket=p["cri_socket"],
                   certificate_key=p["certificate_key"], kubernetes_version_override=p["kubernetes_version"])
    try:
        documents = render_kubeadm(plan, host, **options)
        text = dump_yaml(documents, header=file_header(plan, host, p["bootstrap_token"]))
        kind = node_kind(plan, host)
    except KubeadmError as exc:
        module.fail_json(msg=str(exc), dest=p["dest"],
                         errors=exc.as_list())
    except (KeyError, TypeError) as exc:
        module.fail_json(msg="the plan lacks %s: pass the inventory's dualstack_plan" % exc, dest=p["dest"])
    changed, dummy, diffs = ensure_files(module, {p["dest"]: text}, FILE_MODE)
    result = dict(changed=changed, dest=p["dest"], node_kind=kind, node_ip=node_ip_arg(plan["hosts"][host]),
                  documents=documents, placeholder_token=p["bootstrap_token"] == PLACEHOLDER_TOKEN)
    exit_with_diff(module, result, diffs[0] if diffs else None)


if __name__ == "__main__":
    main()
