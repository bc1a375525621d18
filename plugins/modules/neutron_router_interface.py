#!/usr/bin/python
# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r'''
module: neutron_router_interface
short_description: Attach or detach ONE subnet to or from a Neutron router
description:
  - Attaches (O(state=present)) or detaches (O(state=absent)) exactly one subnet.
  - Other interfaces of the router are never touched, whoever attached them.
version_added: 0.1.0
author:
  - dualstack.k8s contributors (@dualstack-k8s)
extends_documentation_fragment:
  - dualstack.k8s.openstack
  - dualstack.k8s.openstack.ATTRIBUTES
options:
  router:
    description: Name or id of the router.
    type: str
    required: true
  subnet:
    description: Name or id of the subnet.
    type: str
    required: true
  network:
    description: Name or id of the subnet's network, when the subnet name alone is ambiguous.
    type: str
  state:
    description: Whether the subnet should be attached.
    type: str
    default: present
    choices: [present, absent]
'''

EXAMPLES = r'''
- name: Attach the IPv6 subnet (the router takes the subnet's gateway address)
  dualstack.k8s.neutron_router_interface:
    cloud: lab
    router: lab-router
    subnet: lab-subnet-v6
'''

RETURN = r'''
router_id:
  description: Id of the router.
  returned: always
  type: str
subnet_id:
  description: Id of the subnet.
  returned: always
  type: str
port:
  description: The router's interface port on the subnet (V(null) when detached or in check mode).
  returned: always
  type: dict
'''

from ansible_collections.dualstack.k8s.plugins.module_utils.neutron import (
    NeutronClient, router_interface_ports,
)
from ansible_collections.dualstack.k8s.plugins.module_utils.openstack_base import NeutronModuleBase


class RouterInterfaceModule(NeutronModuleBase):
    argument_spec = dict(
        router=dict(type='str', required=True),
        subnet=dict(type='str', required=True),
        network=dict(type='str'),
        state=dict(type='str', default='present', choices=['present', 'absent']),
    )

    def run(self):
        p = self.params
        client = self.client = NeutronClient(self.conn)
        router = client.require('router', p['router'], key='router')
        filters = {}
        if p['network']:
            filters['network_id'] = client.require('network', p['network'], key='network')['id']
        subnet = client.require('subnet', p['subnet'], key='subnet', **filters)
        ports = router_interface_ports(client.list('port', device_id=router['id']), router['id'])
        port = next((pt for pt in ports if any(f['subnet_id'] == subnet['id'] for f in pt.get('fixed_ips', []))), None)
        label = f"router_interface {router['name']}:{subnet['name']}"
        view = {'router': router['name'], 'subnet': subnet['name']}
        want = p['state'] == 'present'
        if self.record(label, view if port else None, view if want else None) and not self.check_mode:
            client.router_interface(router['id'], subnet['id'], add=want, label=label)
            port = None
            if want:
                ports = client.list('port', device_id=router['id'], network_id=subnet['network_id'])
                port = next((pt for pt in router_interface_ports(ports, router['id'])
                             if any(f['subnet_id'] == subnet['id'] for f in pt.get('fixed_ips', []))), None)
        return {'router_id': router['id'], 'subnet_id': subnet['id'], 'port': port if want else None}


def main():
    RouterInterfaceModule()()


if __name__ == '__main__':
    main()
