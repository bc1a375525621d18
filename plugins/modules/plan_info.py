#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: plan_info
short_description: Validate a dualstack.k8s config.toml and return its address plan
version_added: 0.1.0
description:
  - Loads C(config.toml) with the collection's config model, runs every validation rule and returns
    the address plan (see C(docs/plan-contract.md)). Changes nothing.
  - On an invalid config the module fails with every error, each naming its dotted config key.
  - The config is a controller file, so the task runs on the controller whatever host it is on. Its
    action plugin reads the config and builds the plan there (the model and the plan are controller-only
    code).
  - Also returns the inputs of the roles that run on the controller (M(dualstack.k8s.neutron_plan) through
    the C(openstack_network) role), from the same plan-to-role-input mapping the inventory plugin uses.
requirements:
  - pydantic >= 2
  - netaddr
  - Python >= 3.11 (tomllib)
options:
  config:
    description:
      - Path of config.toml. Defaults to E(DUALSTACK_CONFIG), else C(config/config.toml) in the
        current directory.
    type: path
author:
  - dualstack.k8s contributors (@dualstack-k8s)
attributes:
  check_mode:
    support: full
    description: Reads only.
  diff_mode:
    support: none
    description: Returns no diff; nothing changes.
  action:
    support: full
    description: Runs in the action plugin on the controller.
"""

EXAMPLES = r"""
- name: Validate the config and get the plan
  dualstack.k8s.plan_info:
    config: "{{ playbook_dir }}/../config/config.toml"
  register: _plan
  delegate_to: localhost

- name: Show the primary family
  ansible.builtin.debug:
    msg: "{{ _plan.plan.cluster.primary_family }}"
"""

RETURN = r"""
plan:
  description: The address plan; every family-ordered list is primary first.
  returned: success
  type: dict
  sample: {"cluster": {"ip_families": ["ipv4", "ipv6"], "primary_family": "ipv4"}}
role_inputs:
  description: Inputs of the controller-side roles, by role name (C(openstack_network)); empty for a config
    without an C([openstack]) table.
  returned: success
  type: dict
errors:
  description: The validation errors, each with the dotted C(key) and the C(reason).
  returned: failure on an invalid config
  type: list
  elements: dict
  sample: [{"key": "network.ipv6_mode", "reason": "slaac needs a /64 node subnet"}]
config:
  description: The config file that was read.
  returned: always
  type: str
"""

# The work is done by the action plugin of the same name, on the controller (plugins/action/plan_info.py):
# the config model and the plan are controller-only code (plugins/plugin_utils).
