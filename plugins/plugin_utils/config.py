# -*- coding: utf-8 -*-
# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE to the dualstack.k8s collection: the API may change without notice.
"""The one config model of dualstack.k8s: config.toml -> validated Config.

``load_config()`` reads TOML with tomllib, translates the seed-004 (yaook) key
names, validates types with pydantic v2 and then every cross-field rule
(families, overlaps, kubeadm and Calico size rules, Neutron's /64 rule ...).
All problems are collected and raised together as one ``ConfigError`` whose
``errors`` are ``(dotted_key, reason)`` pairs. Nothing here touches a host.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import os
import re
import sys
import typing as t

from ansible_collections.dualstack.k8s.plugins.module_utils.errors import KeyedErrors

HAS_DEPS = True
DEPS_IMPORT_ERROR = None
try:
    import tomllib
    import netaddr
    from pydantic import (
        AfterValidator,
        BaseModel,
        ConfigDict,
        Field,
        ValidationError,
    )
except ImportError as exc:  # pragma: no cover - reported by the callers
    HAS_DEPS = False
    DEPS_IMPORT_ERROR = exc

    class BaseModel:  # type: ignore[no-redef]
        pass

    def Field(*args, **kwargs):  # type: ignore[no-redef]  # noqa: N802
        return None

    def AfterValidator(func):  # type: ignore[no-redef]  # noqa: N802
        return func

    def ConfigDict(**kwargs):  # type: ignore[no-redef]  # noqa: N802
        return kwargs

if sys.version_info >= (3, 9):
    from typing import Annotated, Literal, Optional, List
else:  # pragma: no cover - the controller is 3.11
    from typing_extensions import Annotated, Literal, Optional, List


DEFAULT_CONFIG = os.path.join("config", "config.toml")
FAMILIES = ("ipv4", "ipv6")
FAMILY_VERSION = {"ipv4": 4, "ipv6": 6}
VERSION_FAMILY = {4: "ipv4", 6: "ipv6"}
SUFFIX = {"ipv4": "v4", "ipv6": "v6"}


class ConfigError(KeyedErrors):
    """Every problem found in a config, each naming its dotted key."""

    def __init__(self, errors, source=None):
        errors = list(errors)
        self.source = source
        count = len(errors)
        head = "%sinvalid configuration (%d error%s), nothing was changed:" % (
            "%s: " % source if source else "", count, "" if count == 1 else "s")
        super().__init__(errors, head)


# --------------------------------------------------------------------------------------------
# Address field types: the value stays a canonical string; the validator rejects malformed
# values, values of the other family and CIDRs with host bits set, with a reason the user
# can act on.
# --------------------------------------------------------------------------------------------

def _parse_ip(value, version):
    if not isinstance(value, str):
        raise ValueError("must be a string holding an IPv%d address" % version)
    text = value.strip()
    if "/" in text:
        raise ValueError("%r is a CIDR, an address without prefix length is expected" % value)
    try:
        addr = netaddr.IPAddress(text, flags=netaddr.INET_PTON)
    except (netaddr.AddrFormatError, ValueError, TypeError):
        raise ValueError("%r is not a valid IP address" % value)
    if addr.version != version:
        raise ValueError("%r is an IPv%d address, this field takes IPv%d" % (value, addr.version, version))
    return str(addr)


def _parse_cidr(value, version):
    if not isinstance(value, str):
        raise ValueError("must be a string holding an IPv%d CIDR" % version)
    text = value.strip()
    if "/" not in text:
        raise ValueError("%r has no prefix length, a CIDR such as %s is expected" % (
            value, "10.0.0.0/24" if version == 4 else "fd00:1::/64"))
    addr_part, dummy, plen = text.partition("/")
    try:
        addr = netaddr.IPAddress(addr_part, flags=netaddr.INET_PTON)
        if not plen.isdigit():
            raise ValueError
        net = netaddr.IPNetwork("%s/%s" % (addr, int(plen)))
    except (netaddr.AddrFormatError, ValueError, TypeError):
        raise ValueError("%r is not a valid CIDR" % value)
    if net.version != version:
        raise ValueError("%r is an IPv%d CIDR, this field takes IPv%d" % (value, net.version, version))
    if net.ip != net.network:
        raise ValueError("%r has host bits set (the network is %s)" % (value, net.cidr))
    return str(net.cidr)


def _parse_iface(value, version):
    """An address with an optional prefix length (seed 004's ``wg_ipv6_gw = "fd01::1/120"``)."""
    if not isinstance(value, str):
        raise ValueError("must be a string holding an IPv%d address" % version)
    addr_part, dummy, plen = value.strip().partition("/")
    addr = _parse_ip(addr_part, version)
    if plen:
        limit = 32 if version == 4 else 128
        if not plen.isdigit() or int(plen) > limit:
            raise ValueError("%r has an invalid prefix length" % value)
        return "%s/%s" % (addr, int(plen))
    return addr


def _parse_any_ip(value):
    if not isinstance(value, str):
        raise ValueError("must be a string holding an IP address")
    try:
        return str(netaddr.IPAddress(value.strip(), flags=netaddr.INET_PTON))
    except (netaddr.AddrFormatError, ValueError, TypeError):
        raise ValueError("%r is not a valid IP address" % value)


IPv4Addr = Annotated[str, AfterValidator(lambda v: _parse_ip(v, 4))]
IPv6Addr = Annotated[str, AfterValidator(lambda v: _parse_ip(v, 6))]
IPv4Cidr = Annotated[str, AfterValidator(lambda v: _parse_cidr(v, 4))]
IPv6Cidr = Annotated[str, AfterValidator(lambda v: _parse_cidr(v, 6))]
IPv4Iface = Annotated[str, AfterValidator(lambda v: _parse_iface(v, 4))]
IPv6Iface = Annotated[str, AfterValidator(lambda v: _parse_iface(v, 6))]
AnyAddr = Annotated[str, AfterValidator(_parse_any_ip)]

_LABEL = r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"
_DNS_NAME_RE = re.compile(r"^%s(\.%s)*$" % (_LABEL, _LABEL))
_HOST_RE = re.compile(r"^%s$" % _LABEL)


def _dns_name(value):
    if not _DNS_NAME_RE.match(value or ""):
        raise ValueError("%r is not a valid DNS name (lower-case labels of a-z, 0-9 and '-')" % value)
    if len(value) > 253:
        raise ValueError("%r is %d characters long; a DNS name has at most 253 (RFC 1123)" % (value[:20] + "...", len(value)))
    return value


def _host_name(value):
    if not _HOST_RE.match(value or ""):
        raise ValueError("%r is not a valid host name (one lower-case DNS label)" % value)
    return value


def _wg_key(value):
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError, TypeError):
        raw = b""
    if len(value) != 44 or len(raw) != 32:
        raise ValueError("is not a WireGuard public key (44 characters of base64 encoding 32 bytes, "
                         "as `wg pubkey` prints)")
    return value


DnsName = Annotated[str, AfterValidator(_dns_name)]
HostName = Annotated[str, AfterValidator(_host_name)]


def _as_number(value):
    if value == 23456:
        raise ValueError("23456 is AS_TRANS (RFC 6793), reserved: use a private AS such as 64512-65534")
    if value == 65535:
        raise ValueError("65535 is reserved (RFC 7300) and must not be used in BGP: use a private AS such as "
                         "64512-65534")
    return value


AsNumber = Annotated[int, Field(ge=1, le=4294967294), AfterValidator(_as_number)]
Port = Annotated[int, Field(ge=1, le=65535)]
Family = Literal["ipv4", "ipv6"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=False)


# --------------------------------------------------------------------------------------------
# The schema. Every field has a description: docs/config-reference.md is generated from it.
# --------------------------------------------------------------------------------------------

class Cluster(_Model):
    name: DnsName = Field("dualstack", description="Cluster name; used in resource names and kubeadm's clusterName.")
    ip_families: List[Family] = Field(
        ["ipv4", "ipv6"],
        description='Ordered address families, primary first: ["ipv4","ipv6"], ["ipv6","ipv4"], '
                    '["ipv6"] (IPv6-only) or ["ipv4"]. Every family-ordered output follows this order.')
    dns_domain: DnsName = Field("cluster.local", description="Kubernetes DNS domain (kubeadm networking.dnsDomain).")


class Network(_Model):
    ipv4_cidr: Optional[IPv4Cidr] = Field(None, description="IPv4 node subnet (seed 004: subnet_cidr). Required when ipv4 is a cluster family.")
    ipv6_cidr: Optional[IPv6Cidr] = Field(None, description="IPv6 node subnet (seed 004: subnet_v6_cidr). Required when ipv6 is a cluster family.")
    ipv6_mode: Literal["dhcpv6-stateful", "dhcpv6-stateless", "slaac"] = Field(
        "dhcpv6-stateful",
        description="Neutron ipv6_ra_mode/ipv6_address_mode of the IPv6 subnet. slaac and dhcpv6-stateless need a /64.")
    ipv4_gateway: Optional[IPv4Addr] = Field(None, description="Router address on the IPv4 subnet (default: first address + 1).")
    ipv6_gateway: Optional[IPv6Addr] = Field(
        None, description="Router address on the IPv6 subnet (default: first address + 1, i.e. ::1; not the subnet-router anycast address).")
    dns_servers: List[AnyAddr] = Field(
        [], description="DNS servers handed out on the node subnets: no duplicates, at most 5 per family (Neutron).")
    gateway_offset: int = Field(
        10, ge=3, description="Offset from the subnet start of the first gateway's address. Offsets 2 .. gateway_offset-1 form the DHCP allocation pool.")
    control_plane_offset: int = Field(20, ge=3, description="Offset of the first control-plane node's address.")
    worker_offset: int = Field(
        50, ge=3, description="Offset of the first worker's address. Workers are numbered upward, so adding one never moves another host.")


class OpenStack(_Model):
    cloud: str = Field(..., min_length=1, description="clouds.yaml entry to use (OS_CLIENT_CONFIG_FILE is honoured).")
    external_network: Optional[str] = Field(None, description="External network for the router gateway; no router gateway when absent.")
    name_prefix: Optional[DnsName] = Field(None, description="Prefix of every Neutron resource name (default: cluster.name).")
    create_router: bool = Field(True, description="Create a router and attach both subnets to it.")


class HostEntry(_Model):
    name: HostName = Field(..., description="Host name (inventory name and Neutron port name suffix).")
    ipv4: Optional[IPv4Addr] = Field(None, description="Fixed IPv4 address (default: planned from the offset).")
    ipv6: Optional[IPv6Addr] = Field(None, description="Fixed IPv6 address (default: planned from the offset).")


class Gateways(_Model):
    count: Optional[int] = Field(None, ge=1, le=32, description="Number of gateways, named <name_prefix>1..N (default 2). Exclusive with hosts.")
    hosts: Optional[List[HostEntry]] = Field(
        None, min_length=1, max_length=32,
        description="Explicit gateways (name, optional ipv4/ipv6), at most 32 (distinct VRRP priorities). Exclusive with count.")
    name_prefix: HostName = Field("gw", description="Name prefix of counted gateways.")
    as_number: AsNumber = Field(65000, description="BGP AS of the gateways (bird).")
    vip_v4: Optional[IPv4Addr] = Field(None, description="IPv4 VIP on the node subnet (default: second-to-last address).")
    vip_v6: Optional[IPv6Addr] = Field(None, description="IPv6 VIP on the node subnet (default: second-to-last address, ::fe on a /120).")
    public_vip_v4: Optional[IPv4Addr] = Field(
        None, description="Address WireGuard clients connect to (a floating IP on OpenStack; a keepalived address on the lab's external network).")
    public_vip_v6: Optional[IPv6Addr] = Field(None, description="IPv6 address WireGuard clients connect to.")
    vrrp_advert_int: float = Field(
        1.0, ge=0.01, le=40.95,
        description="keepalived advert_int in seconds, 0.01-40.95 in steps of 0.01 (VRRPv3; 0.2 gives ~0.7 s failover).")
    vrrp_router_id: int = Field(51, ge=1, le=255, description="VRRP virtual_router_id (the v6 instance uses the same id; VRRPv3 separates families).")
    vrrp_preempt: bool = Field(True, description="Whether a recovered higher-priority gateway takes the VIPs back.")
    export_extra_v4: List[IPv4Cidr] = Field([], description="Extra IPv4 prefixes bird may export to the nodes besides the WireGuard subnet.")
    export_extra_v6: List[IPv6Cidr] = Field([], description="Extra IPv6 prefixes bird may export to the nodes besides the WireGuard subnet.")


class Peer(_Model):
    name: HostName = Field(..., description="Peer name.")
    public_key: Optional[Annotated[str, AfterValidator(_wg_key)]] = Field(None, description="The peer's WireGuard public key.")
    public_key_file: Optional[str] = Field(
        None, min_length=1, description="File holding the public key (relative to the config file). Exclusive with public_key.")
    ipv4: Optional[IPv4Addr] = Field(None, description="Tunnel IPv4 address (default: WireGuard gateway + 1 + peer index).")
    ipv6: Optional[IPv6Addr] = Field(None, description="Tunnel IPv6 address (default: WireGuard gateway + 1 + peer index).")


class WireGuard(_Model):
    ipv4_cidr: Optional[IPv4Cidr] = Field(None, description="IPv4 client subnet (yaook: ip_cidr).")
    ipv4_gw: Optional[IPv4Iface] = Field(
        None, description="Gateway address on wg0, optionally with prefix (yaook: ip_gw; default: first address + 1).")
    ipv6_cidr: Optional[IPv6Cidr] = Field(None, description="IPv6 client subnet (seed 004: wg_ipv6_cidr).")
    ipv6_gw: Optional[IPv6Iface] = Field(
        None, description='Gateway address on wg0, e.g. "fd01::1/120" (seed 004: wg_ipv6_gw; default: first address + 1).')
    port: Port = Field(7777, description="UDP listen port (not 53, 68 or 546, which the gateways' own system holds).")
    endpoint_sync_port: Optional[Port] = Field(
        None, description="UDP port on which the gateways share the clients' endpoints, so that a new VIP holder "
        "starts the handshake at once after a failover (default: port + 1, or port - 1 for 65535).")
    peers: List[Peer] = Field([], description="Clients: [[wireguard.peers]] tables.")


class Kubernetes(_Model):
    version: Annotated[str, Field(pattern=r"^1\.(3[1-9]|[4-9][0-9])(\.[0-9]+)?$")] = Field(
        "1.34", description="Kubernetes minor (or patch) version, 1.31 or newer (the rendered kubeadm.k8s.io/v1beta4 "
                            "configuration needs kubeadm 1.31+).")
    control_plane_count: Optional[int] = Field(
        None, ge=1, le=9, description="Control-plane nodes <control_plane_prefix>1..N (default 1). Exclusive with control_plane.")
    control_plane: Optional[List[HostEntry]] = Field(None, min_length=1, description="Explicit control-plane nodes.")
    worker_count: Optional[int] = Field(None, ge=0, le=5000, description="Workers <worker_prefix>1..N (default 1). Exclusive with workers.")
    workers: Optional[List[HostEntry]] = Field(None, description="Explicit workers.")
    control_plane_prefix: HostName = Field("master", description="Name prefix of counted control-plane nodes.")
    worker_prefix: HostName = Field("worker", description="Name prefix of counted workers.")
    pod_subnet_v4: Optional[IPv4Cidr] = Field(None, description="IPv4 pod subnet (networking.podSubnet, Calico IPv4 pool).")
    pod_subnet_v6: Optional[IPv6Cidr] = Field(None, description="IPv6 pod subnet.")
    service_subnet_v4: Optional[IPv4Cidr] = Field(
        None, description="IPv4 service subnet: /12 to /28 (kubeadm: at most 20 host bits; as the first family it "
                          "holds the DNS Service at its 10th address).")
    service_subnet_v6: Optional[IPv6Cidr] = Field(
        None, description="IPv6 service subnet: /108 to /124 (kubeadm: at most 20 host bits; as the first family it "
                          "holds the DNS Service at its 10th address).")
    node_mask_v4: Optional[int] = Field(
        None, ge=0, le=32, description="node-cidr-mask-size-ipv4 (default 24, kept within [pod prefix, pod prefix + 16]).")
    node_mask_v6: Optional[int] = Field(None, ge=0, le=128, description="node-cidr-mask-size-ipv6 (default min(pod prefix + 16, 112), as yaook).")
    api_port: Port = Field(
        6443, description="Kubernetes API port on the VIPs and control-plane nodes; not a port another daemon of "
                          "those hosts holds (etcd, kubelet, BGP, sshd ...) nor in the NodePort range 30000-32767.")
    control_plane_endpoint: Optional[DnsName] = Field(
        None, description="DNS name for controlPlaneEndpoint, not an IP literal (default: the primary family's VIP).")
    network_plugin: Literal["calico"] = Field("calico", description='CNI; only "calico" (seed 004: k8s_network_plugin).')


class Calico(_Model):
    as_number: AsNumber = Field(64512, description="BGP AS of the nodes (BGPConfiguration default).")
    style: Literal["operator", "manifest"] = Field("operator", description="Render a Tigera-operator Installation or calico-node manifest settings.")
    encapsulation_v4: Literal["None", "IPIP", "VXLAN", "IPIPCrossSubnet", "VXLANCrossSubnet"] = Field("None", description="IPv4 pool encapsulation.")
    encapsulation_v6: Literal["None", "VXLAN", "VXLANCrossSubnet"] = Field("None", description="IPv6 pool encapsulation (IPIP is IPv4-only).")
    nat_outgoing_v4: bool = Field(True, description="natOutgoing on the IPv4 pool.")
    nat_outgoing_v6: bool = Field(True, description="natOutgoing on the IPv6 pool (what lets ULA pod addresses reach out).")
    block_size_v4: int = Field(26, description="IPv4 IPAM block size, 20-32.")
    block_size_v6: int = Field(122, description="IPv6 IPAM block size, 116-128.")
    node_to_node_mesh: bool = Field(True, description="BGPConfiguration nodeToNodeMeshEnabled (keep true unless route reflectors exist).")
    pod_address_scope: Literal["ula", "global"] = Field(
        "ula", description='IPv6 pod addresses: "ula" (private, leave the cluster with natOutgoing) or "global" '
                           '(routable, no NAT: nat_outgoing_v6 = false; the gateways learn the pod blocks from the '
                           'nodes over BGP, import limited to pod_subnet_v6, so WireGuard clients reach pods directly).')
    next_hop_mode: Literal["Auto", "Self", "Keep"] = Field(
        "Auto", description="BGPPeer nextHopMode towards the gateway VIPs (seed 002 keeps the original next hop: Keep).")


class Dns64Zone(_Model):
    name: DnsName = Field(..., description="Zone name, e.g. corp.example.")
    servers: List[AnyAddr] = Field(..., min_length=1, max_length=8,
                                   description="Authoritative servers of the zone (unbound stub-zone stub-addr).")


class Nat64(_Model):
    enabled: bool = Field(
        False, description="NAT64 (tayga) and DNS64 (unbound) on the gateways, so an IPv6-only cluster reaches "
                           "IPv4-only services. Needs ipv6 in cluster.ip_families and IPv4 connectivity of the "
                           "gateways themselves (their default route).")
    prefix: IPv6Cidr = Field(
        "fd64:64::/96",
        description="NAT64 prefix (tayga `prefix`, unbound `dns64-prefix`): a network-specific /96 by default, "
                    "since the well-known 64:ff9b::/96 drops private IPv4 targets (RFC 6052). Lengths 32, 40, 48, "
                    "56, 64 or 96. bird announces it to the nodes next to the WireGuard subnets.")
    ipv4_pool: IPv4Cidr = Field(
        "100.64.64.0/24",
        description="IPv4 pool tayga maps IPv6 clients to (one address per client; NAT44 on the gateway's IPv4 "
                    "egress behind it); its first address is tayga's own. /16 to /30.")
    dns64: bool = Field(True, description="Run DNS64 (unbound) on the gateways; the nodes' resolvers and the kubelet's "
                                          "resolvConf (CoreDNS upstream) point at the node network's IPv6 VIP.")
    dns64_dnssec: bool = Field(
        True, description="DNSSEC validation in DNS64 (unbound's validator with the root trust anchor). Turn it off "
                          "only where the upstreams serve unsigned zones that are not delegated from the root.")
    dns64_zones: List[Dns64Zone] = Field(
        [], description="Zones DNS64 asks their own authoritative servers for ([[nat64.dns64_zones]] tables with name "
                        "and servers; unbound stub zones), e.g. internal zones the upstreams do not know. Answers "
                        "from them are synthesized too.")
    dns64_upstreams: List[AnyAddr] = Field(
        [], description="Resolvers DNS64 forwards to (forward-zone \".\"); empty: full recursion from the root "
                        "servers. At most 8.")


class IngressFrontend(_Model):
    name: HostName = Field(..., description="Frontend name (one DNS label; HAProxy's frontend and backend ingress_<name>).")
    port: Port = Field(..., description="Public TCP port, bound on every public VIP (gateways.public_vip_v4 and "
                                        "public_vip_v6): IPv4 and IPv6 clients reach the cluster, whatever its families.")
    backend_port: Port = Field(
        ..., description="Port on the nodes the traffic goes to: a NodePort of the ingress controller's Service, "
                         "inside ingress.node_port_range.")
    backends: Literal["workers", "control_plane", "nodes"] = Field(
        "workers", description='Which nodes are backends, at their primary-family address: "workers", '
                               '"control_plane" or "nodes" (both).')
    send_proxy_v2: bool = Field(
        True, description="Send a PROXY protocol v2 header to the backends (and with the health checks), so the "
                          "client's own address, IPv6 included, reaches them. The ingress controller must expect "
                          "it (e.g. ingress-nginx use-proxy-protocol).")
    health_check: bool = Field(
        True, description="TCP health checks of every backend (HAProxy `check`): a node whose NodePort does not "
                          "answer is taken out.")


class Ingress(_Model):
    frontends: List[IngressFrontend] = Field(
        [], description="[[ingress.frontends]] tables: TCP frontends of HAProxy on the gateways' public VIPs of "
                        "both families, to a NodePort of the nodes (dual-stack ingress for a single-stack cluster).")
    node_port_range: List[Port] = Field(
        [30000, 32767], description="The cluster's NodePort range [first, last] (kube-apiserver "
                                    "--service-node-port-range): every backend_port must be inside it.")


class Lab(_Model):
    external_cidr_v4: Optional[IPv4Cidr] = Field(None, description="Lab only: external network of the gateways and the WireGuard client (IPv4).")
    external_cidr_v6: Optional[IPv6Cidr] = Field(None, description="Lab only: external network (IPv6).")
    wireguard_client: Optional[HostName] = Field(None, description="Lab only: the peer the lab's client host plays.")
    outside_host: Optional[HostName] = Field(
        None, description="Lab only: an IPv4-only host on the external network (IPv4 address: external_cidr_v4 "
                          "start + 200) serving HTTP and an authoritative DNS zone for its own name (NAT64/DNS64).")
    outside_zone: DnsName = Field("outside.test", description="Lab only: the outside host's DNS zone.")
    ingress_client: Optional[HostName] = Field(
        None, description="Lab only: an IPv6-only host on the external network (IPv6 address: external_cidr_v6 "
                          "start + 150), the client of the ingress frontends.")


class Config(_Model):
    cluster: Cluster = Field(default_factory=Cluster, description="Cluster identity and address families.")
    network: Network = Field(default_factory=Network, description="The node network.")
    openstack: Optional[OpenStack] = Field(None, description="Neutron resources; omit on-prem.")
    gateways: Gateways = Field(default_factory=Gateways, description="Gateways: VRRP, HAProxy, bird, WireGuard.")
    wireguard: WireGuard = Field(default_factory=WireGuard, description="WireGuard client access.")
    kubernetes: Kubernetes = Field(default_factory=Kubernetes, description="kubeadm settings.")
    calico: Calico = Field(default_factory=Calico, description="Calico IPAM, pools and BGP.")
    nat64: Nat64 = Field(default_factory=Nat64, description="NAT64/DNS64 on the gateways (IPv6-only clusters).")
    ingress: Ingress = Field(default_factory=Ingress, description="Ingress frontends of HAProxy on the public VIPs.")
    lab: Optional[Lab] = Field(None, description="The embedded lab only.")

    # filled by load_config, not part of the schema
    _source: Optional[str] = None


# --------------------------------------------------------------------------------------------
# Seed-004 (yaook) names. Where the key sits in the right table it is translated; anywhere
# else the unknown-key error names the new key.
# --------------------------------------------------------------------------------------------

LEGACY_KEYS = {
    ("network", "subnet_cidr"): "ipv4_cidr",
    ("network", "subnet_v6_cidr"): "ipv6_cidr",
    ("wireguard", "ip_cidr"): "ipv4_cidr",
    ("wireguard", "ip_gw"): "ipv4_gw",
    ("wireguard", "wg_ipv6_cidr"): "ipv6_cidr",
    ("wireguard", "wg_ipv6_gw"): "ipv6_gw",
    ("wireguard", "wg_ip_cidr"): "ipv4_cidr",
    ("wireguard", "wg_ip_gw"): "ipv4_gw",
    ("wireguard", "port"): "port",
    ("kubernetes", "k8s_network_plugin"): "network_plugin",
}
LEGACY_ANYWHERE = {
    "subnet_cidr": "network.ipv4_cidr",
    "subnet_v6_cidr": "network.ipv6_cidr",
    "wg_ipv6_cidr": "wireguard.ipv6_cidr",
    "wg_ipv6_gw": "wireguard.ipv6_gw",
    "ip_cidr": "wireguard.ipv4_cidr",
    "ip_gw": "wireguard.ipv4_gw",
    "k8s_network_plugin": "kubernetes.network_plugin",
    "dualstack-support": "cluster.ip_families",
    "dualstack_support": "cluster.ip_families",
}
DUALSTACK_SUPPORT = ("dualstack-support", "dualstack_support")


def _translate_legacy(data, errors):
    """Rewrite seed-004 keys in place; report conflicts with the new key's name."""
    if not isinstance(data, dict):
        return data
    # dualstack-support = true|false, at top level or in [cluster]
    for where in (data, data.get("cluster") if isinstance(data.get("cluster"), dict) else None):
        if where is None:
            continue
        for key in DUALSTACK_SUPPORT:
            if key not in where:
                continue
            value = where.pop(key)
            prefix = "" if where is data else "cluster."
            if not isinstance(value, bool):
                errors.append((prefix + key, "must be true or false (seed 004 name; the new key is cluster.ip_families)"))
                continue
            wanted = ["ipv4", "ipv6"] if value else ["ipv4"]
            cluster = data.setdefault("cluster", {})
            if not isinstance(cluster, dict):
                continue
            if "ip_families" in cluster:
                have = cluster["ip_families"]
                if isinstance(have, list) and (len(have) == 2) != value:
                    errors.append(("cluster.ip_families", "%s = %s contradicts ip_families = %s; "
                                   "drop the seed-004 key, cluster.ip_families replaces it" % (key, str(value).lower(), have)))
            else:
                cluster["ip_families"] = wanted
    if "k8s_network_plugin" in data:
        value = data.pop("k8s_network_plugin")
        kube = data.setdefault("kubernetes", {})
        if isinstance(kube, dict):
            if "network_plugin" in kube or "k8s_network_plugin" in kube:
                errors.append(("k8s_network_plugin", "seed-004 name of kubernetes.network_plugin, which is set "
                               "too; keep only kubernetes.network_plugin"))
            else:
                kube["network_plugin"] = value
    for (table, old), new in LEGACY_KEYS.items():
        section = data.get(table)
        if not isinstance(section, dict) or old not in section or old == new:
            continue
        if new in section:
            errors.append(("%s.%s" % (table, old), "seed-004 name of %s.%s, which is set too; keep only %s.%s"
                           % (table, new, table, new)))
            section.pop(old)
            continue
        section[new] = section.pop(old)
    return data


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------

def _dotted(loc):
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += "[%d]" % part
        else:
            out += ("." if out else "") + str(part)
    return out


def _model_at(loc):
    """The model class that holds the key at ``loc`` (for did-you-mean suggestions)."""
    model = Config
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return None
        ann = field.annotation
        found = None
        for cand in _walk_types(ann):
            if isinstance(cand, type) and issubclass(cand, BaseModel):
                found = cand
                break
        if found is None:
            return None
        model = found
    return model


def _walk_types(ann):
    yield ann
    for arg in t.get_args(ann):
        yield from _walk_types(arg)


def _pydantic_errors(exc):
    out = []
    for err in exc.errors():
        loc = tuple(err.get("loc", ()))
        key = _dotted(loc)
        etype = err.get("type")
        if etype == "extra_forbidden":
            name = str(loc[-1])
            hint = ""
            if name in LEGACY_ANYWHERE:
                hint = " (seed-004 name: write it as %s)" % LEGACY_ANYWHERE[name]
            else:
                model = _model_at(loc)
                known = list(model.model_fields) if model is not None else []
                close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
                if close:
                    hint = " (did you mean %r?)" % close[0]
                elif known:
                    hint = " (known keys here: %s)" % ", ".join(known)
            out.append((key, "unknown key%s" % hint))
            continue
        msg = err.get("msg", "invalid")
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        if etype and etype.endswith("_type") or etype in ("model_type", "dict_type"):
            got = type(err.get("input")).__name__
            msg = "wrong type: %s (got %s %r)" % (msg.lower(), _toml_type(got), err.get("input"))
        elif etype == "literal_error":
            msg = "%s (got %r)" % (msg, err.get("input"))
        elif etype == "missing":
            msg = "required key is missing"
        out.append((key, msg))
    return out


def _toml_type(pyname):
    return {"str": "string", "int": "integer", "float": "float", "bool": "boolean",
            "list": "array", "dict": "table"}.get(pyname, pyname)


def config_path(path=None):
    if path:
        return path
    return os.environ.get("DUALSTACK_CONFIG") or DEFAULT_CONFIG


def parse_config(data, source=None):
    """Validate a dict (as read from TOML). Raises ConfigError with every problem."""
    _require_deps()
    errors = []
    if not isinstance(data, dict):
        raise ConfigError([("", "the config must be a TOML table")], source)
    import copy
    data = _translate_legacy(copy.deepcopy(data), errors)
    try:
        cfg = Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(errors + _pydantic_errors(exc), source)
    cfg._source = source
    # the cross-field rules (imported late: rules.py imports this module)
    from ansible_collections.dualstack.k8s.plugins.plugin_utils.rules import check_config
    errors.extend(check_config(cfg, base_dir=os.path.dirname(os.path.abspath(source)) if source else os.getcwd()))
    if errors:
        raise ConfigError(errors, source)
    return cfg


def load_config(path=None):
    """Read and validate config.toml (or $DUALSTACK_CONFIG). Raises ConfigError."""
    _require_deps()
    path = config_path(path)
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError([("", "config file %s not found (set DUALSTACK_CONFIG or pass its path)" % path)], path)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([("", "not valid TOML: %s" % exc)], path)
    return parse_config(data, source=path)


def _require_deps():
    if not HAS_DEPS:
        raise ImportError("dualstack.k8s needs pydantic>=2, netaddr and Python>=3.11 (tomllib) on the "
                          "controller: %s" % DEPS_IMPORT_ERROR)


# --------------------------------------------------------------------------------------------
# Small accessors shared by rules and plan
# --------------------------------------------------------------------------------------------

def per_family(model, stem, family):
    """``per_family(cfg.kubernetes, "pod_subnet", "ipv6")`` -> cfg.kubernetes.pod_subnet_v6."""
    return getattr(model, "%s_%s" % (stem, SUFFIX[family]))


def node_cidr(cfg, family):
    return getattr(cfg.network, "%s_cidr" % family)


def wg_cidr(cfg, family):
    return getattr(cfg.wireguard, "%s_cidr" % family)


def wg_gw(cfg, family):
    return getattr(cfg.wireguard, "%s_gw" % family)
