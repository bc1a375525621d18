# -*- coding: utf-8 -*-
# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: config
short_description: Hosts, groups and the address plan from a dualstack.k8s config.toml
version_added: 0.1.0
description:
  - Reads C(config.toml) (or the file named by E(DUALSTACK_CONFIG)), validates the whole config and
    builds the address plan before any play runs. A config with errors fails the inventory with every
    error, each naming its dotted key; no partial inventory is produced.
  - Groups C(gateways), C(k8s_control_plane) and C(k8s_workers); the last two are children of C(k8s_nodes).
  - Each host gets the inputs of the roles it runs (gateways - sysctl, wireguard, keepalived, haproxy,
    bird, check_dualstack; Kubernetes nodes - sysctl, kubeadm, calico, check_dualstack), computed from
    the plan by the collection's one plan-to-role-input mapping, and its own facts C(dualstack_role),
    C(dualstack_ipv4), C(dualstack_ipv6), C(dualstack_node_ips) (primary family first) and
    C(dualstack_primary_ip). Each host gets its own slice, never the whole plan, so the inventory grows
    linearly with the number of hosts.
  - Group C(all) gets the few cluster-wide facts C(dualstack_cluster_name), C(dualstack_ip_families),
    C(dualstack_openstack) and C(dualstack_config_file).
  - Values are plain data (the config file is the operator's own), so
    C(ansible-inventory --list --export) output can be imported as an AWX/AAP inventory source.
requirements:
  - pydantic >= 2
  - netaddr
options:
  plugin:
    description: The name of this plugin.
    required: true
    type: str
    choices: [dualstack.k8s.config]
  config_file:
    description:
      - Path of config.toml. Relative paths are taken from the inventory file's directory.
      - Defaults to E(DUALSTACK_CONFIG), else C(../config/config.toml) next to the inventory file.
    type: path
    env:
      - name: DUALSTACK_CONFIG
"""

EXAMPLES = r"""
# inventory/config.yml
plugin: dualstack.k8s.config

# another config, e.g. an IPv6-only one
# DUALSTACK_CONFIG=config/examples/ipv6-only.toml ansible-inventory --graph
"""

import os

from ansible.errors import AnsibleParserError
from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.inventory import BaseInventoryPlugin

try:
    from ansible_collections.dualstack.k8s.plugins.plugin_utils.config import ConfigError
    from ansible_collections.dualstack.k8s.plugins.plugin_utils.plan import load_plan
    from ansible_collections.dualstack.k8s.plugins.plugin_utils.role_inputs import cluster_vars, host_inputs
    HAS_PLAN = True
    PLAN_IMPORT_ERROR = None
except ImportError as exc:
    HAS_PLAN = False
    PLAN_IMPORT_ERROR = exc

try:  # ansible-core >= 2.19: inventory strings are untrusted (and exported wrapped) unless tagged
    from ansible.template import trust_as_template
except ImportError:  # ansible-core 2.16 - 2.18 export plain strings as they are
    def trust_as_template(value):
        return value

ROLE_GROUPS = ("gateways", "k8s_control_plane", "k8s_workers")


def _plain(value):
    """The operator's own config: its values are plain data, exported without unsafe wrappers."""
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, dict):
        return dict((k, _plain(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


class InventoryModule(BaseInventoryPlugin):
    NAME = "dualstack.k8s.config"

    def verify_file(self, path):
        names = ("config.yml", "config.yaml", "dualstack.yml", "dualstack.yaml")
        return super().verify_file(path) and path.endswith(names)

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        config_file = self.get_option("config_file")
        base = os.path.dirname(os.path.abspath(path))
        if not config_file:
            config_file = os.path.join(base, "..", "config", "config.toml")
        elif not os.path.isabs(config_file):
            config_file = os.path.join(base, config_file) if not os.path.exists(config_file) else config_file
        config_file = os.path.normpath(config_file)
        if not HAS_PLAN:
            raise AnsibleParserError("dualstack.k8s.config needs pydantic>=2 and netaddr on the controller: %s"
                                     % to_native(PLAN_IMPORT_ERROR))
        try:
            plan = load_plan(config_file)
        except ConfigError as exc:
            raise AnsibleParserError(to_native(exc))
        self._populate(plan, config_file)

    def _populate(self, plan, config_file):
        inv = self.inventory
        inv.add_group("k8s_nodes")
        for group in ROLE_GROUPS:
            inv.add_group(group)
        inv.add_child("k8s_nodes", "k8s_control_plane")
        inv.add_child("k8s_nodes", "k8s_workers")
        for key, value in sorted(cluster_vars(plan).items()):
            inv.set_variable("all", key, _plain(value))
        inv.set_variable("all", "dualstack_config_file", _plain(config_file))
        for group in ROLE_GROUPS:
            for name in plan["groups"][group]:
                inv.add_host(name, group=group)
                for key, value in host_inputs(plan, name).items():
                    inv.set_variable(name, key, _plain(value))
