#!/usr/bin/python
# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r'''
module: neutron_network
short_description: Create, update or delete a Neutron network
description:
  - Converges one Neutron network, found by name (or id).
  - Only the options you set are managed; the others are left as Neutron has them.
  - Provider attributes can only be set at creation; a different value fails with the key named.
version_added: 0.1.0
author:
  - dualstack.k8s contributors (@dualstack-k8s)
extends_documentation_fragment:
  - dualstack.k8s.openstack
  - dualstack.k8s.openstack.ATTRIBUTES
options:
  name:
    description: Name (or id) of the network.
    type: str
    required: true
  state:
    description: Whether the network should exist.
    type: str
    default: present
    choices: [present, absent]
  description:
    description: Description of the network.
    type: str
  admin_state_up:
    description: Administrative state.
    type: bool
  shared:
    description: Share the network with every project.
    type: bool
  external:
    description: Mark the network C(router:external), usable as a router gateway.
    type: bool
  mtu:
    description: MTU of the network.
    type: int
  port_security_enabled:
    description: Default port security of new ports on this network.
    type: bool
  provider_network_type:
    description: Provider network type (C(flat), C(vlan), C(vxlan), ...). Create only.
    type: str
  provider_physical_network:
    description: Provider physical network. Create only.
    type: str
  provider_segmentation_id:
    description: Provider segmentation id (VLAN id, VNI). Create only.
    type: int
'''

EXAMPLES = r'''
- name: The cluster's node network
  dualstack.k8s.neutron_network:
    cloud: lab
    name: lab-net

- name: An external flat network (admin)
  dualstack.k8s.neutron_network:
    cloud: lab
    name: public
    external: true
    provider_network_type: flat
    provider_physical_network: public
'''

RETURN = r'''
network:
  description: The network as Neutron has it (V(null) when absent, or as it would be in check mode).
  returned: always
  type: dict
  sample: {"id": "9c1f...", "name": "lab-net", "status": "ACTIVE", "subnets": [], "mtu": 1450}
id:
  description: Id of the network (V(null) when absent or not yet created in check mode).
  returned: always
  type: str
'''

from ansible_collections.dualstack.k8s.plugins.module_utils.neutron import (
    NeutronClient, apply_op, prepare, prepare_delete,
)
from ansible_collections.dualstack.k8s.plugins.module_utils.openstack_base import NeutronModuleBase

OPTION_TO_API = {
    'description': 'description', 'admin_state_up': 'admin_state_up', 'shared': 'shared',
    'external': 'router:external', 'mtu': 'mtu', 'port_security_enabled': 'port_security_enabled',
    'provider_network_type': 'provider:network_type',
    'provider_physical_network': 'provider:physical_network',
    'provider_segmentation_id': 'provider:segmentation_id',
}


class NetworkModule(NeutronModuleBase):
    argument_spec = dict(
        name=dict(type='str', required=True),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        description=dict(type='str'),
        admin_state_up=dict(type='bool'),
        shared=dict(type='bool'),
        external=dict(type='bool'),
        mtu=dict(type='int'),
        port_security_enabled=dict(type='bool'),
        provider_network_type=dict(type='str'),
        provider_physical_network=dict(type='str'),
        provider_segmentation_id=dict(type='int'),
    )

    def run(self):
        self.client = NeutronClient(self.conn)
        name = self.params['name']
        current = self.client.find('network', name)
        label = f'network {name}'
        if self.params['state'] == 'absent':
            apply_op(self, self.client, prepare_delete('network', label, current))
            return {'network': None, 'id': None}
        desired = {'name': current['name'] if current else name}
        desired.update({api: self.params[opt] for opt, api in OPTION_TO_API.items()})
        network = apply_op(self, self.client, prepare('network', label, desired, current))
        return {'network': network, 'id': network.get('id')}


def main():
    NetworkModule()()


if __name__ == '__main__':
    main()
