# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE TO THE COLLECTION: this module_utils file is an implementation detail of
# dualstack.k8s; its names may change without notice. Do not import it from elsewhere.
"""Neutron helpers shared by the neutron_* modules and neutron_plan.

- ``NeutronClient``: raw Neutron v2.0 REST through the SDK's network adapter (one call = one
  request, bulk create where Neutron has it), errors raised as ``ApiError`` naming resource + key.
- normalisation: IPs/CIDRs, allowed-address-pairs as a set (default MAC folded to ``None``),
  fixed IPs by subnet id, security-group rules as a set, allocation pools as a set.
- ``prepare()``: desired body + current resource -> ``Op`` (create / update / none) with the
  normalized before/after views used for the diff, the check-mode answer and the request body,
  so the three cannot drift. Create-only keys (cidr, IPv6 modes, ...) raise a clear error.
"""
from __future__ import annotations

import json
import re

import traceback

from ansible_collections.dualstack.k8s.plugins.module_utils.openstack_base import (
    REQUIREMENTS, ApiError, ModuleError, sdk_exc,
)

try:
    import netaddr
    REQUIREMENTS.append(('netaddr', True, None))
except ImportError:  # pragma: no cover - reported by the base through missing_required_lib
    netaddr = None
    REQUIREMENTS.append(('netaddr', False, traceback.format_exc()))

# kind -> (URL path, singular JSON key, plural JSON key)
RESOURCES = {
    'network': ('networks', 'network', 'networks'),
    'subnet': ('subnets', 'subnet', 'subnets'),
    'router': ('routers', 'router', 'routers'),
    'port': ('ports', 'port', 'ports'),
    'security_group': ('security-groups', 'security_group', 'security_groups'),
    'security_group_rule': ('security-group-rules', 'security_group_rule', 'security_group_rules'),
}

# Keys Neutron cannot change in place.
CREATE_ONLY = {
    'network': ('provider:network_type', 'provider:physical_network', 'provider:segmentation_id'),
    'subnet': ('network_id', 'ip_version', 'cidr', 'ipv6_ra_mode', 'ipv6_address_mode'),
    'router': (),
    'port': ('network_id', 'mac_address'),
    'security_group': (),
}

ROUTER_INTERFACE_OWNERS = ('network:router_interface', 'network:router_interface_distributed',
                           'network:ha_router_replicated_interface')
UUID_RE = re.compile(r'^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$', re.I)


# ------------------------------------------------------------------------------------------------
# client
# ------------------------------------------------------------------------------------------------
class NeutronClient:
    """Neutron REST calls; ``writes`` counts successful changing requests."""

    def __init__(self, conn):
        self.api = conn.network
        self.writes = 0

    def _request(self, method, path, resource, keys=(), **kwargs):
        response = getattr(self.api, method.lower())(path, **kwargs)
        if response.status_code >= 400:
            try:
                sdk_exc.raise_from_response(response)
            except sdk_exc.HttpException as exc:
                raise ApiError(exc, resource, keys) from exc
        if method != 'GET':
            self.writes += 1
        if response.status_code == 204 or not response.content:
            return {}
        return response.json()

    def list(self, kind, **filters):
        path, plural = RESOURCES[kind][0], RESOURCES[kind][2]
        params = {k: v for k, v in filters.items() if v is not None}
        return self._request('GET', '/' + path, f'{kind} list', params=params)[plural]

    def create(self, kind, body, label=None):
        path, single = RESOURCES[kind][:2]
        return self._request('POST', '/' + path, label or kind, keys=body, json={single: body})[single]

    def create_many(self, kind, bodies, labels=()):
        """Neutron's bulk create: all or nothing, one request."""
        if not bodies:
            return []
        if len(bodies) == 1:
            return [self.create(kind, bodies[0], labels[0] if labels else None)]
        path, plural = RESOURCES[kind][0], RESOURCES[kind][2]
        keys = set().union(*bodies)
        label = ', '.join(labels) if labels else f'{len(bodies)} {kind}s'
        return self._request('POST', '/' + path, label, keys=keys, json={plural: bodies})[plural]

    def update(self, kind, rid, body, label=None):
        path, single = RESOURCES[kind][:2]
        return self._request('PUT', f'/{path}/{rid}', label or kind, keys=body, json={single: body})[single]

    def delete(self, kind, rid, label=None, missing_ok=True):
        path = RESOURCES[kind][0]
        try:
            self._request('DELETE', f'/{path}/{rid}', label or kind)
        except ApiError as exc:
            if not (missing_ok and exc.details.get('status_code') == 404):
                raise

    def router_interface(self, router_id, subnet_id, add=True, label=None):
        action = 'add_router_interface' if add else 'remove_router_interface'
        return self._request('PUT', f'/routers/{router_id}/{action}', label or 'router interface',
                             keys=('subnet_id',), json={'subnet_id': subnet_id})

    def find(self, kind, name_or_id, key='name', **filters):
        """The one resource with this id or name (None if none); several names -> error."""
        if not name_or_id:
            return None
        if UUID_RE.match(str(name_or_id)):
            found = self.list(kind, id=name_or_id, **filters)
            if found:
                return found[0]
        found = self.list(kind, name=name_or_id, **filters)
        if len(found) > 1:
            raise ModuleError(f"{len(found)} {kind}s are named '{name_or_id}': give its id instead",
                              resource=kind, key=key)
        return found[0] if found else None

    def require(self, kind, name_or_id, key, **filters):
        found = self.find(kind, name_or_id, key=key, **filters)
        if found is None:
            raise ModuleError(f"{kind} '{name_or_id}' not found (option '{key}')", resource=kind, key=key)
        return found


# ------------------------------------------------------------------------------------------------
# normalisation
# ------------------------------------------------------------------------------------------------
def norm_ip(value):
    """An address or CIDR in canonical text; host routes '/32' and '/128' become the bare address."""
    if value in (None, ''):
        return None
    text = str(value)
    if '/' in text:
        net = netaddr.IPNetwork(text)
        if net.prefixlen == (32 if net.version == 4 else 128):
            return str(net.ip)
        return f'{net.ip}/{net.prefixlen}'
    return str(netaddr.IPAddress(text))


def norm_cidr(value):
    return str(netaddr.IPNetwork(value).cidr) if value else None


def ip_version(value):
    return netaddr.IPNetwork(str(value)).version


def _sorted(items):
    return sorted(items, key=lambda x: json.dumps(x, sort_keys=True))


def norm_pools(pools):
    return _sorted({'start': norm_ip(p['start']), 'end': norm_ip(p['end'])} for p in pools or [])


def norm_routes(routes):
    return _sorted({'destination': norm_cidr(r['destination']), 'nexthop': norm_ip(r['nexthop'])}
                   for r in routes or [])


def norm_pairs(pairs, port_mac=None):
    """Allowed-address-pairs as a sorted set; a MAC equal to the port's (Neutron's default) -> None."""
    port_mac = (port_mac or '').lower()
    out = set()
    for pair in pairs or []:
        mac = (pair.get('mac_address') or '').lower() or None
        if mac == port_mac:
            mac = None
        out.add((norm_ip(pair['ip_address']), mac))
    return [{'ip_address': ip, 'mac_address': mac} for ip, mac in sorted(out, key=str)]


def pairs_body(pairs):
    return [{k: v for k, v in p.items() if v is not None} for p in pairs]


def norm_fixed_ips(fixed_ips):
    return _sorted({'subnet_id': f.get('subnet_id'), 'ip_address': norm_ip(f.get('ip_address'))}
                   for f in fixed_ips or [])


NORMALIZE = {
    'gateway_ip': norm_ip,
    'cidr': norm_cidr,
    'allocation_pools': norm_pools,
    'host_routes': norm_routes,
    'dns_nameservers': lambda v: [norm_ip(x) for x in v or []],  # order matters to resolvers
    'security_groups': lambda v: sorted(set(v or [])),
    'fixed_ips': norm_fixed_ips,
    'allowed_address_pairs': norm_pairs,
}


def normalize(key, value):
    if key in NORMALIZE and value is not None:
        return NORMALIZE[key](value)
    return value


def merge_fixed_ips(current, desired, purge=False):
    """Target fixed_ips: desired entries matched against current ones (by IP, else by subnet);
    unmatched current entries stay unless ``purge``."""
    current = [{'subnet_id': f.get('subnet_id'), 'ip_address': norm_ip(f.get('ip_address'))}
               for f in current or []]
    kept, added = [], []
    for want in desired or []:
        ip, subnet = norm_ip(want.get('ip_address')), want.get('subnet_id')
        match = next((c for c in current if c not in kept
                      and (ip is None or c['ip_address'] == ip)
                      and (subnet is None or c['subnet_id'] == subnet)), None)
        if match is not None:
            kept.append(match)
        else:
            added.append({k: v for k, v in (('subnet_id', subnet), ('ip_address', ip)) if v is not None})
    base = kept if purge else current
    return base + added


def merge_list(current, desired, purge=False, key=None):
    """Set semantics: current + desired (or exactly desired when purging)."""
    key = key or (lambda x: json.dumps(x, sort_keys=True) if isinstance(x, dict) else x)
    if purge:
        out = []
    else:
        out = list(current or [])
    seen = {key(x) for x in out}
    for item in desired or []:
        if key(item) not in seen:
            out.append(item)
            seen.add(key(item))
    return out


# security-group rules ----------------------------------------------------------------------------
PROTOCOL_NUMBERS = {'tcp': 6, 'udp': 17, 'icmp': 1, 'ipv6-icmp': 58, 'icmpv6': 58, 'vrrp': 112,
                    'sctp': 132, 'gre': 47, 'esp': 50, 'ah': 51}
PROTOCOL_NAMES = {6: 'tcp', 17: 'udp', 1: 'icmp', 58: 'ipv6-icmp', 112: 'vrrp', 132: 'sctp'}


def rule_key(rule):
    """Comparable identity of a rule (description ignored; 'any' prefix = no prefix)."""
    proto = rule.get('protocol')
    if proto in (None, '', 'any'):
        proto = None
    else:
        proto = PROTOCOL_NUMBERS.get(str(proto).lower(), None) or int(proto)
        if proto == 1 and rule.get('ethertype') == 'IPv6':
            proto = 58
    prefix = norm_ip(rule.get('remote_ip_prefix'))
    if prefix in ('0.0.0.0/0', '::/0'):
        prefix = None
    pmin, pmax = rule.get('port_range_min'), rule.get('port_range_max')
    return (rule.get('direction') or 'ingress', rule.get('ethertype') or 'IPv4', proto,
            None if pmin is None else int(pmin), None if pmax is None else int(pmax),
            prefix, rule.get('remote_group_id'))


def rule_text(key, names=None):
    """A one-line readable rule for diffs, e.g. 'ingress IPv6 tcp 179 from group lab-nodes'."""
    direction, ethertype, proto, pmin, pmax, prefix, group = key
    parts = [direction, ethertype, PROTOCOL_NAMES.get(proto, str(proto)) if proto else 'any']
    if pmin is not None:
        parts.append(str(pmin) if pmin == pmax or pmax is None else f'{pmin}-{pmax}')
    where = 'to' if direction == 'egress' else 'from'
    if group:
        parts.append(f"{where} group {(names or {}).get(group, group)}")
    else:
        parts.append(f"{where} {prefix or 'any'}")
    return ' '.join(parts)


def rule_body(spec):
    """API body of a rule spec (module option form) without the group id."""
    body = {k: spec.get(k) for k in ('direction', 'ethertype', 'protocol', 'port_range_min',
                                     'port_range_max', 'remote_ip_prefix', 'remote_group_id',
                                     'description', 'security_group_id')}
    if body.get('protocol') in ('any', ''):
        body['protocol'] = None
    return {k: v for k, v in body.items() if v is not None}


# ------------------------------------------------------------------------------------------------
# converge one resource
# ------------------------------------------------------------------------------------------------
class Op:
    """What to do with one resource: action 'create' | 'update' | 'delete' | None."""

    def __init__(self, kind, label, action, body, before, after, current=None):
        self.kind, self.label, self.action, self.body = kind, label, action, body
        self.before, self.after, self.current = before, after, current


def view(resource, keys):
    return {k: normalize(k, resource.get(k)) for k in keys} if resource is not None else None


def prepare(kind, label, desired, current, create_only=None, nullable=()):
    """Compare ``desired`` (API body; None values = unmanaged, except keys in ``nullable`` where
    None is the wanted value) with ``current`` (API dict or None)."""
    desired = {k: v for k, v in desired.items() if v is not None or k in nullable}
    if current is None:
        return Op(kind, label, 'create', desired, None, view(desired, sorted(desired)))
    body = {}
    for key, value in desired.items():
        if normalize(key, value) != normalize(key, current.get(key)):
            if key in (CREATE_ONLY.get(kind, ()) if create_only is None else create_only):
                raise ModuleError(
                    f"{label}: '{key}' cannot be changed in place (Neutron has "
                    f"{current.get(key)!r}, wanted {value!r}); remove the {kind} (state=absent) and "
                    f"create it again", resource=label, key=key)
            body[key] = value
    keys = sorted(desired)
    before = view(current, keys)
    after = dict(before)
    after.update(view(body, sorted(body)))
    return Op(kind, label, 'update' if body else None, body, before, after, current)


def prepare_delete(kind, label, current, keys=('name',)):
    if current is None:
        return Op(kind, label, None, None, None, None)
    return Op(kind, label, 'delete', None, view(current, keys), None, current)


def apply_op(base, client, op):
    """Record ``op`` on the module base; run it unless in check mode. Returns the resource."""
    base.record(op.label, op.before, op.after)
    if op.action is None:
        return op.current
    if base.check_mode:
        if op.action == 'create':
            return dict(op.body, id=None)
        if op.action == 'update':
            return dict(op.current, **op.body)
        return None
    if op.action == 'create':
        return client.create(op.kind, op.body, op.label)
    if op.action == 'update':
        return client.update(op.kind, op.current['id'], op.body, op.label)
    client.delete(op.kind, op.current['id'], op.label)
    return None


# ------------------------------------------------------------------------------------------------
# resource-specific helpers
# ------------------------------------------------------------------------------------------------
def subnet_body(name, network_id, cidr, ip_version_=None, gateway_ip=None, enable_dhcp=None,
                dns_nameservers=None, allocation_pools=None, host_routes=None, ipv6_ra_mode=None,
                ipv6_address_mode=None, description=None, no_gateway=False, key_prefix=''):
    version = ip_version_ or ip_version(cidr)
    net = netaddr.IPNetwork(cidr)
    if net.version != version:
        raise ModuleError(f"cidr {cidr} is not IPv{version}", key=key_prefix + 'cidr')
    body = dict(name=name, network_id=network_id, cidr=str(net.cidr), ip_version=version,
                gateway_ip=gateway_ip, enable_dhcp=enable_dhcp, dns_nameservers=dns_nameservers,
                allocation_pools=allocation_pools, host_routes=host_routes, description=description)
    if no_gateway:
        body['gateway_ip'] = None
    if version == 6:
        ra = ipv6_ra_mode or 'dhcpv6-stateful'
        addr = ipv6_address_mode or ra
        for mode, key in ((ra, 'ipv6_ra_mode'), (addr, 'ipv6_address_mode')):
            if mode in ('slaac', 'dhcpv6-stateless') and net.prefixlen != 64:
                raise ModuleError(
                    f"{key} {mode} needs a /64 (Neutron: EUI-64 addresses); cidr {cidr} is a "
                    f"/{net.prefixlen}: use dhcpv6-stateful or a /64", key=key_prefix + key)
        body.update(ipv6_ra_mode=ra, ipv6_address_mode=addr)
    elif ipv6_ra_mode or ipv6_address_mode:
        raise ModuleError('ipv6_ra_mode/ipv6_address_mode only apply to IPv6 subnets',
                          key=key_prefix + ('ipv6_ra_mode' if ipv6_ra_mode else 'ipv6_address_mode'))
    return body


def router_interface_ports(ports, router_id):
    return [p for p in ports if p.get('device_id') == router_id
            and p.get('device_owner') in ROUTER_INTERFACE_OWNERS]


def attached_subnets(ports, router_id):
    return {f['subnet_id'] for p in router_interface_ports(ports, router_id) for f in p.get('fixed_ips', [])}


def gateway_target(current, network_id, enable_snat=None, fixed_ips=None, purge=False):
    """Target ``external_gateway_info`` or None when nothing changes.

    Updates always send the COMPLETE list of external fixed IPs (current + wanted), so a router
    never loses its IPv4 external address because Neutron happens to list the IPv6 one first.
    """
    info = current.get('external_gateway_info') if current else None
    if not network_id:
        return None
    if not info or info.get('network_id') != network_id:
        target = {'network_id': network_id}
        if enable_snat is not None:
            target['enable_snat'] = enable_snat
        if fixed_ips:
            target['external_fixed_ips'] = fixed_ips
        return target
    cur_ips = info.get('external_fixed_ips') or []
    merged = merge_fixed_ips(cur_ips, fixed_ips, purge) if fixed_ips is not None else cur_ips
    snat_changes = enable_snat is not None and info.get('enable_snat') != enable_snat
    if norm_fixed_ips(merged) == norm_fixed_ips(cur_ips) and not snat_changes:
        return None
    target = {'network_id': network_id, 'external_fixed_ips': merged}
    if enable_snat is not None:
        target['enable_snat'] = enable_snat
    elif 'enable_snat' in info:
        target['enable_snat'] = info['enable_snat']
    return target


def gateway_view(info):
    if not info:
        return None
    return {'network_id': info.get('network_id'), 'enable_snat': info.get('enable_snat'),
            'external_fixed_ips': norm_fixed_ips(info.get('external_fixed_ips'))}


def prepare_router(label, name, current, extra, gateway):
    """Router op; ``gateway`` is a gateway_target() result (None = leave the gateway alone)."""
    desired = dict(extra, name=name)
    if current is None:
        if gateway:
            desired['external_gateway_info'] = gateway
        op = prepare('router', label, desired, None)
        op.after['external_gateway_info'] = gateway_view(gateway)
        return op
    op = prepare('router', label, desired, current)
    op.before['external_gateway_info'] = gateway_view(current.get('external_gateway_info'))
    op.after['external_gateway_info'] = op.before['external_gateway_info']
    if gateway is not None:
        op.body['external_gateway_info'] = gateway
        op.after['external_gateway_info'] = gateway_view(gateway)
        op.action = 'update'
    return op


def port_targets(current, fixed_ips=None, pairs=None, security_groups=None, purge_fixed_ips=False,
                 purge_pairs=False, purge_security_groups=False):
    """Target list values of a port (set semantics, MAC-normalised pairs)."""
    out = {}
    mac = current.get('mac_address') if current else None
    if fixed_ips is not None:
        out['fixed_ips'] = merge_fixed_ips(current.get('fixed_ips') if current else [], fixed_ips,
                                           purge_fixed_ips)
    if pairs is not None:
        cur = norm_pairs(current.get('allowed_address_pairs') if current else [], mac)
        out['allowed_address_pairs'] = pairs_body(
            norm_pairs(merge_list(cur, norm_pairs(pairs, mac), purge_pairs), mac))
    if security_groups is not None:
        out['security_groups'] = merge_list(current.get('security_groups') if current else [],
                                            security_groups, purge_security_groups)
    return out


def prepare_port(label, desired, current):
    """Port op; allowed_address_pairs are compared with the port's own MAC folded to None."""
    mac = current.get('mac_address') if current else None
    cmp_current = None
    if current is not None:
        cmp_current = dict(current, allowed_address_pairs=norm_pairs(current.get('allowed_address_pairs'), mac))
    op = prepare('port', label, desired, cmp_current)
    if op.action == 'update' and 'allowed_address_pairs' in op.body:
        op.body['allowed_address_pairs'] = pairs_body(op.body['allowed_address_pairs'])
    if op.action == 'update' and 'fixed_ips' in op.body:
        op.body['fixed_ips'] = [{k: v for k, v in f.items() if v is not None} for f in op.body['fixed_ips']]
    if current is not None:
        op.current = current
    return op


def rules_plan(current_rules, desired_rules, purge=False, names=None):
    """(rules to create, rules to delete, before texts, after texts) with set semantics."""
    have = {}
    for rule in current_rules or []:
        have.setdefault(rule_key(rule), rule)
    want = {}
    for rule in desired_rules:
        want.setdefault(rule_key(rule), rule)
    create = [want[k] for k in want if k not in have]
    delete = [have[k] for k in have if k not in want] if purge else []
    before = sorted(rule_text(k, names) for k in have)
    after_keys = set(have) | set(want) if not purge else set(want)
    after = sorted(rule_text(k, names) for k in after_keys)
    return create, delete, before, after


# ------------------------------------------------------------------------------------------------
# a cluster's whole Neutron spec (neutron_plan)
# ------------------------------------------------------------------------------------------------
AUTO_ADDRESS_MODES = ('slaac', 'dhcpv6-stateless')


def eui64_address(cidr, mac):
    """The address Neutron gives a port with ``mac`` on a SLAAC / DHCPv6-stateless subnet."""
    return str(netaddr.EUI(mac).ipv6(netaddr.IPNetwork(cidr).first))


def build_spec(params):
    """Check the plain inputs of neutron_plan (module options) and return the spec the reconciler
    works from. Raises ModuleError naming the option; runs before any request."""
    subnets, by_name = [], {}
    for index, item in enumerate(params.get('subnets') or []):
        key = f'subnets[{index}]'
        if item['name'] in by_name:
            raise ModuleError(f"subnet name '{item['name']}' is listed twice", key=f'{key}.name')
        try:
            version = ip_version(item['cidr'])
        except (netaddr.AddrFormatError, ValueError, TypeError) as exc:
            raise ModuleError(f"'{item['cidr']}' is not a CIDR", key=f'{key}.cidr') from exc
        mode = item.get('ipv6_mode')
        if version == 6:
            mode = mode or 'dhcpv6-stateful'
        elif mode:
            raise ModuleError(f"ipv6_mode only applies to IPv6 subnets; {item['cidr']} is IPv4",
                              key=f'{key}.ipv6_mode')
        try:
            subnet_body(item['name'], 'x', item['cidr'], ipv6_ra_mode=mode)
        except ModuleError as exc:
            raise ModuleError(f"subnet {item['name']}: {exc.msg}", key=f'{key}.ipv6_mode') from exc
        for pindex, pool in enumerate(item.get('allocation_pools') or []):
            for end in ('start', 'end'):
                _inside(pool[end], item['cidr'], f'{key}.allocation_pools[{pindex}].{end}')
        if item.get('gateway_ip'):
            _inside(item['gateway_ip'], item['cidr'], f'{key}.gateway_ip')
        subnet = dict(item, ip_version=version, ipv6_mode=mode if version == 6 else None,
                      auto_address=mode in AUTO_ADDRESS_MODES)
        subnets.append(subnet)
        by_name[item['name']] = subnet

    groups = list(params.get('security_groups') or [])
    ports, names = [], set()
    for option in ('ports', 'vip_ports'):
        for index, item in enumerate(params.get(option) or []):
            key = f'{option}[{index}]'
            if item['name'] in names:
                raise ModuleError(f"port name '{item['name']}' is listed twice", key=f'{key}.name')
            names.add(item['name'])
            mac = item.get('mac_address')
            if mac:
                try:
                    eui = netaddr.EUI(mac)
                except (netaddr.AddrFormatError, ValueError, TypeError) as exc:
                    raise ModuleError(f"'{mac}' is not a MAC address", key=f'{key}.mac_address') from exc
                if eui.words[0] & 1:
                    raise ModuleError(f"{mac} is a multicast MAC; a port needs a unicast one",
                                      key=f'{key}.mac_address')
                mac = str(eui).replace('-', ':').lower()
            fixed = []
            for findex, entry in enumerate(item.get('fixed_ips') or []):
                fkey = f'{key}.fixed_ips[{findex}]'
                subnet = by_name.get(entry['subnet'])
                if subnet is None:
                    raise ModuleError(f"subnet '{entry['subnet']}' is not one of the subnets option's names",
                                      key=f'{fkey}.subnet')
                ip = entry.get('ip_address')
                if ip:
                    _inside(ip, subnet['cidr'], f'{fkey}.ip_address')
                    ip = norm_ip(ip)
                if subnet['auto_address'] and ip:
                    # Neutron assigns the EUI-64 address of the port's MAC and refuses any other
                    if not mac:
                        raise ModuleError(
                            f"port {item['name']}: {ip} cannot be chosen on subnet {subnet['name']} "
                            f"({subnet['ipv6_mode']}): Neutron derives the address from the port's MAC "
                            "(EUI-64). Give mac_address, or leave ip_address out", key=f'{fkey}.ip_address')
                    want = eui64_address(subnet['cidr'], mac)
                    if want != ip:
                        raise ModuleError(
                            f"port {item['name']}: on subnet {subnet['name']} ({subnet['ipv6_mode']}) the "
                            f"port with MAC {mac} gets {want} (EUI-64), not {ip}; nothing was changed",
                            key=f'{fkey}.ip_address')
                fixed.append({'subnet': subnet['name'], 'ip_address': ip})
            pairs = item.get('allowed_address_pairs')
            for pindex, pair in enumerate(pairs or []):
                try:
                    norm_ip(pair['ip_address'])
                except (netaddr.AddrFormatError, ValueError, TypeError) as exc:
                    raise ModuleError(f"'{pair['ip_address']}' is not an address or CIDR",
                                      key=f'{key}.allowed_address_pairs[{pindex}].ip_address') from exc
            ports.append({'name': item['name'], 'kind': option, 'key': key, 'mac_address': mac,
                          'fixed': fixed, 'security_groups': item.get('security_groups'),
                          'pairs': pairs, 'description': item.get('description')})
    router = params.get('router') or None
    if params.get('external_network') and not router:
        raise ModuleError('external_network needs a router (option router)', key='external_network')
    return {'network': params['network'], 'subnets': subnets, 'router': router,
            'external_network': (params.get('external_network') or None) if router else None,
            'security_groups': groups, 'ports': ports}


def _inside(address, cidr, key):
    try:
        ok = netaddr.IPNetwork(str(address)).ip in netaddr.IPNetwork(cidr)
    except (netaddr.AddrFormatError, ValueError, TypeError) as exc:
        raise ModuleError(f"'{address}' is not an IP address", key=key) from exc
    if not ok:
        raise ModuleError(f"{address} is outside {cidr}", key=key)


def _one(items, name, kind, key):
    found = [i for i in items if i.get('name') == name]
    if len(found) > 1:
        raise ModuleError(f"{len(found)} {kind}s are named '{name}': remove the extra ones",
                          resource=kind, key=key)
    return found[0] if found else None


def _brief(resource, *keys):
    if not resource:
        return None
    return {k: resource.get(k) for k in ('id', 'name') + keys}


class PlanReconciler:
    """Converge a cluster's Neutron spec with few requests (filtered lists, bulk creates).

    Every op is computed (and every refusal raised) before the first write; a resource that does
    not exist yet is referred to by a placeholder id ``(new <kind> <name>)``, replaced by the real
    id once it is created (and shown as is in check mode)."""

    def __init__(self, base, client, spec, purge=False):
        self.base, self.client, self.spec, self.purge = base, client, spec, purge
        self.check = base.check_mode
        self.warnings = []
        self.ids = {}  # placeholder -> real id

    def _new_id(self, kind, name):
        return f'(new {kind} {name})'

    def _label(self, kind, name):
        return f'{kind} {name}'

    def _resolve(self, value):
        if isinstance(value, str):
            return self.ids.get(value, value)
        if isinstance(value, list):
            return [self._resolve(v) for v in value]
        if isinstance(value, dict):
            return {k: self._resolve(v) for k, v in value.items()}
        return value

    def _bulk(self, kind, ops):
        """Record and run creates of one kind as ONE request, updates one by one."""
        creates = [op for op in ops if op.action == 'create']
        results = {}
        for op in ops:
            op.body, op.after = self._resolve(op.body), self._resolve(op.after)
            self.base.record(op.label, op.before, op.after)
            if op.action == 'update':
                results[op.label] = op.current if self.check else \
                    self.client.update(kind, op.current['id'], op.body, op.label)
            elif op.action is None:
                results[op.label] = op.current
        if creates:
            if self.check:
                made = [dict(op.body, id=self._new_id(kind, op.body.get('name'))) for op in creates]
            else:
                made = self.client.create_many(kind, [op.body for op in creates], [op.label for op in creates])
                for res in made:
                    self.ids[self._new_id(kind, res.get('name'))] = res['id']
            results.update({op.label: res for op, res in zip(creates, made)})
        return results

    # -- present ------------------------------------------------------------------------------
    def present(self):
        spec, client = self.spec, self.client
        ext_name = spec['external_network']
        names = [spec['network']] + ([ext_name] if ext_name else [])
        nets = client.list('network', name=names)
        net = _one([n for n in nets if not n.get('router:external')], spec['network'], 'network', 'network')
        ext = None
        if ext_name:
            ext = _one([n for n in nets if n.get('router:external')], ext_name, 'network', 'external_network')
            if ext is None:
                raise ModuleError(f"external network '{ext_name}' not found (or not router:external); "
                                  "nothing was changed. Fix external_network",
                                  resource='router', key='external_network')
        subnets = client.list('subnet', network_id=net['id']) if net else []
        ports = client.list('port', network_id=net['id']) if net else []
        router = None
        if spec['router']:
            router = _one(client.list('router', name=spec['router']), spec['router'], 'router', 'router')
        managed = [g['name'] for g in spec['security_groups']]
        wanted = set(managed)
        wanted.update(r['remote_group'] for g in spec['security_groups'] for r in g.get('rules') or []
                      if r.get('remote_group'))
        wanted.update(n for p in spec['ports'] for n in p['security_groups'] or [])
        groups = client.list('security_group', name=sorted(wanted)) if wanted else []

        # -- every op, and every refusal, before the first write
        net_op = prepare('network', self._label('network', spec['network']), {'name': spec['network']}, net)
        net_id = net['id'] if net else self._new_id('network', spec['network'])
        subnet_ops, subnet_ids = [], {}
        for index, item in enumerate(spec['subnets']):
            current = _one(subnets, item['name'], 'subnet', f'subnets[{index}].name')
            body = subnet_body(item['name'], net_id, item['cidr'], gateway_ip=item.get('gateway_ip'),
                               enable_dhcp=item.get('enable_dhcp', True),
                               dns_nameservers=item.get('dns_nameservers') or None,
                               allocation_pools=item.get('allocation_pools') or None,
                               ipv6_ra_mode=item['ipv6_mode'], key_prefix=f'subnets[{index}].')
            if current is None and not item.get('dns_nameservers'):
                body.pop('dns_nameservers', None)
            subnet_ops.append(prepare('subnet', self._label('subnet', item['name']), body, current))
            subnet_ids[item['name']] = current['id'] if current else self._new_id('subnet', item['name'])
        sg_current = {name: _one(groups, name, 'security group', 'security_groups') for name in managed}
        sg_ids = {g['name']: g['id'] for g in groups}
        sg_ids.update({name: (cur['id'] if cur else self._new_id('security_group', name))
                       for name, cur in sg_current.items()})
        missing = sorted(n for n in wanted if n not in sg_ids)
        if missing:
            raise ModuleError(f"security group(s) {', '.join(missing)} neither listed in security_groups "
                              "nor found in Neutron; nothing was changed", key='security_groups')
        auto = {s['name'] for s in spec['subnets'] if s['auto_address']}
        port_ops = [self._port_op(item, ports, net_id, subnet_ids, sg_ids, auto) for item in spec['ports']]

        # 1. network
        net = apply_op(self.base, client, net_op) if net_op.action else net
        if net_op.action == 'create' and not self.check:
            self.ids[net_id] = net['id']
        # 2. subnets
        made = self._bulk('subnet', subnet_ops)
        subnet_by_name = {item['name']: made[op.label] for item, op in zip(spec['subnets'], subnet_ops)}
        # 3. security groups + rules
        self._security_groups(sg_current, sg_ids)
        # 4. router (+ gateway) and 5. its interfaces for our subnets
        router = self._router(router, ext, ports, subnet_by_name)
        # 6. ports
        results = self._bulk('port', port_ops)
        port_results = [(item, results[op.label]) for item, op in zip(spec['ports'], port_ops)]
        if not self.check:
            self._check_addresses(port_results, subnet_by_name)
        return self._result(net, subnet_by_name, router, port_results, sg_ids)

    def _port_op(self, item, ports, net_id, subnet_ids, sg_ids, auto):
        current = _one(ports, item['name'], 'port', f"{item['key']}.name")
        fixed = [{'subnet_id': subnet_ids[f['subnet']], 'ip_address': f['ip_address']} for f in item['fixed']]
        auto_ids = {subnet_ids[name] for name in auto}
        if current is not None:
            # Neutron gives EVERY port an address on each auto-address subnet and keeps it whatever
            # the request says: it is part of the target even with purge (else a PUT every run)
            named = {f['subnet_id'] for f in fixed}
            fixed += [{'subnet_id': f['subnet_id'], 'ip_address': f['ip_address']}
                      for f in current.get('fixed_ips') or []
                      if f['subnet_id'] in auto_ids and f['subnet_id'] not in named]
        groups = [sg_ids[n] for n in item['security_groups']] if item['security_groups'] is not None else None
        targets = port_targets(current, fixed, item['pairs'], groups, purge_fixed_ips=self.purge,
                               purge_pairs=self.purge, purge_security_groups=self.purge)
        desired = dict(targets, name=item['name'], mac_address=item['mac_address'],
                       description=item['description'])
        if current is None:
            desired['network_id'] = net_id
            if groups is None:
                desired['security_groups'] = []
        op = prepare_port(self._label('port', item['name']), desired, current)
        if op.action == 'create':
            # SLAAC / DHCPv6-stateless: name the subnet only; Neutron assigns the EUI-64 address of
            # the MAC (older releases refuse even that address when it is given explicitly)
            op.body['fixed_ips'] = [{'subnet_id': f['subnet_id']} if f['subnet_id'] in auto_ids else f
                                    for f in op.body.get('fixed_ips', [])]
        return op

    def _check_addresses(self, port_results, subnet_by_name):
        """Every port holds the addresses the inputs name (on an auto-address subnet: the EUI-64 one)."""
        for item, port in port_results:
            have = {(f['subnet_id'], norm_ip(f['ip_address'])) for f in (port or {}).get('fixed_ips', [])}
            for fixed in item['fixed']:
                subnet = subnet_by_name[fixed['subnet']]
                want = fixed['ip_address']
                if want and (subnet['id'], want) not in have:
                    got = sorted(ip for sid, ip in have if sid == subnet['id'])
                    why = (f": the cloud did not keep mac_address {item['mac_address']} (EUI-64)"
                           if subnet['auto_address'] else '')
                    raise ModuleError(
                        f"port {item['name']} has {got} on subnet {subnet['name']}, expected {want}{why}",
                        resource=f"port {item['name']}", key=f"{item['key']}.fixed_ips")

    def _security_groups(self, current, sg_ids):
        client = self.client
        groups = self.spec['security_groups']
        ops = [prepare('security_group', self._label('security_group', g['name']),
                       {'name': g['name'], 'description': g.get('description')}, current[g['name']],
                       create_only=()) for g in groups]
        creates = [op for op in ops if op.action == 'create']
        made = []
        if creates and not self.check:
            made = client.create_many('security_group', [op.body for op in creates], [op.label for op in creates])
            for res in made:
                self.ids[self._new_id('security_group', res['name'])] = res['id']
        for group, op in zip(groups, ops):
            if op.action == 'update' and not self.check:
                client.update('security_group', current[group['name']]['id'], op.body, op.label)
        ids = {name: self._resolve(gid) for name, gid in sg_ids.items()}
        names = {v: k for k, v in ids.items()}
        new_rules, old_rules = [], []
        for group, op in zip(groups, ops):
            cur = current[group['name']]
            desired = []
            for rule in group.get('rules') or []:
                body = {k: v for k, v in rule.items() if k != 'remote_group'}
                body['remote_group_id'] = ids[rule['remote_group']] if rule.get('remote_group') else None
                body['security_group_id'] = ids[group['name']]
                desired.append(body)
            # a group created by `create_all` has no rules; one from a real cloud may have default
            # egress rules: both compare fine, they are part of the set.
            have = (made[creates.index(op)].get('security_group_rules') if op.action == 'create' and made
                    else (cur or {}).get('security_group_rules')) or []
            create, delete, before, after = rules_plan(have, desired, self.purge, names)
            before_view = dict(op.before or {}, rules=before) if cur else None
            after_view = dict(op.after or {}, rules=after)
            self.base.record(op.label, before_view, after_view)
            new_rules += [rule_body(r) for r in create]
            old_rules += delete
        if not self.check:
            by_group = {}
            for rule in new_rules:  # Neutron's bulk create takes one group at a time
                by_group.setdefault(rule['security_group_id'], []).append(rule)
            for group_id, rules in by_group.items():
                client.create_many('security_group_rule', rules, [f'security_group {names[group_id]} rules'])
            for rule in old_rules:
                client.delete('security_group_rule', rule['id'], 'security group rule')
        return ids

    def _router(self, router, ext, ports, subnet_by_name):
        spec, client = self.spec, self.client
        if not spec['router']:
            return None
        label = self._label('router', spec['router'])
        gateway = None
        if ext is not None:
            gateway = gateway_target(router, ext['id'])
            info = (router or {}).get('external_gateway_info') or {}
            if gateway is None and info:
                # every family of our subnets needs an external address; add the missing ones (keeping all)
                have = {ip_version(f['ip_address']) for f in info.get('external_fixed_ips') or []}
                missing = {s['ip_version'] for s in spec['subnets']} - have
                if missing:
                    add = [{'subnet_id': s['id']} for s in client.list('subnet', network_id=ext['id'])
                           if s['ip_version'] in missing]
                    if add:
                        gateway = gateway_target(router, ext['id'], fixed_ips=add)
        op = prepare_router(label, spec['router'], router, {}, gateway)
        router = apply_op(self.base, client, op) if op.action else router
        router_id = router['id'] or self._new_id('router', spec['router'])
        attached = attached_subnets(ports, router_id)
        for subnet in subnet_by_name.values():
            if subnet['id'] in attached:
                continue
            if_label = f"router_interface {spec['router']}:{subnet['name']}"
            self.base.record(if_label, None, {'router': spec['router'], 'subnet': subnet['name']})
            if not self.check:
                client.router_interface(router_id, subnet['id'], add=True, label=if_label)
        return router

    def _result(self, net, subnet_by_name, router, port_results, sg_ids):
        out = {'network': _brief(net),
               'subnets': {name: _brief(s, 'cidr', 'gateway_ip', 'ipv6_ra_mode', 'ipv6_address_mode')
                           for name, s in subnet_by_name.items()},
               'router': _brief(router, 'external_gateway_info'),
               'security_groups': {name: self._resolve(gid) for name, gid in sg_ids.items()
                                   if name in {g['name'] for g in self.spec['security_groups']}},
               'ports': {}, 'vip_ports': {}}
        for item, port in port_results:
            out[item['kind']][item['name']] = _brief(port, 'mac_address', 'fixed_ips', 'allowed_address_pairs')
        return out

    # -- absent -------------------------------------------------------------------------------
    def absent(self):
        spec, client = self.spec, self.client
        net = _one(client.list('network', name=spec['network']), spec['network'], 'network', 'network')
        ports = client.list('port', network_id=net['id']) if net else []
        subnets = client.list('subnet', network_id=net['id']) if net else []
        router = None
        router_ports = []
        if spec['router']:
            router = _one(client.list('router', name=spec['router']), spec['router'], 'router', 'router')
            if router:
                router_ports = router_interface_ports(client.list('port', device_id=router['id']), router['id'])
        sg_names = [g['name'] for g in spec['security_groups']]
        groups = client.list('security_group', name=sg_names) if sg_names else []

        ours = {p['name'] for p in spec['ports']}
        our_ports = [p for p in ports if p.get('name') in ours]
        our_subnets = {s['id'] for s in subnets}
        foreign = [p for p in ports if p.get('name') not in ours
                   and not (router and p.get('device_id') == router['id'])
                   and not str(p.get('device_owner', '')).startswith('network:dhcp')]
        if foreign:
            raise ModuleError(
                f"network {spec['network']} still has ports these inputs do not list: "
                + ', '.join(f"{p.get('name') or p['id']} ({p.get('device_owner') or 'no owner'})" for p in foreign)
                + '; remove or detach them first. Nothing was changed.',
                resource=f"network {spec['network']}", key='ports')

        for port in our_ports:
            apply_op(self.base, client, prepare_delete('port', self._label('port', port['name']), port,
                                                       ('name', 'fixed_ips')))
        keep_router = False
        if router:
            for port in router_ports:
                mine = [f['subnet_id'] for f in port.get('fixed_ips', []) if f['subnet_id'] in our_subnets]
                if len(mine) < len(port.get('fixed_ips', [])):
                    keep_router = True
                for subnet_id in sorted(set(mine)):
                    name = next((s['name'] for s in subnets if s['id'] == subnet_id), subnet_id)
                    if_label = f"router_interface {spec['router']}:{name}"
                    self.base.record(if_label, {'router': spec['router'], 'subnet': name}, None)
                    if not self.check:
                        client.router_interface(router['id'], subnet_id, add=False, label=if_label)
            if keep_router:
                self.warnings.append(f"router {spec['router']} kept: it has interfaces on subnets these "
                                     'inputs do not list (they were left alone)')
            else:
                apply_op(self.base, client, prepare_delete('router', self._label('router', spec['router']),
                                                           router, ('name', 'external_gateway_info')))
        for group in groups:
            apply_op(self.base, client, prepare_delete('security_group',
                                                       self._label('security_group', group['name']), group))
        for subnet in subnets:
            # deleted with the network: recorded for the diff only
            self.base.record(self._label('subnet', subnet['name']), view(subnet, ('name', 'cidr')), None)
        if net:
            apply_op(self.base, client, prepare_delete('network', self._label('network', net['name']), net))
        return {'network': None, 'subnets': {}, 'router': _brief(router) if keep_router else None,
                'security_groups': {}, 'ports': {}, 'vip_ports': {}}
