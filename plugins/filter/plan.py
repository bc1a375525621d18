# -*- coding: utf-8 -*-
# Copyright: dualstack.k8s contributors
# Apache License 2.0 (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
name: plan_table
short_description: Render a dualstack.k8s address plan as a readable table
version_added: 0.1.0
description:
  - Turns the plan (C(dualstack_plan)) into text lines: hosts by family with their kubelet node-ip,
    VIPs, every CIDR and node mask size, Calico pools and BGP AS numbers.
positional: _input
options:
  _input:
    description: The plan dict.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Show the plan
  ansible.builtin.debug:
    msg: "{{ dualstack_plan | dualstack.k8s.plan_table }}"
"""

RETURN = r"""
_value:
  description: The table, one string per line.
  type: list
  elements: str
"""

from ansible_collections.dualstack.k8s.plugins.module_utils.report import plan_table


class FilterModule(object):
    def filters(self):
        return {"plan_table": plan_table}
