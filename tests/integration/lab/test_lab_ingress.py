"""Dual-stack ingress for a single-stack cluster on the embedded lab (issue 18 item 3).

An IPv4-only cluster (tests/integration/lab/ingress.toml, cluster "ing": nodes with IPv4 only) whose
gateways serve the ingress frontend "http" on the public VIPs of BOTH families, 172.30.240.254:80 and
[fd54:240::fe]:80, with PROXY protocol v2 to NodePort 30080 on the worker. On the worker runs the
stand-in of the ingress controller (lab/standins/proxy_echo.py, lab/playbooks/standins.yml): it answers
only after a valid PROXY v2 header and echoes the client address it read from it.

- the IPv6-only ingress client (lab.ingress_client, on the external network) GETs the IPv6 public VIP
  and gets back its OWN IPv6 address, though no node has IPv6;
- the IPv4 client (the lab's WireGuard client container, on the external network) gets its own IPv4;
- HAProxy health-checks the NodePort (check-send-proxy), a backend without a valid header is refused;
- after a gateway failover (keepalived SIGKILLed on the holder) the IPv6 frontend answers again from
  the other gateway (the IPv6 public VIP rides along with the IPv4 VRRP instance);
- measured: requests/s through HAProxy over IPv6 with PROXY v2 (bounded: 3 s, 4 workers).

Only the gateway stage runs (playbooks/gateways.yml): kubeadm and Calico play no part in the ingress
path. One lab for the module, torn down at the end.
"""

import json
import os
import re
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from conftest_lab import REPO, e2e_env, e2e_lab, e2e_playbook, pexec, recap, vip_holder, wait_for  # noqa: E402

sys.path.insert(0, str(REPO / "benchmarks"))
from ingress_bench import measure  # noqa: E402

pytestmark = [pytest.mark.lab, pytest.mark.outage]  # a failover under load: runs alone

CONFIG = os.path.join(HERE, "ingress.toml")
KW = {"config": CONFIG}


def load():
    from ansible_collections.dualstack.k8s.plugins.plugin_utils.plan import load_plan
    return load_plan(CONFIG)


@pytest.fixture(scope="module")
def lab():
    e2e_lab("down", **KW)
    t0 = time.time()
    e2e_lab("up", timeout=1200, **KW)
    up = time.time() - t0
    t0 = time.time()
    res = e2e_playbook("playbooks/gateways.yml", timeout=1200, **KW)
    rc = recap(res.stdout)
    assert rc and all(v["failed"] == 0 and v["unreachable"] == 0 for v in rc.values()), res.stdout[-4000:]
    print("ingress lab up %.1f s, gateway stage %.1f s" % (up, time.time() - t0))
    plan = load()
    yield plan
    e2e_lab("down", check=False, **KW)


def get(plan, host, address, port, path="/"):
    """curl from a lab host (by plan name) to address:port; the JSON answer."""
    url = "http://%s:%d%s" % ("[%s]" % address if ":" in address else address, port, path)
    container = plan["lab"]["containers"][host]

    def once():
        res = pexec(container, "curl", "-sS", "-g", "--max-time", "3", url, check=False, timeout=20)
        return res.stdout if res.returncode == 0 and res.stdout.strip() else None

    out, dummy = wait_for(once, timeout=20, interval=0.5)
    assert out, "no answer from %s on %s" % (url, host)
    return json.loads(out) if path == "/" else out.strip()


def test_the_cluster_is_ipv4_only_and_the_ingress_client_ipv6_only(lab):
    containers = lab["lab"]["containers"]
    for node in lab["groups"]["k8s_control_plane"] + lab["groups"]["k8s_workers"]:
        out = pexec(containers[node], "ip", "-6", "-o", "addr", "show", "scope", "global").stdout
        assert out.strip() == "", "%s has IPv6: %s" % (node, out)
    client = lab["lab"]["ingress_client"]
    out = pexec(containers[client["name"]], "ip", "-4", "-o", "addr", "show", "scope", "global").stdout
    assert out.strip() == "", "the ingress client has IPv4: %s" % out
    assert client["ipv6"] in pexec(containers[client["name"]], "ip", "-6", "-o", "addr", "show").stdout


def test_haproxy_serves_the_frontend_on_both_public_vips_with_proxy_v2(lab):
    holder = vip_holder(lab)
    assert holder
    container = lab["lab"]["containers"][holder]
    cfg = pexec(container, "cat", "/etc/haproxy/haproxy.cfg").stdout
    assert "frontend ingress_http\n    bind 172.30.240.254:80\n    bind [fd54:240::fe]:80 v6only\n" in cfg, cfg
    worker = lab["hosts"][lab["groups"]["k8s_workers"][0]]["ipv4"]
    assert re.search(r"send-proxy-v2 check-send-proxy\n    server worker1 %s:30080 check\n" % re.escape(worker), cfg), cfg
    # both public VIPs on the holder (the IPv6 one without a VRRP instance of its own)
    addrs = pexec(container, "ip", "-o", "addr", "show").stdout
    assert " 172.30.240.254/" in addrs and " fd54:240::fe/" in addrs, addrs
    # the worker's NodePort is UP in HAProxy (health checks with a PROXY v2 LOCAL header)
    state = pexec(container, "sh", "-c", "echo 'show servers state ingress_http' | "
                  "python3 -c \"import socket,sys;s=socket.socket(socket.AF_UNIX);s.connect('/run/haproxy/admin.sock');"
                  "s.sendall(sys.stdin.read().encode());print(b''.join(iter(lambda:s.recv(4096),b'')).decode())\"").stdout
    line = [x.split() for x in state.splitlines() if " worker1 " in x]
    assert line and line[0][5] == "2", state


def test_ipv6_client_gets_its_own_ipv6_address_from_an_ipv4_only_cluster(lab):
    client = lab["lab"]["ingress_client"]
    answer = get(lab, client["name"], lab["vips"]["public_ipv6"], 80)
    assert answer["command"] == "PROXY" and answer["family"] == "ipv6", answer
    assert answer["source"] == client["ipv6"], answer
    assert answer["destination"] == lab["vips"]["public_ipv6"] and answer["destination_port"] == 80, answer
    # the TCP peer of the backend is a gateway's IPv4 node address: the address came from the header
    gateways = {lab["hosts"][g]["ipv4"] for g in lab["groups"]["gateways"]}
    assert answer["peer"] in gateways, answer
    assert answer["local_connections"] > 0, answer  # HAProxy's health checks, with check-send-proxy
    print("IPv6 client %s -> [%s]:80 -> %s:30080 via %s: the backend read %s" % (
        client["ipv6"], lab["vips"]["public_ipv6"], lab["hosts"]["worker1"]["ipv4"], answer["peer"], answer["source"]))


def test_ipv4_client_gets_its_own_ipv4_address(lab):
    client = lab["lab"]["wireguard_client"]
    own = lab["lab"]["external_hosts"][client]["ipv4"]
    answer = get(lab, client, lab["vips"]["public_ipv4"], 80)
    assert answer["family"] == "ipv4" and answer["source"] == own, answer
    assert answer["destination"] == lab["vips"]["public_ipv4"], answer


def test_the_backend_refuses_a_connection_without_proxy_header(lab):
    """What reaches the NodePort without HAProxy is refused: the address can only come from the header."""
    gw = lab["lab"]["containers"][lab["groups"]["gateways"][0]]
    worker = lab["hosts"]["worker1"]["ipv4"]
    res = pexec(gw, "curl", "-sS", "--max-time", "5", "http://%s:30080/" % worker, check=False)
    assert res.returncode != 0 and not res.stdout, res.stdout + res.stderr


def test_ingress_requests_per_second_over_ipv6(lab):
    client = lab["lab"]["ingress_client"]
    result = measure(lab["lab"]["containers"][client["name"]], lab["vips"]["public_ipv6"], 80, count=5000,
                     seconds=3.0, workers=4, env=e2e_env(CONFIG))
    print("ingress over IPv6 with PROXY v2 through HAProxy: %(requests)d requests in %(seconds)s s = "
          "%(per_second)s req/s (%(workers)d workers, a new connection each; %(errors)d errors)" % result)
    assert result["requests"] > 0 and not result["bad"] and not result["errors"], result
    assert result["sources"] == [client["ipv6"]], result


def test_ipv6_ingress_comes_back_after_a_gateway_failover(lab):
    """SIGKILL keepalived on the VIP holder while the IPv6 client GETs every 0.1 s (bounded: 150 tries)."""
    containers = lab["lab"]["containers"]
    client = lab["lab"]["ingress_client"]
    holder = vip_holder(lab)
    assert holder
    url = "http://[%s]:80/source" % lab["vips"]["public_ipv6"]
    loop = ("i=0; while [ $i -lt 150 ]; do "
            "if [ \"$(curl -s -g --max-time 1 %s)\" = '%s' ]; then echo ok $(date +%%s.%%N); "
            "else echo fail $(date +%%s.%%N); fi; sleep 0.1; i=$((i+1)); done" % (url, client["ipv6"]))
    proc = subprocess.Popen(["podman", "exec", containers[client["name"]], "sh", "-c", loop], env=e2e_env(CONFIG),
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        time.sleep(2.0)
        t_kill = time.time()
        pexec(containers[holder], "systemctl", "kill", "--signal=SIGKILL", "keepalived")
        time.sleep(6.0)
    finally:
        proc.kill()
        out = proc.communicate()[0]
    samples = [(x.split()[0], float(x.split()[1])) for x in out.splitlines() if len(x.split()) == 2]
    before = [s for s in samples if s[1] < t_kill]
    after = [s for s in samples if s[1] >= t_kill]
    assert before and before[-1][0] == "ok", before[-5:]
    assert after and after[-1][0] == "ok", "the IPv6 frontend did not come back: %s" % after[-10:]
    fails = [t for state, t in after if state == "fail"]
    back = next((t for state, t in after if state == "ok" and (not fails or t > fails[-1])), None)
    print("IPv6 ingress after failover: back after %.2f s (%d failed GETs)" % ((back - t_kill) if fails else 0.0,
                                                                               len(fails)))
    other = vip_holder(lab)
    assert other and other != holder
    addrs = pexec(containers[other], "ip", "-o", "addr", "show").stdout
    assert " fd54:240::fe/" in addrs, addrs
    pexec(containers[holder], "systemctl", "start", "keepalived")  # the last test: the lab goes down next
