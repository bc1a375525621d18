# -*- coding: utf-8 -*-
# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: warmup
type: aggregate
short_description: Keep module payloads and compiled templates between runs; import shared plugins before workers fork
version_added: 0.1.0
description:
  - Changes no result and prints nothing below C(-vvv). It saves the controller three kinds of
    repeated work.
  - B(Module payloads.) ansible-core builds the AnsiballZ payload of every module a run uses once
    per run. A payload is the module and every module_utils file it imports, found by parsing them.
    The payloads are thrown away when the run ends. This callback keeps them in a private directory
    and hands them back to the next run before its first play. A run that uses the same modules does
    not build them again, and its workers do not wait on each other's builds.
  - A kept payload is used only when every file in it still has the same bytes as its source on the
    controller (in the ansible package, or in the collection it belongs to). Any change drops the
    payload, and ansible-core builds it afresh. The store is keyed by the ansible-core version, the
    Python version and the code that builds payloads. Modules from a role's C(library/) are never
    kept. See C(plugins/plugin_utils/payload_cache.py).
  - B(Compiled Jinja.) ansible-core compiles every template and conditional again in every forked
    worker (lex, parse, generate Python, compile). This callback wraps the templating environment's
    compile with a cache in memory and in a private directory, keyed by the source and everything
    of the environment that code generation reads, and by the Jinja, ansible-core and Python build.
    Before an entry is used, the calling convention of every filter and test it uses is checked
    against the run's. See C(plugins/plugin_utils/template_cache.py).
  - B(Plugins every worker imports.) Workers are forked from the controller process for every task
    and host. A plugin the controller has not imported is imported again in each of them. Before
    each play this callback imports, in the controller, the connection plugin of each host of the
    play and the Jinja filters and tests listed in O(preload_jinja). To find one filter or test of a
    collection, ansible-core loads every filter or test file of that collection.
  - The repository's C(ansible.cfg) enables it.
author:
  - dualstack.k8s contributors (@dualstack-k8s)
requirements:
  - enabled in C(callbacks_enabled) (C(ANSIBLE_CALLBACKS_ENABLED))
options:
  cache_dir:
    description:
      - Where payloads are kept. It is created with mode 0700; a directory that is not owned by the
        user or that group or others can access is not used (with a warning).
      - C(off) turns the payload cache off.
      - Stores of other ansible-core builds are removed after 30 days unused.
    type: str
    default: ~/.cache/dualstack.k8s/ansiballz
    env:
      - name: DUALSTACK_PAYLOAD_CACHE
    ini:
      - section: callback_warmup
        key: cache_dir
  jinja_cache_dir:
    description:
      - Where compiled Jinja templates are kept. The same rules as O(cache_dir) apply.
      - C(off) turns the Jinja cache off.
    type: str
    default: ~/.cache/dualstack.k8s/jinja
    env:
      - name: DUALSTACK_JINJA_CACHE
    ini:
      - section: callback_warmup
        key: jinja_cache_dir
  preload_jinja:
    description:
      - Filters and tests (fully qualified) to import before each play. One name per collection is
        enough.
      - The default covers ansible-core's own and C(ansible.utils), which the roles' address checks
        use.
    type: list
    elements: str
    default: [ansible.builtin.to_json, ansible.builtin.ipwrap, ansible.builtin.match, ansible.utils.ipaddr,
              ansible.utils.ipv4_address]
    ini:
      - section: callback_warmup
        key: preload_jinja
notes:
  - C(-vvv) shows how many payloads were reused, dropped and stored, and the Jinja cache's counts of
    the controller process (workers keep their own counts).
"""

from ansible.inventory.helpers import get_group_vars
from ansible.plugins.callback import CallbackBase
from ansible.plugins.loader import connection_loader, filter_loader, test_loader

from ansible_collections.dualstack.k8s.plugins.plugin_utils import payload_cache, template_cache


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "dualstack.k8s.warmup"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._cache = None
        self._started = False
        self._preloaded = set()

    # payloads: restored before the first play, stored before every later play and at the end

    def _restore(self):
        self._started = True
        root = payload_cache.store_root(self.get_option("cache_dir"))
        if root is None:
            return
        cache = payload_cache.PayloadCache(root, log=self._display.vvv)
        try:
            stats = cache.restore()
        except OSError as exc:
            self._display.warning("dualstack.k8s.warmup: payload cache not used: %s" % exc)
            return
        self._cache = cache
        self._display.vvv("payload cache %s: %d reused, %d dropped"
                          % (cache.key_dir, stats["restored"], stats["dropped"]))

    def _store(self):
        if self._cache is None:
            return
        try:
            stats = self._cache.store()
        except (OSError, ValueError) as exc:
            self._display.warning("dualstack.k8s.warmup: payloads not stored: %s" % exc)
            self._cache = None
            return
        self._display.vvv("payload cache: %d stored in this run, %d not storable"
                          % (stats["stored"], stats["not_stored"]))

    def v2_playbook_on_start(self, playbook):
        root = payload_cache.store_root(self.get_option("jinja_cache_dir"))
        if root is None:
            return
        try:
            cache = template_cache.install(root, log=self._display.vvv)
        except OSError as exc:
            self._display.warning("dualstack.k8s.warmup: Jinja cache not used: %s" % exc)
            return
        if cache is None:
            self._display.vvv("dualstack.k8s.warmup: Jinja cache not used with this ansible-core")

    def v2_playbook_on_play_start(self, play):
        if self._started:
            self._store()
        else:
            self._restore()
        self._preload(play)

    def v2_playbook_on_stats(self, stats):
        self._store()
        cache = template_cache.current()
        if cache is not None:
            self._display.vvv("Jinja cache %s: this process: %s" % (cache.key_dir, cache.stats))
            try:
                cache.prune()
            except OSError as exc:
                self._display.vvv("dualstack.k8s.warmup: Jinja cache not pruned: %s" % exc)

    # plugins: imported here once, so that every forked worker finds them imported

    def _preload(self, play):
        wanted = [("jinja", name) for name in self.get_option("preload_jinja") or []]
        inventory = getattr(getattr(play, "_variable_manager", None), "_inventory", None)
        try:
            hosts = inventory.get_hosts(play.hosts) if inventory is not None else []
        except Exception:  # pylint: disable=broad-except
            hosts = []  # e.g. a play that matched no host is announced with its pattern not templated
        for host in hosts:
            connection = host.vars.get("ansible_connection")
            if connection is None:
                connection = get_group_vars(host.get_groups()).get("ansible_connection")
            if isinstance(connection, str) and "{" not in connection:
                wanted.append(("connection", connection))
        for kind, name in wanted:
            if (kind, name) in self._preloaded:
                continue
            self._preloaded.add((kind, name))
            try:
                if kind == "jinja":
                    filter_loader.get(name) or test_loader.get(name)
                else:
                    connection_loader.get(name, class_only=True)
            except Exception as exc:  # pylint: disable=broad-except
                # only a head start: a worker loads it (and reports any error) as it always does
                self._display.vvv("dualstack.k8s.warmup: %s not preloaded: %s" % (name, exc))
