# -*- coding: utf-8 -*-
# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action for dualstack.k8s.managed_files: renders the entries' O(files[].template) and
O(files[].secret_template) on the controller, then runs the module with the results as
O(files[].content) and O(files[].secret_content).

A template is rendered as C(lookup('ansible.builtin.template', NAME)) renders it: found in the
role's or play's C(templates/), with the task's variables plus the C(template_*) variables and
C(ansible_managed), Jinja includes searched next to it. One difference: the lookup deep-copies all
of the task's variables for every template (a gateway's role with four templates copies them four
times); this action renders them all from one shallow copy, as ansible.builtin.template does."""

from __future__ import annotations

import os

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_native
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible.template import generate_ansible_template_vars, trust_as_template

TEMPLATE_KEYS = {"template": "content", "secret_template": "secret_content"}
CONTENT_KEYS = ("content", "secret_content", "template", "secret_template")


class ActionModule(ActionBase):
    """Render templated entries, then converge every entry with the module."""

    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        args = dict(self._task.args)
        files = args.get("files")
        if isinstance(files, list) and any(isinstance(entry, dict) and set(entry) & set(TEMPLATE_KEYS)
                                           for entry in files):
            try:
                args["files"] = self._render_entries(files, task_vars)
            except AnsibleError as exc:
                return dict(result, failed=True, msg=to_native(exc))
        result.update(self._execute_module(module_name="dualstack.k8s.managed_files", module_args=args,
                                           task_vars=task_vars))
        # as ansible.builtin.normal: the remote temporary directory of a non-pipelined run
        self._remove_tmp_path(self._connection._shell.tmpdir)
        return result

    def _render_entries(self, files, task_vars):
        rendered = []
        base_vars = None
        for index, entry in enumerate(files):
            if not isinstance(entry, dict) or not set(entry) & set(TEMPLATE_KEYS):
                rendered.append(entry)
                continue
            where = "files[%d] (%s)" % (index, entry.get("path", "no path"))
            given = [key for key in CONTENT_KEYS if entry.get(key) is not None]
            if len(given) > 1:
                raise AnsibleError("%s: %s are mutually exclusive" % (where, ", ".join(given)))
            entry = dict(entry)
            key = given[0] if given else next(key for key in TEMPLATE_KEYS if key in entry)
            name = entry.pop(key)
            try:
                enabled = boolean(entry.get("enabled", True), strict=True)
            except TypeError as exc:
                raise AnsibleError("%s: enabled: %s" % (where, to_native(exc))) from exc
            state = entry.get("state") or "file"
            # a left-out entry is not rendered; an absent one ignores its content (as the module does)
            if enabled and state == "directory":
                raise AnsibleError("%s: %s applies to state=file only" % (where, key))
            if enabled and state == "file":
                if not isinstance(name, str) or not name:
                    raise AnsibleError("%s: %s must be the name of a template file" % (where, key))
                if base_vars is None:
                    base_vars = task_vars.copy()
                entry[TEMPLATE_KEYS[key]] = self._render(name, base_vars, where)
            rendered.append(entry)
        return rendered

    def _render(self, name, base_vars, where):
        try:
            source = self._find_needle("templates", name)
        except AnsibleError as exc:
            raise AnsibleError("%s: template %s not found: %s" % (where, name, to_native(exc))) from exc
        # the lookup's Jinja search path: the template's directory, then each search path entry's
        # templates/ and the entry itself
        searchpath = [os.path.dirname(source)]
        for path in base_vars.get("ansible_search_path", []):
            searchpath.extend([os.path.join(path, "templates"), path])
        template_vars = base_vars.copy()
        extra = generate_ansible_template_vars(path=name, fullpath=source)
        if "ansible_managed" in base_vars:  # set by the user: not replaced (as the lookup does)
            extra.pop("ansible_managed", None)
        template_vars.update(extra)
        templar = self._templar.copy_with_new_env(available_variables=template_vars, searchpath=searchpath)
        data = trust_as_template(self._loader.get_text_file_contents(source))
        result = templar.template(data, escape_backslashes=False)
        return "" if result is None else result
