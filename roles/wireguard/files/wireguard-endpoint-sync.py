#!/usr/bin/python3
# Managed by dualstack.k8s.wireguard.
"""Keep the clients' WireGuard endpoints known on every gateway, and start handshakes on failover.

Usage: wireguard-endpoint-sync CONFIG serve | kick | status

All gateways share one WireGuard identity, but a WireGuard session (and the client's current
address and port, its "endpoint") lives only on the gateway that holds the VIP. After a failover
the new holder drops the client's packets until the client's own timer starts a new handshake,
about 15 s later. This helper closes that gap:

serve   runs on every gateway (systemd). Every `interval` seconds the gateway that holds the VIP
        sends its peers' endpoints (`wg show IFACE endpoints`) to the other gateways over UDP,
        authenticated with HMAC-SHA256 under a key derived from the shared WireGuard private key
        and stamped with the time (older than `max_age` seconds or not newer than the last one
        from that sender: dropped). A gateway that does not hold the VIP applies them with
        `wg set IFACE peer KEY endpoint ADDR:PORT`. Only configured gateway addresses are
        accepted as senders; only peers that exist on the interface are touched.
kick    runs when keepalived makes this gateway the VIP holder (hook in vip-acquired.d): one
        datagram into the tunnel towards every peer with a known endpoint makes WireGuard start
        the handshake at once; the client answers and switches to the new session.
status  prints the peers, their endpoints and whether this gateway holds the VIP.

The configuration (JSON, written by the role): interface, key_file, port, listen (own
addresses), gateways (one address of each other gateway), vips, interval, max_age.
"""
import hashlib
import hmac
import ipaddress
import json
import select
import socket
import subprocess
import sys
import time

MAC_LEN = 32
KICK_PORT = 9  # discard; the datagram only has to enter the tunnel


def log(msg):
    print(msg, flush=True)


def wg(*args):
    return subprocess.run(["wg"] + list(args), check=True, capture_output=True, text=True).stdout


def endpoints(iface):
    """{public key: "addr:port" or None} of every peer on the interface."""
    out = {}
    for line in wg("show", iface, "endpoints").splitlines():
        parts = line.split("\t")
        if len(parts) == 2:
            out[parts[0]] = None if parts[1] == "(none)" else parts[1]
    return out


def allowed_ips(iface):
    out = {}
    for line in wg("show", iface, "allowed-ips").splitlines():
        parts = line.split("\t")
        if len(parts) == 2 and parts[1] != "(none)":
            out[parts[0]] = parts[1].split()
    return out


def local_addresses():
    data = json.loads(subprocess.run(["ip", "-j", "addr", "show"], check=True, capture_output=True,
                                     text=True).stdout or "[]")
    return {str(ipaddress.ip_address(a["local"])) for link in data for a in link.get("addr_info", [])}


def holds_vip(conf):
    vips = {str(ipaddress.ip_address(v)) for v in conf["vips"]}
    return bool(vips & local_addresses())


def sync_key(conf):
    """The HMAC key: derived from the shared WireGuard private key, read each time (a new identity
    needs no restart). The private key itself is never sent."""
    with open(conf["key_file"], "rb") as handle:
        secret = handle.read().strip()
    return hashlib.sha256(b"dualstack.k8s wireguard endpoint sync\0" + secret).digest()


def pack(key, payload):
    body = json.dumps(payload, sort_keys=True).encode()
    return hmac.new(key, body, hashlib.sha256).digest() + body


def unpack(key, data):
    mac, body = data[:MAC_LEN], data[MAC_LEN:]
    if len(mac) < MAC_LEN or not hmac.compare_digest(mac, hmac.new(key, body, hashlib.sha256).digest()):
        return None
    return json.loads(body)


def open_sockets(conf):
    socks = []
    for addr in conf["listen"]:
        ip = ipaddress.ip_address(addr)
        sock = socket.socket(socket.AF_INET6 if ip.version == 6 else socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((str(ip), conf["port"]))
        socks.append(sock)
    return socks


def send(conf, socks, iface):
    known = {key: ep for key, ep in endpoints(iface).items() if ep}
    data = pack(sync_key(conf), {"t": time.time(), "endpoints": known})
    for gateway in conf["gateways"]:
        version = ipaddress.ip_address(gateway).version
        sock = next((s for s in socks if (s.family == socket.AF_INET6) == (version == 6)), None)
        if sock is None:
            log("send to %s: no listen address of that family" % gateway)
            continue
        try:
            sock.sendto(data, (gateway, conf["port"]))
        except OSError as exc:
            log("send to %s: %s" % (gateway, exc))


def receive(conf, sock, iface, last_seen):
    data, addr = sock.recvfrom(65535)
    sender = str(ipaddress.ip_address(addr[0].split("%")[0]))
    if sender not in {str(ipaddress.ip_address(g)) for g in conf["gateways"]}:
        return
    try:
        payload = unpack(sync_key(conf), data)
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        log("dropped an unauthenticated datagram from %s" % sender)
        return
    stamp = float(payload.get("t", 0))
    if abs(time.time() - stamp) > conf["max_age"] or stamp <= last_seen.get(sender, 0):
        return
    last_seen[sender] = stamp
    if holds_vip(conf):
        return  # the VIP holder's own endpoints are the live ones
    current = endpoints(iface)
    for key, endpoint in sorted((payload.get("endpoints") or {}).items()):
        if key in current and current[key] != endpoint:
            wg("set", iface, "peer", key, "endpoint", endpoint)
            log("peer %s... endpoint %s (from %s)" % (key[:8], endpoint, sender))


def serve(conf):
    iface = conf["interface"]
    socks = open_sockets(conf)
    last_seen = {}
    next_send = 0.0
    log("serving on %s port %d, peers %s" % (", ".join(conf["listen"]), conf["port"], ", ".join(conf["gateways"])))
    while True:
        now = time.monotonic()
        if now >= next_send:
            next_send = now + conf["interval"]
            try:
                if holds_vip(conf):
                    send(conf, socks, iface)
            except (OSError, subprocess.CalledProcessError) as exc:
                log("send: %s" % exc)
        ready = select.select(socks, [], [], max(0.0, next_send - time.monotonic()))[0]
        for sock in ready:
            try:
                receive(conf, sock, iface, last_seen)
            except (OSError, ValueError, subprocess.CalledProcessError) as exc:
                log("receive: %s" % exc)


def kick_target(networks):
    """An address inside the peer's first allowed network (the host itself for /32 and /128)."""
    net = ipaddress.ip_network(networks[0], strict=False)
    return str(net.network_address if net.num_addresses == 1 else net.network_address + 1)


def kick(conf):
    iface = conf["interface"]
    known = {key: ep for key, ep in endpoints(iface).items() if ep}
    allowed = allowed_ips(iface)
    for key in sorted(known):
        if not allowed.get(key):
            continue
        target = kick_target(allowed[key])
        family = socket.AF_INET6 if ipaddress.ip_address(target).version == 6 else socket.AF_INET
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, iface.encode())
            try:
                sock.sendto(b"", (target, KICK_PORT))
                log("handshake towards peer %s... at %s via %s" % (key[:8], known[key], target))
            except OSError as exc:
                log("kick %s: %s" % (target, exc))


def status(conf):
    print("holds VIP: %s" % ("yes" if holds_vip(conf) else "no"))
    for key, endpoint in sorted(endpoints(conf["interface"]).items()):
        print("%s\t%s" % (key, endpoint or "(none)"))


def main(argv):
    if len(argv) != 3 or argv[2] not in ("serve", "kick", "status"):
        sys.stderr.write("usage: wireguard-endpoint-sync CONFIG serve|kick|status\n")
        return 2
    with open(argv[1], encoding="utf-8") as handle:
        conf = json.load(handle)
    conf.setdefault("interval", 1.0)
    conf.setdefault("max_age", 30.0)
    {"serve": serve, "kick": kick, "status": status}[argv[2]](conf)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
