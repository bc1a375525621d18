# -*- coding: utf-8 -*-
# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compiled Jinja templates kept from one compile to the next, and from one run to the next.

ansible-core compiles every template and conditional it renders from scratch: Jinja lexes and
parses the source, generates Python code and compiles that. Nothing is kept, and every task runs
in a freshly forked worker, so a role variable referenced by ten tasks on five hosts is compiled
fifty times in a run, and again in the next run. In the lab's site run compiling is about 40 % of
the workers' CPU time.

Jinja keeps compiled templates itself only for templates loaded by name (its bytecode cache); this
module does the same for the strings ansible-core compiles. `install()` wraps
`AnsibleEnvironment.compile` (and `compile_expression`, to key conditionals by their text) so that
a compile first looks for the code object in

    this process's memory, then <store>/<key>/<sha256 of the compile's inputs>

and stores what it compiled there (written atomically, mode 0600, in a 0700 directory owned by the
user). The result of a compile depends on more than the source, and all of it is in the hash:

- the build: the Jinja, ansible-core and Python versions and the bytes of the Jinja and ansible-core
  files that lex, parse and generate code (the directory `<key>`);
- the environment's settings that lexing, parsing and code generation read: delimiters, whitespace
  handling, the environment and code generator classes, extensions, finalize, autoescape, the
  optimizer, async, ansible-core's backslash escaping (a compile context) and its embedded-template
  switch;
- the template name and file name, and whether it is an expression or a template.

Code generation also reads, for every filter and test the template uses, how Jinja passes it
arguments (the `pass_context` family of decorators) and whether it exists. Those are recorded with
the entry and checked against the filters and tests the run has now before the entry is used; a
difference means a fresh compile. A compile that fails is never stored, so its error is raised as
it always was. Template debugging (ansible-core's `_debuggable_template_source`) turns the cache off.

If ansible-core's templating does not have the shape this was written for (another ansible-core
or Jinja series), `install()` leaves everything as it is.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import marshal
import os
import sys
import tempfile
import types

from ansible_collections.dualstack.k8s.plugins.plugin_utils import private_dir

MAGIC = b"dualstack.k8s jinja 1\n"
MAX_AGE_DAYS = 30
MAX_ENTRIES = 20000  # a store that grows past this is emptied (entries are cheap to make again)
MEMORY_ENTRIES = 4096
_SIGNATURES = {}  # environment_signature's inputs -> its string
# Jinja and ansible-core files whose code decides what a compile produces.
BUILD_FILES = (("jinja2", ("compiler.py", "lexer.py", "parser.py", "nodes.py", "environment.py", "ext.py",
                           "idtracking.py", "optimizer.py", "nativetypes.py", "sandbox.py", "defaults.py")),
               ("ansible", ("_internal/_templating/_jinja_bits.py", "_internal/_templating/_jinja_common.py")))
ENV_SETTINGS = ("block_start_string", "block_end_string", "variable_start_string", "variable_end_string",
                "comment_start_string", "comment_end_string", "line_statement_prefix", "line_comment_prefix",
                "trim_blocks", "lstrip_blocks", "newline_sequence", "keep_trailing_newline", "optimized",
                "is_async", "sandboxed", "autoescape")


class _Installed:
    """What install() replaced, to put it back (uninstall)."""
    cache = None
    env_class = None
    original_compile = None
    original_compile_expression = None


def build_key():
    """The Jinja, ansible-core and Python build that compiles (a short hex string)."""
    import ansible
    import jinja2
    from ansible import release

    digest = hashlib.sha256()
    digest.update(("%s\0%s\0%s\0" % (jinja2.__version__, release.__version__, sys.version)).encode())
    digest.update(importlib.util.MAGIC_NUMBER)
    for package, files in BUILD_FILES:
        base = os.path.dirname((jinja2 if package == "jinja2" else ansible).__file__)
        for rel in files:
            digest.update(("%s/%s\0" % (package, rel)).encode())
            with open(os.path.join(base, rel), "rb") as handle:
                digest.update(hashlib.sha256(handle.read()).digest())
    return digest.hexdigest()[:24]


def _qualname(obj):
    obj = obj if isinstance(obj, type) else type(obj) if not callable(obj) else obj
    return "%s.%s" % (getattr(obj, "__module__", "?"), getattr(obj, "__qualname__", repr(obj)))


def environment_signature(env, escape_backslashes, allow_embedded):
    """What of ``env`` a compile depends on, as a string; None when it cannot be told (a callable
    autoescape decides per template name). Every compile asks: the string is made once per
    combination of those inputs and process."""
    values = tuple(getattr(env, name) for name in ENV_SETTINGS)
    if any(value is not None and not isinstance(value, (str, bool, int)) for value in values):
        return None
    finalize = env.finalize
    inputs = (values, type(env), env.code_generator_class, tuple(sorted(env.extensions)), finalize,
              escape_backslashes, allow_embedded)
    signature = _SIGNATURES.get(inputs)
    if signature is None:
        signature = _SIGNATURES[inputs] = _signature(env, values, finalize, escape_backslashes, allow_embedded)
    return signature


def _signature(env, values, finalize, escape_backslashes, allow_embedded):
    parts = {
        "settings": list(values),
        "environment": _qualname(type(env)),
        "code_generator": _qualname(env.code_generator_class),
        "extensions": sorted(env.extensions),
        "finalize": None if finalize is None else [_qualname(finalize), _pass_arg(finalize)],
        "escape_backslashes": escape_backslashes,
        "allow_embedded_templates": allow_embedded,
    }
    return json.dumps(parts, sort_keys=True)


def _pass_arg(func):
    arg = getattr(func, "jinja_pass_arg", None)
    return None if arg is None else str(arg)


def _lookup(env, kind, name):
    """How code generation sees filter or test ``name``: its pass_arg, or that it is missing."""
    try:
        func = (env.filters if kind == "filter" else env.tests).get(name)
    except Exception as exc:  # pylint: disable=broad-except
        return "error:%s" % type(exc).__name__
    return "missing" if func is None else "pass_arg:%s" % _pass_arg(func)


def dependencies(env, ast):
    """Every filter and test the template uses, with how code generation sees it now."""
    from jinja2 import nodes

    deps = {}
    for node in ast.find_all((nodes.Filter, nodes.Test)):
        kind = "filter" if isinstance(node, nodes.Filter) else "test"
        key = "%s:%s" % (kind, node.name)
        if key not in deps:
            deps[key] = _lookup(env, kind, node.name)
    return deps


def _still_valid(env, deps):
    for key, seen in deps.items():
        kind, _sep, name = key.partition(":")
        if _lookup(env, kind, name) != seen:
            return False
    return True


class TemplateCache:
    """Code objects of compiled templates, in memory and in a private directory."""

    def __init__(self, root, log=None):
        self.root = root
        private_dir.ensure(root)
        self.key_dir = private_dir.ensure(os.path.join(root, build_key()))
        self.log = log or (lambda message: None)
        self.memory = {}
        self.stats = {"memory": 0, "disk": 0, "compiled": 0, "stale": 0}

    def _path(self, key):
        return os.path.join(self.key_dir, key)

    def get(self, env, key):
        entry = self.memory.get(key)
        source = "memory"
        if entry is None:
            entry = self._read(key)
            source = "disk"
        if entry is None:
            return None
        deps, code = entry
        if not _still_valid(env, deps):
            self.stats["stale"] += 1
            self.memory.pop(key, None)
            return None
        self.stats[source] += 1
        self._remember(key, entry)
        return code

    def _read(self, key):
        try:
            with open(self._path(key), "rb") as handle:
                data = handle.read()
        except OSError:
            return None
        if not data.startswith(MAGIC):
            return None
        head, sep, body = data[len(MAGIC):].partition(b"\n")
        try:
            deps, code = json.loads(head), marshal.loads(body)
        except (ValueError, EOFError, TypeError):
            return None
        # a damaged entry is a miss (and is written again), never something else to run
        if not sep or not isinstance(deps, dict) or not isinstance(code, types.CodeType):
            return None
        return deps, code

    def _remember(self, key, entry):
        if len(self.memory) >= MEMORY_ENTRIES:
            self.memory.clear()
        self.memory[key] = entry

    def put(self, key, deps, code):
        self.stats["compiled"] += 1
        self._remember(key, (deps, code))
        data = MAGIC + json.dumps(deps, sort_keys=True).encode() + b"\n" + marshal.dumps(code)
        temp = None
        try:
            handle, temp = tempfile.mkstemp(dir=self.key_dir, prefix=".part-")
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(temp, self._path(key))
        except OSError as exc:
            self.log("jinja cache: not stored: %s" % exc)
            if temp is not None and os.path.exists(temp):
                os.unlink(temp)

    def prune(self):
        """Empty a store that grew past MAX_ENTRIES; remove other builds' stores unused for MAX_AGE_DAYS."""
        entries = os.listdir(self.key_dir)
        if len(entries) > MAX_ENTRIES:
            for name in entries:
                try:
                    os.unlink(os.path.join(self.key_dir, name))
                except OSError:
                    pass
        os.utime(self.key_dir)
        private_dir.prune_others(self.root, self.key_dir, MAX_AGE_DAYS)


def _compile_key(env, kind, text, name=None, filename=None, defer_init=False):
    """The hash of everything a compile of ``text`` depends on, or None when it must not be cached."""
    from ansible._internal._templating import _jinja_bits, _jinja_common

    if env._debuggable_template_source or _jinja_bits._CompileStateSmugglingCtx.current(optional=True):
        return None
    context = _jinja_bits._TemplateCompileContext.current(optional=True)
    signature = environment_signature(env, None if context is None else context.escape_backslashes,
                                      _jinja_common._TemplateConfig.allow_embedded_templates)
    if signature is None:
        return None
    digest = hashlib.sha256()
    for part in (kind, signature, repr(name), repr(filename), repr(defer_init), text):
        digest.update(str(part).encode("utf-8", "surrogatepass") + b"\0")
    return digest.hexdigest()


def install(root, log=None):
    """Wrap AnsibleEnvironment's compile and compile_expression with the cache in ``root``. Returns
    the cache, or None when ansible-core's templating is not the shape this module knows (then
    nothing is changed). Raises OSError when the store cannot be used."""
    if _Installed.cache is not None:
        return _Installed.cache
    try:
        import jinja2
        from jinja2 import nodes
        from jinja2.environment import TemplateExpression
        from jinja2.parser import Parser
        from ansible._internal._templating import _jinja_bits, _jinja_common

        env_class = _jinja_bits.AnsibleEnvironment
        expected = (env_class.compile, env_class.compile_expression, env_class._parse, env_class.make_globals,
                    env_class.template_class.from_code, _jinja_bits._TemplateCompileContext.current,
                    _jinja_bits._CompileStateSmugglingCtx.current, _jinja_common._TemplateConfig.allow_embedded_templates)
    except (ImportError, AttributeError):
        return None
    if not jinja2.__version__.startswith("3.1.") or any(item is None for item in expected):
        return None
    cache = TemplateCache(root, log=log)
    original_compile = env_class.compile
    original_compile_expression = env_class.compile_expression

    def compile(self, source, name=None, filename=None, raw=False, defer_init=False):  # pylint: disable=redefined-builtin
        key = None
        if isinstance(source, str) and not raw:
            key = _compile_key(self, "template", source, name, filename, defer_init)
        if key is None:
            return original_compile(self, source, name, filename, raw, defer_init)
        code = cache.get(self, key)
        if code is None:
            try:
                tree = self._parse(source, name, filename)
            except jinja2.TemplateSyntaxError:
                # Jinja raises (and words) the error exactly as it does without the cache
                return original_compile(self, source, name, filename, raw, defer_init)
            deps = dependencies(self, tree)
            code = original_compile(self, tree, name, filename, raw, defer_init)
            cache.put(key, deps, code)
        return code

    def compile_expression(self, source, undefined_to_none=True):
        # Jinja's compile_expression: parse an expression, wrap it as `result = <expression>`,
        # compile that tree. Keyed by the expression's text, so that a hit skips the parse too.
        key = _compile_key(self, "expression", source) if isinstance(source, str) else None
        if key is None:
            return original_compile_expression(self, source, undefined_to_none)
        code = cache.get(self, key)
        if code is None:
            parser = Parser(self, source, state="variable")
            try:
                expression = parser.parse_expression()
                if not parser.stream.eos:
                    raise jinja2.TemplateSyntaxError("chunk after expression", parser.stream.current.lineno, None, None)
                expression.set_environment(self)
            except jinja2.TemplateSyntaxError:
                return original_compile_expression(self, source, undefined_to_none)
            tree = nodes.Template([nodes.Assign(nodes.Name("result", "store"), expression, lineno=1)], lineno=1)
            deps = dependencies(self, tree)
            code = original_compile(self, tree)
            cache.put(key, deps, code)
        template = self.template_class.from_code(self, code, self.make_globals(None), None)
        return TemplateExpression(template, undefined_to_none)

    compile.__wrapped__ = original_compile
    compile_expression.__wrapped__ = original_compile_expression
    env_class.compile = compile
    env_class.compile_expression = compile_expression
    _Installed.cache = cache
    _Installed.env_class = env_class
    _Installed.original_compile = original_compile
    _Installed.original_compile_expression = original_compile_expression
    return cache


def uninstall():
    """Put AnsibleEnvironment's own compile back (tests use it)."""
    if _Installed.env_class is not None:
        _Installed.env_class.compile = _Installed.original_compile
        _Installed.env_class.compile_expression = _Installed.original_compile_expression
    _Installed.cache = _Installed.env_class = None
    _Installed.original_compile = _Installed.original_compile_expression = None


def current():
    return _Installed.cache
