"""The controller-side module server connection (plugins/connection/local_server.py) and the payload
cache (plugins/callback/warmup.py, plugins/plugin_utils/payload_cache.py), through real
ansible-playbook runs on localhost: the same results with and without them, the task environment
and working directory reach the module, a source change is never hidden by a kept payload, and no
server is left running."""

import json
import os
import re
import subprocess
import sys
import textwrap
import time

import pytest

from ansible_collections.dualstack.k8s.plugins.connection.local_server import pipelined_module
from ansible_collections.dualstack.k8s.plugins.plugin_utils import module_server, private_dir

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")

PLAY = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: environment and working directory
      ansible.builtin.command: sh -c 'echo "$DSK_VALUE"; pwd'
      environment:
        DSK_VALUE: "a b'c $HOME"
      register: env_run
    - name: a failing command
      ansible.builtin.command: sh -c 'echo out; echo err >&2; exit 3'
      register: failing
      failed_when: false
    - name: a file
      ansible.builtin.copy:
        content: "hello\\n"
        dest: "{{ target }}"
        mode: "0640"
      register: copied
    - name: a collection module with module_utils
      dsk_test.probe.probe:
      register: probe
    - name: results
      ansible.builtin.copy:
        content: "{{ {'env': env_run.stdout_lines, 'rc': failing.rc, 'out': failing.stdout,
                      'err': failing.stderr, 'copied': copied.changed, 'mode': copied.mode,
                      'probe': probe.version} | to_json }}"
        dest: "{{ results }}"
        mode: "0600"
"""


def write_probe(root, version):
    """A collection dsk_test.probe whose module reports a value from its module_utils."""
    base = os.path.join(root, "ansible_collections", "dsk_test", "probe")
    os.makedirs(os.path.join(base, "plugins", "modules"), exist_ok=True)
    os.makedirs(os.path.join(base, "plugins", "module_utils"), exist_ok=True)
    with open(os.path.join(base, "galaxy.yml"), "w", encoding="utf-8") as handle:
        handle.write("namespace: dsk_test\nname: probe\nversion: 1.0.0\nauthors: [test]\nreadme: README.md\n")
    with open(os.path.join(base, "plugins", "module_utils", "value.py"), "w", encoding="utf-8") as handle:
        handle.write("VERSION = %r\n" % version)
    with open(os.path.join(base, "plugins", "modules", "probe.py"), "w", encoding="utf-8") as handle:
        handle.write(textwrap.dedent("""\
            from ansible.module_utils.basic import AnsibleModule
            from ansible_collections.dsk_test.probe.plugins.module_utils.value import VERSION


            def main():
                module = AnsibleModule(argument_spec={}, supports_check_mode=True)
                module.exit_json(changed=False, version=VERSION)


            if __name__ == "__main__":
                main()
            """))


def gone(pid):
    """No process ``pid`` any more, or only its zombie."""
    try:
        with open("/proc/%d/stat" % pid, encoding="ascii") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


@pytest.fixture()
def runner(tmp_path):
    collections = tmp_path / "collections"
    write_probe(str(collections), "one")
    (tmp_path / "tmp").mkdir()
    (tmp_path / "work").mkdir()
    inventory = tmp_path / "hosts.ini"
    inventory.write_text("localhost ansible_connection=dualstack.k8s.local_server ansible_python_interpreter=%s\n"
                         % sys.executable)
    playbook = tmp_path / "play.yml"
    playbook.write_text(PLAY)

    def run(server=True, name="results"):
        env = dict(os.environ, TMPDIR=str(tmp_path / "tmp"), ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"),
                   DUALSTACK_PAYLOAD_CACHE=str(tmp_path / "payloads"),
                   DUALSTACK_LOCAL_MODULE_SERVER="1" if server else "0",
                   ANSIBLE_PIPELINING="1", ANSIBLE_CALLBACKS_ENABLED="dualstack.k8s.warmup",
                   ANSIBLE_COLLECTIONS_PATH="%s:%s" % (collections, os.path.join(REPO, ".collections")))
        results = tmp_path / (name + ".json")
        proc = subprocess.run([PLAYBOOK, "-vvv", "-i", str(inventory), str(playbook),
                               "-e", "target=%s" % (tmp_path / (name + ".txt")), "-e", "results=%s" % results],
                              cwd=str(tmp_path / "work"), env=env, capture_output=True, text=True, check=False,
                              timeout=300)
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
        return json.loads(results.read_text()), proc.stdout

    run.collections = str(collections)
    run.servers = str(tmp_path / "tmp" / ("dualstack-modsrv-%d" % os.geteuid()))
    yield run
    module_server.stop_servers(run.servers)


def test_pipelined_module_command_lines():
    assert pipelined_module("/bin/sh -c '/usr/bin/python3 && sleep 0'") == ({}, "/usr/bin/python3")
    env, python = pipelined_module("/bin/sh -c 'A=1 B='\"'\"'x y'\"'\"' /opt/venv/bin/python3.11 && sleep 0'")
    assert (env, python) == ({"A": "1", "B": "x y"}, "/opt/venv/bin/python3.11")
    for other in ("/bin/sh -c 'echo hi && sleep 0'", "/bin/sh -c 'sudo -H -S -n -u root /bin/sh -c ...'",
                  "/bin/sh -c '/usr/bin/python3 /tmp/x.py && sleep 0'", "python3", "/bin/sh -c 'unclosed"):
        assert pipelined_module(other) is None


def test_same_results_with_and_without_the_server_and_payload_cache(runner, tmp_path):
    with_server, log = runner(server=True, name="first")
    assert log.count("MODULE SERVER") >= 4 and "START module server" in log
    assert re.search(r"payload cache \S+: 0 reused", log) and re.search(r"payload cache: [1-9]\d* stored", log)
    # the command module expands variables in its arguments, $HOME too (as it does without the server)
    expected = {"env": ["a b'c %s" % os.environ["HOME"], str(tmp_path / "work")], "rc": 3, "out": "out", "err": "err",
                "copied": True, "mode": "0640", "probe": "one"}
    assert with_server == expected

    again, log = runner(server=True, name="second")  # the server and the kept payloads are reused
    assert "START module server" not in log and log.count("MODULE SERVER") >= 4
    assert re.search(r"payload cache \S+: [1-9]\d* reused, 0 dropped", log)
    assert again == expected

    without, log = runner(server=False, name="third")
    assert "MODULE SERVER" not in log
    assert without == expected

    # a changed module_utils file: the kept payload is dropped and the module runs the new code
    write_probe(runner.collections, "two")
    changed, log = runner(server=True, name="fourth")
    assert changed["probe"] == "two"
    assert re.search(r"payload cache: dropped ansible_collections\.dsk_test\.probe\.plugins\.modules\.probe", log)


def test_no_server_is_left_running(runner):
    runner(server=True)
    pid_files = [n for n in os.listdir(runner.servers) if n.endswith(".pid")]
    assert len(pid_files) == 1
    with open(os.path.join(runner.servers, pid_files[0]), encoding="ascii") as handle:
        pid = int(handle.read())
    assert module_server.stop_servers(runner.servers) == 1
    deadline = time.monotonic() + 5
    while not gone(pid):
        if time.monotonic() > deadline:
            pytest.fail("the module server %d is still running" % pid)
        time.sleep(0.1)
    assert os.listdir(runner.servers) == []


def test_private_dirs_refuse_other_access_and_symlinks(tmp_path):
    """The payload store and the server sockets live only in a 0700 directory of this user."""
    made = private_dir.ensure(str(tmp_path / "new"))
    assert os.stat(made).st_mode & 0o777 == 0o700
    (tmp_path / "open").mkdir(mode=0o755)
    os.chmod(tmp_path / "open", 0o755)
    with pytest.raises(PermissionError, match="mode 0700"):
        private_dir.ensure(str(tmp_path / "open"))
    os.symlink(made, tmp_path / "link")
    with pytest.raises(PermissionError):
        private_dir.ensure(str(tmp_path / "link"))
