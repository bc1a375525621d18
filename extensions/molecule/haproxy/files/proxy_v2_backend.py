# -*- coding: utf-8 -*-
# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backend stand-in of Molecule scenario "haproxy": a TCP server that expects the PROXY protocol v2.

    python3 proxy_v2_backend.py [--port 6443] [--bind ::]

Every connection must start with a valid PROXY protocol v2 header (12-byte signature, version 2,
command LOCAL or PROXY, family/transport, address block of the announced length); a connection
without one is closed without a byte sent back. After a PROXY header the server reads one HTTP
request and answers 200 with a JSON body: the client address and port the header carried, the
destination (the VIP the client connected to), the TCP peer of the connection itself (the HAProxy
gateway) and how many LOCAL connections (HAProxy's health checks with check-send-proxy) it has seen.

Python 3 standard library only; listens on both families (IPv6 socket with IPV6_V6ONLY off).
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import socket
import socketserver
import struct
import sys
import threading

SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
HEADER_LEN = 16  # signature (12), version/command (1), family/transport (1), length (2)
FAMILIES = {0x1: ("ipv4", 4, 12), 0x2: ("ipv6", 16, 36), 0x3: ("unix", 108, 216)}
COMMANDS = {0x0: "LOCAL", 0x1: "PROXY"}
MAX_REQUEST = 8192
TIMEOUT = 5.0

STATS = {"local": 0, "proxy": 0, "refused": 0}
STATS_LOCK = threading.Lock()


class BadHeader(ValueError):
    """The connection does not start with a valid PROXY protocol v2 header."""


def recv_exact(sock, size):
    """Read exactly ``size`` bytes or raise BadHeader on EOF."""
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise BadHeader(f"connection closed after {len(data)} of {size} bytes")
        data += chunk
    return data


def parse_header(sock):
    """Read and parse a PROXY v2 header from ``sock``; return a dict describing it."""
    head = recv_exact(sock, HEADER_LEN)
    if head[:12] != SIGNATURE:
        raise BadHeader("no PROXY protocol v2 signature")
    version, command = head[12] >> 4, head[12] & 0x0F
    if version != 2:
        raise BadHeader(f"version {version}, expected 2")
    if command not in COMMANDS:
        raise BadHeader(f"unknown command {command:#x}")
    family, transport = head[13] >> 4, head[13] & 0x0F
    (length,) = struct.unpack("!H", head[14:16])
    block = recv_exact(sock, length) if length else b""
    result = {"command": COMMANDS[command], "family": "unspec", "transport": transport}
    if command == 0x0:  # LOCAL: the proxy's own connection (health check); addresses are ignored
        return result
    if family not in FAMILIES:
        raise BadHeader(f"PROXY command with family {family:#x}")
    name, size, needed = FAMILIES[family]
    if length < needed:
        raise BadHeader(f"address block of {length} bytes, {name} needs {needed}")
    result["family"] = name
    if name == "unix":
        result["source"] = block[:size].rstrip(b"\x00").decode(errors="replace")
        result["destination"] = block[size:2 * size].rstrip(b"\x00").decode(errors="replace")
        return result
    result["source"] = str(ipaddress.ip_address(block[:size]))
    result["destination"] = str(ipaddress.ip_address(block[size:2 * size]))
    result["source_port"], result["destination_port"] = struct.unpack("!HH", block[2 * size:2 * size + 4])
    result["tlv_bytes"] = length - needed
    return result


def read_request(sock, first=b""):
    """Read an HTTP request head (up to the empty line); return its first line."""
    data = first
    while b"\r\n\r\n" not in data and b"\n\n" not in data:
        if len(data) > MAX_REQUEST:
            raise BadHeader("request head too long")
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.split(b"\n", 1)[0].strip().decode(errors="replace")


def plain(address):
    """The peer address without IPv4-mapped IPv6 notation."""
    addr = ipaddress.ip_address(address.split("%", 1)[0])
    if addr.version == 6 and addr.ipv4_mapped:
        return str(addr.ipv4_mapped)
    return str(addr)


class Handler(socketserver.BaseRequestHandler):
    """One connection: PROXY v2 header, then one HTTP request and a JSON answer."""

    def handle(self):
        sock = self.request
        sock.settimeout(TIMEOUT)
        peer = plain(self.client_address[0])
        try:
            header = parse_header(sock)
        except (BadHeader, OSError) as exc:
            with STATS_LOCK:
                STATS["refused"] += 1
            print(f"refused {peer}: {exc}", file=sys.stderr, flush=True)
            return  # close without answering
        with STATS_LOCK:
            STATS["local" if header["command"] == "LOCAL" else "proxy"] += 1
            stats = dict(STATS)
        try:
            request = read_request(sock)
        except (BadHeader, OSError):
            return
        if not request:  # e.g. a health check that only connects
            return
        body = dict(header, peer=peer, request=request, local_connections=stats["local"],
                    proxy_connections=stats["proxy"], refused_connections=stats["refused"])
        payload = (json.dumps(body, sort_keys=True) + "\n").encode()
        head = ("HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n").encode()
        try:
            sock.sendall(head + payload)
        except OSError:
            return
        print(f"{header['command']} {header.get('source')} via {peer}: {request}", file=sys.stderr, flush=True)


class Server(socketserver.ThreadingTCPServer):
    """Dual-stack threading TCP server."""

    address_family = socket.AF_INET6
    allow_reuse_address = True
    daemon_threads = True

    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=6443)
    parser.add_argument("--bind", default="::")
    args = parser.parse_args(argv)
    with Server((args.bind, args.port), Handler) as server:
        print(f"listening on [{args.bind}]:{args.port}", file=sys.stderr, flush=True)
        server.serve_forever()


if __name__ == "__main__":
    main()
