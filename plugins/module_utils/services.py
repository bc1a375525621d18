# -*- coding: utf-8 -*-
# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE to the dualstack.k8s collection: the API may change without notice.
"""systemd units of a role, many in one module call (managed node side, standard library only).

One `systemctl show` reads every unit; what has to change is decided here (pure functions, unit
tested); the module runs one `systemctl` command per change so that an error names its unit.
"""

from __future__ import annotations

PROPERTIES = ("Id", "LoadState", "ActiveState", "UnitFileState")
# `systemctl is-enabled` exits 0 for these unit file states (systemd's own rule)
ENABLED = ("enabled", "enabled-runtime", "alias", "static", "indirect", "generated", "transient")
# unit file states that `systemctl enable/disable` cannot change: enabled: true/false is left alone
FIXED = ("static", "indirect", "generated", "transient")
RUNNING = ("active", "activating", "reloading")
STATES = ("started", "stopped", "restarted", "reloaded")


class ServicesError(Exception):
    """A bad entry or a unit systemd does not know; the message names the unit."""


def show_command(names):
    return ["systemctl", "show", "--property=" + ",".join(PROPERTIES), "--"] + list(names)


def parse_show(output, names):
    """`systemctl show` prints one block of KEY=value lines per unit, in argument order, blocks
    separated by an empty line. Returns {name: {property: value}}."""
    blocks, current = [], {}
    for line in output.splitlines():
        if not line.strip():
            if current:
                blocks.append(current)
                current = {}
            continue
        key, sep, value = line.partition("=")
        if sep:
            current[key] = value
    if current:
        blocks.append(current)
    if len(blocks) != len(names):
        raise ServicesError("systemctl show returned %d units for %d names (%s)"
                            % (len(blocks), len(names), ", ".join(names)))
    return dict(zip(names, blocks))


def check_entries(units):
    seen = set()
    for unit in units:
        name = unit.get("name") or ""
        if not name or name.startswith("-") or any(ch.isspace() for ch in name):
            raise ServicesError("unit name %r is not a systemd unit name" % name)
        if name in seen:
            raise ServicesError("%s: listed twice" % name)
        seen.add(name)
        if unit.get("state") is not None and unit["state"] not in STATES:
            raise ServicesError("%s: state %r is not one of %s" % (name, unit["state"], ", ".join(STATES)))


def actions_for(unit, status):
    """The systemctl verbs that bring one unit to its entry, in order (enable or disable first,
    then the state, as ansible.builtin.systemd_service does)."""
    name = unit["name"]
    if status.get("LoadState") == "not-found":
        raise ServicesError("%s: no such unit on this host" % name)
    actions = []
    file_state = status.get("UnitFileState", "")
    if unit.get("enabled") is not None and file_state not in FIXED:
        if unit["enabled"] and file_state not in ENABLED:
            actions.append("enable")
        elif not unit["enabled"] and file_state in ENABLED:
            actions.append("disable")
    running = status.get("ActiveState") in RUNNING
    state = unit.get("state")
    if state == "started" and not running:
        actions.append("start")
    elif state == "stopped" and running:
        actions.append("stop")
    elif state == "restarted":
        actions.append("restart")
    elif state == "reloaded":
        actions.append("reload" if running else "start")
    return actions


def describe(status):
    return "%s, %s\n" % (status.get("ActiveState", "unknown"), status.get("UnitFileState") or "no unit file")


def after(status, actions):
    """The state line a unit would have after ``actions`` (for the diff)."""
    active = status.get("ActiveState", "unknown")
    file_state = status.get("UnitFileState") or "no unit file"
    for action in actions:
        if action in ("enable", "disable"):
            file_state = action + "d"
        elif action == "stop":
            active = "inactive"
        else:
            active = "active"
    return "%s, %s\n" % (active, file_state)
