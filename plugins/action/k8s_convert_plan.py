# -*- coding: utf-8 -*-
# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action for dualstack.k8s.k8s_convert_plan: the transition rules of the single -> dual conversion
(plugins/plugin_utils/convert.py) are controller-only code, so they run here. The module file holds
the documentation."""

from __future__ import annotations

from ansible_collections.dualstack.k8s.plugins.plugin_utils.controller_action import ControllerAction

try:
    from ansible_collections.dualstack.k8s.plugins.plugin_utils.config import ConfigError, config_path
    from ansible_collections.dualstack.k8s.plugins.plugin_utils.convert import convert_plan
    from ansible_collections.dualstack.k8s.plugins.plugin_utils.plan import load_plan
    IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover
    IMPORT_ERROR = exc


class ActionModule(ControllerAction):
    """Compare the live cluster with the new plan; refuse with every reason, or return the targets."""

    ARGUMENT_SPEC = dict(
        config=dict(type="path"),
        live=dict(type="dict", required=True),
        check_addresses=dict(type="bool", default=True),
    )
    IMPORT_ERROR = IMPORT_ERROR
    NEEDS = "pydantic>=2, netaddr and PyYAML"

    def run_on_controller(self, params, result, task_vars):
        path = config_path(params.get("config"))
        result.update(changed=False, config=path)
        try:
            plan = load_plan(path)
        except ConfigError as exc:
            return dict(result, failed=True, msg=str(exc), errors=exc.as_list())
        errors, old, targets = convert_plan(params["live"], plan, check_addresses=params["check_addresses"])
        result["errors"] = [list(e) for e in errors]
        result["old"] = old
        result["targets"] = targets
        if errors:
            result["failed"] = True
            result["msg"] = "conversion refused, nothing changed:\n" + "\n".join(
                "  %s: %s" % (key, reason) for key, reason in errors)
        return result
