#!/usr/bin/python
# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r'''
module: neutron_subnet
short_description: Create, update or delete an IPv4 or IPv6 Neutron subnet
description:
  - Converges one subnet, found by name (or id) on O(network).
  - Updates what Neutron can change in place (name, description, gateway, DHCP, DNS servers,
    allocation pools, host routes). A different O(cidr), O(ip_version) or IPv6 mode fails with
    the key named, because Neutron cannot change it; remove the subnet and create it again.
  - For IPv6 the router-advertisement and address modes default to C(dhcpv6-stateful), which
    works on any prefix length; C(slaac) and C(dhcpv6-stateless) need a /64 and are refused
    before any request otherwise.
version_added: 0.1.0
author:
  - dualstack.k8s contributors (@dualstack-k8s)
extends_documentation_fragment:
  - dualstack.k8s.openstack
  - dualstack.k8s.openstack.ATTRIBUTES
options:
  name:
    description: Name (or id) of the subnet.
    type: str
    required: true
  state:
    description: Whether the subnet should exist.
    type: str
    default: present
    choices: [present, absent]
  network:
    description: Name or id of the network. Required with O(state=present).
    type: str
  cidr:
    description: The subnet's CIDR. Required with O(state=present). Create only.
    type: str
  ip_version:
    description: IP version; derived from O(cidr) when omitted. Create only.
    type: int
    choices: [4, 6]
  gateway_ip:
    description:
      - Gateway address. For IPv6, Neutron's default is the subnet-router anycast address (the
        subnet's first address); set it when the gateway is C(::1) style.
    type: str
  no_gateway:
    description: Create or update the subnet without a gateway.
    type: bool
    default: false
  enable_dhcp:
    description: Whether Neutron serves DHCP (required for C(dhcpv6-stateful)).
    type: bool
  dns_nameservers:
    description: DNS servers, in order (order matters to resolvers, so it is compared as a list).
    type: list
    elements: str
  allocation_pools:
    description: Allocation pools, compared as a set.
    type: list
    elements: dict
    suboptions:
      start:
        description: First address of the pool.
        type: str
        required: true
      end:
        description: Last address of the pool.
        type: str
        required: true
  host_routes:
    description: Host routes, compared as a set.
    type: list
    elements: dict
    suboptions:
      destination:
        description: Destination CIDR.
        type: str
        required: true
      nexthop:
        description: Next hop address.
        type: str
        required: true
  ipv6_ra_mode:
    description: IPv6 router-advertisement mode. Default C(dhcpv6-stateful) for IPv6. Create only.
    type: str
    choices: [dhcpv6-stateful, dhcpv6-stateless, slaac]
  ipv6_address_mode:
    description: IPv6 address mode. Defaults to O(ipv6_ra_mode). Create only.
    type: str
    choices: [dhcpv6-stateful, dhcpv6-stateless, slaac]
  description:
    description: Description of the subnet.
    type: str
'''

EXAMPLES = r'''
- name: IPv6 subnet, DHCPv6-stateful, gateway ::1
  dualstack.k8s.neutron_subnet:
    cloud: lab
    name: lab-subnet-v6
    network: lab-net
    cidr: fd54:154::/120
    gateway_ip: "fd54:154::1"

- name: IPv4 subnet with a pool and DNS
  dualstack.k8s.neutron_subnet:
    cloud: lab
    name: lab-subnet-v4
    network: lab-net
    cidr: 172.30.154.0/24
    gateway_ip: 172.30.154.1
    allocation_pools:
      - {start: 172.30.154.100, end: 172.30.154.200}
    dns_nameservers: [9.9.9.9]
'''

RETURN = r'''
subnet:
  description: The subnet as Neutron has it (V(null) when absent).
  returned: always
  type: dict
  sample: {"id": "5e0c...", "name": "lab-subnet-v6", "cidr": "fd54:154::/120", "ip_version": 6,
           "gateway_ip": "fd54:154::1", "ipv6_ra_mode": "dhcpv6-stateful",
           "ipv6_address_mode": "dhcpv6-stateful"}
id:
  description: Id of the subnet (V(null) when absent or not yet created in check mode).
  returned: always
  type: str
'''

from ansible_collections.dualstack.k8s.plugins.module_utils.neutron import (
    NeutronClient, apply_op, prepare, prepare_delete, subnet_body,
)
from ansible_collections.dualstack.k8s.plugins.module_utils.openstack_base import (
    ModuleError, NeutronModuleBase,
)

MODES = ['dhcpv6-stateful', 'dhcpv6-stateless', 'slaac']


class SubnetModule(NeutronModuleBase):
    argument_spec = dict(
        name=dict(type='str', required=True),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        network=dict(type='str'),
        cidr=dict(type='str'),
        ip_version=dict(type='int', choices=[4, 6]),
        gateway_ip=dict(type='str'),
        no_gateway=dict(type='bool', default=False),
        enable_dhcp=dict(type='bool'),
        dns_nameservers=dict(type='list', elements='str'),
        allocation_pools=dict(type='list', elements='dict', options=dict(
            start=dict(type='str', required=True), end=dict(type='str', required=True))),
        host_routes=dict(type='list', elements='dict', options=dict(
            destination=dict(type='str', required=True), nexthop=dict(type='str', required=True))),
        ipv6_ra_mode=dict(type='str', choices=MODES),
        ipv6_address_mode=dict(type='str', choices=MODES),
        description=dict(type='str'),
    )
    module_kwargs = dict(
        required_if=[('state', 'present', ('network', 'cidr'))],
        mutually_exclusive=[('gateway_ip', 'no_gateway')],
    )

    def run(self):
        p = self.params
        self.client = NeutronClient(self.conn)
        label = f"subnet {p['name']}"
        network = self.client.find('network', p['network'], key='network') if p['network'] else None
        if p['network'] and network is None:
            if p['state'] == 'present' and not self.check_mode:
                raise ModuleError(f"network '{p['network']}' not found", resource=label, key='network')
            current, network_id = None, f"(new network {p['network']})"
        else:
            network_id = network['id'] if network else None
            current = self.client.find('subnet', p['name'], **({'network_id': network_id} if network_id else {}))
        if p['state'] == 'absent':
            apply_op(self, self.client, prepare_delete('subnet', label, current, ('name', 'cidr')))
            return {'subnet': None, 'id': None}
        body = subnet_body(current['name'] if current else p['name'], network_id, p['cidr'],
                           p['ip_version'], p['gateway_ip'], p['enable_dhcp'], p['dns_nameservers'],
                           p['allocation_pools'], p['host_routes'], p['ipv6_ra_mode'],
                           p['ipv6_address_mode'], p['description'], p['no_gateway'])
        nullable = ('gateway_ip',) if p['no_gateway'] else ()
        subnet = apply_op(self, self.client, prepare('subnet', label, body, current, nullable=nullable))
        return {'subnet': subnet, 'id': subnet.get('id')}


def main():
    SubnetModule()()


if __name__ == '__main__':
    main()
