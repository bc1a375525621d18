#!/usr/bin/python
# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r'''
module: neutron_plan
short_description: Converge every Neutron resource of a dualstack.k8s plan in one module run
description:
  - Takes the plan dict (C(dualstack_plan), see docs/plan-contract.md) and converges, in ONE
    process, the network; a subnet per cluster family (IPv6 in the planned mode with the planned
    gateway, not Neutron's subnet-router anycast default); the router with its external gateway
    (an address of every cluster family) and an interface per subnet; security groups
    C(<prefix>-common), C(<prefix>-gateways), C(<prefix>-nodes) with their rules per family; a
    port per host with its planned fixed IPs; a VIP port per family; allowed-address-pairs for
    the VIPs on every gateway port.
  - Reads with a handful of filtered list requests, creates in bulk; a converged plan costs
    about six GET requests and no write.
  - Everything that can be checked before a write is checked first (IPv6 mode vs prefix length,
    external network, create-only attributes), so an invalid plan fails with nothing created.
  - O(state=absent) deletes ports, router interfaces of the plan's subnets, the router (kept,
    with a warning, if it has other interfaces), the security groups and the network, in that
    order. It refuses, before any change, when the network has ports the plan does not manage.
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
  plan:
    description: The plan dict (C(dualstack_plan)).
    type: dict
    required: true
  state:
    description: Whether the plan's resources should exist.
    type: str
    default: present
    choices: [present, absent]
  purge:
    description:
      - Remove what the plan does not list from the plan's own resources (security-group rules,
        allowed-address-pairs, fixed IPs and security groups of the plan's ports). Without it
        those lists are only added to.
    type: bool
    default: false
  name_prefix:
    description: Prefix of every resource name. Default C(plan.openstack.name_prefix), else the cluster name.
    type: str
  network_name:
    description: Network name. Default C(plan.openstack.network_name), else C(<prefix>-net).
    type: str
  router_name:
    description: Router name. Default C(plan.openstack.router_name), else C(<prefix>-router).
    type: str
  router:
    description: Manage a router (gateway and interfaces for the plan's subnets).
    type: bool
    default: true
  external_network:
    description:
      - Name of the external network for the router's gateway. Default
        C(plan.openstack.external_network); an empty string means no gateway.
    type: str
  security_groups:
    description: Manage the security groups and put them on the host ports.
    type: bool
    default: true
  intra_cluster:
    description: Allow all traffic between Kubernetes nodes (kubelet, etcd, pods) in C(<prefix>-nodes).
    type: bool
    default: true
  vxlan:
    description: Allow Calico VXLAN (udp 4789) between nodes. Default true when a Calico pool of the plan uses VXLAN.
    type: bool
  routed_address_pairs:
    description:
      - Besides the VIPs, allow the routed source addresses; the WireGuard networks on gateway
        ports and the pod networks of unencapsulated Calico pools on node ports.
    type: bool
    default: true
notes:
  - Subnets are deleted with their network on O(state=absent).
'''

EXAMPLES = r'''
- name: Converge the cluster's Neutron resources
  dualstack.k8s.neutron_plan:
    cloud: "{{ dualstack_plan.openstack.cloud }}"
    plan: "{{ dualstack_plan }}"

- name: Tear them down
  dualstack.k8s.neutron_plan:
    cloud: lab
    plan: "{{ dualstack_plan }}"
    state: absent
'''

RETURN = r'''
network:
  description: Id and name of the network (V(null) when absent).
  returned: always
  type: dict
  sample: {"id": "9c1f...", "name": "lab-net"}
subnets:
  description: Per family, id, name, cidr, gateway_ip and IPv6 modes of the subnet.
  returned: always
  type: dict
  sample: {"ipv4": {"id": "a1...", "name": "lab-subnet-v4", "cidr": "172.30.154.0/24", "gateway_ip": "172.30.154.1"}}
router:
  description: Id, name and external_gateway_info of the router (V(null) when not managed or absent).
  returned: always
  type: dict
security_groups:
  description: Security group name to id.
  returned: always
  type: dict
  sample: {"lab-common": "7c2d...", "lab-gateways": "8d3e...", "lab-nodes": "9e4f..."}
ports:
  description: Per host, id, name, mac_address, fixed_ips and allowed_address_pairs of its port.
  returned: always
  type: dict
vip_ports:
  description: Per family, the port reserving the VIP.
  returned: always
  type: dict
'''

from ansible_collections.dualstack.k8s.plugins.module_utils.neutron import (
    NeutronClient, PlanReconciler, plan_spec,
)
from ansible_collections.dualstack.k8s.plugins.module_utils.openstack_base import NeutronModuleBase

SPEC_OPTIONS = ('name_prefix', 'network_name', 'router_name', 'router', 'external_network',
                'security_groups', 'intra_cluster', 'vxlan', 'routed_address_pairs')


class PlanModule(NeutronModuleBase):
    diff_by_resource = True
    argument_spec = dict(
        plan=dict(type='dict', required=True),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        purge=dict(type='bool', default=False),
        name_prefix=dict(type='str'),
        network_name=dict(type='str'),
        router_name=dict(type='str'),
        router=dict(type='bool', default=True),
        external_network=dict(type='str'),
        security_groups=dict(type='bool', default=True),
        intra_cluster=dict(type='bool', default=True),
        vxlan=dict(type='bool'),
        routed_address_pairs=dict(type='bool', default=True),
    )

    def run(self):
        p = self.params
        spec = plan_spec(p['plan'], {k: p[k] for k in SPEC_OPTIONS})  # validates before any request
        if p['cloud'] is None and p['auth'] is None and (p['plan'].get('openstack') or {}).get('cloud'):
            p['cloud'] = p['plan']['openstack']['cloud']
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
