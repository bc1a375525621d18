# -*- coding: utf-8 -*-
# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE to the dualstack.k8s collection: the API may change without notice.
"""What every action of this collection that runs only on the controller shares: no connection, no
files transferred, the task's arguments checked against the action's ARGUMENT_SPEC, a clear message
when the controller lacks a Python library. The config model and the plan are controller-only code
(plugins/plugin_utils), so the actions plan_info, yaook_import and k8s_convert_plan do their work here;
their module files hold the documentation."""

from __future__ import annotations

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.action import ActionBase


class ControllerAction(ActionBase):
    """Subclasses set ARGUMENT_SPEC, IMPORT_ERROR (the ImportError of their imports, or None) and
    NEEDS (what the controller must have), and implement run_on_controller(params, result)."""

    TRANSFERS_FILES = False
    _requires_connection = False
    ARGUMENT_SPEC = {}
    IMPORT_ERROR = None
    NEEDS = "pydantic>=2 and netaddr"

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        validation = ArgumentSpecValidator(self.ARGUMENT_SPEC).validate(self._task.args)
        if validation.error_messages:
            return dict(result, failed=True, msg="; ".join(validation.error_messages))
        if self.IMPORT_ERROR:
            return dict(result, failed=True, msg="%s are needed on the controller: %s"
                        % (self.NEEDS, to_native(self.IMPORT_ERROR)))
        return self.run_on_controller(validation.validated_parameters, result, task_vars or {})

    def run_on_controller(self, params, result, task_vars):
        raise NotImplementedError
