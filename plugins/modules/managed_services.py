#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: managed_services
short_description: Enable, start, stop or restart several systemd units in one module call
version_added: 0.1.0
description:
  - Brings a list of systemd units to their enabled state and run state with one module run on the
    managed node, instead of one C(ansible.builtin.systemd_service) run per unit. One
    C(systemctl show) reads every unit; then one C(systemctl) command runs per change, in the order
    given (for each unit, enable or disable first, then the state), so an error names its unit.
  - A unit systemd does not know fails the task before any change.
  - Unit files that C(systemctl enable) cannot change (C(static), C(indirect), C(generated),
    C(transient)) count as enabled, as C(systemctl is-enabled) says; O(units[].enabled) leaves them alone.
options:
  units:
    description: The units, handled in this order. A unit may appear once.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Unit name, such as C(bird) or C(wg-quick@wg0).
        type: str
        required: true
      enabled:
        description: Start at boot. Unset, left as it is.
        type: bool
      state:
        description:
          - V(started) and V(stopped) change a unit only when it is not in that state.
          - V(restarted) always restarts; V(reloaded) reloads a running unit and starts a stopped one.
          - Unset, the run state is left as it is.
        type: str
        choices: [started, stopped, restarted, reloaded]
  daemon_reload:
    description: Run C(systemctl daemon-reload) first (after a unit file changed). Not in check mode.
    type: bool
    default: false
author:
  - dualstack.k8s contributors (@dualstack-k8s)
attributes:
  check_mode:
    support: full
    description: Reports what would change; runs no C(systemctl) command that changes anything.
  diff_mode:
    support: full
    description: The run state and unit file state of each changed unit, before and after.
  idempotent:
    support: full
    description: Units already in their state give C(changed=false) (V(restarted) and V(reloaded) always change).
seealso:
  - module: ansible.builtin.systemd_service
"""

EXAMPLES = r"""
- name: Enable and start the tunnel and its helper, stop an optional one
  dualstack.k8s.managed_services:
    daemon_reload: "{{ 'systemd' in _files.triggered }}"
    units:
      - {name: wg-quick@wg0, enabled: true, state: started}
      - {name: example-helper, enabled: true, state: "{{ 'restarted' if 'helper' in _files.triggered else 'started' }}"}
      - {name: example-optional, enabled: false, state: stopped}
"""

RETURN = r"""
units:
  description: One entry per unit, in order.
  returned: success
  type: list
  elements: dict
  sample: [{"name": "bird", "changed": true, "actions": ["start"], "active_state": "inactive", "unit_file_state": "enabled"}]
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dualstack.k8s.plugins.module_utils.files import exit_with_diff
from ansible_collections.dualstack.k8s.plugins.module_utils.services import (
    ServicesError, actions_for, after, check_entries, describe, parse_show, show_command)

ARGUMENT_SPEC = dict(
    units=dict(type="list", elements="dict", required=True, options=dict(
        name=dict(type="str", required=True),
        enabled=dict(type="bool"),
        state=dict(type="str", choices=["started", "stopped", "restarted", "reloaded"]),
    )),
    daemon_reload=dict(type="bool", default=False),
)


def systemctl(module, argv, what):
    rc, out, err = module.run_command(argv, environ_update=dict(LANG="C", LC_ALL="C", SYSTEMD_PAGER=""))
    if rc != 0:
        module.fail_json(msg="%s: %s failed (rc=%d): %s" % (what, " ".join(argv), rc, (err or out).strip()),
                         rc=rc, stdout=out, stderr=err)
    return out


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    units = module.params["units"]
    result = dict(changed=False, units=[])
    try:
        check_entries(units)
    except ServicesError as exc:
        module.fail_json(msg=str(exc))
    if module.params["daemon_reload"] and not module.check_mode:
        # as systemd_service: the reload itself is no change (the unit file that changed was one)
        systemctl(module, ["systemctl", "daemon-reload"], "daemon-reload")
    names = [unit["name"] for unit in units]
    try:
        status = parse_show(systemctl(module, show_command(names), "reading the units"), names)
        planned = [(unit, actions_for(unit, status[unit["name"]])) for unit in units]
    except ServicesError as exc:
        module.fail_json(msg=str(exc))
    diff = []
    for unit, actions in planned:
        name, before = unit["name"], status[unit["name"]]
        if actions and not module.check_mode:
            for action in actions:
                systemctl(module, ["systemctl", action, "--", name], name)
        if actions:
            result["changed"] = True
            diff.append(dict(before_header=name, after_header=name, before=describe(before),
                             after=after(before, actions)))
        result["units"].append(dict(name=name, changed=bool(actions), actions=actions,
                                    active_state=before.get("ActiveState"),
                                    unit_file_state=before.get("UnitFileState")))
    exit_with_diff(module, result, diff)


if __name__ == "__main__":
    main()
