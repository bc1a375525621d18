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
  - Group C(all) gets C(dualstack_plan), the whole plan. Each host gets its slice of it as
    C(dualstack_host), C(dualstack_role), C(dualstack_ipv4), C(dualstack_ipv6), C(dualstack_node_ips)
    (primary family first) and C(dualstack_primary_ip).
  - When the config has a C([lab]) table and O(lab_connection) is true, every host is reached as the
    embedded lab's podman container, and the lab's WireGuard client joins group C(wireguard_clients).
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
  lab_connection:
    description: Reach hosts of a config with a C([lab]) table through C(dualstack.k8s.podman_exec).
    type: bool
    default: true
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
    HAS_PLAN = True
    PLAN_IMPORT_ERROR = None
except ImportError as exc:
    HAS_PLAN = False
    PLAN_IMPORT_ERROR = exc

ROLE_GROUPS = ("gateways", "k8s_control_plane", "k8s_workers")


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
        inv.set_variable("all", "dualstack_plan", plan)
        inv.set_variable("all", "dualstack_config_file", config_file)
        lab = plan.get("lab") if self.get_option("lab_connection") else None
        for group in ROLE_GROUPS:
            for name in plan["groups"][group]:
                host = plan["hosts"][name]
                inv.add_host(name, group=group)
                for key, value in (("dualstack_host", host), ("dualstack_role", host["role"]),
                                   ("dualstack_ipv4", host["ipv4"]), ("dualstack_ipv6", host["ipv6"]),
                                   ("dualstack_node_ips", host["node_ips"]),
                                   ("dualstack_primary_ip", host["primary_ip"])):
                    inv.set_variable(name, key, value)
                if lab:
                    self._lab_connection(name, lab)
        if lab and lab.get("wireguard_client"):
            client = lab["wireguard_client"]
            inv.add_group("wireguard_clients")
            inv.add_host(client, group="wireguard_clients")
            inv.set_variable(client, "dualstack_role", "wireguard_client")
            self._lab_connection(client, lab)

    def _lab_connection(self, name, lab):
        self.inventory.set_variable(name, "ansible_connection", "dualstack.k8s.podman_exec")
        self.inventory.set_variable(name, "ansible_host", lab["containers"][name])
        self.inventory.set_variable(name, "ansible_python_interpreter", "/usr/bin/python3")
        # podman exec already runs as root in the container: no sudo round trip per task
        self.inventory.set_variable(name, "ansible_become", False)
