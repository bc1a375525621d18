#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: managed_files
short_description: Converge many files and directories of a role in one module call
version_added: 0.1.0
description:
  - Brings a list of files (with their content), directories and absent paths to the wanted state
    with one module run on the managed node, instead of one C(file)/C(copy)/C(template) task each.
    Over SSH, or into containers, every module run costs a round trip and a Python start; a role
    with fifteen small files pays it once.
  - Every entry is inspected before the first write, so a bad entry (relative path, unknown owner,
    a directory where a file should be) fails the task with the path and the reason, and nothing
    is changed.
  - Entries are then applied in the order given. A file's new content is written to a temporary
    file in the same directory with the final mode and owner, checked with O(files[].validate)
    when given, and renamed over the old file. When validation fails, that file and the entries
    after it stay as they were; the error names the file, the command and its output.
  - Contents are given as strings, for example from C(lookup('ansible.builtin.file', ..., rstrip=false)),
    or as template files (O(files[].template)) that the action plugin renders on the controller.
    They are compared byte for byte.
  - O(files[].triggers) labels entries, and RV(triggered) lists the labels of the entries that
    changed, so handlers can tell which part of a role changed (reload one service, restart another).
  - Runs on the managed node with the Python standard library only.
options:
  files:
    description:
      - The entries, applied in this order. A path may appear once.
    type: list
    elements: dict
    required: true
    suboptions:
      path:
        description: Absolute path.
        type: path
        required: true
      state:
        description:
          - V(file) writes O(files[].content) or O(files[].secret_content).
          - V(directory) creates the directory (and missing parents, mode C(0755)).
          - V(absent) removes a file, link or directory tree. Its O(files[].content) and O(files[].mode) are
            ignored, so a file can be switched on and off by its state alone.
        type: str
        choices: [file, directory, absent]
        default: file
      content:
        description: The file's content. Shown in the diff.
        type: str
      secret_content:
        description:
          - The content of a file that holds a secret (a private key, a configuration with one).
          - Never shown in the diff or logged; the result masks it.
        type: str
      template:
        description:
          - A Jinja template file, rendered on the controller into O(files[].content) by the module's
            action plugin before the module runs.
          - Found and rendered as C(lookup('ansible.builtin.template', ...)) does (the role's or
            play's C(templates/), the task's variables, C(ansible_managed)), but every template of
            the task shares one copy of the variables instead of a deep copy each.
          - Mutually exclusive with O(files[].content), O(files[].secret_content) and
            O(files[].secret_template).
        type: str
      secret_template:
        description:
          - Like O(files[].template), rendered into O(files[].secret_content) (never shown in a diff
            or logged).
        type: str
      mode:
        description: Octal mode such as V('0644'); required unless O(files[].state=absent).
        type: raw
      owner:
        description: Owner (a user name on the managed node); defaults to O(owner).
        type: str
      group:
        description: Group (a group name on the managed node); defaults to O(group).
        type: str
      validate:
        description:
          - Command that checks a new content before it replaces the file; C(%s) is the temporary
            file's path. Runs without a shell. Not run in check mode, nor when the content is unchanged.
        type: str
      triggers:
        description: Labels reported in RV(triggered) when this entry changes.
        type: list
        elements: str
        default: []
      enabled:
        description:
          - V(false) leaves the entry out (the path is neither written nor removed), so optional
            files can stay in the one list.
        type: bool
        default: true
  owner:
    description:
      - Owner of every entry that does not name its own. Unset, owners are left as they are and new
        paths belong to the user the module runs as.
    type: str
  group:
    description: Group of every entry that does not name its own; unset, groups are left as they are.
    type: str
author:
  - dualstack.k8s contributors (@dualstack-k8s)
attributes:
  check_mode:
    support: full
    description: Reports what would change and its diff; writes nothing and runs no validation.
  diff_mode:
    support: full
    description: One before/after per changed entry; secret contents are replaced by a placeholder.
  idempotent:
    support: full
    description: Unchanged contents, modes and owners give C(changed=false).
seealso:
  - module: ansible.builtin.copy
  - module: ansible.builtin.file
"""

EXAMPLES = r"""
- name: Helpers, configuration and unit of a service in one call
  dualstack.k8s.managed_files:
    owner: root
    group: root
    files:
      - {path: /usr/local/libexec/example, state: directory, mode: "0755"}
      - path: /usr/local/libexec/example/check
        content: "{{ lookup('ansible.builtin.file', 'check.py', rstrip=false) }}"
        mode: "0755"
      - path: /etc/example/example.conf
        secret_template: example.conf.j2
        mode: "0600"
        validate: /usr/local/libexec/example/check %s
        triggers: [reload]
      - path: /etc/systemd/system/example.service
        template: example.service.j2
        mode: "0644"
        triggers: [daemon-reload, restart]
      - path: /etc/example/obsolete.conf
        state: absent
  register: _example_files
  notify: Reload example   # the handler runs when: "'reload' in _example_files.triggered"
"""

RETURN = r"""
files:
  description: One entry per path, in order.
  returned: success
  type: list
  elements: dict
  sample: [{"path": "/etc/example/example.conf", "state": "file", "changed": true, "changes": ["content"]}]
changed_paths:
  description: The paths that changed (or would change, in check mode).
  returned: success
  type: list
  elements: str
  sample: ["/etc/example/example.conf"]
triggered:
  description: The sorted O(files[].triggers) labels of the entries that changed.
  returned: success
  type: list
  elements: str
  sample: ["reload"]
applied:
  description: On a failure part-way, the paths that had already changed.
  returned: failure
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dualstack.k8s.plugins.module_utils.files import FilesError, converge, exit_with_diff

ARGUMENT_SPEC = dict(
    files=dict(type="list", elements="dict", required=True, options=dict(
        path=dict(type="path", required=True),
        state=dict(type="str", choices=["file", "directory", "absent"], default="file"),
        content=dict(type="str"),
        secret_content=dict(type="str", no_log=True),
        template=dict(type="str"),
        secret_template=dict(type="str", no_log=False),  # a file name; its rendering is secret_content
        mode=dict(type="raw"),
        owner=dict(type="str"),
        group=dict(type="str"),
        validate=dict(type="str"),
        triggers=dict(type="list", elements="str", default=[]),
        enabled=dict(type="bool", default=True),
    )),
    owner=dict(type="str"),
    group=dict(type="str"),
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    p = module.params
    for entry in p["files"]:
        if entry["template"] is not None or entry["secret_template"] is not None:
            module.fail_json(msg="%s: template and secret_template are rendered by the action plugin "
                             "dualstack.k8s.managed_files; run the module through it" % entry["path"])
    entries = [dict(entry, owner=entry["owner"] or p["owner"], group=entry["group"] or p["group"])
               for entry in p["files"] if entry["enabled"]]
    try:
        result = converge(entries, check_mode=module.check_mode, want_diff=module._diff)
    except FilesError as exc:
        module.fail_json(msg=str(exc), applied=getattr(exc, "partial", []),
                         changed=bool(getattr(exc, "partial", [])))
    exit_with_diff(module, result, result.pop("diff"))


if __name__ == "__main__":
    main()
