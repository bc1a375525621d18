#!/usr/bin/python3
# Managed by dualstack.k8s.wireguard.
"""Validate a wg-quick configuration file without touching any interface.

Usage: wireguard-config-check INTERFACE FILE

Checks the syntax wg-quick accepts (``wg-quick strip``), base64 keys of 32 bytes, the listen
port, Address/AllowedIPs as interface addresses/networks, duplicate peers and duplicate
AllowedIPs. Prints the problems (never a key) and exits 1 on any.
"""
import base64
import ipaddress
import os
import shutil
import subprocess
import sys
import tempfile

KEYS = {
    "interface": {"privatekey", "listenport", "fwmark", "address", "dns", "mtu", "table", "preup", "postup",
                  "predown", "postdown", "saveconfig"},
    "peer": {"publickey", "presharedkey", "allowedips", "endpoint", "persistentkeepalive"},
}


def key_ok(value):
    try:
        return len(base64.b64decode(value, validate=True)) == 32
    except Exception:  # noqa: BLE001
        return False


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    iface, path = argv[1], argv[2]
    errors = []
    section = None
    peers = []
    seen_nets = {}
    interface_seen = False
    with open(path, encoding="utf-8") as fh:
        lines = fh.read().splitlines()
    for lineno, raw in enumerate(lines, 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip().lower()
            if section not in KEYS:
                errors.append(f"line {lineno}: unknown section [{line[1:-1]}]")
            if section == "interface":
                if interface_seen:
                    errors.append(f"line {lineno}: second [Interface]")
                interface_seen = True
            if section == "peer":
                peers.append({"line": lineno})
            continue
        if "=" not in line:
            errors.append(f"line {lineno}: expected Key = Value")
            continue
        key, value = (p.strip() for p in line.split("=", 1))
        lkey = key.lower()
        if section is None or lkey not in KEYS.get(section, set()):
            errors.append(f"line {lineno}: unknown key {key} in [{section}]")
            continue
        if lkey in ("privatekey", "publickey", "presharedkey") and not key_ok(value):
            errors.append(f"line {lineno}: {key} is not a 44-character base64 key")
        elif lkey == "listenport" and not (value.isdigit() and 1 <= int(value) <= 65535):
            errors.append(f"line {lineno}: ListenPort {value!r} is not 1-65535")
        elif lkey == "address":
            for item in filter(None, (v.strip() for v in value.split(","))):
                try:
                    ipaddress.ip_interface(item)
                except ValueError as exc:
                    errors.append(f"line {lineno}: Address {item!r}: {exc}")
        elif lkey == "allowedips":
            for item in filter(None, (v.strip() for v in value.split(","))):
                try:
                    net = ipaddress.ip_network(item, strict=True)
                except ValueError as exc:
                    errors.append(f"line {lineno}: AllowedIPs {item!r}: {exc}")
                    continue
                if net in seen_nets:
                    errors.append(f"line {lineno}: AllowedIPs {net} already routed to the peer on line {seen_nets[net]}")
                seen_nets[net] = lineno
        elif lkey == "publickey" and section == "peer":
            if any(p.get("key") == value for p in peers):
                errors.append(f"line {lineno}: duplicate peer public key")
            peers[-1]["key"] = value
    if not interface_seen:
        errors.append("no [Interface] section")
    for peer in peers:
        if "key" not in peer:
            errors.append(f"line {peer['line']}: [Peer] without PublicKey")
    if shutil.which("wg-quick") and not errors:
        tmp = tempfile.mkdtemp(prefix="wgcheck.")
        try:
            copy = os.path.join(tmp, iface + ".conf")
            shutil.copyfile(path, copy)
            os.chmod(copy, 0o600)
            res = subprocess.run(["wg-quick", "strip", copy], capture_output=True, text=True, check=False)
            if res.returncode != 0:
                errors.append("wg-quick strip: " + res.stderr.strip().replace("\n", "; "))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    for err in errors:
        print(f"{path}: {err}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
