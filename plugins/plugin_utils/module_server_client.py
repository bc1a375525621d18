# -*- coding: utf-8 -*-
# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The controller side of the module server (``module_server.py``), shared by the connections
``dualstack.k8s.podman_exec`` (a server in each lab container) and ``dualstack.k8s.local_server``
(one on the controller): naming a server, reaching it, starting it once under a lock.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import os
import re
import socket

from ansible import release
from ansible.module_utils import basic

from ansible_collections.dualstack.k8s.plugins.plugin_utils import module_server

# The AnsiballZ payload's zip (base64), for the server to import ansible.module_utils from.
PAYLOAD_ZIP = re.compile(rb"zip_data=(['\"])([A-Za-z0-9+/=]+)\1")

_FINGERPRINTS = {}


class ServerUnavailable(Exception):
    """The module server could not be reached or started; the caller runs the module without it."""


def fingerprint(interpreter, preload=()):
    """Names a server: this controller's ansible-core (version, basic.py, the AnsiballZ loader), the
    server's own code, the interpreter and what it preloads. Another controller gets its own."""
    key = (interpreter, tuple(preload))
    if key not in _FINGERPRINTS:
        digest = hashlib.sha256()
        digest.update("\0".join((release.__version__, interpreter) + tuple(preload)).encode() + b"\0")
        loader = os.path.join(os.path.dirname(basic.__file__), "_internal", "_ansiballz", "_loader.py")
        for path in (basic.__file__, loader, module_server.__file__):
            with open(path, "rb") as handle:
                digest.update(handle.read())
        _FINGERPRINTS[key] = digest.hexdigest()[:16]
    return _FINGERPRINTS[key]


def payload_zip(in_data):
    """The zip inside an AnsiballZ payload (bytes), or None."""
    found = PAYLOAD_ZIP.search(in_data)
    return base64.b64decode(found.group(2)) if found else None


def connect(sock_path):
    """A socket connected to the server on ``sock_path``, or None when none listens there."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(sock_path)
    except OSError:
        sock.close()
        return None
    return sock


def connect_or_start(sock_path, lock_path, start):
    """Connect to the server; when none listens, call ``start()`` under ``lock_path`` (one start for
    all workers) and connect again. Raises ServerUnavailable."""
    sock = connect(sock_path)
    if sock is None:
        with open(lock_path, "a", encoding="utf-8") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            sock = connect(sock_path)
            if sock is None:
                start()
                sock = connect(sock_path)
        if sock is None:
            raise ServerUnavailable("no server listens on %s" % sock_path)
    return sock
