"""End to end on the embedded lab: `lab up`, the site run as AWX runs it (2 job slices at once over
SSH, then inside the execution environment), the lab's WireGuard client, idempotence over the harness
connection with zero Neutron writes, --check --diff on a changed config, failover of the gateways, a
bad config refused before any change, and `lab down` leaving nothing behind.

The lab here is the tests' own (tests/integration/lab/e2e.toml: cluster "e2e", its own subnets),
so a lab a person is using is never touched. The tests run in file order and share one lab:

1. a cold site run as an AWX job template with job slicing 2 (issue 17): the hosts of the inventory
   sorted by name and dealt round-robin into 2 slices (AWX's Inventory.get_sliced_hosts), each slice a
   whole site run limited to its hosts (and localhost: AWX's slice inventories keep the implicit
   localhost), both at once, over SSH; the WireGuard private key comes as an extra variable, as the
   credential type in extensions/awx/credential_types/ injects it (the gateways are in different
   slices and must share one key). Then `lab client` and `lab summary` are OK;
2. warm runs over the harness connection (root through nsenter): changed=0, no Neutron write;
3. near the end, the EE image (ee/build.py) is built or found by the hash of its inputs, and a warm
   site run inside it with ansible-runner --process-isolation (ee/run.py) is changed=0.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from conftest_lab import E2E_CONFIG, E2E_STATE, assert_summary_ok, e2e_env, e2e_lab, e2e_playbook, e2e_sh, recap  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
CONFIG = str(E2E_CONFIG)
STATE = str(E2E_STATE)
VENV = os.path.join(REPO, ".venv", "bin")

pytestmark = [pytest.mark.lab]

sys.path.insert(0, os.path.join(REPO, "ee"))  # ee/build.py, ee/run.py


def sh(cmd, config=CONFIG, timeout=900, check=True):
    return e2e_sh(cmd, config=config, timeout=timeout, check=check)


def lab(*args, **kw):
    return e2e_lab(*args, **kw)


def playbook(*args, **kw):
    return e2e_playbook(*args, **kw)


def neutron_requests(reset=False):
    with open(os.path.join(STATE, "neutron", "port")) as handle:
        port = int(handle.read())
    req = urllib.request.Request("http://127.0.0.1:%d/__dualstack/requests" % port,
                                 method="DELETE" if reset else "GET")
    return json.loads(urllib.request.urlopen(req, timeout=10).read())


def writes(counts):
    return sum(v for k, v in counts.items() if k != "GET")


def podman(*args, check=True):
    return sh(["podman"] + list(args), check=check, timeout=60)


def host_files_digest(containers, paths):
    """sha256 of the given files on every container: what a change would alter."""
    out = {}
    for name in containers:
        res = podman("exec", name, "sh", "-c", "sha256sum %s 2>/dev/null || true" % " ".join(paths))
        out[name] = res.stdout
    return out


@pytest.fixture(scope="module")
def plan():
    import sys
    sys.path.insert(0, os.path.join(REPO, ".collections"))
    from ansible_collections.dualstack.k8s.plugins.plugin_utils.plan import load_plan
    lab("down")
    lab("up", timeout=1200)
    yield load_plan(CONFIG)
    lab("down", check=False)


WATCHED = ["/etc/bird/bird.conf", "/etc/keepalived/keepalived.conf", "/etc/haproxy/haproxy.cfg",
           "/etc/wireguard/wg0.conf", "/etc/kubernetes/kubeadm-config.yaml"]


SLICES = 2
SSH = {"connection": "ssh"}


@pytest.fixture(scope="module")
def extravars(plan):
    """What the job's credentials inject as extra variables (the WireGuard credential: the gateways'
    shared private key), in a 0600 file as ansible-runner's env/extravars."""
    key = subprocess.run(["wg", "genkey"], capture_output=True, text=True, check=True).stdout.strip()
    path = E2E_STATE / "awx-extravars.json"
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"wireguard_private_key": key}, handle)
    return path


def awx_slices(count):
    """The hosts of the inventory as AWX slices them: sorted by name, slice i gets hosts[i::count]."""
    res = sh([os.path.join(VENV, "ansible-inventory"), "--list", "--export"])
    names = sorted(json.loads(res.stdout)["_meta"]["hostvars"])
    return [names[i::count] for i in range(count)]


def test_cold_site_run_in_two_awx_slices_over_ssh(plan, extravars):
    slices = awx_slices(SLICES)
    assert sorted(sum(slices, [])) == sorted(plan["hosts"]) and all(slices)
    # the gateways are dealt into different slices: the shared WireGuard key must come from outside
    assert len({i for i, s in enumerate(slices) for h in s if h in plan["groups"]["gateways"]}) == SLICES
    # docs/awx.md: the OpenStack stage is its own unsliced job template, run first (two slices would
    # both find the network missing and both create one); the sliced site template skips it
    t0 = time.time()
    res = playbook("playbooks/openstack.yml", check=False, **SSH)
    assert res.returncode == 0, res.stdout[-4000:]
    t_openstack = time.time() - t0
    t0 = time.time()
    procs = [subprocess.Popen([os.path.join(VENV, "ansible-playbook"), "playbooks/site.yml", "--limit",
                               ",".join(hosts + ["localhost"]), "--skip-tags", "openstack", "-e", "@%s" % extravars],
                              cwd=REPO, env=e2e_env(CONFIG, "ssh"), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
             for hosts in slices]
    outs = [p.communicate(timeout=1500)[0] for p in procs]
    print("OpenStack stage unsliced %.1f s, then the cold site run in %d slices at once over SSH: %.1f s (%s)"
          % (t_openstack, SLICES, time.time() - t0, slices))
    for hosts, proc, out in zip(slices, procs, outs):
        rc = recap(out)
        assert proc.returncode == 0, out[-6000:]
        assert sorted(rc) == sorted(hosts + ["localhost"]), rc
        assert all(v["failed"] == 0 and v["unreachable"] == 0 for v in rc.values()), out[-4000:]
    lab("client", **SSH)
    summary = lab("summary", check=False, **SSH)
    print(summary.stdout)
    assert_summary_ok(plan, summary)
    # one WireGuard identity on both gateways (the injected key), as in an unsliced run
    pubs = {podman("exec", plan["lab"]["containers"][gw], "sh", "-c", "wg pubkey < /etc/wireguard/wg0.key").stdout
            for gw in plan["groups"]["gateways"]}
    assert len(pubs) == 1, pubs


def test_second_run_changes_nothing_and_writes_nothing_to_neutron(plan):
    neutron_requests(reset=True)
    t0 = time.time()
    res = playbook("playbooks/site.yml", timeout=1500)
    print("warm site run: %.1f s" % (time.time() - t0))
    rc = recap(res.stdout)
    changed = {h: v["changed"] for h, v in rc.items() if v["changed"]}
    assert not changed, "not idempotent: %s\n%s" % (changed, res.stdout[-6000:])
    counts = neutron_requests()
    assert writes(counts) == 0, counts
    client = lab("client")
    assert not {h: v["changed"] for h, v in recap(client.stdout).items() if v["changed"]}, client.stdout[-4000:]


def test_harness_connection_is_root_by_nsenter_one_call_per_module(plan):
    """The lab's vars plugin gives every host the harness connection: root, no become, a pipelined
    module is one nsenter call (no file put into the container)."""
    res = sh([os.path.join(VENV, "ansible"), "all", "-m", "ansible.builtin.command", "-a", "id -un", "-vvv"])
    hosts = plan["groups"]["gateways"] + plan["groups"]["k8s_control_plane"] + plan["groups"]["k8s_workers"]
    for name in hosts:
        assert re.search(r"^%s \| CHANGED \| rc=0 >>\nroot$" % re.escape(name), res.stdout, re.M), res.stdout[-3000:]
    execs = [line for line in res.stdout.splitlines() if line.startswith("<") and " EXEC " in line]
    assert len(execs) == len(hosts) and all("nsenter --target" in line for line in execs), execs
    assert " PUT " not in res.stdout and "sudo" not in "".join(execs)


def test_render_writes_what_the_site_run_wrote_without_secrets(plan, tmp_path):
    neutron_requests(reset=True)
    out = tmp_path / "review"
    playbook("playbooks/render.yml", "-e", "render_dir=%s" % out, timeout=600)
    assert neutron_requests() == {}  # no cloud touched
    for gw in plan["groups"]["gateways"]:
        container = plan["lab"]["containers"][gw]
        for path in ("/etc/bird/bird.conf", "/etc/haproxy/haproxy.cfg", "/etc/keepalived/keepalived.conf"):
            live = podman("exec", container, "cat", path).stdout
            assert (out / gw / path.lstrip("/")).read_text() == live, "%s:%s differs from the render" % (gw, path)
        wg = (out / gw / "etc/wireguard/wg0.conf").read_text()
        live_key = podman("exec", container, "cat", "/etc/wireguard/wg0.key").stdout.strip()
        assert live_key and live_key not in wg and "PrivateKey = <WIREGUARD-PRIVATE-KEY" in wg
    for node in plan["groups"]["k8s_control_plane"] + plan["groups"]["k8s_workers"]:
        live = podman("exec", plan["lab"]["containers"][node], "cat", "/etc/kubernetes/kubeadm-config.yaml").stdout
        assert (out / node / "etc/kubernetes/kubeadm-config.yaml").read_text() == live
    assert sorted(p.name for p in (out / "cluster" / "calico").iterdir())
    assert json.loads((out / "plan.json").read_text()) == plan


def test_check_diff_on_a_changed_config_shows_it_and_changes_nothing(plan, tmp_path):
    changed = tmp_path / "e2e.toml"
    text = open(CONFIG).read().replace("vrrp_advert_int = 0.2", "vrrp_advert_int = 0.5")
    text = text.replace('public_key_file = "../../../', 'public_key_file = "%s/' % REPO)
    changed.write_text(text)
    containers = list(plan["lab"]["containers"].values())
    before = host_files_digest(containers, WATCHED)
    neutron_requests(reset=True)
    res = playbook("playbooks/site.yml", "--check", "--diff", config=str(changed), timeout=1500)
    assert "advert_int 0.5" in res.stdout or "advert_int 0.50" in res.stdout, res.stdout[-6000:]
    assert re.search(r"^-\s*advert_int 0\.2", res.stdout, re.M), "the diff shows no before"
    assert host_files_digest(containers, WATCHED) == before
    assert writes(neutron_requests()) == 0


def test_bad_config_fails_before_any_change(plan, tmp_path):
    bad = tmp_path / "bad.toml"
    text = open(CONFIG).read().replace('service_subnet_v6 = "fdff:13::/112"', 'service_subnet_v6 = "fdff:13::/100"')
    text = text.replace('ipv6_cidr = "fd54:164::/120"', 'ipv6_cidr = "fd54:164::/120"\nipv6_mode = "slaac"')
    text = text.replace('public_key_file = "../../../', 'public_key_file = "%s/' % REPO)
    bad.write_text(text)
    containers = list(plan["lab"]["containers"].values())
    before = host_files_digest(containers, WATCHED)
    neutron_requests(reset=True)
    res = playbook("playbooks/site.yml", config=str(bad), check=False, timeout=300)
    assert res.returncode != 0
    out = res.stdout + res.stderr
    assert "kubernetes.service_subnet_v6" in out and "network.ipv6_mode" in out, out[-3000:]
    assert "TASK [" not in res.stdout  # no task ran on any host
    assert neutron_requests() == {}
    assert host_files_digest(containers, WATCHED) == before


def test_failover_brings_the_ipv6_path_back(plan):
    holders = {}
    for gw in plan["groups"]["gateways"]:
        name = plan["lab"]["containers"][gw]
        out = podman("exec", name, "ip", "-j", "addr").stdout
        addrs = {a["local"] for link in json.loads(out) for a in link.get("addr_info", [])}
        holders[gw] = plan["vips"]["ipv6"] in addrs
    master = [g for g, held in holders.items() if held]
    assert len(master) == 1, holders
    client = plan["lab"]["containers"][plan["lab"]["wireguard_client"]]
    node = plan["hosts"][plan["groups"]["k8s_workers"][0]]["ipv6"]
    podman("exec", client, "ping", "-6", "-c", "2", "-W", "2", node)
    podman("exec", plan["lab"]["containers"][master[0]], "pkill", "-KILL", "keepalived")
    t0 = time.time()
    recovered = None
    for _i in range(150):  # bounded: at most 150 probes, 30 s
        if podman("exec", client, "ping", "-6", "-c", "1", "-W", "0.2", node, check=False).returncode == 0:
            recovered = time.time() - t0
            break
        time.sleep(0.2)
    print("IPv6 client -> node path back after %.2f s" % (recovered or -1))
    assert recovered is not None and recovered < 30
    other = [g for g in plan["groups"]["gateways"] if g != master[0]][0]
    out = podman("exec", plan["lab"]["containers"][other], "ip", "-j", "addr").stdout
    assert plan["vips"]["ipv6"] in {a["local"] for link in json.loads(out) for a in link.get("addr_info", [])}
    # put the old master back for the next tests
    podman("exec", plan["lab"]["containers"][master[0]], "systemctl", "restart", "keepalived")


def test_ee_image_is_built_and_cached(plan):
    import build
    t0 = time.time()
    tag = build.ensure_image()
    first = time.time() - t0
    t0 = time.time()
    again = build.ensure_image()
    second = time.time() - t0
    print("EE image %s: %.1f s, again (cached) %.1f s" % (tag, first, second))
    assert again == tag
    assert second < 60, "the second call must find the image by its inputs' hash, not build it"
    out = podman("run", "--rm", tag, "ansible-galaxy", "collection", "list").stdout
    for name in ("dualstack.k8s", "ansible.posix", "ansible.utils"):
        assert name in out, out


def test_warm_site_run_inside_the_ee_changes_nothing(plan, extravars):
    import run
    t0 = time.time()
    res = run.run_playbook("playbooks/site.yml", CONFIG, image=run.IMAGE,
                           extravars=json.loads(extravars.read_text()), timeout=1500)
    print("warm site run inside the EE (ansible-runner, SSH): %.1f s" % (time.time() - t0))
    rc = recap(res.stdout)
    assert res.returncode == 0, res.stdout[-6000:] + res.stderr[-3000:]
    assert sorted(rc) == sorted(list(plan["hosts"]) + ["localhost"]), rc
    assert all(v["failed"] == 0 and v["unreachable"] == 0 for v in rc.values()), res.stdout[-4000:]
    changed = {h: v["changed"] for h, v in rc.items() if v["changed"]}
    assert not changed, "not idempotent inside the EE: %s\n%s" % (changed, res.stdout[-6000:])


def test_lab_down_leaves_nothing_behind(plan):
    lab("down")
    names = podman("ps", "-a", "--format", "{{.Names}}").stdout.split()
    assert not [n for n in names if n.startswith("dsk-e2e-")]
    nets = podman("network", "ls", "--format", "{{.Name}}").stdout.split()
    assert not [n for n in nets if n.startswith("dsk-e2e-")]
    assert not os.path.exists(os.path.join(STATE, "neutron"))
    ps = subprocess.run(["pgrep", "-f", os.path.join(STATE, "neutron")], capture_output=True, text=True, check=False)
    assert ps.stdout.strip() == ""
    # the lab's vars plugin gives the hosts no connection any more (its state is gone)
    assert not os.path.exists(os.path.join(STATE, "hosts.json"))
    assert not os.path.exists(os.path.join(STATE, "ssh_known_hosts"))
    assert shutil.which("podman")
