#!/usr/bin/python
# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r'''
module: neutron_router
short_description: Create, update or delete a Neutron router and its external gateway
description:
  - Converges one router, found by name (or id), and optionally its external gateway.
  - Gateway updates always send the complete list of external fixed IPs, so a router with an
    IPv4 and an IPv6 external address keeps both, whichever order Neutron lists them in.
  - Router interfaces are not managed here (see M(dualstack.k8s.neutron_router_interface));
    this module never detaches an interface.
version_added: 0.1.0
author:
  - dualstack.k8s contributors (@dualstack-k8s)
extends_documentation_fragment:
  - dualstack.k8s.openstack
  - dualstack.k8s.openstack.ATTRIBUTES
options:
  name:
    description: Name (or id) of the router.
    type: str
    required: true
  state:
    description: Whether the router should exist. Deleting a router that still has interfaces fails.
    type: str
    default: present
    choices: [present, absent]
  description:
    description: Description of the router.
    type: str
  admin_state_up:
    description: Administrative state.
    type: bool
  external_network:
    description:
      - Name or id of the external network of the gateway. Omit to leave the gateway as it is;
        an empty string removes the gateway.
    type: str
  enable_snat:
    description: SNAT on the gateway (Neutron's default when omitted).
    type: bool
  external_fixed_ips:
    description:
      - External fixed IPs wanted on the gateway. Added to the current ones unless
        O(purge_external_fixed_ips). An entry with only a subnet asks for any address of it.
      - When omitted on creation, Neutron gives the gateway one address per external subnet family.
    type: list
    elements: dict
    suboptions:
      subnet:
        description: Name or id of an external subnet.
        type: str
      ip_address:
        description: The address.
        type: str
  purge_external_fixed_ips:
    description: Remove external fixed IPs not listed in O(external_fixed_ips).
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: Router with a dual-stack external gateway (an address of each family)
  dualstack.k8s.neutron_router:
    cloud: lab
    name: lab-router
    external_network: public

- name: Pin the IPv4 gateway address, keep the IPv6 one
  dualstack.k8s.neutron_router:
    cloud: lab
    name: lab-router
    external_network: public
    external_fixed_ips:
      - {subnet: public-v4, ip_address: 172.30.152.10}
'''

RETURN = r'''
router:
  description: The router as Neutron has it (V(null) when absent).
  returned: always
  type: dict
  sample: {"id": "0b7e...", "name": "lab-router", "external_gateway_info": {"network_id": "9909...",
           "enable_snat": true, "external_fixed_ips": [{"subnet_id": "187a...", "ip_address": "fd54:152::7"},
           {"subnet_id": "b71c...", "ip_address": "172.30.152.57"}]}}
id:
  description: Id of the router (V(null) when absent or not yet created in check mode).
  returned: always
  type: str
'''

from ansible_collections.dualstack.k8s.plugins.module_utils.neutron import (
    NeutronClient, apply_op, gateway_target, gateway_view, prepare_delete, prepare_router,
)
from ansible_collections.dualstack.k8s.plugins.module_utils.openstack_base import NeutronModuleBase


class RouterModule(NeutronModuleBase):
    argument_spec = dict(
        name=dict(type='str', required=True),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        description=dict(type='str'),
        admin_state_up=dict(type='bool'),
        external_network=dict(type='str'),
        enable_snat=dict(type='bool'),
        external_fixed_ips=dict(type='list', elements='dict', options=dict(
            subnet=dict(type='str'), ip_address=dict(type='str'))),
        purge_external_fixed_ips=dict(type='bool', default=False),
    )
    module_kwargs = dict(
        required_by={'enable_snat': 'external_network', 'external_fixed_ips': 'external_network'},
    )

    def run(self):
        p = self.params
        self.client = NeutronClient(self.conn)
        label = f"router {p['name']}"
        current = self.client.find('router', p['name'])
        if p['state'] == 'absent':
            apply_op(self, self.client, prepare_delete('router', label, current,
                                                       ('name', 'external_gateway_info')))
            return {'router': None, 'id': None}
        gateway = None
        if p['external_network']:
            ext = self.client.require('network', p['external_network'], key='external_network')
            fixed = None
            if p['external_fixed_ips'] is not None:
                fixed = []
                for item in p['external_fixed_ips']:
                    entry = {'ip_address': item.get('ip_address')}
                    if item.get('subnet'):
                        entry['subnet_id'] = self.client.require(
                            'subnet', item['subnet'], key='external_fixed_ips.subnet', network_id=ext['id'])['id']
                    fixed.append({k: v for k, v in entry.items() if v})
            gateway = gateway_target(current, ext['id'], p['enable_snat'], fixed, p['purge_external_fixed_ips'])
        extra = {'description': p['description'], 'admin_state_up': p['admin_state_up']}
        op = prepare_router(label, current['name'] if current else p['name'], current,
                            {k: v for k, v in extra.items() if v is not None}, gateway)
        if p['external_network'] == '' and current and current.get('external_gateway_info'):
            op.body['external_gateway_info'] = {}
            op.after['external_gateway_info'] = gateway_view(None)
            op.action = 'update'
        router = apply_op(self, self.client, op)
        return {'router': router, 'id': router.get('id')}


def main():
    RouterModule()()


if __name__ == '__main__':
    main()
