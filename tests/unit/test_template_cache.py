"""The Jinja compile cache (plugins/plugin_utils/template_cache.py, installed by the warmup
callback) and the template rendering of dualstack.k8s.managed_files' action, through real
ansible-playbook runs on localhost: the same results with the cache off, cold and warm; a warm run
compiles nothing new; a filter whose calling convention changed is compiled afresh; templates
rendered by the action are byte for byte what the template lookup renders."""

import json
import os
import re
import subprocess
import sys
import textwrap

import pytest

from ansible_collections.dualstack.k8s.plugins.plugin_utils import template_cache

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")

TEMPLATE = """\
#jinja2: variable_start_string:'[%', variable_end_string:'%]'
# [% ansible_managed %]
{% for net in nets %}
net [% net %] first [% net | ansible.utils.ipaddr('1') %]{{ not a template }}
{% endfor %}
tag [% 'x' | dsk_test.probe.tag %]
"""

PLAY = r"""
- hosts: localhost
  gather_facts: false
  vars:
    nets: ["10.1.0.0/24", "fd00:1::/64"]
    backslash: "{{ 'a\\1b' | regex_replace('\\\\1', '-') }}"
  tasks:
    - name: expressions, filters, tests
      ansible.builtin.assert:
        that:
          - nets | map('ansible.utils.ipaddr', 'net') | list | length == 2
          - "'fd00:1::1' is ansible.utils.ipv6_address"
          - nets[0] is match('^10\\.')
        quiet: true
      when: nets | length > 1
    - name: files from templates
      dualstack.k8s.managed_files:
        files:
          - {path: "{{ out }}/plain.conf", template: probe.j2, mode: "0644"}
          - {path: "{{ out }}/secret.conf", secret_template: probe.j2, mode: "0600"}
          - {path: "{{ out }}/off.conf", template: missing.j2, mode: "0644", enabled: false}
      register: files
    - name: a template and a content
      dualstack.k8s.managed_files:
        files:
          - {path: "{{ out }}/both.conf", template: probe.j2, content: x, mode: "0644"}
      register: both
      failed_when: false
    - name: a template on a directory
      dualstack.k8s.managed_files:
        files:
          - {path: "{{ out }}/dir", state: directory, template: probe.j2, mode: "0755"}
      register: on_dir
      failed_when: false
    - name: results
      ansible.builtin.copy:
        content: "{{ {'lookup': lookup('ansible.builtin.template', 'probe.j2'), 'backslash': backslash,
                      'tag': 'x' | dsk_test.probe.tag, 'changed': files.changed,
                      'both': both.msg, 'on_dir': on_dir.msg} | to_json }}"
        dest: "{{ out }}/results.json"
        mode: "0600"
"""

PLAIN_FILTER = """
def tag(value):
    return "plain:" + value


class FilterModule:
    def filters(self):
        return {"tag": tag}
"""

CONTEXT_FILTER = """
from jinja2 import pass_context


@pass_context
def tag(context, value):
    return "context:%s:%s" % (value, context.get("nets", ["?"])[0])


class FilterModule:
    def filters(self):
        return {"tag": tag}
"""


def write_collection(root, filter_source):
    base = os.path.join(root, "ansible_collections", "dsk_test", "probe")
    os.makedirs(os.path.join(base, "plugins", "filter"), exist_ok=True)
    with open(os.path.join(base, "galaxy.yml"), "w", encoding="utf-8") as handle:
        handle.write("namespace: dsk_test\nname: probe\nversion: 1.0.0\nauthors: [test]\nreadme: README.md\n")
    with open(os.path.join(base, "plugins", "filter", "tag.py"), "w", encoding="utf-8") as handle:
        handle.write(textwrap.dedent(filter_source))


@pytest.fixture()
def runner(tmp_path):
    collections = tmp_path / "collections"
    write_collection(str(collections), PLAIN_FILTER)
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "probe.j2").write_text(TEMPLATE)
    (tmp_path / "play.yml").write_text(PLAY)
    (tmp_path / "hosts.ini").write_text("localhost ansible_connection=local ansible_python_interpreter=%s\n"
                                        % sys.executable)

    def run(name, cache=True):
        out = tmp_path / name
        out.mkdir()
        env = dict(os.environ, ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"),
                   DUALSTACK_PAYLOAD_CACHE="off",
                   DUALSTACK_JINJA_CACHE=str(tmp_path / "jinja") if cache else "off",
                   ANSIBLE_CALLBACKS_ENABLED="dualstack.k8s.warmup",
                   ANSIBLE_COLLECTIONS_PATH="%s:%s" % (collections, os.path.join(REPO, ".collections")))
        proc = subprocess.run([PLAYBOOK, "-vvv", "-i", str(tmp_path / "hosts.ini"), str(tmp_path / "play.yml"),
                               "-e", "out=%s" % out], cwd=str(tmp_path), env=env, capture_output=True, text=True,
                              check=False, timeout=300)
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
        results = json.loads((out / "results.json").read_text())
        results["plain"] = (out / "plain.conf").read_text()
        results["secret"] = (out / "secret.conf").read_text()
        for key in ("both", "on_dir"):  # error messages name the run's own directory
            results[key] = results[key].replace(str(out), "OUT")
        return results, proc.stdout

    run.collections = str(collections)
    run.store = tmp_path / "jinja"
    return run


def entries(store):
    return {os.path.join(d, f): os.stat(os.path.join(d, f)).st_mtime_ns
            for d, _dirs, files in os.walk(store) for f in files}


def test_same_results_off_cold_and_warm(runner):
    off, log = runner("off", cache=False)
    assert "Jinja cache" not in log
    # the action renders exactly what the lookup renders (override header, ansible_managed, raw {{ }})
    assert off["plain"] == off["lookup"] == off["secret"]
    assert "net 10.1.0.0/24 first 10.1.0.1/24{{ not a template }}" in off["plain"]
    assert "tag plain:x" in off["plain"] and off["backslash"] == "a-b" and off["changed"] is True
    assert off["both"] == "files[0] (OUT/both.conf): content, template are mutually exclusive"
    assert off["on_dir"] == "files[0] (OUT/dir): template applies to state=file only"
    # the secret's content is in no log line
    assert "first 10.1.0.1/24" not in log

    cold, log = runner("cold")
    assert re.search(r"Jinja cache \S+: this process", log)
    stored = entries(runner.store)
    assert len(stored) > 10
    warm, log = runner("warm")
    assert entries(runner.store) == stored  # nothing compiled, nothing written again
    for result in (cold, warm):
        assert result == off


def test_a_filter_that_now_wants_the_context_is_compiled_again(runner):
    first, _log = runner("first")
    assert first["tag"] == "plain:x"
    write_collection(runner.collections, CONTEXT_FILTER)
    second, _log = runner("second")
    # code compiled for the plain filter would call it without the context
    assert second["tag"] == "context:x:10.1.0.0/24" and "tag context:x:10.1.0.0/24" in second["plain"]


def test_what_a_compile_depends_on():
    from ansible._internal._templating._jinja_bits import AnsibleEnvironment

    env = AnsibleEnvironment()
    base = template_cache.environment_signature(env, True, False)
    assert base != template_cache.environment_signature(env, False, False)
    assert base != template_cache.environment_signature(env, True, True)
    overlay = env.overlay(variable_start_string="[%", variable_end_string="%]")
    assert template_cache.environment_signature(overlay, True, False) != base
    env.autoescape = lambda name: True  # decided per template name: not cacheable
    assert template_cache.environment_signature(env, True, False) is None


def test_a_damaged_entry_is_a_miss(tmp_path):
    cache = template_cache.TemplateCache(str(tmp_path / "store"))
    code = compile("result = 1", "<template>", "exec")
    cache.put("k", {"filter:upper": "pass_arg:None"}, code)
    fresh = template_cache.TemplateCache(str(tmp_path / "store"))  # another process: disk only
    assert fresh._read("k") == ({"filter:upper": "pass_arg:None"}, code)
    path = fresh._path("k")
    for damaged in (b"something else", template_cache.MAGIC + b"{}", template_cache.MAGIC + b"[]\n" + b"x",
                    template_cache.MAGIC + b"{}\n" + __import__("marshal").dumps(42)):
        with open(path, "wb") as handle:
            handle.write(damaged)
        assert fresh._read("k") is None
    assert os.stat(str(tmp_path / "store")).st_mode & 0o777 == 0o700
    assert not [name for name in os.listdir(cache.key_dir) if name.startswith(".part-")]
