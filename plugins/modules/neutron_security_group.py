#!/usr/bin/python
# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r'''
module: neutron_security_group
short_description: Create, update or delete a Neutron security group and its rules
description:
  - Converges one security group, found by name (or id), with its rules compared as a set.
  - Rules you list are added when missing; rules you did not list are deleted only with
    O(purge_rules). The description of a rule does not take part in the comparison.
  - C(0.0.0.0/0) and C(::/0) equal "any" (no prefix); protocol names and numbers are equivalent
    (C(tcp) = C(6), C(vrrp) = C(112), C(icmp) on IPv6 = C(ipv6-icmp)).
version_added: 0.1.0
author:
  - dualstack.k8s contributors (@dualstack-k8s)
extends_documentation_fragment:
  - dualstack.k8s.openstack
  - dualstack.k8s.openstack.ATTRIBUTES
options:
  name:
    description: Name (or id) of the security group.
    type: str
    required: true
  state:
    description: Whether the group should exist. Its rules go with it.
    type: str
    default: present
    choices: [present, absent]
  description:
    description: Description of the group.
    type: str
  rules:
    description: Rules of the group.
    type: list
    elements: dict
    suboptions:
      direction:
        description: Traffic direction.
        type: str
        default: ingress
        choices: [ingress, egress]
      ethertype:
        description: IP family; derived from O(rules[].remote_ip_prefix) when omitted, else C(IPv4).
        type: str
        choices: [IPv4, IPv6]
      protocol:
        description: Protocol name or number (C(tcp), C(udp), C(icmp), C(ipv6-icmp), C(vrrp), C(112)...); omit for any.
        type: str
      port:
        description: Shortcut for one port (sets both ends of the range).
        type: int
      port_range_min:
        description: First port (or ICMP type).
        type: int
      port_range_max:
        description: Last port (or ICMP code). Defaults to O(rules[].port_range_min).
        type: int
      remote_ip_prefix:
        description: Source (ingress) or destination (egress) CIDR.
        type: str
      remote_group:
        description: Name or id of the remote security group; the group's own name means itself.
        type: str
      description:
        description: Description of the rule (not compared).
        type: str
  purge_rules:
    description: Delete rules not listed in O(rules).
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: Gateways (VRRP between themselves, WireGuard from anywhere, both families)
  dualstack.k8s.neutron_security_group:
    cloud: lab
    name: lab-gateways
    rules:
      - {ethertype: IPv4, protocol: vrrp, remote_group: lab-gateways}
      - {ethertype: IPv6, protocol: vrrp, remote_group: lab-gateways}
      - {ethertype: IPv4, protocol: udp, port: 7777}
      - {ethertype: IPv6, protocol: udp, port: 7777}
'''

RETURN = r'''
security_group:
  description: The group as Neutron has it, with its rules (V(null) when absent).
  returned: always
  type: dict
  sample: {"id": "7c2d...", "name": "lab-gateways", "security_group_rules": []}
id:
  description: Id of the group (V(null) when absent or not yet created in check mode).
  returned: always
  type: str
'''

from ansible_collections.dualstack.k8s.plugins.module_utils.neutron import (
    NeutronClient, apply_op, ip_version, prepare, prepare_delete, rule_body, rules_plan,
)
from ansible_collections.dualstack.k8s.plugins.module_utils.openstack_base import NeutronModuleBase


class SecurityGroupModule(NeutronModuleBase):
    argument_spec = dict(
        name=dict(type='str', required=True),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        description=dict(type='str'),
        rules=dict(type='list', elements='dict', options=dict(
            direction=dict(type='str', default='ingress', choices=['ingress', 'egress']),
            ethertype=dict(type='str', choices=['IPv4', 'IPv6']),
            protocol=dict(type='str'),
            port=dict(type='int'),
            port_range_min=dict(type='int'),
            port_range_max=dict(type='int'),
            remote_ip_prefix=dict(type='str'),
            remote_group=dict(type='str'),
            description=dict(type='str'),
        ), mutually_exclusive=[('port', 'port_range_min'), ('port', 'port_range_max'),
                               ('remote_ip_prefix', 'remote_group')]),
        purge_rules=dict(type='bool', default=False),
    )

    def run(self):
        p = self.params
        client = self.client = NeutronClient(self.conn)
        current = client.find('security_group', p['name'])
        label = f"security_group {p['name']}"
        if p['state'] == 'absent':
            apply_op(self, client, prepare_delete('security_group', label, current))
            return {'security_group': None, 'id': None}
        name = current['name'] if current else p['name']
        op = prepare('security_group', label, {'name': name, 'description': p['description']}, current)
        group_id = current['id'] if current else f'(new security_group {name})'
        names = {group_id: name}
        desired = []
        for rule in p['rules'] or []:
            body = dict(rule)
            if body.pop('port') is not None:
                body['port_range_min'] = body['port_range_max'] = rule['port']
            if body['port_range_min'] is not None and body['port_range_max'] is None:
                body['port_range_max'] = body['port_range_min']
            if not body['ethertype']:
                body['ethertype'] = 'IPv6' if body['remote_ip_prefix'] and ip_version(body['remote_ip_prefix']) == 6 else 'IPv4'
            remote = body.pop('remote_group')
            if remote in (name, p['name'], group_id):
                body['remote_group_id'] = group_id
            elif remote:
                remote_group = client.require('security_group', remote, key='rules.remote_group')
                body['remote_group_id'] = remote_group['id']
                names[remote_group['id']] = remote_group['name']
            desired.append(body)
        have = (current or {}).get('security_group_rules') or []
        create, delete, before, after = rules_plan(have, desired, p['purge_rules'], names)
        before_view = dict(op.before, rules=before) if current else None
        after_view = dict(op.after, rules=after)
        self.record(label, before_view, after_view)
        group = current
        if not self.check_mode:
            if op.action:
                group = client.create('security_group', op.body, label) if op.action == 'create' else \
                    client.update('security_group', current['id'], op.body, label)
            bodies = []
            for rule in create:
                rule = dict(rule, security_group_id=group['id'])
                if rule.get('remote_group_id') == group_id:
                    rule['remote_group_id'] = group['id']
                bodies.append(rule_body(rule))
            client.create_many('security_group_rule', bodies, [f'{label} rules'])
            for rule in delete:
                client.delete('security_group_rule', rule['id'], f'{label} rule')
            if create or delete or op.action:
                group = client.list('security_group', id=group['id'])[0]
        elif group is None:
            group = dict(op.body, id=None)
        return {'security_group': group, 'id': group.get('id')}


def main():
    SecurityGroupModule()()


if __name__ == '__main__':
    main()
