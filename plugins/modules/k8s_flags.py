#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: k8s_flags
short_description: Set command-line flags in a kubeadm static pod manifest or kubeadm-flags.env
version_added: 0.3.0
description:
  - Edits the flags of one file kubeadm wrote, in place, the way the kubeadm reconfiguration guide does
    by hand - C(/etc/kubernetes/manifests/kube-apiserver.yaml), C(kube-controller-manager.yaml) (one
    C(- --name=value) line per flag) or C(/var/lib/kubelet/kubeadm-flags.env) (C(KUBELET_KUBEADM_ARGS)).
  - A flag keeps its line; a new flag follows the last one; nothing else in the file changes. The file's
    mode is kept. With O(backup_dir), the file as it was is copied there (mode 0600) before the first
    change.
  - Used by the C(convert) role (single to dual-stack conversion); the kubelet notices a changed static
    pod manifest and restarts the pod by itself; kubeadm-flags.env needs C(systemctl restart kubelet).
options:
  path:
    description: The file.
    type: path
    required: true
  format:
    description: C(manifest) (static pod) or C(kubelet_env) (kubeadm-flags.env).
    type: str
    choices: [manifest, kubelet_env]
    default: manifest
  set:
    description: Flags (without the leading C(--)) and their values.
    type: dict
    default: {}
  remove:
    description: Flags to remove (without the leading C(--)).
    type: list
    elements: str
    default: []
  backup_dir:
    description: Directory the unchanged file is copied to (as C(<basename>)) before the first change.
    type: path
author:
  - dualstack.k8s contributors (@dualstack-k8s)
attributes:
  check_mode:
    support: full
    description: Reports what would change and writes nothing.
  diff_mode:
    support: full
    description: Before and after of the file.
"""

EXAMPLES = r"""
- name: Add the IPv6 service range to the API server (IPv4 text unchanged)
  dualstack.k8s.k8s_flags:
    path: /etc/kubernetes/manifests/kube-apiserver.yaml
    set:
      service-cluster-ip-range: 10.96.0.0/12,fdff:3::/112
    backup_dir: /var/backups/dualstack-k8s/convert
"""

RETURN = r"""
flags:
  description: The flags that changed, per flag name its value before and after (null = absent).
  type: dict
  returned: always
"""

import os
import shutil

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dualstack.k8s.plugins.module_utils.convert import FlagError, edit
from ansible_collections.dualstack.k8s.plugins.module_utils.files import converge, FilesError


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            format=dict(type="str", choices=["manifest", "kubelet_env"], default="manifest"),
            set=dict(type="dict", default={}),
            remove=dict(type="list", elements="str", default=[]),
            backup_dir=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    path = module.params["path"]
    try:
        with open(path) as handle:
            text = handle.read()
        st = os.stat(path)
    except OSError as exc:
        module.fail_json(msg="%s: %s" % (path, exc))
    sets = {k: str(v) for k, v in module.params["set"].items()}
    try:
        new, changes = edit(module.params["format"], text, sets, module.params["remove"])
    except FlagError as exc:
        module.fail_json(msg="%s: %s" % (path, exc))
    result = dict(changed=bool(changes), path=path,
                  flags={k: {"before": v[0], "after": v[1]} for k, v in changes.items()})
    if changes and module._diff:
        result["diff"] = dict(before=text, after=new, before_header=path, after_header=path)
    if changes and not module.check_mode:
        backup = module.params["backup_dir"]
        if backup:
            dest = os.path.join(backup, os.path.basename(path))
            if not os.path.exists(dest):
                os.makedirs(backup, mode=0o700, exist_ok=True)
                shutil.copyfile(path, dest)
                os.chmod(dest, 0o600)
            result["backup"] = dest
        try:
            converge([dict(path=path, content=new, mode=st.st_mode & 0o7777)])
        except FilesError as exc:
            module.fail_json(msg=str(exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
