# -*- coding: utf-8 -*-
# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE to the dualstack.k8s collection: the API may change without notice.
"""Files and directories on the managed node, many in one module call.

One place for what every writer of this collection needs: inspect first (so check mode and diff
say exactly what would change), validate a new content before it replaces the old one, write
atomically with the final mode from the start (a secret never sits in a wider-mode file), and
report which entries changed. Standard library only: it runs on the managed node.
"""

from __future__ import annotations

import grp
import os
import pwd
import shlex
import shutil
import stat
import subprocess
import tempfile

SECRET_PLACEHOLDER = "(secret: not shown)\n"
SECRET_CHANGED = "(secret: not shown, new content)\n"
STATES = ("file", "directory", "absent")


class FilesError(Exception):
    """A bad entry or a failed write/validation; the message names the path."""


def parse_mode(value, path):
    """'0644' / '644' / 420 -> 0o644."""
    if isinstance(value, int):
        mode = value
    else:
        text = str(value).strip()
        try:
            mode = int(text, 8)
        except ValueError:
            raise FilesError("%s: mode %r is not an octal number such as '0644'" % (path, value))
    if not 0 <= mode <= 0o7777:
        raise FilesError("%s: mode %r is out of range (0000-7777)" % (path, value))
    return mode


def _uid(name, path):
    try:
        return pwd.getpwnam(name).pw_uid
    except KeyError:
        raise FilesError("%s: owner %r does not exist on this host" % (path, name))


def _gid(name, path):
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        raise FilesError("%s: group %r does not exist on this host" % (path, name))


def normalize(entry):
    """Check one entry and resolve its mode, owner and group. Returns a new dict."""
    path = entry.get("path") or ""
    if not os.path.isabs(path):
        raise FilesError("path %r must be absolute" % path)
    path = os.path.normpath(path)
    state = entry.get("state") or "file"
    if state not in STATES:
        raise FilesError("%s: state %r is not one of %s" % (path, state, ", ".join(STATES)))
    content, secret = entry.get("content"), entry.get("secret_content")
    if content is not None and secret is not None:
        raise FilesError("%s: give content or secret_content, not both" % path)
    text = secret if secret is not None else content
    if state == "file" and text is None:
        raise FilesError("%s: a file needs content or secret_content" % path)
    if state == "directory" and (text is not None or entry.get("validate")):
        raise FilesError("%s: content and validate apply to state=file only" % path)
    validate = entry.get("validate")
    if validate and "%s" not in validate:
        raise FilesError("%s: validate %r must contain %%s (the path of the new file)" % (path, validate))
    norm = dict(path=path, state=state, text=text, secret=secret is not None, validate=validate,
                triggers=list(entry.get("triggers") or []))
    if state != "absent":  # an absent entry ignores content and mode (a file toggled off)
        if entry.get("mode") is None:
            raise FilesError("%s: mode is required (e.g. '0644')" % path)
        norm["mode"] = parse_mode(entry["mode"], path)
        # owner/group None: leave them as they are (new files get the writer's)
        norm["owner"], norm["group"] = entry.get("owner"), entry.get("group")
        norm["uid"] = None if norm["owner"] is None else _uid(norm["owner"], path)
        norm["gid"] = None if norm["group"] is None else _gid(norm["group"], path)
    return norm


def _read_bytes(path):
    with open(path, "rb") as handle:
        return handle.read()


def inspect(norm):
    """What differs between the host and the entry: a list of 'create', 'content', 'mode',
    'owner', 'group', 'remove'; the current text (None when there is none); the current
    stat result (None when the path is absent)."""
    path, state = norm["path"], norm["state"]
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        st = None
    if state == "absent":
        return (["remove"] if st is not None else []), None, None
    if st is None:
        return ["create"], None, None
    changes, before = [], None
    if state == "directory":
        if not stat.S_ISDIR(st.st_mode):
            raise FilesError("%s: wanted a directory, found another kind of file" % path)
    else:
        if stat.S_ISDIR(st.st_mode):
            raise FilesError("%s: wanted a file, found a directory" % path)
        if stat.S_ISLNK(st.st_mode) or not stat.S_ISREG(st.st_mode):
            changes.append("content")
        else:
            raw = _read_bytes(path)
            before = raw.decode("utf-8", "replace")
            if raw != norm["text"].encode("utf-8"):
                changes.append("content")
    if stat.S_IMODE(st.st_mode) != norm["mode"] and not stat.S_ISLNK(st.st_mode):
        changes.append("mode")
    if norm["uid"] is not None and st.st_uid != norm["uid"]:
        changes.append("owner")
    if norm["gid"] is not None and st.st_gid != norm["gid"]:
        changes.append("group")
    return changes, before, st


def _name(lookup, ident):
    try:
        return lookup(ident)[0]
    except KeyError:
        return str(ident)


def _attrs_of(st):
    """The current attributes as text; names are looked up only for a diff that shows them."""
    owner, group = _name(pwd.getpwuid, st.st_uid), _name(grp.getgrgid, st.st_gid)
    return "mode %04o, owner %s, group %s" % (stat.S_IMODE(st.st_mode), owner, group)


def _attrs(norm):
    text = "mode %04o" % norm["mode"]
    for key in ("owner", "group"):
        if norm[key] is not None:
            text += ", %s %s" % (key, norm[key])
    return text


def diff_of(norm, changes, before, st):
    """A before/after dict for Ansible's diff output. Attribute changes are a line of their own
    (mode, owner, group); secret contents are replaced by a placeholder."""
    path, state = norm["path"], norm["state"]
    if state == "absent":
        return dict(before_header=path, after_header="%s (absent)" % path, before="present\n", after="absent\n")
    if state == "directory":
        return dict(before_header=path, after_header=path,
                    before="absent\n" if st is None else "directory, %s\n" % _attrs_of(st),
                    after="directory, %s\n" % _attrs(norm))
    if norm["secret"]:
        old = "" if before is None else SECRET_PLACEHOLDER
        new = SECRET_CHANGED if "content" in changes else SECRET_PLACEHOLDER
    else:
        old = "" if before is None else before
        new = norm["text"]
    if {"mode", "owner", "group"} & set(changes):
        old = "# %s\n%s" % (_attrs_of(st), old)
        new = "# %s\n%s" % (_attrs(norm), new)
    return dict(before_header=path, after_header=path, before=old, after=new)


def _run_validate(command, tmp, path):
    # split first, then put the path in: a directory name with a space stays one argument
    argv = [arg.replace("%s", tmp) for arg in shlex.split(command)]
    try:
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    except OSError as exc:
        raise FilesError("%s: validate %r could not run: %s" % (path, command, exc))
    if proc.returncode != 0:
        out = (proc.stderr or proc.stdout or b"").decode("utf-8", "replace").strip()
        raise FilesError("%s: the new content failed validation (%s, rc=%d): %s"
                         % (path, command, proc.returncode, out or "no output"))


def _chown(path, norm):
    uid = -1 if norm["uid"] is None else norm["uid"]
    gid = -1 if norm["gid"] is None else norm["gid"]
    if (uid, gid) != (-1, -1):
        os.chown(path, uid, gid)


def _make_parent(path):
    parent = os.path.dirname(path)
    if not os.path.isdir(parent):
        os.makedirs(parent, 0o755)


def apply(norm, changes):
    """Bring one entry to its state. A file's new content is validated before it replaces the
    old one; nothing of this entry is changed when validation fails."""
    path = norm["path"]
    if norm["state"] == "absent":
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)
        return
    if norm["state"] == "directory":
        # an earlier entry may have created it since the inspection (as a parent)
        if "create" in changes and not os.path.isdir(path):
            _make_parent(path)
            os.mkdir(path, norm["mode"])
    elif {"create", "content"} & set(changes):
        _make_parent(path)
        fd, tmp = tempfile.mkstemp(prefix=".dualstack.", dir=os.path.dirname(path))
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(norm["text"].encode("utf-8"))
            os.chmod(tmp, norm["mode"])
            _chown(tmp, norm)
            if norm["validate"]:
                _run_validate(norm["validate"], tmp, path)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
    _chown(path, norm)
    os.chmod(path, norm["mode"])


def converge(entries, check_mode=False, want_diff=False):
    """Inspect every entry (all are checked before the first write), then apply them in order.

    Returns a dict: changed, files ({path, state, changed, changes} per entry), changed_paths,
    triggered (the sorted triggers of the changed entries), diff (list, when want_diff).
    Raises FilesError; on a failure during the writes, ``partial`` on the error lists what was
    already applied.
    """
    norms = [normalize(e) for e in entries]
    seen = set()
    for norm in norms:
        if norm["path"] in seen:
            raise FilesError("%s: listed twice" % norm["path"])
        seen.add(norm["path"])
    inspected = [(norm,) + inspect(norm) for norm in norms]
    result = dict(changed=False, files=[], changed_paths=[], triggered=[], diff=[])
    triggered = set()
    for norm, changes, before, st in inspected:
        if changes and not check_mode:
            try:
                apply(norm, changes)
            except (OSError, FilesError) as exc:
                err = exc if isinstance(exc, FilesError) else FilesError("%s: %s" % (norm["path"], exc))
                err.partial = list(result["changed_paths"])
                raise err
        if changes:
            result["changed"] = True
            result["changed_paths"].append(norm["path"])
            triggered.update(norm["triggers"])
            if want_diff:
                result["diff"].append(diff_of(norm, changes, before, st))
        result["files"].append(dict(path=norm["path"], state=norm["state"], changed=bool(changes),
                                    changes=changes))
    result["triggered"] = sorted(triggered)
    return result


def exit_with_diff(module, result, diff):
    """Exit the module with ``result``, and ``diff`` (a list of before/after dicts, or one) only in
    diff mode and when there is one: every module of this collection reports its diff this way."""
    if module._diff and diff:
        result["diff"] = diff
    module.exit_json(**result)
