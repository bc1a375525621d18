# -*- coding: utf-8 -*-
# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: plan_table
short_description: Render a dualstack.k8s address plan as a readable table
version_added: 0.1.0
description:
  - Turns the plan (C(dualstack_plan)) into text lines, one table of hosts by family with their
    kubelet node-ip and one of VIPs, every CIDR and node mask size, Calico pools and BGP AS numbers.
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

from ansible_collections.dualstack.k8s.plugins.plugin_utils.report import plan_table


class FilterModule(object):
    def filters(self):
        return {"plan_table": plan_table}
