#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: calico_manifests
short_description: Write the Calico dual-stack manifests of the dualstack.k8s plan
version_added: 0.1.0
description:
  - Renders Calico's configuration from the address plan into O(dest), one file per purpose, and
    returns the order in which they are applied.
  - Operator style (the default, upstream's recommended install) writes C(installation.yaml), an
    C(operator.tigera.io/v1) Installation with one C(calicoNetwork.ipPools[]) entry per family,
    C(nodeAddressAutodetectionV4/V6) limited to the node subnets and C(bgp=Enabled).
  - Manifest style writes C(calico-config.yaml) (the C(calico-config) ConfigMap whose CNI config sets
    C(calico-ipam) C(assign_ipv4)/C(assign_ipv6)) and C(calico-node-env.yaml) (a strategic-merge patch
    of the C(calico-node) DaemonSet with C(IP)/C(IP6), the autodetection methods, C(FELIX_IPV6SUPPORT)
    and the C(CALICO_IPV4POOL_*)/C(CALICO_IPV6POOL_*) settings).
  - Both styles write C(ippools.yaml) (one C(projectcalico.org/v3) IPPool per family), C(bgp.yaml)
    (BGPConfiguration C(default) and one BGPPeer per family to the gateway VIP) and
    C(felixconfiguration.yaml).
  - Files of the other style that this module wrote earlier are removed.
  - Runs on the managed node with the Python standard library only.
options:
  plan:
    description:
      - The address plan (inventory variable C(dualstack_plan)).
    type: dict
    required: true
  dest:
    description:
      - Directory of the manifests.
    type: path
    default: /etc/kubernetes/dualstack/calico
  style:
    description:
      - C(operator) or C(manifest); defaults to the plan's C(calico.style).
    type: str
    choices: [operator, manifest]
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
    description: An unchanged plan gives byte-identical files and C(changed=false).
"""

EXAMPLES = r"""
- name: Write the Calico manifests on the first control-plane node
  dualstack.k8s.calico_manifests:
    plan: "{{ dualstack_plan }}"
    dest: /etc/kubernetes/dualstack/calico
  when: inventory_hostname == dualstack_plan.kubernetes.first_control_plane

- name: Render the manifest-style files instead of the Installation
  dualstack.k8s.calico_manifests:
    plan: "{{ dualstack_plan }}"
    style: manifest
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
  description: Problems of the plan's Calico settings, each with the config C(key) and the C(reason).
  returned: failure on an invalid plan
  type: list
  elements: dict
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dualstack.k8s.plugins.module_utils.calico import (
    STYLES,
    CalicoError,
    apply_plan,
    render_calico_texts,
)
from ansible_collections.dualstack.k8s.plugins.module_utils.files import exit_with_diff
from ansible_collections.dualstack.k8s.plugins.module_utils.kubeadm import ensure_files

ARGUMENT_SPEC = dict(
    plan=dict(type="dict", required=True),
    dest=dict(type="path", default="/etc/kubernetes/dualstack/calico"),
    style=dict(type="str", choices=list(STYLES)),
)
FILE_MODE = 0o644


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    plan, dest = module.params["plan"], module.params["dest"]
    try:
        style = module.params["style"] or plan["calico"]["style"]
        texts = render_calico_texts(plan, style)
    except CalicoError as exc:
        module.fail_json(msg=str(exc), dest=dest, errors=exc.as_list())
    except (KeyError, TypeError) as exc:
        module.fail_json(msg="the plan lacks %s: pass the inventory's dualstack_plan" % exc, dest=dest)
    ours = set(name for s in STYLES for name, dummy in apply_plan(s))
    stale = [os.path.join(dest, name) for name in sorted(ours - set(texts))]
    contents = dict((os.path.join(dest, name), text) for name, text in texts.items())
    changed, files, diffs = ensure_files(module, contents, FILE_MODE, remove=stale)
    result = dict(changed=changed, dest=dest, style=style, files=files,
                  apply=[dict(path=os.path.join(dest, name), action=action) for name, action in apply_plan(style)])
    exit_with_diff(module, result, diffs)


if __name__ == "__main__":
    main()
