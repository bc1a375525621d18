#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: yaook_import
short_description: Import a yaook/k8s config.toml as this collection's config.toml
version_added: 0.1.0
description:
  - Reads a yaook/k8s cluster's C(config/config.toml) as it is (C([terraform]), C([infra]),
    C([load-balancing]), C([kubernetes]) with C([kubernetes.network]), C([wireguard]) with
    C([[wireguard.peers]]) and C([[wireguard.endpoints]]), C([ipsec]), C([passwordstore]) ...) and writes
    this collection's C(config.toml).
  - Every yaook key with a counterpart is carried with its value, each written value commented with its
    yaook source key. Where yaook derives a value the import derives the same one (address families from
    C(dualstack_support) or C(ipv4_enabled)/C(ipv6_enabled), node counts from C(masters)/C(workers) or the
    node tables, the gateway count from C(gateway_count) or the availability zones); where a key is absent,
    yaook's documented default is written.
  - Every other yaook key is listed in the report with the reason (not relevant here, not supported yet,
    or unknown); nothing is dropped silently. The mapping table is in C(docs/yaook.md).
  - The written text is validated with the collection's config model and plan before it replaces
    O(dest); an invalid result fails with the errors phrased in yaook's key names and writes nothing.
  - The import is domain work on a controller file, so it runs in the action plugin on the controller.
requirements:
  - pydantic >= 2
  - netaddr
  - Python >= 3.11 (tomllib)
options:
  yaook_config:
    description: Path of the yaook/k8s C(config.toml).
    type: path
    required: true
  dest:
    description: Path of the C(config.toml) to write.
    type: path
    required: true
  ipam:
    description:
      - yaook's WireGuard address file, C(config/wireguard_ipam.toml). Peers without an address in the
        config get the address it holds for their public key.
      - Defaults to C(wireguard_ipam.toml) next to O(yaook_config) when that file exists.
    type: path
  openstack_cloud:
    description:
      - The C(clouds.yaml) entry to write as C(openstack.cloud). Without it no C([openstack]) table is
        written (yaook reads the C(OS_*) variables of an openrc instead).
    type: str
  backup:
    description: Keep a copy of an existing O(dest) before it is replaced.
    type: bool
    default: false
author:
  - dualstack.k8s contributors (@dualstack-k8s)
attributes:
  check_mode:
    support: full
    description: Imports, validates and reports; writes nothing and returns the diff against O(dest).
  diff_mode:
    support: full
    description: Returns O(dest) before and after.
  action:
    support: full
    description: Runs in the action plugin on the controller.
"""

EXAMPLES = r"""
- name: Import a yaook cluster's config
  dualstack.k8s.yaook_import:
    yaook_config: ~/clusters/prod/config/config.toml
    dest: "{{ playbook_dir }}/../config/config.toml"
    openstack_cloud: prod
  register: _import

- name: What was carried and what was not
  ansible.builtin.debug:
    msg: "{{ _import.report_lines }}"
"""

RETURN = r"""
report:
  description:
    - The import report, by kind. C(carried) and C(derived) entries name the yaook key (C(yaook)), its value,
      our key (C(target)) and the value written; C(yaook_defaults) lists our keys written with yaook's
      default; C(not_relevant), C(not_supported) and C(unknown) name each yaook key with the reason (C(note));
      C(planned_differently) lists what the plan decides where yaook lets Neutron or its IPAM decide.
  returned: success, and a failure of the mapping itself (a failed validation returns C(errors) instead)
  type: dict
report_lines:
  description: The report as text lines.
  returned: when the import got as far as the mapping
  type: list
  elements: str
plan_lines:
  description: The address plan of the imported config, as a table.
  returned: success
  type: list
  elements: str
content:
  description: The config.toml text written (or, in check mode, that would be written).
  returned: when the mapping succeeded
  type: str
errors:
  description: The errors, each with the yaook C(key) and the C(reason) (our key is named in the reason).
    A config key without yaook counterpart is named as it is, marked so in the reason.
  returned: failure
  type: list
  elements: dict
  sample: [{"key": "wireguard.ipv6_cidr", "reason": "required: WireGuard is configured and ipv6 is a cluster family"}]
dest:
  description: The file written.
  returned: always
  type: str
backup_file:
  description: The copy of the previous O(dest).
  returned: when O(backup) and O(dest) changed
  type: str
ipam:
  description: The WireGuard IPAM file read, if any.
  returned: always after the yaook config was read
  type: str
"""

# The work is done by the action plugin of the same name, on the controller (plugins/action/yaook_import.py);
# the mapping is plugins/plugin_utils/yaook.py.
