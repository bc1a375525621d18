# -*- coding: utf-8 -*-
# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE to the dualstack.k8s collection: the API may change without notice.
"""The rendered files of the kubeadm_config and calico_manifests modules on the managed node.

Inspect first (so check mode and diff say exactly what would change), write atomically with the
final mode from the start (the kubeadm configuration holds the bootstrap token, so it never sits
in a wider-mode file), remove the files of a style no longer rendered, and report which changed.
Standard library only: it runs on the managed node.
"""

from __future__ import annotations

import os
import stat
import tempfile

STATES = ("file", "absent")


class FilesError(Exception):
    """A bad entry or a failed write; the message names the path."""


def normalize(entry):
    """Check one entry {path, content, mode} or {path, state: absent}. Returns a new dict."""
    path = entry.get("path") or ""
    if not os.path.isabs(path):
        raise FilesError("path %r must be absolute" % path)
    path = os.path.normpath(path)
    state = entry.get("state") or "file"
    if state not in STATES:
        raise FilesError("%s: state %r is not one of %s" % (path, state, ", ".join(STATES)))
    norm = dict(path=path, state=state, text=entry.get("content"))
    if state == "file":
        if norm["text"] is None:
            raise FilesError("%s: a file needs content" % path)
        if not isinstance(entry.get("mode"), int) or not 0 <= entry["mode"] <= 0o7777:
            raise FilesError("%s: mode must be an int such as 0o644" % path)
        norm["mode"] = entry["mode"]
    return norm


def inspect(norm):
    """What differs between the host and the entry ('create', 'content', 'mode', 'remove'), the
    current text (None when there is none) and the current stat result (None when absent)."""
    path = norm["path"]
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        st = None
    if norm["state"] == "absent":
        return (["remove"] if st is not None else []), None, None
    if st is None:
        return ["create"], None, None
    if stat.S_ISDIR(st.st_mode):
        raise FilesError("%s: wanted a file, found a directory" % path)
    changes, before = [], None
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISREG(st.st_mode):
        changes.append("content")
    else:
        with open(path, "rb") as handle:
            raw = handle.read()
        before = raw.decode("utf-8", "replace")
        if raw != norm["text"].encode("utf-8"):
            changes.append("content")
    if stat.S_IMODE(st.st_mode) != norm["mode"] and not stat.S_ISLNK(st.st_mode):
        changes.append("mode")
    return changes, before, st


def diff_of(norm, changes, before, st):
    """A before/after dict for Ansible's diff output; a mode change is a line of its own."""
    path = norm["path"]
    if norm["state"] == "absent":
        return dict(before_header=path, after_header="%s (absent)" % path, before="present\n", after="absent\n")
    old = "" if before is None else before
    new = norm["text"]
    if "mode" in changes:
        old = "# mode %04o\n%s" % (stat.S_IMODE(st.st_mode), old)
        new = "# mode %04o\n%s" % (norm["mode"], new)
    return dict(before_header=path, after_header=path, before=old, after=new)


def apply(norm, changes):
    """Bring one entry to its state: remove it, or write it atomically with its mode."""
    path = norm["path"]
    if norm["state"] == "absent":
        os.unlink(path)
        return
    if {"create", "content"} & set(changes):
        parent = os.path.dirname(path)
        if not os.path.isdir(parent):
            os.makedirs(parent, 0o755)
        fd, tmp = tempfile.mkstemp(prefix=".dualstack.", dir=parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(norm["text"].encode("utf-8"))
            os.chmod(tmp, norm["mode"])
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
    os.chmod(path, norm["mode"])


def converge(entries, check_mode=False, want_diff=False):
    """Inspect every entry (all are checked before the first write), then apply them in order.

    Returns a dict: changed, files ({path, state, changed, changes} per entry), changed_paths and
    diff (list, when want_diff). Raises FilesError.
    """
    norms = [normalize(e) for e in entries]
    if len(set(n["path"] for n in norms)) != len(norms):
        raise FilesError("a path is listed twice")
    inspected = [(norm,) + inspect(norm) for norm in norms]
    result = dict(changed=False, files=[], changed_paths=[], diff=[])
    for norm, changes, before, st in inspected:
        if changes and not check_mode:
            try:
                apply(norm, changes)
            except OSError as exc:
                raise FilesError("%s: %s" % (norm["path"], exc))
        if changes:
            result["changed"] = True
            result["changed_paths"].append(norm["path"])
            if want_diff:
                result["diff"].append(diff_of(norm, changes, before, st))
        result["files"].append(dict(path=norm["path"], state=norm["state"], changed=bool(changes),
                                    changes=changes))
    return result


def exit_with_diff(module, result, diff):
    """Exit the module with ``result``, and ``diff`` (a list of before/after dicts, or one) only in
    diff mode and when there is one."""
    if module._diff and diff:
        result["diff"] = diff
    module.exit_json(**result)
