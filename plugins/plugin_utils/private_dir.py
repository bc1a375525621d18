# -*- coding: utf-8 -*-
# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A controller directory only this user can enter: the payload cache's store (pickles ansible-core
loads) and the controller module server's sockets both live in one."""

from __future__ import annotations

import os
import stat


def ensure(path):
    """Create ``path`` (mode 0700) if needed and return it. Raises PermissionError when it is not a
    directory (a symlink included) owned by this user with no access for group or others."""
    os.makedirs(path, mode=0o700, exist_ok=True)
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o077:
        raise PermissionError("%s must be a directory owned by uid %d with mode 0700" % (path, os.geteuid()))
    return path
