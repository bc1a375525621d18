# -*- coding: utf-8 -*-
# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Lab stand-in for an ingress controller behind HAProxy: PROXY protocol v2, then HTTP; echoes the client.

    python3 proxy_echo.py [--port 30080] [--bind 0.0.0.0]

Listens where the ingress controller's NodePort would (embedded lab: lab/playbooks/standins.yml runs it
as the unit lab-proxy-echo on every backend node of an ingress frontend; Molecule scenario haproxy runs
it too). Every connection must start with a valid PROXY protocol v2 header (12-byte signature,
version 2, command LOCAL or PROXY, family/transport, address block of the announced length); a
connection without one is closed without a byte sent back. A LOCAL header (HAProxy's health checks with
check-send-proxy) is counted and the connection closed. After a PROXY header comes one HTTP/1.x request,
answered 200 with a JSON object:

    {"source": <client address from the header>, "source_port": .., "destination": <the VIP the client
     connected to>, "destination_port": .., "family": "ipv4"|"ipv6", "peer": <TCP peer: the HAProxy
     gateway>, "local_connections": .., "proxy_connections": .., "refused_connections": ..}

GET /source answers the client address alone (text/plain), for curl and benchmarks.
Python 3 standard library only. --bind :: listens on both families (IPV6_V6ONLY off).
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
FAMILIES = {0x1: ("ipv4", 4, 12), 0x2: ("ipv6", 16, 36)}
COMMANDS = {0x0: "LOCAL", 0x1: "PROXY"}
MAX_REQUEST = 8192
TIMEOUT = 5.0

STATS = {"local": 0, "proxy": 0, "refused": 0}
LOCK = threading.Lock()
VERBOSE = False


class BadHeader(ValueError):
    """The connection does not start with a valid PROXY protocol v2 header."""


def recv_exact(sock, size):
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise BadHeader("connection closed after %d of %d bytes" % (len(data), size))
        data += chunk
    return data


def parse_header(sock):
    """Read and parse a PROXY v2 header (RFC-like spec: haproxy doc/proxy-protocol.txt section 2.2)."""
    head = recv_exact(sock, HEADER_LEN)
    if head[:12] != SIGNATURE:
        raise BadHeader("no PROXY protocol v2 signature")
    version, command = head[12] >> 4, head[12] & 0x0F
    if version != 2:
        raise BadHeader("version %d, expected 2" % version)
    if command not in COMMANDS:
        raise BadHeader("unknown command %#x" % command)
    family, transport = head[13] >> 4, head[13] & 0x0F
    (length,) = struct.unpack("!H", head[14:16])
    block = recv_exact(sock, length) if length else b""
    out = {"command": COMMANDS[command]}
    if command == 0x0:
        return out
    if family not in FAMILIES or transport != 0x1:
        raise BadHeader("PROXY command with family %#x transport %#x (want TCP over IPv4/IPv6)" % (family, transport))
    name, size, needed = FAMILIES[family]
    if length < needed:
        raise BadHeader("address block of %d bytes, %s needs %d" % (length, name, needed))
    out["family"] = name
    out["source"] = str(ipaddress.ip_address(block[:size]))
    out["destination"] = str(ipaddress.ip_address(block[size:2 * size]))
    out["source_port"], out["destination_port"] = struct.unpack("!HH", block[2 * size:2 * size + 4])
    return out


def read_request(sock):
    data = b""
    while b"\r\n\r\n" not in data and b"\n\n" not in data:
        if len(data) > MAX_REQUEST:
            raise BadHeader("request head too long")
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.split(b"\n", 1)[0].strip().decode(errors="replace")


def plain(address):
    addr = ipaddress.ip_address(address.split("%", 1)[0])
    if addr.version == 6 and addr.ipv4_mapped:
        return str(addr.ipv4_mapped)
    return str(addr)


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        sock = self.request
        sock.settimeout(TIMEOUT)
        peer = plain(self.client_address[0])
        try:
            header = parse_header(sock)
        except (BadHeader, OSError) as exc:
            with LOCK:
                STATS["refused"] += 1
            print("refused %s: %s" % (peer, exc), file=sys.stderr, flush=True)
            return
        with LOCK:
            STATS["local" if header["command"] == "LOCAL" else "proxy"] += 1
            stats = dict(STATS)
        if header["command"] == "LOCAL":
            return
        try:
            request = read_request(sock)
        except (BadHeader, OSError):
            return
        if not request:
            return
        path = (request.split() + ["", ""])[1]
        if path == "/source":
            payload, ctype = (header["source"] + "\n").encode(), "text/plain"
        else:
            body = dict(header, peer=peer, request=request, local_connections=stats["local"],
                        proxy_connections=stats["proxy"], refused_connections=stats["refused"])
            payload, ctype = (json.dumps(body, sort_keys=True) + "\n").encode(), "application/json"
        head = ("HTTP/1.0 200 OK\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
                % (ctype, len(payload))).encode()
        try:
            sock.sendall(head + payload)
        except OSError:
            return
        if VERBOSE:
            print("%s:%s via %s: %s" % (header["source"], header["source_port"], peer, request),
                  file=sys.stderr, flush=True)


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address, handler):
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, handler)

    def server_bind(self):
        if self.address_family == socket.AF_INET6:
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


def main(argv=None):
    global VERBOSE  # noqa: PLW0603
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=30080)
    parser.add_argument("--bind", default="0.0.0.0")
    parser.add_argument("--verbose", action="store_true", help="log every request on stderr")
    args = parser.parse_args(argv)
    VERBOSE = args.verbose
    with Server((args.bind, args.port), Handler) as server:
        print("listening on %s port %d (PROXY v2 required)" % (args.bind, args.port), file=sys.stderr, flush=True)
        server.serve_forever()


if __name__ == "__main__":
    main()
