# -*- coding: utf-8 -*-
# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE to the dualstack.k8s collection: the API may change without notice.
"""Kernel settings through /proc/sys, persisted in a sysctl.d file (managed node side).

Reads the live values, writes the file (through files.converge: atomic, diff, check mode) and
writes each live value that differs, the way `sysctl -w` does. Standard library only.
"""

from __future__ import annotations

import errno
import os
import re

from ansible_collections.dualstack.k8s.plugins.module_utils.files import FilesError, converge

# net.ipv6.conf.eth0/100.accept_ra: dot-separated components; a component may hold '/' for a '.'
_NAME = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_/:@+-]+)+$")


class SysctlError(Exception):
    """A bad setting or a value the kernel refused; the message names the setting."""


def proc_path(name, proc_dir="/proc/sys"):
    """net.ipv6.conf.eth0/100.accept_ra -> /proc/sys/net/ipv6/conf/eth0.100/accept_ra"""
    if not _NAME.match(name):
        raise SysctlError("%s: not a sysctl name (dot-separated, such as net.ipv4.ip_forward)" % name)
    return os.path.join(proc_dir, *[part.replace("/", ".") for part in name.split(".")])


def normalize_value(value):
    """The kernel prints multi-field values with tabs; compare them field by field."""
    return " ".join(str(value).split())


def render(settings, header=""):
    """The sysctl.d file: the header as comment lines, then `name = value` in the given order."""
    lines = ["# %s" % line if line else "#" for line in header.splitlines()]
    lines += ["%s = %s" % (name, normalize_value(value)) for name, value in settings.items()]
    return "\n".join(lines) + "\n"


def read_values(settings, proc_dir="/proc/sys"):
    """The live value of every setting. Raises SysctlError for an unknown one."""
    current = {}
    for name in settings:
        path = proc_path(name, proc_dir)
        try:
            with open(path, encoding="utf-8") as handle:
                current[name] = normalize_value(handle.read())
        except FileNotFoundError:
            raise SysctlError("%s: no such kernel setting on this host (%s)" % (name, path))
        except OSError as exc:
            raise SysctlError("%s: cannot read %s: %s" % (name, path, exc.strerror or exc))
    return current


def _write(name, value, proc_dir):
    path = proc_path(name, proc_dir)
    try:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(value + "\n")
    except OSError as exc:
        if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            raise SysctlError(
                "%s: %s is read-only here (%s). In a container, /proc/sys/net must be mounted read-write "
                "(the dualstack.k8s lab image re-mounts it when the container has CAP_SYS_ADMIN; "
                "see docs/gateways.md)." % (name, path, exc.strerror or exc))
        raise SysctlError("%s: the kernel refused %r (%s)" % (name, value, exc.strerror or exc))


def converge_settings(settings, path, header="", owner="root", group="root", mode="0644",
                      check_mode=False, want_diff=False, proc_dir="/proc/sys"):
    """Persist ``settings`` in ``path`` and make the live values match.

    Returns a dict: changed, file_changed, applied (the names written to /proc/sys, in order),
    before (every live value before), diff (list, when want_diff). Raises SysctlError or FilesError.
    """
    if not settings:
        raise SysctlError("settings: at least one setting is needed")
    wanted = {name: normalize_value(value) for name, value in settings.items()}
    before = read_values(wanted, proc_dir)
    files = converge([dict(path=path, content=render(wanted, header), owner=owner, group=group, mode=mode)],
                     check_mode=check_mode, want_diff=want_diff)
    applied = [name for name, value in wanted.items() if before[name] != value]
    if not check_mode:
        for name in applied:
            _write(name, wanted[name], proc_dir)
    diff = files["diff"]
    if want_diff and applied:
        diff.append(dict(before_header="%s (live)" % proc_dir, after_header="%s (live)" % proc_dir,
                         before="".join("%s = %s\n" % (name, before[name]) for name in applied),
                         after="".join("%s = %s\n" % (name, wanted[name]) for name in applied)))
    return dict(changed=files["changed"] or bool(applied), file_changed=files["changed"], applied=applied,
                before=before, diff=diff)


__all__ = ["FilesError", "SysctlError", "converge_settings", "normalize_value", "proc_path", "read_values",
           "render"]
