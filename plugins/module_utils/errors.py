# -*- coding: utf-8 -*-
# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE to the dualstack.k8s collection: the API may change without notice.
"""The one shape of a refusal: every problem names its dotted config key. Standard library only."""

from __future__ import annotations


class KeyedErrors(Exception):
    """``errors`` holds (dotted config key, reason) pairs; the message is ``head`` and one line per pair."""

    def __init__(self, errors, head):
        self.errors = list(errors)
        super().__init__(head + "\n" + bullet_list(self.errors))

    def keys(self):
        return [key for key, dummy in self.errors]

    def as_list(self):
        """The errors as the modules return them: [{"key": dotted key, "reason": text}]."""
        return [dict(key=key, reason=reason) for key, reason in self.errors]


def bullet_list(errors):
    return "\n".join("  - %s: %s" % (key or "<root>", reason) for key, reason in errors)
