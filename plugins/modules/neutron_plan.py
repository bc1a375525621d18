#!/usr/bin/python
# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r'''
module: neutron_plan
short_description: Converge a cluster's whole Neutron spec in one module run
description:
  - Takes the cluster's Neutron spec as plain options (the network name, its subnets, the router,
    security groups with their rules, the host ports and the VIP ports) and converges it in ONE
    process. It decides nothing about the cluster itself; the collection's role input mapping
    (C(plugins/plugin_utils/role_inputs.py), through M(dualstack.k8s.plan_info)) produces the
    options from the plan, and any other project can write them by hand.
  - A custom module because the per-resource modules would cost about 30 module processes and
    150 GET requests per run; this one reads with a handful of filtered list requests, creates in
    bulk, and a converged spec costs about six GET requests and no write.
  - Every option is checked, and every op computed, before the first write (IPv6 mode vs prefix
    length, addresses inside their subnet, the EUI-64 address on SLAAC / DHCPv6-stateless
    subnets, the external network, security groups that exist, create-only attributes), so
    invalid inputs fail with nothing created.
  - On a SLAAC or DHCPv6-stateless subnet Neutron gives a port exactly one address, the EUI-64
    one of its MAC. A port there names the subnet and, to know its address beforehand, its
    O(ports[].mac_address); an O(ports[].fixed_ips[].ip_address) must then be that EUI-64
    address. A VIP on such a subnet cannot be reserved with a port; put it in the gateways'
    O(ports[].allowed_address_pairs) (Neutron hands out only EUI-64 addresses there).
  - Lists (rules, allowed-address-pairs, fixed IPs and security groups of a port) are sets that
    are only added to, unless O(purge).
  - O(state=absent) deletes the listed ports, the router's interfaces on the listed network's
    subnets, the router (kept, with a warning, if it has other interfaces), the listed security
    groups and the network, in that order. It refuses, before any change, when the network has
    ports the options do not list.
  - Uses the same helpers as M(dualstack.k8s.neutron_network), M(dualstack.k8s.neutron_subnet),
    M(dualstack.k8s.neutron_router), M(dualstack.k8s.neutron_router_interface),
    M(dualstack.k8s.neutron_port) and M(dualstack.k8s.neutron_security_group).
version_added: 0.1.0
author:
  - dualstack.k8s contributors (@dualstack-k8s)
extends_documentation_fragment:
  - dualstack.k8s.openstack
  - dualstack.k8s.openstack.ATTRIBUTES
options:
  state:
    description: Whether the resources should exist.
    type: str
    default: present
    choices: [present, absent]
  purge:
    description:
      - Remove what the options do not list from the listed resources (security-group rules,
        allowed-address-pairs, fixed IPs and security groups of the ports). Without it those
        lists are only added to.
    type: bool
    default: false
  network:
    description: Name of the (tenant) network.
    type: str
    required: true
  subnets:
    description: The network's subnets, one per address family as a rule.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Subnet name.
        type: str
        required: true
      cidr:
        description: The subnet; its IP version follows from it.
        type: str
        required: true
      gateway_ip:
        description:
          - Router address. Neutron's IPv6 default is the subnet-router anycast address (the first
            one); give C(::1)-style gateways explicitly.
        type: str
      allocation_pools:
        description: DHCP allocation pools (a set).
        type: list
        elements: dict
        default: []
        suboptions:
          start: {description: First address., type: str, required: true}
          end: {description: Last address., type: str, required: true}
      dns_nameservers:
        description: DNS servers handed out (ordered).
        type: list
        elements: str
        default: []
      enable_dhcp:
        description: DHCP on the subnet.
        type: bool
        default: true
      ipv6_mode:
        description:
          - IPv6 subnets only; Neutron's C(ipv6_ra_mode) and C(ipv6_address_mode). C(slaac) and
            C(dhcpv6-stateless) need a /64 and give ports their EUI-64 address.
        type: str
        choices: [dhcpv6-stateful, dhcpv6-stateless, slaac]
  router:
    description: Name of the router with an interface on every subnet; empty or omitted means no router.
    type: str
  external_network:
    description:
      - External network (C(router:external)) of the router's gateway, which gets an address of
        every family of O(subnets); empty or omitted means no gateway.
    type: str
  security_groups:
    description: Security groups to manage, each with its rules (a set).
    type: list
    elements: dict
    default: []
    suboptions:
      name: {description: Group name., type: str, required: true}
      description: {description: Group description., type: str}
      rules:
        description: The group's rules.
        type: list
        elements: dict
        default: []
        suboptions:
          direction: {description: Direction., type: str, default: ingress, choices: [ingress, egress]}
          ethertype: {description: Address family., type: str, required: true, choices: [IPv4, IPv6]}
          protocol: {description: Protocol name or number; omitted means any., type: str}
          port_range_min: {description: First port., type: int}
          port_range_max: {description: Last port., type: int}
          remote_ip_prefix: {description: Remote CIDR., type: str}
          remote_group:
            description: Name of the remote group (one of O(security_groups) or an existing one).
            type: str
          description: {description: Rule description., type: str}
  ports:
    description: The host ports.
    type: list
    elements: dict
    default: []
    suboptions: &port
      name: {description: Port name., type: str, required: true}
      fixed_ips:
        description: Addresses of the port, one entry per subnet as a rule.
        type: list
        elements: dict
        default: []
        suboptions:
          subnet: {description: Name of one of O(subnets)., type: str, required: true}
          ip_address:
            description:
              - The address; omitted means Neutron picks. On a SLAAC / DHCPv6-stateless subnet
                only the EUI-64 address of O(ports[].mac_address) is possible.
            type: str
      mac_address:
        description: MAC address on creation (create-only); it decides the EUI-64 address on auto-address subnets.
        type: str
      security_groups:
        description: Names of the port's security groups; omitted means unmanaged (none on creation).
        type: list
        elements: str
      allowed_address_pairs:
        description: Addresses or CIDRs the port may also send from (a set).
        type: list
        elements: dict
        suboptions:
          ip_address: {description: Address or CIDR., type: str, required: true}
          mac_address: {description: MAC; omitted means the port's., type: str}
      description: {description: Port description., type: str}
  vip_ports:
    description:
      - Ports that only reserve an address (a VIP) so Neutron hands it to no one else; same
        suboptions as O(ports). Returned separately.
    type: list
    elements: dict
    default: []
    suboptions: *port
notes:
  - Subnets are deleted with their network on O(state=absent).
'''

EXAMPLES = r'''
- name: Converge the cluster's Neutron resources
  dualstack.k8s.neutron_plan:
    cloud: lab
    network: lab-net
    subnets:
      - {name: lab-subnet-ipv4, cidr: 172.30.154.0/24, gateway_ip: 172.30.154.1}
      - {name: lab-subnet-ipv6, cidr: "fd54:154::/64", gateway_ip: "fd54:154::1", ipv6_mode: slaac}
    router: lab-router
    external_network: public
    security_groups:
      - name: lab-gateways
        rules:
          - {ethertype: IPv4, protocol: vrrp, remote_group: lab-gateways}
          - {ethertype: IPv6, protocol: vrrp, remote_group: lab-gateways}
    ports:
      - name: lab-gw1
        mac_address: "02:00:00:00:00:0a"
        fixed_ips:
          - {subnet: lab-subnet-ipv4, ip_address: 172.30.154.10}
          - {subnet: lab-subnet-ipv6, ip_address: "fd54:154::ff:fe00:a"}   # EUI-64 of the MAC
        security_groups: [lab-gateways]
        allowed_address_pairs:
          - ip_address: 172.30.154.254
          - ip_address: "fd54:154::ffff:ffff:ffff:fffe"
    vip_ports:
      - name: lab-vip-ipv4
        fixed_ips: [{subnet: lab-subnet-ipv4, ip_address: 172.30.154.254}]

- name: Tear them down (the same options, state absent)
  dualstack.k8s.neutron_plan:
    cloud: lab
    network: lab-net
    router: lab-router
    security_groups: [{name: lab-gateways}]
    ports: [{name: lab-gw1}]
    vip_ports: [{name: lab-vip-ipv4}]
    state: absent
'''

RETURN = r'''
network:
  description: Id and name of the network (V(null) when absent).
  returned: always
  type: dict
  sample: {"id": "9c1f...", "name": "lab-net"}
subnets:
  description: Per subnet name, id, name, cidr, gateway_ip and IPv6 modes of the subnet.
  returned: always
  type: dict
  sample: {"lab-subnet-ipv4": {"id": "a1...", "name": "lab-subnet-ipv4", "cidr": "172.30.154.0/24",
           "gateway_ip": "172.30.154.1", "ipv6_ra_mode": null, "ipv6_address_mode": null}}
router:
  description: Id, name and external_gateway_info of the router (V(null) when not managed or absent).
  returned: always
  type: dict
security_groups:
  description: Name to id of the managed security groups.
  returned: always
  type: dict
  sample: {"lab-common": "7c2d...", "lab-gateways": "8d3e...", "lab-nodes": "9e4f..."}
ports:
  description: Per port name, id, name, mac_address, fixed_ips and allowed_address_pairs of the port.
  returned: always
  type: dict
vip_ports:
  description: Per VIP port name, the same as O(ports).
  returned: always
  type: dict
'''

from ansible_collections.dualstack.k8s.plugins.module_utils.neutron import (
    NeutronClient, PlanReconciler, build_spec,
)
from ansible_collections.dualstack.k8s.plugins.module_utils.openstack_base import NeutronModuleBase

FIXED_IP = dict(subnet=dict(type='str', required=True), ip_address=dict(type='str'))
PORT = dict(
    name=dict(type='str', required=True),
    fixed_ips=dict(type='list', elements='dict', default=[], options=FIXED_IP),
    mac_address=dict(type='str'),
    security_groups=dict(type='list', elements='str'),
    allowed_address_pairs=dict(type='list', elements='dict', options=dict(
        ip_address=dict(type='str', required=True), mac_address=dict(type='str'))),
    description=dict(type='str'),
)
RULE = dict(
    direction=dict(type='str', default='ingress', choices=['ingress', 'egress']),
    ethertype=dict(type='str', required=True, choices=['IPv4', 'IPv6']),
    protocol=dict(type='str'),
    port_range_min=dict(type='int'),
    port_range_max=dict(type='int'),
    remote_ip_prefix=dict(type='str'),
    remote_group=dict(type='str'),
    description=dict(type='str'),
)


class PlanModule(NeutronModuleBase):
    diff_by_resource = True
    argument_spec = dict(
        state=dict(type='str', default='present', choices=['present', 'absent']),
        purge=dict(type='bool', default=False),
        network=dict(type='str', required=True),
        subnets=dict(type='list', elements='dict', default=[], options=dict(
            name=dict(type='str', required=True),
            cidr=dict(type='str', required=True),
            gateway_ip=dict(type='str'),
            allocation_pools=dict(type='list', elements='dict', default=[], options=dict(
                start=dict(type='str', required=True), end=dict(type='str', required=True))),
            dns_nameservers=dict(type='list', elements='str', default=[]),
            enable_dhcp=dict(type='bool', default=True),
            ipv6_mode=dict(type='str', choices=['dhcpv6-stateful', 'dhcpv6-stateless', 'slaac']),
        )),
        router=dict(type='str'),
        external_network=dict(type='str'),
        security_groups=dict(type='list', elements='dict', default=[], options=dict(
            name=dict(type='str', required=True),
            description=dict(type='str'),
            rules=dict(type='list', elements='dict', default=[], options=RULE),
        )),
        ports=dict(type='list', elements='dict', default=[], options=PORT),
        vip_ports=dict(type='list', elements='dict', default=[], options=PORT),
    )

    def run(self):
        p = self.params
        spec = build_spec(p)  # validates before any request
        self.client = NeutronClient(self.conn)
        reconciler = PlanReconciler(self, self.client, spec, purge=p['purge'])
        result = reconciler.present() if p['state'] == 'present' else reconciler.absent()
        for warning in reconciler.warnings:
            self.module.warn(warning)
        return result


def main():
    PlanModule()()


if __name__ == '__main__':
    main()
