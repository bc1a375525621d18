# -*- coding: utf-8 -*-
# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE to the dualstack.k8s collection: the API may change without notice.
"""Flag edits of the files the single -> dual conversion changes on a host: pure functions, standard
library only (they run on the managed node through the k8s_flags module).

- ``set_manifest_flags(text, sets, remove)``: a kubeadm static pod manifest
  (/etc/kubernetes/manifests/kube-apiserver.yaml, kube-controller-manager.yaml), whose command has one
  flag per line (``    - --name=value``). A flag's line keeps its place; a new one goes after the
  last flag line with the same indentation; nothing else in the file changes.
- ``set_kubelet_flags(text, sets, remove)``: /var/lib/kubelet/kubeadm-flags.env
  (``KUBELET_KUBEADM_ARGS="--a=b --c=d"``), same rules.
"""

from __future__ import annotations

import re
import shlex

FLAG_LINE = re.compile(r"^(?P<indent>\s*-\s+)(?P<quote>[\"']?)--(?P<name>[A-Za-z0-9-]+)(?:=(?P<value>.*?))?(?P=quote)\s*$")
ENV_LINE = re.compile(r"^(?P<head>\s*KUBELET_KUBEADM_ARGS=)(?P<value>.*)$", re.M)


class FlagError(Exception):
    pass


def _quote(value):
    """A YAML scalar for a flag line: plain unless it needs quotes (kubeadm writes them plain)."""
    text = "--%s" % value
    if re.match(r"^[A-Za-z0-9_./:,=@+-]+$", text):
        return text
    return '"%s"' % text.replace("\\", "\\\\").replace('"', '\\"')


def set_manifest_flags(text, sets, remove=()):
    """(new text, {flag: (old value or None, new value or None)}) of a static pod manifest."""
    lines = text.split("\n")
    seen = {}
    last = None
    out = []
    changes = {}
    for line in lines:
        m = FLAG_LINE.match(line)
        if not m:
            out.append(line)
            continue
        name, value = m.group("name"), m.group("value") or ""
        last = (len(out), m.group("indent"))
        if name in remove:
            changes[name] = (value, None)
            last = (len(out) - 1, m.group("indent"))
            continue
        if name in sets:
            seen[name] = True
            want = str(sets[name])
            if want != value:
                changes[name] = (value, want)
                line = m.group("indent") + _quote("%s=%s" % (name, want))
        out.append(line)
    missing = [n for n in sets if n not in seen]
    if missing:
        if last is None:
            raise FlagError("no command flag lines (    - --name=value) found: not a kubeadm static pod manifest")
        index, indent = last
        for offset, name in enumerate(missing):
            out.insert(index + 1 + offset, indent + _quote("%s=%s" % (name, sets[name])))
            changes[name] = (None, str(sets[name]))
    return "\n".join(out), changes


def set_kubelet_flags(text, sets, remove=()):
    """(new text, changes) of kubeadm-flags.env: the flags of KUBELET_KUBEADM_ARGS updated in place."""
    m = ENV_LINE.search(text)
    if not m:
        raise FlagError("no KUBELET_KUBEADM_ARGS= line: not a kubeadm kubeadm-flags.env")
    raw = m.group("value").strip()
    words = shlex.split(raw)
    if len(words) == 1 and " " in words[0]:
        words = shlex.split(words[0])
    changes = {}
    out = []
    seen = set()
    for word in words:
        if word.startswith("--"):
            name, sep, value = word[2:].partition("=")
            if name in remove:
                changes[name] = (value, None)
                continue
            if name in sets:
                seen.add(name)
                want = str(sets[name])
                if want != value or not sep:
                    changes[name] = (value, want)
                    word = "--%s=%s" % (name, want)
        out.append(word)
    for name in sets:
        if name not in seen:
            out.append("--%s=%s" % (name, sets[name]))
            changes[name] = (None, str(sets[name]))
    if not changes:
        return text, {}
    line = m.group("head") + '"%s"' % " ".join(out)
    return text[:m.start()] + line + text[m.end():], changes


def edit(kind, text, sets, remove=()):
    if kind == "manifest":
        return set_manifest_flags(text, sets, remove)
    return set_kubelet_flags(text, sets, remove)
