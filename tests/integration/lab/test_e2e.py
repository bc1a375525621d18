"""End to end on the embedded lab: `lab up`, a real site run, idempotence with zero Neutron writes,
--check --diff on a changed config, failover of the gateways, a bad config refused before any
change, and `lab down` leaving nothing behind.

The lab here is the tests' own (tests/integration/lab/e2e.toml: cluster "e2e", its own subnets),
so a lab a person is using is never touched. The tests run in file order and share one lab.
"""

import json
import os
import re
import shutil
import subprocess
import time
import urllib.request

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
CONFIG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "e2e.toml")
STATE = os.path.join(REPO, ".cache", "lab", "e2e")
VENV = os.path.join(REPO, ".venv", "bin")

pytestmark = [pytest.mark.lab]


def env(config=CONFIG):
    out = dict(os.environ, DUALSTACK_CONFIG=config, CONTAINERS_CONF=os.path.join(REPO, "lab", "containers.conf"),
               OS_CLIENT_CONFIG_FILE=os.path.join(STATE, "clouds.yaml"), ANSIBLE_NOCOLOR="1")
    out["PATH"] = VENV + os.pathsep + out["PATH"]
    return out


def sh(cmd, config=CONFIG, timeout=900, check=True):
    res = subprocess.run(cmd, cwd=REPO, env=env(config), capture_output=True, text=True, timeout=timeout, check=False)
    if check and res.returncode != 0:
        raise AssertionError("%s -> %d\n%s\n%s" % (" ".join(cmd), res.returncode, res.stdout[-6000:], res.stderr[-3000:]))
    return res


def lab(*args, **kw):
    return sh([os.path.join(VENV, "python"), "lab/lab.py"] + list(args), **kw)


def playbook(*args, **kw):
    return sh([os.path.join(VENV, "ansible-playbook")] + list(args), **kw)


def recap(output):
    """{host: {"ok": n, "changed": n, "failed": n, ...}} from a PLAY RECAP."""
    out = {}
    for line in output.split("PLAY RECAP")[-1].splitlines():
        m = re.match(r"^(\S+)\s+:\s+(.*)$", line.strip())
        if m:
            out[m.group(1)] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(2))}
    return out


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
    print("cold site run: %.1f s" % (time.time() - t0))
    rc = recap(res.stdout)
    assert rc and all(v["failed"] == 0 and v["unreachable"] == 0 for v in rc.values()), res.stdout[-4000:]
    summary = lab("summary", check=False)
    print(summary.stdout)
    assert summary.returncode == 0, summary.stdout + summary.stderr
    assert "VIPs on exactly one gateway, both families together: yes" in summary.stdout
    assert re.search(r"IPv6 \S+\s+OK", summary.stdout) and re.search(r"IPv4 \S+\s+OK", summary.stdout)
    nodes = len(plan["groups"]["k8s_control_plane"]) + len(plan["groups"]["k8s_workers"])
    assert "%d of %d sessions Established" % (2 * nodes, 2 * nodes) in summary.stdout


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


def test_modules_run_through_the_module_server_and_the_same_without_it(plan):
    """The lab connection's module server answered every module of the checks (none fell back to
    nsenter), and the same checks pass with it turned off (each module a fresh python3)."""
    res = playbook("playbooks/check.yml", "-vvv", timeout=600)
    hosts = plan["groups"]["gateways"] + plan["groups"]["k8s_control_plane"] + plan["groups"]["k8s_workers"]
    assert res.stdout.count("MODULE SERVER ") >= len(hosts), res.stdout[-3000:]
    assert "running the module through nsenter" not in res.stdout
    assert not [line for line in res.stdout.splitlines() if "EXEC " in line and "python3 && sleep 0" in line]
    for name in hosts:
        socks = podman("exec", "dsk-%s-%s" % (plan["cluster"]["name"], name), "sh", "-c",
                       "ls /run/dualstack-lab-modsrv/*.sock").stdout.split()
        assert len(socks) == 1, (name, socks)
    off = playbook("playbooks/check.yml", "-vvv", "-e", "ansible_podman_exec_module_server=false", timeout=600)
    assert "MODULE SERVER " not in off.stdout
    assert [line for line in off.stdout.splitlines() if "EXEC " in line and "python3 && sleep 0" in line]
    assert all(v["failed"] == 0 for v in recap(off.stdout).values()), off.stdout[-3000:]


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
    # nor the controller's module server (localhost's dualstack.k8s.local_server, started by the site runs)
    servers = "/tmp/dualstack-modsrv-%d/" % os.geteuid()
    ps = subprocess.run(["pgrep", "-f", "module_server.py " + servers], capture_output=True, text=True, check=False)
    assert ps.stdout.strip() == ""
    assert not [n for n in (os.listdir(servers) if os.path.isdir(servers) else []) if n.endswith(".pid")]
    assert shutil.which("podman")
