"""AWX / Automation Platform set-up checked without an AWX server (issue 17, docs/awx.md).

- The credential types in extensions/awx/credential_types/ are rendered the way AWX injects a
  credential (awx/main/models/credential.py CredentialType.inject_credential: Jinja2's
  ImmutableSandboxedEnvironment over the credential's inputs, file templates first, their paths
  as tower.filename.<name>, then env and extra_vars) and the result is what the project reads: the
  config validates (config model and the inventory plugin), clouds.yaml is what openstacksdk
  loads, the WireGuard key is what the wireguard role takes.
- `ansible-inventory -i inventory/ --list --export` is plain data and round-trips through the
  `script` and `yaml` inventory formats (same groups, same host variables).
- Job slicing: AWX's slices (hosts sorted by name, dealt round-robin).
Fast: no podman, no lab.
"""

import json
import os
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml
from jinja2 import sandbox

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = REPO / ".venv" / "bin"
TYPES = REPO / "extensions" / "awx" / "credential_types"
EE_TOML = REPO / "tests" / "integration" / "lab" / "ee.toml"
KEY = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="
PRIVATE = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk="


def credential_type(name):
    return yaml.safe_load((TYPES / name).read_text())


def inject(ctype, inputs, private_data_dir):
    """AWX's CredentialType.inject_credential for a custom type: returns (env, extra_vars, files)."""
    class Namespace:
        pass

    tower = Namespace()
    namespace = {"tower": tower}
    for field_name, value in inputs.items():
        if isinstance(value, bool) or len(value):  # AWX: a bool is always set, other values when non-empty
            namespace[field_name] = value
    for field in ctype["inputs"].get("fields", []):
        if field["type"] == "boolean" and field["id"] not in inputs:
            namespace[field["id"]] = False
    env_dir = Path(private_data_dir) / "env"
    env_dir.mkdir(exist_ok=True)
    sandbox_env = sandbox.ImmutableSandboxedEnvironment()
    files = {}
    for label, tmpl in ctype["injectors"].get("file", {}).items():
        data = sandbox_env.from_string(tmpl).render(**namespace)
        fd, path = tempfile.mkstemp(dir=env_dir)
        with os.fdopen(fd, "w") as handle:
            handle.write(data)
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
        if "." not in label:
            tower.filename = path
        else:
            if not hasattr(tower, "filename"):
                tower.filename = Namespace()
            setattr(tower.filename, label.split(".")[1], path)
        files[label] = path
    env = {k: sandbox_env.from_string(v).render(**namespace) for k, v in ctype["injectors"].get("env", {}).items()}

    def build(node):
        if isinstance(node, dict):
            return {build(k): build(v) for k, v in node.items()}
        if isinstance(node, list):
            return [build(x) for x in node]
        return sandbox_env.from_string(node).render(**namespace)

    extra_vars = build(ctype["injectors"].get("extra_vars", {}))
    if extra_vars:  # AWX writes them with safe_dump and passes -e @file
        fd, path = tempfile.mkstemp(dir=env_dir)
        with os.fdopen(fd, "w") as handle:
            handle.write(yaml.safe_dump(extra_vars))
        extra_vars = yaml.safe_load(Path(path).read_text())
    return env, extra_vars, files


def awx_config_text():
    """ee.toml as it would be pasted into the credential: the peer's key inline."""
    lines = []
    for line in EE_TOML.read_text().splitlines():
        lines.append('public_key = "%s"' % KEY if line.startswith("public_key_file") else line)
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("name", sorted(p.name for p in TYPES.glob("*.yml")))
def test_credential_type_definition(name):
    ctype = credential_type(name)
    assert set(ctype) == {"name", "description", "kind", "inputs", "injectors"}
    assert ctype["kind"] in ("cloud", "net")  # the kinds AWX allows for custom types
    ids = [f["id"] for f in ctype["inputs"]["fields"]]
    assert len(ids) == len(set(ids))
    assert set(ctype["inputs"].get("required", [])) <= set(ids)
    assert set(ctype["injectors"]) <= {"file", "env", "extra_vars"}
    for var in ctype["injectors"].get("env", {}):
        assert not var.startswith("ANSIBLE_") and var not in ("PATH", "PYTHONPATH", "JOB_ID")
    for field in ctype["inputs"]["fields"]:
        if any(w in field["id"] for w in ("password", "private_key", "secret", "token")):
            assert field.get("secret") is True, field


def test_config_credential_renders_a_config_the_project_accepts(tmp_path):
    from ansible_collections.dualstack.k8s.plugins.plugin_utils.plan import load_plan

    text = awx_config_text()
    env, extra_vars, files = inject(credential_type("dualstack_config.yml"), {"config_toml": text}, tmp_path)
    path = files["template.config"]
    assert Path(path).read_text() == text
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    assert env == {"DUALSTACK_CONFIG": path}
    assert extra_vars == {"dualstack_config_file": path}
    assert load_plan(path)["cluster"]["name"] == "ee"
    # the inventory plugin (as an AWX inventory source with this credential) reads it from the env
    run_env = dict(os.environ, **env, ANSIBLE_VARS_ENABLED="ansible.builtin.host_group_vars")
    res = subprocess.run([str(VENV_BIN / "ansible-inventory"), "-i", str(REPO / "inventory" / "config.yml"), "--graph"],
                         cwd=REPO, env=run_env, capture_output=True, text=True, timeout=120, check=False)
    assert res.returncode == 0, res.stderr
    for host in ("gw1", "gw2", "master1", "worker1"):
        assert host in res.stdout


def test_config_credential_with_a_bad_config_fails_naming_the_key(tmp_path):
    text = awx_config_text().replace('ipv4_cidr = "172.30.212.0/24"', 'ipv4_cidr = "172.30.212.0/33"')
    env, dummy, dummy2 = inject(credential_type("dualstack_config.yml"), {"config_toml": text}, tmp_path)
    run_env = dict(os.environ, **env, ANSIBLE_VARS_ENABLED="ansible.builtin.host_group_vars")
    res = subprocess.run([str(VENV_BIN / "ansible-inventory"), "-i", str(REPO / "inventory" / "config.yml"), "--list"],
                         cwd=REPO, env=run_env, capture_output=True, text=True, timeout=120, check=False)
    assert res.returncode != 0
    assert "network.ipv4_cidr" in res.stdout + res.stderr


def test_openstack_credential_renders_the_clouds_yaml_openstacksdk_reads(tmp_path, monkeypatch):
    from openstack import config as os_config

    # openstacksdk reads OS_CLIENT_CONFIG_FILE before any config_files: a lab's, set by the environment
    # the tests run in, would hide the rendered file
    monkeypatch.delenv("OS_CLIENT_CONFIG_FILE", raising=False)

    inputs = {"cloud": "ee", "auth_url": "https://keystone.example.net:5000/v3", "username": "dsk",
              "password": "p'a\"ss: #word", "project_name": "k8s", "region_name": "RegionOne"}
    env, extra_vars, files = inject(credential_type("dualstack_openstack.yml"), inputs, tmp_path)
    assert not extra_vars
    path = files["template.clouds"]
    assert env == {"OS_CLIENT_CONFIG_FILE": path}
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    cloud = os_config.OpenStackConfig(config_files=[path], vendor_files=[]).get_one(cloud="ee")
    assert cloud.config["auth"]["auth_url"] == inputs["auth_url"]
    assert cloud.config["auth"]["password"] == inputs["password"]
    assert cloud.config["auth"]["user_domain_name"] == "Default"
    assert cloud.config["region_name"] == "RegionOne"
    assert cloud.config["interface"] == "public"
    assert cloud.verify is True  # an unset boolean is injected as false: insecure=false
    # the way the openstack_network role's openstacksdk finds it: OS_CLIENT_CONFIG_FILE
    old = os.environ.get("OS_CLIENT_CONFIG_FILE")
    os.environ["OS_CLIENT_CONFIG_FILE"] = path
    try:
        assert os_config.OpenStackConfig(vendor_files=[]).get_one(cloud="ee").config["auth"]["username"] == "dsk"
    finally:
        if old is None:
            os.environ.pop("OS_CLIENT_CONFIG_FILE")
        else:
            os.environ["OS_CLIENT_CONFIG_FILE"] = old
    # insecure, no region
    inputs.update(insecure=True)
    inputs.pop("region_name")
    dummy, dummy2, files = inject(credential_type("dualstack_openstack.yml"), inputs, tmp_path)
    cloud = os_config.OpenStackConfig(config_files=[files["template.clouds"]], vendor_files=[]).get_one(cloud="ee")
    assert cloud.verify is False and not cloud.config.get("region_name")


def test_wireguard_credential_injects_the_roles_input(tmp_path):
    env, extra_vars, files = inject(credential_type("dualstack_wireguard.yml"), {"private_key": PRIVATE}, tmp_path)
    assert not env and not files
    assert extra_vars == {"wireguard_private_key": PRIVATE}
    spec = yaml.safe_load((REPO / "roles" / "wireguard" / "meta" / "argument_specs.yml").read_text())
    option = spec["argument_specs"]["main"]["options"]["wireguard_private_key"]
    assert option["type"] == "str" and option.get("no_log") is True


# ------------------------------------------------------------------------------------------------
# The inventory source: --export output is plain data and round-trips through script and yaml.

@pytest.fixture(scope="module")
def awx_config(tmp_path_factory):
    """The config as AWX's config credential writes it (key inline: no key file needed)."""
    path = tmp_path_factory.mktemp("awx") / "config.toml"
    path.write_text(awx_config_text())
    return path


def inventory(config, *args, env=None):
    run_env = dict(os.environ, DUALSTACK_CONFIG=str(config), ANSIBLE_VARS_ENABLED="ansible.builtin.host_group_vars",
                   ANSIBLE_INVENTORY_ENABLED="dualstack.k8s.config,script,yaml,host_list", **(env or {}))
    res = subprocess.run([str(VENV_BIN / "ansible-inventory"), *args], cwd=REPO, env=run_env, capture_output=True,
                         text=True, timeout=120, check=False)
    assert res.returncode == 0, res.stderr
    return res.stdout


@pytest.fixture(scope="module")
def export(awx_config):
    return json.loads(inventory(awx_config, "-i", "inventory/", "--list", "--export"))


def plain(node, where="inventory"):
    if isinstance(node, dict):
        for key, value in node.items():
            assert isinstance(key, str) and not key.startswith("__ansible"), "%s: %r" % (where, key)
            plain(value, "%s.%s" % (where, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            plain(value, "%s[%d]" % (where, i))
    else:
        assert node is None or isinstance(node, (str, int, float, bool)), "%s: %r" % (where, node)


def test_export_is_plain_data(export):
    plain(export)
    assert sorted(export["_meta"]["hostvars"]) == ["gw1", "gw2", "master1", "worker1"]
    assert export["all"]["vars"]["dualstack_cluster_name"] == "ee"


def resolved(listing):
    """{host: (sorted groups, hostvars)} of an `ansible-inventory --list` (group vars merged in)."""
    data = json.loads(listing)
    groups = {}

    def walk(group, parents):
        entry = data.get(group, {})
        for host in entry.get("hosts", []):
            groups.setdefault(host, set()).update(parents + [group])
        for child in entry.get("children", []):
            walk(child, parents + [group])

    walk("all", [])
    return {h: (sorted(g - {"ungrouped"}), data["_meta"]["hostvars"][h]) for h, g in groups.items()}


def test_export_round_trips_through_script_and_yaml_inventories(export, awx_config, tmp_path):
    original = resolved(inventory(awx_config, "-i", "inventory/config.yml", "--list"))
    # the script inventory AWX gives ansible-playbook (the export, hostvars in _meta)
    script = tmp_path / "awx_inventory.py"
    script.write_text("#!%s\nimport json, sys\nDATA = %s\nprint(json.dumps(DATA if '--list' in sys.argv else {}))\n"
                      % (sys.executable, json.dumps(json.dumps(export)).join(("json.loads(", ")"))))
    script.chmod(0o700)
    from_script = resolved(inventory(awx_config, "-i", str(script), "--list"))
    # the YAML inventory of the same export
    yaml_file = tmp_path / "awx_inventory.yml"
    yaml_file.write_text(inventory(awx_config, "-i", "inventory/config.yml", "--list", "--export", "--yaml"))
    from_yaml = resolved(inventory(awx_config, "-i", str(yaml_file), "--list"))
    assert from_script == original
    assert from_yaml == original


def awx_slices(names, count):
    """AWX's Inventory.get_sliced_hosts: hosts ordered by name, slice n (1-based) = hosts[n-1::count]."""
    ordered = sorted(names)
    return [ordered[offset::count] for offset in range(count)]


def test_awx_slices_deal_the_gateways_into_different_slices(export):
    slices = awx_slices(export["_meta"]["hostvars"], 2)
    assert slices == [["gw1", "master1"], ["gw2", "worker1"]]
    # why the WireGuard credential is needed for a sliced site run (docs/awx.md): each slice holds
    # one gateway, and a gateway alone generates a key of its own
    assert all(len([h for h in s if h.startswith("gw")]) == 1 for s in slices)


def test_ee_metadata_is_controller_side_ranges():
    meta = yaml.safe_load((REPO / "meta" / "execution-environment.yml").read_text())
    assert meta["version"] == 1
    deps = meta["dependencies"]
    assert (REPO / deps["python"]).is_file() and (REPO / deps["system"]).is_file()
    reqs = [line.split("#")[0].strip() for line in (REPO / deps["python"]).read_text().splitlines()]
    reqs = [r for r in reqs if r]
    names = {r.split(";")[0].split("[")[0].split("<")[0].split(">")[0].split("=")[0].split("!")[0].strip().lower()
             for r in reqs}
    assert names == {"pydantic", "netaddr", "openstacksdk"}
    assert not any("==" in r for r in reqs), "ranges, not pins: %s" % reqs
    assert "ansible" not in names and "ansible-core" not in names
    ee = yaml.safe_load((REPO / "ee" / "execution-environment.yml").read_text())
    assert ee["version"] == 3 and ee["options"]["package_manager_path"] == "/usr/bin/apt-get"
