#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: sysctl_settings
short_description: Persist kernel settings in a sysctl.d file and apply them, in one module call
version_added: 0.1.0
description:
  - Reads the live value of every setting from C(/proc/sys), writes the settings to one file under
    C(/etc/sysctl.d) (atomically, so systemd-sysctl applies them at boot) and writes each live value
    that differs to C(/proc/sys), as C(sysctl -w) does.
  - One module run replaces reading the values, writing the file and running C(sysctl -p), so it
    needs neither a shell nor procps.
  - A setting the kernel does not have (a typo, or an interface that does not exist) fails the task
    before anything is written, naming the setting.
  - A live value that has to change under a read-only C(/proc/sys) (a container without a writable
    C(/proc/sys/net)) fails with the setting and the reason; values that already match need no write.
options:
  settings:
    description:
      - Setting names (dot-separated, as C(sysctl) prints them; a C(.) inside a component, such as
        a VLAN interface, is written C(/)) and their values, in the order they are written.
      - Multi-field values are compared field by field, so C(4096 65535) matches the kernel's tabs.
    type: dict
    required: true
  path:
    description: The sysctl.d file that persists the settings.
    type: path
    required: true
  header:
    description: Comment written at the top of the file (each line prefixed with C(#)).
    type: str
    default: ""
  mode:
    description: Mode of the file.
    type: raw
    default: "0644"
author:
  - dualstack.k8s contributors (@dualstack-k8s)
attributes:
  check_mode:
    support: full
    description: Reports what would change in the file and in C(/proc/sys); writes neither.
  diff_mode:
    support: full
    description: The file's before/after, and the live values that change.
  idempotent:
    support: full
    description: The same file content and live values give C(changed=false).
seealso:
  - module: ansible.posix.sysctl
"""

EXAMPLES = r"""
- name: Forwarding and accept_ra=2 on the node interface
  dualstack.k8s.sysctl_settings:
    path: /etc/sysctl.d/60-example.conf
    header: Managed by Ansible
    settings:
      net.ipv4.ip_forward: "1"
      net.ipv6.conf.all.forwarding: "1"
      net.ipv6.conf.eth0.accept_ra: "2"
"""

RETURN = r"""
file_changed:
  description: Whether the file was (or would be) written.
  returned: success
  type: bool
applied:
  description: The settings whose live value was (or would be) written, in order.
  returned: success
  type: list
  elements: str
  sample: [net.ipv4.ip_forward]
before:
  description: The live value of every setting before the module ran.
  returned: success
  type: dict
  sample: {"net.ipv4.ip_forward": "0"}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dualstack.k8s.plugins.module_utils.files import exit_with_diff
from ansible_collections.dualstack.k8s.plugins.module_utils.sysctl import FilesError, SysctlError, converge_settings

ARGUMENT_SPEC = dict(
    settings=dict(type="dict", required=True),
    path=dict(type="path", required=True),
    header=dict(type="str", default=""),
    mode=dict(type="raw", default="0644"),
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    p = module.params
    try:
        result = converge_settings(p["settings"], p["path"], header=p["header"], mode=p["mode"],
                                   check_mode=module.check_mode, want_diff=module._diff)
    except (SysctlError, FilesError) as exc:
        module.fail_json(msg=str(exc))
    exit_with_diff(module, result, result.pop("diff"))


if __name__ == "__main__":
    main()
