#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: host_info
short_description: Read a host's addresses, sysctls and a few files in one module call
version_added: 0.1.0
description:
  - Returns what the C(dualstack.k8s.check_dualstack) role compares with the plan, read in one
    module run on the managed node instead of one task per source.
  - The interface addresses come from C(ip -j addr show), the sysctls from C(sysctl -e) (keys the
    kernel does not have are left out), the files are read as text (at most O(max_file_size) bytes).
  - Changes nothing.
options:
  sysctls:
    description: Sysctl keys to read, e.g. C(net.ipv6.conf.all.forwarding).
    type: list
    elements: str
    default: []
  interface_sysctls:
    description:
      - Sysctl keys read once per link of C(ip -j addr show); C({ifname}) stands for the link's name
        (dots in it become C(/), as C(sysctl) writes them), e.g. C(net.ipv6.conf.{ifname}.accept_ra).
    type: list
    elements: str
    default: []
  files:
    description: Absolute paths of text files to read.
    type: list
    elements: path
    default: []
  paths:
    description:
      - Absolute paths whose existence is reported without reading them (a kubeconfig holds
        credentials that do not belong in a task result).
    type: list
    elements: path
    default: []
  commands:
    description:
      - Commands looked up on the managed node's C(PATH), e.g. C(kubectl); a name with a C(/) is
        checked as a path.
    type: list
    elements: str
    default: []
  max_file_size:
    description: Files larger than this many bytes fail the module (these are configuration files).
    type: int
    default: 1048576
author:
  - dualstack.k8s contributors (@dualstack-k8s)
attributes:
  check_mode:
    support: full
    description: Reads the same in check mode.
  diff_mode:
    support: none
    description: Reads only; there is nothing to diff.
  idempotent:
    support: full
    description: Never changes anything.
notes:
  - Needs C(ip) (iproute2) and C(sysctl) (procps) on the managed node.
"""

EXAMPLES = r"""
- name: Read the addresses, the forwarding sysctls and the kubeadm configuration
  dualstack.k8s.host_info:
    sysctls: [net.ipv4.ip_forward, net.ipv6.conf.all.forwarding]
    files: [/etc/kubernetes/kubeadm-config.yaml]
  register: _host

- name: Show the links and whether IPv6 forwarding is on
  ansible.builtin.debug:
    msg: "{{ _host.interfaces | map(attribute='ifname') }}: {{ _host.sysctls['net.ipv6.conf.all.forwarding'] }}"
"""

RETURN = r"""
interfaces:
  description: The output of C(ip -j addr show), one entry per link with its C(addr_info).
  returned: success
  type: list
  elements: dict
  sample: [{"ifname": "eth0", "addr_info": [{"family": "inet6", "local": "fd54:154::14", "prefixlen": 64}]}]
sysctls:
  description: The value of each requested key the kernel has, as text.
  returned: success
  type: dict
  sample: {"net.ipv6.conf.all.forwarding": "1"}
files:
  description: Per requested path, C(exists) and (when it exists) its C(content).
  returned: success
  type: dict
  sample: {"/etc/kubernetes/kubeadm-config.yaml": {"exists": true, "content": "apiVersion: ..."}}
paths:
  description: Per requested path, whether it exists.
  returned: success
  type: dict
  sample: {"/etc/kubernetes/admin.conf": false}
commands:
  description: Per requested command, the executable it resolves to, or C(null) when there is none.
  returned: success
  type: dict
  sample: {"kubectl": "/usr/bin/kubectl"}
"""

import json
import os
import shutil

from ansible.module_utils.basic import AnsibleModule

ARGUMENT_SPEC = dict(
    sysctls=dict(type="list", elements="str", default=[]),
    interface_sysctls=dict(type="list", elements="str", default=[]),
    files=dict(type="list", elements="path", default=[]),
    paths=dict(type="list", elements="path", default=[]),
    commands=dict(type="list", elements="str", default=[]),
    max_file_size=dict(type="int", default=1048576),
)


def parse_sysctl(text):
    """`sysctl -e a b` output ("key = value" lines) -> {key: value}."""
    values = {}
    for line in text.splitlines():
        key, sep, value = line.partition(" = ")
        if sep:
            values[key.strip()] = value.strip()
    return values


def read_file(path, limit):
    try:
        size = os.path.getsize(path)
    except OSError:
        return dict(exists=False)
    if size > limit:
        raise ValueError("%s is %d bytes, more than max_file_size (%d)" % (path, size, limit))
    with open(path, "rb") as handle:
        return dict(exists=True, content=handle.read().decode("utf-8", "replace"))


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    p = module.params
    rc, out, err = module.run_command(["ip", "-j", "addr", "show"])
    if rc != 0:
        module.fail_json(msg="ip -j addr show failed (rc=%d): %s" % (rc, err.strip()))
    try:
        interfaces = json.loads(out or "[]")
    except ValueError as exc:
        module.fail_json(msg="ip -j addr show gave no JSON: %s" % exc)
    keys = list(p["sysctls"])
    for link in interfaces:
        name = str(link.get("ifname", "")).replace(".", "/")
        keys += [key.replace("{ifname}", name) for key in p["interface_sysctls"] if name]
    sysctls = {}
    if keys:
        # -e: keys the kernel lacks (an interface that is gone) are left out, not an error
        rc, out, err = module.run_command(["sysctl", "-e"] + keys)
        sysctls = parse_sysctl(out)
    try:
        files = dict((path, read_file(path, p["max_file_size"])) for path in p["files"])
    except (OSError, ValueError) as exc:
        module.fail_json(msg=str(exc))
    paths = dict((path, os.path.lexists(path)) for path in p["paths"])
    search = os.pathsep.join([os.environ.get("PATH", os.defpath), "/usr/local/sbin", "/usr/sbin", "/sbin"])
    commands = dict((name, shutil.which(name, path=search)) for name in p["commands"])
    module.exit_json(changed=False, interfaces=interfaces, sysctls=sysctls, files=files, paths=paths,
                     commands=commands)


if __name__ == "__main__":
    main()
