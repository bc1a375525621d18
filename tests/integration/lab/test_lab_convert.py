"""Single -> dual-stack conversion on the embedded lab (one shared lab, module fixture).

`lab up --neutron-config convert-v4.toml` with convert-dual.toml: dual-stack podman networks (the
containers hold their IPv6 addresses on the same interface, unused by the IPv4 cluster: on OpenStack the
new fixed IP arrives by DHCPv6/RA) while Neutron and the stand-ins are built from convert-v4.toml. Then: site run with convert-v4.toml, the Kubernetes stand-ins
(lab/playbooks/k8s_standins.yml), `lab client`, a bounded 0.1 s IPv4 ping loop from the WireGuard client
to a node through playbooks/convert.yml with convert-dual.toml, and the proofs: <= 1 probe lost, same
Neutron port IDs and MACs (and IPv4), the IPv4 VIP never moved, the kubectl calls in the documented order
with the IPv4 ranges byte-identical, backups 0600, `lab summary` OK for both families, a dual site run
changed=0. Prints the conversion time and the probes lost.
"""

import json
import os
import re
import subprocess
import sys
import time
import urllib.request

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from conftest_lab import REPO, VENV_BIN, assert_summary_ok, e2e_env, e2e_sh, lab_state, recap  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
V4 = os.path.join(HERE, "convert-v4.toml")
DUAL = os.path.join(HERE, "convert-dual.toml")
STATE = str(lab_state(DUAL))
PY = str(VENV_BIN / "python")

pytestmark = [pytest.mark.lab, pytest.mark.outage]  # counts lost probes: runs alone


def sh(cmd, config=V4, timeout=1500, check=True):
    return e2e_sh(cmd, config=config, timeout=timeout, check=check)


def lab(*args, config=V4, **kw):
    return sh([PY, "lab/lab.py", *args], config=config, **kw)


def playbook(*args, config=V4, **kw):
    return sh([str(VENV_BIN / "ansible-playbook"), *args], config=config, **kw)


def pexec(container, *cmd, check=True):
    return sh(["podman", "exec", container, *cmd], check=check, timeout=60)


def neutron_ports():
    with open(os.path.join(STATE, "neutron", "port")) as handle:
        port = int(handle.read())
    data = json.loads(urllib.request.urlopen("http://127.0.0.1:%d/v2.0/ports" % port, timeout=10).read())
    return {p["name"]: p for p in data["ports"] if p["name"].startswith("conv-")}


def no_changes(res):
    rc = {h: v for h, v in recap(res.stdout).items() if "failed" in v}  # not the profile_tasks lines
    assert rc and all(v["failed"] == 0 and v["unreachable"] == 0 for v in rc.values()), res.stdout[-5000:]
    return {h: v["changed"] for h, v in rc.items() if v["changed"]}


def client_ipv4(plan):
    return plan["lab"]["external_hosts"][plan["lab"]["wireguard_client"]]["ipv4"]


def ingress_source(plan):
    """GET /source through the ingress frontend on the public IPv4 VIP: the client address the node's
    PROXY-v2 echo read (lab/standins/proxy_echo.py)."""
    client = plan["lab"]["containers"][plan["lab"]["wireguard_client"]]
    url = "http://%s:%d/source" % (plan["vips"]["public_ipv4"], plan["ingress"]["frontends"][0]["port"])
    return pexec(client, "curl", "-sS", "--max-time", "3", url).stdout.strip()


@pytest.fixture(scope="module")
def plans():
    sys.path.insert(0, os.path.join(REPO, ".collections"))
    from ansible_collections.dualstack.k8s.plugins.plugin_utils.plan import load_plan  # noqa: PLC0415
    lab("down", config=DUAL, check=False)
    t0 = time.time()
    # networks and containers from the dual plan (the IPv6 addresses wait, unused), Neutron and the
    # stand-ins from the IPv4-only config
    lab("up", "--neutron-config", V4, config=DUAL, timeout=1500)
    print("lab up (Neutron from the IPv4-only config): %.1f s" % (time.time() - t0))
    yield load_plan(V4), load_plan(DUAL)
    if not os.environ.get("DUALSTACK_KEEP_LAB"):  # kept for debugging only
        lab("down", config=DUAL, check=False)


def test_ipv4_cluster_then_conversion(plans):
    v4, dual = plans
    containers = dual["lab"]["containers"]
    t0 = time.time()
    res = playbook("playbooks/site.yml")
    print("IPv4 site run: %.1f s" % (time.time() - t0))
    no_changes(res)
    playbook("lab/playbooks/k8s_standins.yml")
    lab("client")
    client = containers[dual["lab"]["wireguard_client"]]
    node = v4["hosts"]["worker1"]["ipv4"]
    pexec(client, "ping", "-4", "-c", "2", "-W", "2", node)
    before = neutron_ports()
    assert all(len(p["fixed_ips"]) == 1 for p in before.values())
    assert ingress_source(dual) == client_ipv4(dual)  # the client's own address, through PROXY v2

    # a wrong conversion is refused before any change (primary family switch), naming the key
    bad = os.path.join(STATE, "bad.toml")
    text = open(DUAL).read().replace('ip_families = ["ipv4", "ipv6"]', 'ip_families = ["ipv6", "ipv4"]')
    open(bad, "w").write(text.replace('public_key_file = "../../../', 'public_key_file = "%s/' % REPO))
    res = playbook("playbooks/convert.yml", config=bad, check=False)
    assert res.returncode != 0 and "cluster.ip_families" in res.stdout + res.stderr, res.stdout[-3000:]
    assert neutron_ports() == before

    # the IPv4 VIP holder, sampled every 0.2 s on both gateways during the run (bounded)
    vip = v4["vips"]["ipv4"]
    watchers = {}
    for gw in dual["groups"]["gateways"]:
        watchers[gw] = subprocess.Popen(
            ["podman", "exec", containers[gw], "sh", "-c",
             "echo $$ > /run/convert-vipwatch.pid; i=0; while [ $i -lt 4000 ]; do "
             "ip -o -4 addr show | grep -q ' %s/' && echo 1 || echo 0; sleep 0.2; i=$((i+1)); done" % vip],
            env=e2e_env(V4), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    ping = subprocess.Popen(
        ["podman", "exec", client, "sh", "-c",
         "echo $$ > /run/convert-ping.pid; exec ping -4 -D -n -i 0.1 -W 1 -c 9000 %s" % node],
        env=e2e_env(V4), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        time.sleep(2)
        t0 = time.time()
        res = playbook("playbooks/convert.yml", "-e", "convert_wait_delay=1", config=DUAL, check=False)
        seconds = time.time() - t0
        time.sleep(1)
    finally:
        pexec(client, "sh", "-c", "kill -INT $(cat /run/convert-ping.pid)", check=False)
        for gw in watchers:
            pexec(containers[gw], "sh", "-c", "kill $(cat /run/convert-vipwatch.pid)", check=False)
        out = ping.communicate(timeout=30)[0]
        samples = {gw: w.communicate(timeout=30)[0].split() for gw, w in watchers.items()}
    assert res.returncode == 0, res.stdout[-8000:] + res.stderr[-2000:]
    m = re.search(r"(\d+) packets transmitted, (\d+) received", out)
    sent, got = int(m.group(1)), int(m.group(2))
    print("conversion: %.1f s; IPv4 probes sent %d, lost %d" % (seconds, sent, sent - got))
    assert sent - got <= 1, out[-2000:]
    holder = [gw for gw, s in samples.items() if s and all(x == "1" for x in s)]
    assert len(holder) == 1 and all(all(x == "0" for x in s) for gw, s in samples.items() if gw != holder[0]), samples

    after = neutron_ports()
    for name, port in before.items():
        assert (after[name]["id"], after[name]["mac_address"]) == (port["id"], port["mac_address"]), name
        assert port["fixed_ips"][0] in after[name]["fixed_ips"]
    for host, entry in dual["hosts"].items():
        assert entry["ipv6"] in [f["ip_address"] for f in after["conv-%s" % host]["fixed_ips"]]

    # the kubectl calls on the control plane: the documented order, the IPv4 text unchanged
    master = containers["master1"]
    calls = [json.loads(line) for line in pexec(master, "cat", "/var/log/k8s-standin/kubectl.log").stdout.splitlines()]
    skip = ("--kubeconfig", "-n", "kube-system", "-o", "json", "yaml")
    verbs = [" ".join(a for a in c["argv"] if not a.startswith("/") and a not in skip) for c in calls]

    def first(word):
        return next(i for i, v in enumerate(verbs) if word in v)

    assert (first("patch configmap kubeadm-config") < first("get pod kube-apiserver-master1")
            < first("get pod kube-controller-manager-master1") < first("get node master1")
            < first("patch configmap kube-proxy") < first("apply -f") < first("patch daemonset calico-node")), verbs
    api = pexec(master, "cat", "/etc/kubernetes/manifests/kube-apiserver.yaml").stdout
    assert "    - --service-cluster-ip-range=10.99.0.0/16,fdff:33::/112\n" in api
    kcm = pexec(master, "cat", "/etc/kubernetes/manifests/kube-controller-manager.yaml").stdout
    assert "--cluster-cidr=10.247.0.0/16,fdff:32::/56" in kcm and "--node-cidr-mask-size-ipv6=72" in kcm
    for node in ("master1", "worker1"):
        env = pexec(containers[node], "cat", "/var/lib/kubelet/kubeadm-flags.env").stdout
        assert "--node-ip=%s " % ",".join(dual["hosts"][node]["node_ips"]) in env
    backups = pexec(master, "sh", "-c", "find /var/backups/dualstack-k8s/convert -type f -printf '%m %p\\n'").stdout
    assert "kubeadm-config.yaml" in backups and "kube-apiserver.yaml" in backups
    assert all(line.startswith("600 ") for line in backups.splitlines()), backups

    # calico/node's stand-in (bird on the nodes) opens its IPv6 sessions as calico-node does after its
    # DaemonSet rolled; the client gets its IPv6 tunnel address; then both families work end to end
    playbook("lab/playbooks/standins.yml", config=DUAL)
    lab("client", config=DUAL)
    summary = lab("summary", config=DUAL, check=False)
    print(summary.stdout)
    assert_summary_ok(dual, summary)
    res = playbook("playbooks/site.yml", config=DUAL)
    assert not no_changes(res), "dual site run after the conversion is not changed=0\n" + res.stdout[-6000:]
    # the same ingress frontend still hands the client's own address to the backend
    assert ingress_source(dual) == client_ipv4(dual)
    # convert.yml again: nothing left to do
    res = playbook("playbooks/convert.yml", config=DUAL)
    assert not no_changes(res), res.stdout[-6000:]
