#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: calico_manifests
short_description: Write Calico's dual-stack manifests (operator Installation or manifest-style settings)
version_added: 0.1.0
description:
  - Renders Calico's configuration from plain parameters into O(dest), one file per purpose, and
    returns the order in which they are applied. The families and their order (primary first) are
    those of O(pools).
  - O(style=operator) (upstream's recommended install) writes C(installation.yaml), an
    C(operator.tigera.io/v1) Installation with one C(calicoNetwork.ipPools[]) entry per family,
    C(nodeAddressAutodetectionV4/V6) limited to O(node_subnets) and C(bgp=Enabled).
  - O(style=manifest) writes C(calico-config.yaml) (the C(calico-config) ConfigMap whose CNI config
    sets C(calico-ipam) C(assign_ipv4)/C(assign_ipv6)) and C(calico-node-env.yaml) (a strategic-merge
    patch of the C(calico-node) DaemonSet with C(IP)/C(IP6), the autodetection methods,
    C(FELIX_IPV6SUPPORT) and the C(CALICO_IPV4POOL_*)/C(CALICO_IPV6POOL_*) settings; single stack sets
    the missing family's pool CIDR to C(none), IPv6-only adds C(CALICO_ROUTER_ID=hash)).
  - Both styles write C(ippools.yaml) (one C(projectcalico.org/v3) IPPool per family), C(bgp.yaml)
    (BGPConfiguration C(default) and one BGPPeer per O(bgp_peers) entry) and C(felixconfiguration.yaml).
  - Files of the other style that this module wrote earlier are removed.
  - Why a module and not M(ansible.builtin.template) - one call renders the five related documents of
    a style from data (validated against Calico's CRD schemas in the collection's tests), removes the
    other style's files and returns the apply order the role follows.
  - The parameters are trusted to be consistent (the dualstack.k8s.config inventory checks block
    sizes, encapsulations and AS numbers against Calico's limits before it computes them).
  - Runs on the managed node with the Python standard library only.
options:
  style:
    description: V(operator) (Tigera operator Installation) or V(manifest) (settings for Calico's calico.yaml).
    type: str
    required: true
    choices: [operator, manifest]
  pools:
    description: One IP pool per family, primary family first.
    type: list
    elements: dict
    required: true
    suboptions:
      family:
        description: V(ipv4) or V(ipv6).
        type: str
        required: true
        choices: [ipv4, ipv6]
      name:
        description: IPPool name.
        type: str
        required: true
      cidr:
        description: The pool (the family's pod subnet).
        type: str
        required: true
      block_size:
        description: IPAM block size (IPv4 20-32, IPv6 116-128).
        type: int
        required: true
      encapsulation:
        description: Operator-style encapsulation (IPIP only on IPv4).
        type: str
        default: None
        choices: [None, IPIP, VXLAN, IPIPCrossSubnet, VXLANCrossSubnet]
      nat_outgoing:
        description: SNAT of pod traffic leaving the pool.
        type: bool
        default: false
  node_subnets:
    description:
      - The node subnet per family (keys V(ipv4)/V(ipv6)) in which calico-node autodetects the node
        address (C(cidr=...) method; operator C(nodeAddressAutodetectionV4/V6.cidrs)).
    type: dict
    required: true
  service_subnets:
    description: Service CIDRs, primary first (operator C(serviceCIDRs)).
    type: list
    elements: str
    default: []
  as_number:
    description: AS of the nodes (BGPConfiguration C(default) C(asNumber)).
    type: int
    default: 64512
  node_to_node_mesh:
    description: BGPConfiguration C(nodeToNodeMeshEnabled).
    type: bool
    default: true
  next_hop_mode:
    description: BGPPeer C(nextHopMode) (C(Keep) is the older C(keepOriginalNextHop=true)).
    type: str
    default: Auto
    choices: [Auto, Self, Keep]
  bgp_peers:
    description: BGP peers of every node (the gateway VIPs), one BGPPeer each.
    type: list
    elements: dict
    default: []
    suboptions:
      family:
        description: V(ipv4) or V(ipv6).
        type: str
        required: true
        choices: [ipv4, ipv6]
      peer_ip:
        description: Address of the peer.
        type: str
        required: true
      as_number:
        description: AS of the peer.
        type: int
        required: true
      name:
        description: BGPPeer name. Default C(gateway-vip-<family>).
        type: str
  dest:
    description:
      - Directory of the manifests.
    type: path
    default: /etc/kubernetes/dualstack/calico
author:
  - dualstack.k8s contributors (@dualstack-k8s)
attributes:
  check_mode:
    support: full
    description: Reports what would change; writes nothing.
  diff_mode:
    support: full
    description: Returns each changed file before and after.
  idempotent:
    support: full
    description: Unchanged parameters give byte-identical files and C(changed=false).
"""

EXAMPLES = r"""
- name: Dual-stack, IPv4 primary, manifest style, peering with the gateway VIPs
  dualstack.k8s.calico_manifests:
    style: manifest
    pools:
      - {family: ipv4, name: default-ipv4-ippool, cidr: 10.244.0.0/16, block_size: 26, nat_outgoing: true}
      - {family: ipv6, name: default-ipv6-ippool, cidr: "fdff:2::/56", block_size: 122, nat_outgoing: true}
    node_subnets: {ipv4: 172.30.154.0/24, ipv6: "fd00:154::/120"}
    service_subnets: [10.96.0.0/12, "fdff:3::/108"]
    as_number: 64512
    bgp_peers:
      - {family: ipv4, peer_ip: 172.30.154.254, as_number: 65000}
      - {family: ipv6, peer_ip: "fd00:154::fe", as_number: 65000}
"""

RETURN = r"""
dest:
  description: The manifest directory.
  returned: always
  type: str
  sample: /etc/kubernetes/dualstack/calico
style:
  description: The style rendered.
  returned: success
  type: str
  sample: operator
files:
  description: Every file written or removed, with its C(path), C(changed) and C(state) (C(file)/C(absent)).
  returned: success
  type: list
  elements: dict
  sample: [{"path": "/etc/kubernetes/dualstack/calico/installation.yaml", "changed": true, "state": "file"}]
apply:
  description: >-
    The files in apply order with the C(action): C(apply) (C(kubectl apply -f)), C(patch)
    (strategic-merge patch of DaemonSet C(kube-system/calico-node)) or C(reference) (kept, not applied).
  returned: success
  type: list
  elements: dict
  sample: [{"path": "/etc/kubernetes/dualstack/calico/installation.yaml", "action": "apply"}]
errors:
  description: Missing or inconsistent parameters, each with the parameter C(key) and the C(reason).
  returned: failure
  type: list
  elements: dict
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dualstack.k8s.plugins.module_utils.calico import (
    ENCAPSULATIONS,
    NEXT_HOP_MODES,
    STYLES,
    apply_plan,
    input_errors,
    render_calico_texts,
)
from ansible_collections.dualstack.k8s.plugins.module_utils.files import exit_with_diff
from ansible_collections.dualstack.k8s.plugins.module_utils.kubeadm import ensure_files

FAMILY = dict(type="str", required=True, choices=["ipv4", "ipv6"])
ARGUMENT_SPEC = dict(
    style=dict(type="str", required=True, choices=list(STYLES)),
    pools=dict(type="list", elements="dict", required=True, options=dict(
        family=FAMILY,
        name=dict(type="str", required=True),
        cidr=dict(type="str", required=True),
        block_size=dict(type="int", required=True),
        encapsulation=dict(type="str", default="None", choices=list(ENCAPSULATIONS)),
        nat_outgoing=dict(type="bool", default=False),
    )),
    node_subnets=dict(type="dict", required=True),
    service_subnets=dict(type="list", elements="str", default=[]),
    as_number=dict(type="int", default=64512),
    node_to_node_mesh=dict(type="bool", default=True),
    next_hop_mode=dict(type="str", default="Auto", choices=list(NEXT_HOP_MODES)),
    bgp_peers=dict(type="list", elements="dict", default=[], options=dict(
        family=FAMILY,
        peer_ip=dict(type="str", required=True),
        as_number=dict(type="int", required=True),
        name=dict(type="str"),
    )),
    dest=dict(type="path", default="/etc/kubernetes/dualstack/calico"),
)
FILE_MODE = 0o644


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    c = module.params
    dest, style = c["dest"], c["style"]
    errors = input_errors(c)
    if errors:
        module.fail_json(msg="calico_manifests: " + "; ".join("%s: %s" % e for e in errors), dest=dest,
                         errors=[dict(key=k, reason=r) for k, r in errors])
    texts = render_calico_texts(c)
    ours = set(name for s in STYLES for name, dummy in apply_plan(s))
    stale = [os.path.join(dest, name) for name in sorted(ours - set(texts))]
    contents = dict((os.path.join(dest, name), text) for name, text in texts.items())
    changed, files, diffs = ensure_files(module, contents, FILE_MODE, remove=stale)
    result = dict(changed=changed, dest=dest, style=style, files=files,
                  apply=[dict(path=os.path.join(dest, name), action=action) for name, action in apply_plan(style)])
    exit_with_diff(module, result, diffs)


if __name__ == "__main__":
    main()
