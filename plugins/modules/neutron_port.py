#!/usr/bin/python
# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r'''
module: neutron_port
short_description: Create, update or delete a dual-stack Neutron port
description:
  - Converges one port, found by name (or id) on O(network).
  - List options (O(fixed_ips), O(allowed_address_pairs), O(security_groups)) are compared as
    sets and ADD what is missing; items you did not list are removed only with the matching
    C(purge_*) option.
  - Allowed-address-pairs are normalised first, a pair without C(mac_address) equals a pair with
    the port's own MAC (Neutron's default), and C(/32) or C(/128) equals the bare address; so a
    different order or an omitted default MAC is not a change.
version_added: 0.1.0
author:
  - dualstack.k8s contributors (@dualstack-k8s)
extends_documentation_fragment:
  - dualstack.k8s.openstack
  - dualstack.k8s.openstack.ATTRIBUTES
options:
  name:
    description: Name (or id) of the port.
    type: str
    required: true
  state:
    description: Whether the port should exist.
    type: str
    default: present
    choices: [present, absent]
  network:
    description: Name or id of the port's network. Required with O(state=present). Create only.
    type: str
  description:
    description: Description of the port.
    type: str
  admin_state_up:
    description: Administrative state.
    type: bool
  fixed_ips:
    description:
      - Fixed IPs, one entry per address. An entry with only a subnet asks for any address of it;
        an entry with only an address lets Neutron find its subnet.
      - Without O(fixed_ips) on creation, Neutron gives the port an address from each subnet.
    type: list
    elements: dict
    suboptions:
      subnet:
        description: Name or id of the subnet (on O(network)).
        type: str
      ip_address:
        description: The address.
        type: str
  purge_fixed_ips:
    description: Remove fixed IPs not listed in O(fixed_ips).
    type: bool
    default: false
  allowed_address_pairs:
    description: Allowed-address-pairs (address or CIDR, optional MAC), compared as a set.
    type: list
    elements: dict
    suboptions:
      ip_address:
        description: Address or CIDR.
        type: str
        required: true
      mac_address:
        description: MAC address; defaults to the port's own MAC.
        type: str
  purge_allowed_address_pairs:
    description: Remove allowed-address-pairs not listed in O(allowed_address_pairs).
    type: bool
    default: false
  security_groups:
    description: Names or ids of security groups.
    type: list
    elements: str
  purge_security_groups:
    description: Remove security groups not listed in O(security_groups).
    type: bool
    default: false
  port_security_enabled:
    description:
      - Port security (anti-spoofing, security groups). Setting V(false) also removes the port's
        security groups and allowed-address-pairs, which Neutron requires.
    type: bool
  mac_address:
    description: MAC address. Create only.
    type: str
  device_owner:
    description: Device owner, for example C(compute:nova).
    type: str
  device_id:
    description: Device id.
    type: str
'''

EXAMPLES = r'''
- name: Gateway port with one planned address of each family and the VIPs allowed
  dualstack.k8s.neutron_port:
    cloud: lab
    name: lab-gw1
    network: lab-net
    fixed_ips:
      - {subnet: lab-subnet-v4, ip_address: 172.30.154.10}
      - {subnet: lab-subnet-v6, ip_address: "fd54:154::a"}
    allowed_address_pairs:
      - ip_address: 172.30.154.254
      - ip_address: "fd54:154::fe"
    security_groups: [lab-common, lab-gateways]
'''

RETURN = r'''
port:
  description: The port as Neutron has it (V(null) when absent).
  returned: always
  type: dict
  sample: {"id": "4f5a...", "name": "lab-gw1", "mac_address": "fa:16:3e:11:22:33",
           "fixed_ips": [{"subnet_id": "a1...", "ip_address": "172.30.154.10"},
                         {"subnet_id": "b2...", "ip_address": "fd54:154::a"}],
           "allowed_address_pairs": [{"ip_address": "172.30.154.254", "mac_address": "fa:16:3e:11:22:33"}]}
id:
  description: Id of the port (V(null) when absent or not yet created in check mode).
  returned: always
  type: str
'''

from ansible_collections.dualstack.k8s.plugins.module_utils.neutron import (
    NeutronClient, apply_op, port_targets, prepare_delete, prepare_port,
)
from ansible_collections.dualstack.k8s.plugins.module_utils.openstack_base import (
    ModuleError, NeutronModuleBase,
)


class PortModule(NeutronModuleBase):
    argument_spec = dict(
        name=dict(type='str', required=True),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        network=dict(type='str'),
        description=dict(type='str'),
        admin_state_up=dict(type='bool'),
        fixed_ips=dict(type='list', elements='dict', options=dict(
            subnet=dict(type='str'), ip_address=dict(type='str'))),
        purge_fixed_ips=dict(type='bool', default=False),
        allowed_address_pairs=dict(type='list', elements='dict', options=dict(
            ip_address=dict(type='str', required=True), mac_address=dict(type='str'))),
        purge_allowed_address_pairs=dict(type='bool', default=False),
        security_groups=dict(type='list', elements='str'),
        purge_security_groups=dict(type='bool', default=False),
        port_security_enabled=dict(type='bool'),
        mac_address=dict(type='str'),
        device_owner=dict(type='str'),
        device_id=dict(type='str'),
    )
    module_kwargs = dict(required_if=[('state', 'present', ('network',))])

    def run(self):
        p = self.params
        client = self.client = NeutronClient(self.conn)
        label = f"port {p['name']}"
        network = client.find('network', p['network'], key='network') if p['network'] else None
        if p['network'] and network is None and p['state'] == 'present':
            raise ModuleError(f"network '{p['network']}' not found", resource=label, key='network')
        current = client.find('port', p['name'], **({'network_id': network['id']} if network else {}))
        if p['state'] == 'absent':
            apply_op(self, client, prepare_delete('port', label, current, ('name', 'fixed_ips')))
            return {'port': None, 'id': None}

        fixed = None
        if p['fixed_ips'] is not None:
            fixed = []
            for index, item in enumerate(p['fixed_ips']):
                if not item.get('subnet') and not item.get('ip_address'):
                    raise ModuleError('each entry needs subnet or ip_address', key=f'fixed_ips[{index}]')
                entry = {'ip_address': item.get('ip_address')}
                if item.get('subnet'):
                    entry['subnet_id'] = client.require('subnet', item['subnet'], key=f'fixed_ips[{index}].subnet',
                                                        network_id=network['id'])['id']
                fixed.append(entry)
        groups = None
        if p['security_groups'] is not None:
            groups = [client.require('security_group', g, key='security_groups')['id'] for g in p['security_groups']]
        pairs, purge_pairs, purge_groups = p['allowed_address_pairs'], p['purge_allowed_address_pairs'], p['purge_security_groups']
        if p['port_security_enabled'] is False:
            if groups or pairs:
                raise ModuleError('port_security_enabled=false cannot have security_groups or '
                                  'allowed_address_pairs', resource=label, key='port_security_enabled')
            groups, pairs, purge_pairs, purge_groups = [], [], True, True
        targets = port_targets(current, fixed, pairs, groups, p['purge_fixed_ips'], purge_pairs, purge_groups)
        desired = dict(targets, name=current['name'] if current else p['name'], network_id=network['id'],
                       description=p['description'], admin_state_up=p['admin_state_up'],
                       port_security_enabled=p['port_security_enabled'], mac_address=p['mac_address'],
                       device_owner=p['device_owner'], device_id=p['device_id'])
        port = apply_op(self, client, prepare_port(label, desired, current))
        return {'port': port, 'id': port.get('id')}


def main():
    PortModule()()


if __name__ == '__main__':
    main()
