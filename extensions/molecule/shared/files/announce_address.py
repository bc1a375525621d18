# -*- coding: utf-8 -*-
# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Announce addresses that just moved to this host, as keepalived does for its VIPs.

    python3 announce_address.py INTERFACE ADDRESS [ADDRESS ...] [--count 3] [--interval 0.2]

IPv4: gratuitous ARP (a broadcast ARP request with sender = target = the address, sender MAC =
the interface's). IPv6: unsolicited neighbour advertisement to ff02::1 with the Override flag and
the target link-layer address option. Neighbours that still map the address to the previous
holder's MAC update their entry at once instead of after their neighbour cache times out.

Used by the Molecule scenarios "bird" and "wireguard" when they move the VIPs between gateways
without keepalived.
Python 3 standard library only; needs CAP_NET_RAW.
"""

from __future__ import annotations

import argparse
import ipaddress
import socket
import struct
import time
from pathlib import Path

ETH_P_ARP = 0x0806
ICMPV6_NA = 136
NA_FLAG_ROUTER = 0x80000000
NA_FLAG_OVERRIDE = 0x20000000


def interface_mac(ifname):
    """The interface's MAC address as 6 bytes."""
    text = Path(f"/sys/class/net/{ifname}/address").read_text(encoding="ascii").strip()
    return bytes(int(part, 16) for part in text.split(":"))


def gratuitous_arp(ifname, mac, address):
    """One broadcast gratuitous ARP request for an IPv4 address."""
    ip = address.packed
    frame = b"\xff" * 6 + mac + struct.pack("!H", ETH_P_ARP)
    frame += struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + mac + ip + b"\x00" * 6 + ip
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as sock:
        sock.bind((ifname, 0))
        sock.send(frame)


def unsolicited_na(ifname, mac, address, router):
    """One unsolicited neighbour advertisement for an IPv6 address to all nodes."""
    flags = NA_FLAG_OVERRIDE | (NA_FLAG_ROUTER if router else 0)
    # type, code, checksum (the kernel fills it in), flags, target, option 2 (target link-layer address)
    message = struct.pack("!BBHI", ICMPV6_NA, 0, 0, flags) + address.packed + struct.pack("!BB", 2, 1) + mac
    index = socket.if_nametoindex(ifname)
    with socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6) as sock:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, index)
        sock.bind((str(address), 0, 0, index))
        sock.sendto(message, ("ff02::1", 0, 0, index))


def forwarding(ifname):
    """Whether the host forwards IPv6 on the interface (the NA's Router flag)."""
    try:
        return Path(f"/proc/sys/net/ipv6/conf/{ifname}/forwarding").read_text(encoding="ascii").strip() == "1"
    except OSError:
        return False


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("interface")
    parser.add_argument("addresses", nargs="+", type=ipaddress.ip_address)
    parser.add_argument("--count", type=int, default=3)
    parser.add_argument("--interval", type=float, default=0.2)
    args = parser.parse_args(argv)
    mac = interface_mac(args.interface)
    router = forwarding(args.interface)
    for i in range(args.count):
        if i:
            time.sleep(args.interval)
        for address in args.addresses:
            if address.version == 4:
                gratuitous_arp(args.interface, mac, address)
            else:
                unsolicited_na(args.interface, mac, address, router)
    print(" ".join(str(a) for a in args.addresses))


if __name__ == "__main__":
    main()
