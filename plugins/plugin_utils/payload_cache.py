# -*- coding: utf-8 -*-
# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""AnsiballZ payloads kept from one ansible-playbook run to the next (controller side).

ansible-core builds a module's AnsiballZ payload (the module and every module_utils file it imports,
found by parsing their sources) once per run. It stores the result in the run's temporary directory
(`<local tmp>/ansiballz_cache/<module fqcn>-<compression>-<extensions>`), and deletes it at the end
of the run. Building one takes a worker a good part of a second. While it builds, every other
worker that needs the same module waits on its lock.

This cache keeps those files between runs in a private directory (0700, owned by the user):

    <store>/<key>/<ansible cache file name>        the file as ansible-core wrote it
    <store>/<key>/<ansible cache file name>.json   its manifest: every zip member and its SHA-256

`<key>` hashes the ansible-core version, the Python version and the payload builder's own code, so
another ansible-core never sees these files. Before a run uses a stored payload, every member of
its zip is checked against the file it came from on the controller now (found in the ansible
package or, through the collection loader, in the collection it belongs to): the same bytes, or
the payload is dropped and ansible-core builds it again. A payload is stored only when every member
maps to such a source file with the same bytes; the package `__init__.py` stubs that ansible-core
writes itself are the only exception (their controller file, or its absence, is still checked).
A module from a role's `library/` (`ansible.legacy.*`) is never stored.

Nothing here changes what a module is sent or how: the files handed to ansible-core are the ones it
wrote itself in an earlier run, byte for byte.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import io
import json
import os
import pickle
import sys
import tempfile
import zipfile

import ansible
from ansible import constants as C
from ansible import release

from ansible_collections.dualstack.k8s.plugins.plugin_utils import private_dir

OFF = ("", "0", "off", "false", "no")  # values of the cache_dir option that turn the cache off
RUN_CACHE = "ansiballz_cache"
MANIFEST = ".json"
MAX_AGE_DAYS = 30
# The code that builds a payload: a change in it is a change of key.
BUILDER_FILES = ("executor/module_common.py", "_internal/_ansiballz/_builder.py",
                 "_internal/_ansiballz/_wrapper.py")


def store_root(value):
    """The store directory for a configured value, or None when the cache is turned off."""
    if value is None or value.strip().lower() in OFF:
        return None
    return os.path.abspath(os.path.expanduser(value))


def sha256_bytes(data):
    return hashlib.sha256(data).hexdigest()


def builder_key():
    """Which ansible-core and Python build the payloads (a short hex string)."""
    digest = hashlib.sha256()
    digest.update(("%s\0%s\0" % (release.__version__, sys.version)).encode())
    base = os.path.dirname(ansible.__file__)
    for rel in BUILDER_FILES:
        path = os.path.join(base, rel)
        digest.update(rel.encode() + b"\0")
        if os.path.exists(path):
            with open(path, "rb") as handle:
                digest.update(handle.read())
    return digest.hexdigest()[:20]


class Sources:
    """Controller files behind the payload's zip members, with their SHA-256 (read once per run)."""

    def __init__(self):
        self._collections = {}
        self._digests = {}

    def path(self, member):
        """The controller file a zip member comes from, or None."""
        parts = member.split("/")
        if parts[0] == "ansible" and len(parts) > 1 and parts[1] != "legacy":
            return os.path.join(os.path.dirname(ansible.__file__), *parts[1:])
        if parts[0] == "ansible_collections" and len(parts) > 3:
            root = self._collection(parts[1], parts[2])
            return os.path.join(root, *parts[3:]) if root else None
        return None

    def _collection(self, namespace, name):
        fqcn = "%s.%s" % (namespace, name)
        if fqcn not in self._collections:
            try:
                spec = importlib.util.find_spec("ansible_collections." + fqcn)
            except (ImportError, ValueError):
                spec = None
            locations = list(spec.submodule_search_locations or []) if spec else []
            self._collections[fqcn] = locations[0] if locations else None
        return self._collections[fqcn]

    def digest(self, member):
        """SHA-256 of the member's controller file, or None when it has none."""
        path = self.path(member)
        if path is None:
            return None
        if path not in self._digests:
            try:
                with open(path, "rb") as handle:
                    self._digests[path] = sha256_bytes(handle.read())
            except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
                self._digests[path] = None
        return self._digests[path]


def manifest_of(cache_file, sources):
    """The manifest of one of ansible-core's cache files, or (None, reason) when it cannot be checked.

    Each member maps to the SHA-256 of its controller file when it was stored (None: no file). A
    member must have the same bytes as that file, except the package `__init__.py` files that the
    payload builder writes itself (namespace stubs, the version): their content depends on the
    builder and the ansible-core version only, which the key covers.
    """
    with open(cache_file, "rb") as handle:
        cached = pickle.load(handle)  # written by ansible-core in this run's private temporary directory
    members = {}
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(cached.zip_data))) as archive:
        for info in archive.infolist():
            source = sources.digest(info.filename)
            if source != sha256_bytes(archive.read(info)) and not info.filename.endswith("/__init__.py"):
                if source is None:
                    return None, "%s has no controller file to check it against" % info.filename
                return None, "%s differs from its controller file" % info.filename
            members[info.filename] = source
    return {"members": members}, None


def still_valid(manifest, sources):
    """True when every member's controller file is as it was when the payload was stored."""
    members = manifest.get("members")
    if not isinstance(members, dict) or not members:
        return False
    return all(sources.digest(member) == digest for member, digest in members.items())


def _write_atomic(path, data):
    handle, temp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".part-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise


class PayloadCache:
    """Restores stored payloads into this run's AnsiballZ cache and stores the new ones."""

    def __init__(self, root, run_tmp=None, log=None):
        self.root = root
        self.run_cache = os.path.join(run_tmp or C.DEFAULT_LOCAL_TMP, RUN_CACHE)
        self.log = log or (lambda message: None)
        self.sources = Sources()
        self.key_dir = None
        self.known = set()
        self.stats = {"restored": 0, "dropped": 0, "stored": 0, "not_stored": 0}

    def _key_dir(self):
        if self.key_dir is None:
            # raises PermissionError (an OSError) for a directory others could write to
            private_dir.ensure(self.root)
            self.key_dir = private_dir.ensure(os.path.join(self.root, builder_key()))
        return self.key_dir

    def restore(self):
        """Copy every stored payload that is still valid into the run's cache; drop the others."""
        key_dir = self._key_dir()
        os.makedirs(self.run_cache, exist_ok=True)
        for entry in sorted(os.listdir(key_dir)):
            if not entry.endswith(MANIFEST):
                continue
            name = entry[:-len(MANIFEST)]
            stored = os.path.join(key_dir, name)
            try:
                with open(os.path.join(key_dir, entry), encoding="utf-8") as handle:
                    manifest = json.load(handle)
            except (OSError, ValueError):
                manifest = {}
            if not os.path.isfile(stored) or not still_valid(manifest, self.sources):
                self._drop(key_dir, name)
                continue
            target = os.path.join(self.run_cache, name)
            if not os.path.exists(target):
                with open(stored, "rb") as handle:
                    _write_atomic(target, handle.read())
            self.known.add(name)
            self.stats["restored"] += 1
        self._prune_old_keys()
        return self.stats

    def _drop(self, key_dir, name):
        for path in (os.path.join(key_dir, name), os.path.join(key_dir, name + MANIFEST)):
            if os.path.exists(path):
                os.unlink(path)
        self.stats["dropped"] += 1
        self.log("payload cache: dropped %s (a source file changed)" % name)

    def store(self):
        """Keep every payload this run built that can be checked next time."""
        if not os.path.isdir(self.run_cache):
            return self.stats
        key_dir = self._key_dir()
        for name in sorted(os.listdir(self.run_cache)):
            path = os.path.join(self.run_cache, name)
            if name in self.known or name.endswith((".lock", "-part")) or name.startswith("ansible.legacy."):
                continue
            self.known.add(name)
            if not os.path.isfile(path):
                continue
            manifest, reason = manifest_of(path, self.sources)
            if manifest is None:
                self.stats["not_stored"] += 1
                self.log("payload cache: not storing %s: %s" % (name, reason))
                continue
            with open(path, "rb") as handle:
                _write_atomic(os.path.join(key_dir, name), handle.read())
            # the manifest last: an entry without it is never used
            _write_atomic(os.path.join(key_dir, name + MANIFEST), json.dumps(manifest, sort_keys=True).encode())
            self.stats["stored"] += 1
        return self.stats

    def _prune_old_keys(self):
        """Remove the stores of other ansible-core builds not used for MAX_AGE_DAYS."""
        private_dir.prune_others(self.root, self.key_dir, MAX_AGE_DAYS)
