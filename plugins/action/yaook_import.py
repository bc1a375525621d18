# -*- coding: utf-8 -*-
# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action for dualstack.k8s.yaook_import: read a yaook/k8s config.toml on the controller, write this
collection's config.toml after it passed the collection's validation. The mapping lives in
plugins/plugin_utils/yaook.py; the module file holds the documentation."""

from __future__ import annotations

import os
import shutil
import tempfile
import time

from ansible_collections.dualstack.k8s.plugins.plugin_utils.controller_action import ControllerAction

try:
    import tomllib
    from ansible_collections.dualstack.k8s.plugins.plugin_utils import yaook
    from ansible_collections.dualstack.k8s.plugins.plugin_utils.config import ConfigError
    from ansible_collections.dualstack.k8s.plugins.plugin_utils.plan import load_plan
    from ansible_collections.dualstack.k8s.plugins.plugin_utils.report import plan_table
    IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - the inventory plugin needs the same imports
    IMPORT_ERROR = exc

ARGUMENT_SPEC = dict(
    yaook_config=dict(type="path", required=True),
    dest=dict(type="path", required=True),
    ipam=dict(type="path"),
    openstack_cloud=dict(type="str"),
    backup=dict(type="bool", default=False),
)


def import_yaook(yaook_config, dest, ipam=None, openstack_cloud=None, check=False, backup=False):
    """The whole import; returns the module result (a dict). Shared by the action and tools/yaook_import.py."""
    result = dict(changed=False, dest=dest, yaook_config=yaook_config)
    try:
        with open(yaook_config, "rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        return dict(result, failed=True, msg="cannot read %s: %s" % (yaook_config, exc.strerror))
    except tomllib.TOMLDecodeError as exc:
        return dict(result, failed=True, msg="%s is not valid TOML: %s" % (yaook_config, exc))
    if ipam is None:
        beside = os.path.join(os.path.dirname(os.path.abspath(yaook_config)), "wireguard_ipam.toml")
        ipam = beside if os.path.exists(beside) else None
    ipam_data = None
    if ipam:
        try:
            with open(ipam, "rb") as handle:
                ipam_data = tomllib.load(handle)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            return dict(result, failed=True, msg="cannot read the WireGuard IPAM file %s: %s" % (ipam, exc))
    result["ipam"] = ipam
    res = yaook.convert(data, ipam=ipam_data, openstack_cloud=openstack_cloud)
    result["report"] = res.report()
    if res.errors:
        result["errors"] = [dict(key=k, reason=r) for k, r in res.errors]
        return dict(result, failed=True, report_lines=yaook.report_lines(res),
                    msg="%s cannot be imported (%d error%s), nothing was written:\n%s" % (
                        yaook_config, len(res.errors), "" if len(res.errors) == 1 else "s",
                        "\n".join("  - %s: %s" % (k or "<root>", r) for k, r in res.errors)))
    text = yaook.render_toml(res, source=yaook_config)
    result["content"] = text
    # validate exactly the text that would be written, next to dest (relative paths resolve the same)
    where = os.path.dirname(os.path.abspath(dest))
    fd, tmp = tempfile.mkstemp(prefix=".yaook_import.", suffix=".toml", dir=where if os.path.isdir(where) else None)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        try:
            plan = load_plan(tmp)
        except ConfigError as exc:
            errors = yaook.yaook_errors(res, exc.errors)
            result["errors"] = [dict(key=k, reason=r) for k, r in errors]
            del result["report"]   # the errors and the report lines say it; keep the failure readable
            return dict(result, failed=True, report_lines=yaook.report_lines(res),
                        msg="the imported config fails validation (%d error%s), nothing was written:\n%s" % (
                            len(errors), "" if len(errors) == 1 else "s",
                            "\n".join("  - %s: %s" % (k or "<root>", r) for k, r in errors)))
        result["report"]["planned_differently"] = yaook.planned_differently(res, plan)
        result["report_lines"] = yaook.report_lines(res, plan)
        result["plan_lines"] = plan_table(plan)
        before = None
        if os.path.exists(dest):
            with open(dest) as handle:
                before = handle.read()
        result["changed"] = before != text
        result["diff"] = dict(before_header=dest, after_header=dest, before=before or "", after=text)
        if result["changed"] and not check:
            if backup and before is not None:
                result["backup_file"] = "%s.%s~" % (dest, time.strftime("%Y-%m-%d@%H:%M:%S"))
                shutil.copy2(dest, result["backup_file"])
            os.chmod(tmp, 0o644)
            os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return result


class ActionModule(ControllerAction):
    """Import a yaook/k8s config.toml, on the controller."""

    ARGUMENT_SPEC = ARGUMENT_SPEC
    IMPORT_ERROR = IMPORT_ERROR
    NEEDS = "pydantic>=2, netaddr and Python>=3.11 (tomllib)"

    def run_on_controller(self, params, result, task_vars):
        out = import_yaook(params["yaook_config"], params["dest"], ipam=params.get("ipam"),
                           openstack_cloud=params.get("openstack_cloud"), check=bool(self._task.check_mode),
                           backup=params["backup"])
        if not (self._task.diff or self._task.check_mode):
            out.pop("diff", None)
        result.update(out)
        return result
