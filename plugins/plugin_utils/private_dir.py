# -*- coding: utf-8 -*-
# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A controller directory only this user can enter: the payload cache's store (pickles ansible-core
loads) and the controller module server's sockets both live in one."""

from __future__ import annotations

import os
import shutil
import stat
import time


def ensure(path):
    """Create ``path`` (mode 0700) if needed and return it. Raises PermissionError when it is not a
    directory (a symlink included) owned by this user with no access for group or others."""
    os.makedirs(path, mode=0o700, exist_ok=True)
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o077:
        raise PermissionError("%s must be a directory owned by uid %d with mode 0700" % (path, os.geteuid()))
    return path


def prune_others(root, keep, max_age_days):
    """Remove the directories in ``root`` other than ``keep`` that were not modified for
    ``max_age_days`` (the stores of other ansible-core or Python builds)."""
    limit = time.time() - max_age_days * 86400
    for name in os.listdir(root):
        path = os.path.join(root, name)
        if path != keep and os.path.isdir(path) and not os.path.islink(path) and os.stat(path).st_mtime < limit:
            shutil.rmtree(path, ignore_errors=True)
