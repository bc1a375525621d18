"""End to end on the embedded lab over the harness connection (root through nsenter): `lab up`,
a real site run and the lab's WireGuard client, idempotence with zero Neutron writes, --check
--diff on a changed config, failover of the gateways, a bad config refused before any change, and
`lab down` leaving nothing behind. test_lab_modes.py does the cold and warm site runs over SSH (IPv6-only lab).

The lab here is the tests' own (tests/integration/lab/e2e.toml: cluster "e2e", its own subnets),
so a lab a person is using is never touched. The tests run in file order and share one lab.
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
from conftest_lab import E2E_CONFIG, E2E_STATE, assert_summary_ok, e2e_lab, e2e_playbook, e2e_sh, recap  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
CONFIG = str(E2E_CONFIG)
STATE = str(E2E_STATE)
VENV = os.path.join(REPO, ".venv", "bin")

pytestmark = [pytest.mark.lab]


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


def test_cold_site_run_builds_everything(plan):
    t0 = time.time()
    res = playbook("playbooks/site.yml", timeout=1500)
    print("cold site run (harness connection): %.1f s" % (time.time() - t0))
    rc = recap(res.stdout)
    assert rc and all(v["failed"] == 0 and v["unreachable"] == 0 for v in rc.values()), res.stdout[-4000:]
    lab("client")
    summary = lab("summary", check=False)
    print(summary.stdout)
    assert_summary_ok(plan, summary)


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
