"""The collection as users get it, on the oldest and the newest supported ansible-core.

- The tarball `ansible-galaxy collection build` makes holds the product only (no lab, harness, tests).
- Installed into an EMPTY collections path and used from a separate project directory with its own
  ansible.cfg and YAML inventory (no config.toml, no inventory plugin), the roles run with plain
  variables on real daemons in a lab container — with ansible-core 2.16 (PyPI ansible 9.x, what
  AAP 2.5 ships) and 2.19: first run changes, second run changes nothing, the daemons run.
- plan.yml and render.yml write byte-identical files on both ansible-core versions.

The 2.16 virtualenv is .cache/venv-2.16 (requirements/compat-2.16.txt, made by tools/setup.sh).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import textwrap

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from conftest_lab import REPO, lab_env, podman, skip_reason  # noqa: E402

VENVS = {"2.16": REPO / ".cache" / "venv-2.16" / "bin", "2.19": REPO / ".venv" / "bin"}
NETWORK = "dsk-install-net"
SUBNETS = ("172.31.230.0/24", "fd54:230::/120")
HOSTS = {"2.16": ("172.31.230.16", "fd54:230::16"), "2.19": ("172.31.230.19", "fd54:230::19")}
VIPS = ("172.31.230.254", "fd54:230::fe")
SHIPPED_NOT = ("lab/", "tools/", "tests/", "benchmarks/", "extensions/", "inventory/", "ansible.cfg",
               "requirements/", ".ci/", "config/config.toml")

pytestmark = [pytest.mark.molecule,
              pytest.mark.skipif(skip_reason() is not None, reason=str(skip_reason()))]


def _bin(core, tool):
    path = VENVS[core] / tool
    if not path.exists():
        pytest.fail(f"{path} is missing: tools/setup.sh makes the ansible-core {core} virtualenv")
    return str(path)


def _run(cmd, cwd, env=None, timeout=900):
    res = subprocess.run(cmd, cwd=cwd, env=env or lab_env(), capture_output=True, text=True,
                         timeout=timeout, check=False)
    return res.returncode, res.stdout + res.stderr


@pytest.fixture(scope="module")
def tarball(tmp_path_factory):
    out = tmp_path_factory.mktemp("build")
    code, text = _run([_bin("2.19", "ansible-galaxy"), "collection", "build", "--output-path", str(out)], REPO)
    assert code == 0, text
    (path,) = out.glob("dualstack-k8s-*.tar.gz")
    return path


def test_tarball_holds_the_product_only(tarball):
    with tarfile.open(tarball) as tar:
        names = tar.getnames()
    leaked = sorted(n for n in names for bad in SHIPPED_NOT if n == bad.rstrip("/") or n.startswith(bad))
    assert not leaked, leaked
    for needed in ("roles/bird/meta/argument_specs.yml", "plugins/inventory/config.py",
                   "plugins/plugin_utils/role_inputs.py", "meta/runtime.yml", "meta/execution-environment.yml",
                   "requirements.txt", "bindep.txt", "playbooks/site.yml", "CHANGELOG.rst"):
        assert needed in names, needed
    with tarfile.open(tarball) as tar:
        manifest = json.load(tar.extractfile("MANIFEST.json"))
    deps = manifest["collection_info"]["dependencies"]
    assert {"ansible.posix", "ansible.utils"} <= set(deps), deps
    offenders = []
    with tarfile.open(tarball) as tar:
        for member in tar.getmembers():
            if member.name.endswith(".py"):
                text = tar.extractfile(member).read().decode()
                if "ansible._internal" in text or "trust_as_template(" in text and "except ImportError" not in text:
                    offenders.append(member.name)
    assert not offenders, f"private ansible-core API in the artifact: {offenders}"


@pytest.fixture(scope="module")
def lab_network():
    podman("network", "rm", "-f", NETWORK, check=False)
    podman("network", "create", "--ipv6", "--internal", "--subnet", SUBNETS[0], "--subnet", SUBNETS[1], NETWORK)
    yield NETWORK
    podman("network", "rm", "-f", NETWORK, check=False, timeout=120)


@pytest.fixture
def container(request, lab_network):
    core = request.param
    name = f"dsk-install-{core.replace('.', '')}"
    podman("rm", "-f", "-t", "0", name, check=False)
    podman("run", "-d", "--name", name, "--hostname", "gw1", "--systemd=always",
           "--cap-add", "NET_ADMIN,NET_RAW,NET_BROADCAST,SYS_ADMIN", "--device", "/dev/net/tun",
           "--network", lab_network, "--ip", HOSTS[core][0], "--ip6", HOSTS[core][1],
           "localhost/dualstack-lab:latest", "/sbin/init", timeout=120)
    podman("exec", name, "timeout", "60", "systemctl", "is-system-running", "--wait", check=False, timeout=90)
    yield core, name
    podman("rm", "-f", "-t", "0", name, check=False, timeout=120)


def _project(tmp_path, core, container_name, collections):
    v4, v6 = HOSTS[core]
    # into the container's namespaces the way Molecule's scenarios go (community.docker.nsenter, from
    # the ansible package like containers.podman): no podman exec/cp per task
    pid = podman("inspect", "-f", "{{.State.Pid}}", container_name).stdout.strip()
    (tmp_path / "ansible.cfg").write_text(textwrap.dedent(f"""\
        [defaults]
        collections_path = {collections}
        inventory = inventory.yml
        interpreter_python = /usr/bin/python3
        host_key_checking = False

        [connection]
        pipelining = True
        """))
    (tmp_path / "inventory.yml").write_text(textwrap.dedent(f"""\
        all:
          hosts:
            gw1:
              ansible_connection: community.docker.nsenter
              ansible_nsenter_pid: {pid}
              ansible_python_interpreter: /usr/bin/python3
        """))
    (tmp_path / "site.yml").write_text(textwrap.dedent(f"""\
        - name: Gateway roles of dualstack.k8s with plain variables (no config.toml, no inventory plugin)
          hosts: gw1
          become: true
          gather_facts: true
          gather_subset: ["!all", "!min", network]
          tasks:
            - name: Kernel settings
              ansible.builtin.include_role:
                name: dualstack.k8s.sysctl
              vars:
                sysctl_families: [ipv4, ipv6]
                sysctl_forwarding: true
                sysctl_nonlocal_bind: true

            - name: VRRP for both VIPs
              ansible.builtin.include_role:
                name: dualstack.k8s.keepalived
              vars:
                keepalived_vips: {{ipv4: {VIPS[0]}, ipv6: "{VIPS[1]}"}}
                keepalived_unicast_src: {{ipv4: {v4}, ipv6: "{v6}"}}
                keepalived_unicast_peers: {{ipv4: [], ipv6: []}}   # the only gateway
                keepalived_priority: 200
                keepalived_router_id: 51

            - name: API load balancer on both VIPs
              ansible.builtin.include_role:
                name: dualstack.k8s.haproxy
              vars:
                haproxy_frontend_addresses: [{VIPS[0]}, "{VIPS[1]}"]
                haproxy_backends:
                  - {{name: master1, address: 172.31.230.20}}

            - name: BGP from the VIPs
              ansible.builtin.include_role:
                name: dualstack.k8s.bird
              vars:
                bird_vips: {{ipv4: {VIPS[0]}, ipv6: "{VIPS[1]}"}}
                bird_local_as: 65000
                bird_peer_as: 64512
                bird_router_id: {v4}
                bird_neighbors:
                  - {{name: master1, ipv4: 172.31.230.20, ipv6: "fd54:230::20"}}
                bird_export_prefixes: {{ipv4: [172.31.231.0/24], ipv6: ["fd54:231::/120"]}}
                bird_direct_interfaces: [lo]
        """))


def _recap(text):
    for line in text.splitlines():
        if line.startswith("gw1 ") and "changed=" in line:
            return {k: int(v) for k, v in (p.split("=") for p in line.split(":", 1)[1].split())}
    raise AssertionError(f"no recap in:\n{text[-3000:]}")


@pytest.mark.parametrize("container", ["2.16", "2.19"], indirect=True)
def test_roles_from_the_installed_tarball(container, tarball, tmp_path):
    core, name = container
    collections = tmp_path / "collections"
    code, text = _run([_bin(core, "ansible-galaxy"), "collection", "install", "--no-deps", "-p",
                       str(collections), str(tarball)], tmp_path)
    assert code == 0, text
    assert (collections / "ansible_collections" / "dualstack" / "k8s" / "roles" / "bird").is_dir()
    project = tmp_path / "project"
    project.mkdir()
    _project(project, core, name, collections)
    env = lab_env()
    env.pop("ANSIBLE_CONFIG", None)
    env.pop("DUALSTACK_CONFIG", None)
    code, text = _run([_bin(core, "ansible-doc"), "-t", "role", "dualstack.k8s.bird"], project, env)
    assert code == 0 and "bird_neighbors" in text, text[-2000:]
    code, first = _run([_bin(core, "ansible-playbook"), "site.yml"], project, env)
    assert code == 0, first[-6000:]
    assert _recap(first)["changed"] > 0
    code, second = _run([_bin(core, "ansible-playbook"), "site.yml"], project, env)
    assert code == 0, second[-6000:]
    assert _recap(second)["changed"] == 0, second[-6000:]
    for unit in ("keepalived", "haproxy", "bird"):
        state = podman("exec", name, "systemctl", "is-active", unit, check=False).stdout.strip()
        assert state == "active", f"{unit} is {state} ({core})"
    # both VIPs on the only gateway, and HAProxy listening on them
    addrs = podman("exec", name, "ip", "-j", "addr", "show").stdout
    assert VIPS[0] in addrs and VIPS[1] in addrs, addrs
    listen = podman("exec", name, "ss", "-Hltn").stdout
    assert f"{VIPS[0]}:6443" in listen and f"[{VIPS[1]}]:6443" in listen, listen


def test_plan_and_render_are_identical_on_216_and_219(tmp_path):
    outs = {}
    for core in VENVS:
        out = tmp_path / core
        out.mkdir()
        env = dict(lab_env(), DUALSTACK_CONFIG=str(REPO / "config" / "examples" / "ipv6-primary.toml"))
        code, text = _run([_bin(core, "ansible-playbook"), "playbooks/plan.yml", "-e", f"plan_out={out}/plan.json"],
                          REPO, env)
        assert code == 0, text[-4000:]
        code, text = _run([_bin(core, "ansible-playbook"), "playbooks/render.yml", "-e", f"render_dir={out}/render"],
                          REPO, env)
        assert code == 0, text[-4000:]
        outs[core] = {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    assert len(outs["2.19"]) > 10, sorted(outs["2.19"])
    assert sorted(outs["2.16"]) == sorted(outs["2.19"])
    differ = [name for name in outs["2.19"] if outs["2.16"][name] != outs["2.19"][name]]
    assert not differ, differ
