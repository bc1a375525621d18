# -*- coding: utf-8 -*-
# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action for dualstack.k8s.plan_info: the config model and the plan are controller-only code
(plugins/plugin_utils), so the config is read and the plan built here, on the controller. The module
file holds the documentation."""

from __future__ import annotations

from ansible_collections.dualstack.k8s.plugins.plugin_utils.controller_action import ControllerAction

try:
    from ansible_collections.dualstack.k8s.plugins.plugin_utils.config import ConfigError, config_path
    from ansible_collections.dualstack.k8s.plugins.plugin_utils.plan import load_plan
    from ansible_collections.dualstack.k8s.plugins.plugin_utils.role_inputs import controller_inputs
    IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - the inventory plugin needs the same imports
    IMPORT_ERROR = exc


class ActionModule(ControllerAction):
    """Validate the config and return the plan, on the controller."""

    ARGUMENT_SPEC = dict(config=dict(type="path"))
    IMPORT_ERROR = IMPORT_ERROR

    def run_on_controller(self, params, result, task_vars):
        path = config_path(params.get("config"))
        result.update(changed=False, config=path)
        try:
            result["plan"] = load_plan(path)
            result["role_inputs"] = controller_inputs(result["plan"])
        except ConfigError as exc:
            return dict(result, failed=True, msg=str(exc), errors=exc.as_list())
        return result
