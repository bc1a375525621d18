# -*- coding: utf-8 -*-
# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action for dualstack.k8s.plan_info: the config model and the plan are controller-only code
(plugins/plugin_utils), so the config is read and the plan built here, on the controller. The module
file holds the documentation."""

from __future__ import annotations

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.action import ActionBase

try:
    from ansible_collections.dualstack.k8s.plugins.plugin_utils.config import ConfigError, config_path
    from ansible_collections.dualstack.k8s.plugins.plugin_utils.plan import load_plan
    from ansible_collections.dualstack.k8s.plugins.plugin_utils.role_inputs import controller_inputs
    IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - the inventory plugin needs the same imports
    IMPORT_ERROR = exc

ARGUMENT_SPEC = dict(config=dict(type="path"))


class ActionModule(ActionBase):
    """Validate the config and return the plan, on the controller."""

    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        validation = ArgumentSpecValidator(ARGUMENT_SPEC).validate(self._task.args)
        if validation.error_messages:
            return dict(result, failed=True, msg="; ".join(validation.error_messages))
        path = config_path(validation.validated_parameters.get("config"))
        result.update(changed=False, config=path)
        if IMPORT_ERROR:
            return dict(result, failed=True, msg="pydantic>=2 and netaddr are needed on the controller: %s"
                        % to_native(IMPORT_ERROR))
        try:
            result["plan"] = load_plan(path)
            result["role_inputs"] = controller_inputs(result["plan"])
        except ConfigError as exc:
            return dict(result, failed=True, msg=str(exc),
                        errors=exc.as_list())
        return result
