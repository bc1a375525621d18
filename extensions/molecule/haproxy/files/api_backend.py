# -*- coding: utf-8 -*-
# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes API stand-in of Molecule scenario "haproxy": PROXY protocol v2, then HTTPS.

    python3 api_backend.py --cert CERT --key KEY [--proxy-v2] [--port 6443] [--bind ::] [--readyz-file FILE]

With --proxy-v2 every connection must start with a valid PROXY protocol v2 header (12-byte signature, version 2,
command LOCAL or PROXY, family/transport, address block of the announced length); a connection
without one is closed without a byte sent back. After the header comes TLS (the certificate given,
self-signed in the scenario) and one HTTP request:
- GET /readyz answers the status written in --readyz-file (default 200 when the file is missing),
  like kube-apiserver's readiness endpoint: the scenario writes 500 to make the backend unready
  while it keeps accepting TCP connections;
- any other request answers 200 with a JSON body: the client address and port the header carried,
  the destination (the VIP the client connected to), the TCP peer of the connection itself (the
  HAProxy gateway) and how many LOCAL connections (HAProxy's health checks with check-send-proxy)
  and /readyz requests it has seen.

Python 3 standard library only; listens on both families (IPv6 socket with IPV6_V6ONLY off).
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import socket
import socketserver
import ssl
import struct
import sys
import threading

SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
HEADER_LEN = 16  # signature (12), version/command (1), family/transport (1), length (2)
FAMILIES = {0x1: ("ipv4", 4, 12), 0x2: ("ipv6", 16, 36), 0x3: ("unix", 108, 216)}
COMMANDS = {0x0: "LOCAL", 0x1: "PROXY"}
MAX_REQUEST = 8192
TIMEOUT = 5.0

STATS = {"local": 0, "proxy": 0, "refused": 0, "readyz": 0}
CONTEXT = None
PROXY_V2 = False
READYZ_FILE = None
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
            header = parse_header(sock) if PROXY_V2 else {"command": "NONE", "family": "unspec"}
        except (BadHeader, OSError) as exc:
            with STATS_LOCK:
                STATS["refused"] += 1
            print(f"refused {peer}: {exc}", file=sys.stderr, flush=True)
            return  # close without answering
        with STATS_LOCK:
            STATS["local" if header["command"] == "LOCAL" else "proxy"] += 1 if PROXY_V2 else 0
            stats = dict(STATS)
        try:
            tls = CONTEXT.wrap_socket(sock, server_side=True)
            request = read_request(tls)
        except (BadHeader, OSError, ssl.SSLError) as exc:
            print(f"no request from {peer}: {exc}", file=sys.stderr, flush=True)
            return
        if not request:  # e.g. a health check that only connects
            return
        if request.split()[1:2] == ["/readyz"]:
            with STATS_LOCK:
                STATS["readyz"] += 1
            try:
                with open(READYZ_FILE, encoding="ascii") as fh:
                    status = int(fh.read().strip() or 200)
            except (OSError, TypeError, ValueError):
                status = 200
            payload = b"ok\n" if status == 200 else b"not ready\n"
        else:
            status = 200
            body = dict(header, peer=peer, request=request, local_connections=stats["local"],
                        proxy_connections=stats["proxy"], refused_connections=stats["refused"],
                        readyz_requests=STATS["readyz"])
            payload = (json.dumps(body, sort_keys=True) + "\n").encode()
        head = (f"HTTP/1.0 {status} {'OK' if status == 200 else 'Error'}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n").encode()
        try:
            tls.sendall(head + payload)
            tls.close()
        except OSError:
            return
        print(f"{header['command']} {header.get('source')} via {peer}: {request} -> {status}", file=sys.stderr, flush=True)


class Server(socketserver.ThreadingTCPServer):
    """Dual-stack threading TCP server."""

    address_family = socket.AF_INET6
    allow_reuse_address = True
    daemon_threads = True

    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


def main(argv=None):
    global CONTEXT, READYZ_FILE, PROXY_V2  # noqa: PLW0603
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=6443)
    parser.add_argument("--bind", default="::")
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--readyz-file", default="/run/api-backend/readyz")
    parser.add_argument("--proxy-v2", action="store_true", help="expect a PROXY protocol v2 header first")
    args = parser.parse_args(argv)
    PROXY_V2 = args.proxy_v2
    CONTEXT = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    CONTEXT.load_cert_chain(args.cert, args.key)
    READYZ_FILE = args.readyz_file
    with Server((args.bind, args.port), Handler) as server:
        print(f"listening on [{args.bind}]:{args.port}", file=sys.stderr, flush=True)
        server.serve_forever()


if __name__ == "__main__":
    main()
