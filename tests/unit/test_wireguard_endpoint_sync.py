"""Pure logic of the gateways' WireGuard endpoint sync helper (roles/wireguard/files).

The daemon itself runs on real gateways in the Molecule scenarios `wireguard` and `gateways`;
these tests cover the message authentication and the choice of the handshake target."""

import importlib.util
import os
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPEC = importlib.util.spec_from_file_location(
    "wireguard_endpoint_sync", os.path.join(REPO, "roles", "wireguard", "files", "wireguard-endpoint-sync.py"))
sync = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(sync)


@pytest.fixture()
def conf(tmp_path):
    key = tmp_path / "wg0.key"
    key.write_text("yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\n")
    return {"key_file": str(key)}


def test_key_is_derived_not_the_private_key(conf):
    key = sync.sync_key(conf)
    assert len(key) == 32
    assert b"yAnz5TF" not in key
    assert sync.sync_key(conf) == key  # deterministic: every gateway derives the same key


def test_pack_unpack_round_trip(conf):
    key = sync.sync_key(conf)
    payload = {"t": time.time(), "endpoints": {"A" * 43 + "=": "192.0.2.7:51820"}}
    assert sync.unpack(key, sync.pack(key, payload)) == payload


def test_tampered_or_foreign_messages_are_rejected(conf, tmp_path):
    key = sync.sync_key(conf)
    data = sync.pack(key, {"t": 1.0, "endpoints": {"k": "192.0.2.7:1"}})
    tampered = data.replace(b"192.0.2.7", b"192.0.2.8")
    assert sync.unpack(key, tampered) is None
    other = tmp_path / "other.key"
    other.write_text("0" * 43 + "=\n")
    assert sync.unpack(sync.sync_key({"key_file": str(other)}), data) is None
    assert sync.unpack(key, data[:10]) is None


@pytest.mark.parametrize("networks, target", [
    (["172.31.124.2/32", "fd54:124::2/128"], "172.31.124.2"),
    (["fd54:124::2/128"], "fd54:124::2"),
    (["10.9.0.0/24"], "10.9.0.1"),
])
def test_kick_target_is_inside_the_peers_first_allowed_network(networks, target):
    assert sync.kick_target(networks) == target
