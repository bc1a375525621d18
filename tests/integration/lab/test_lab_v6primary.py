"""The IPv6-primary mode on the embedded lab (issue 16): cold site run, the lab's summary (every BGP
session, pings of both families through the tunnel) and a `changed=0` re-run, IPv6 first everywhere
(the WireGuard client's endpoint, kubelet node-ip). One gateway, one control-plane node; the lab is the
test's own (cluster name m6p, its own subnets). It measures no outage: tools/run-tests.sh runs it next
to other tests.
"""

import os
import re
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from conftest_lab import cold_and_warm, e2e_lab, load, pexec  # noqa: E402

pytestmark = [pytest.mark.lab]

V6PRIMARY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "modes-v6primary.toml")


@pytest.fixture(scope="module")
def v6primary():
    e2e_lab("down", config=V6PRIMARY)
    t0 = time.time()
    e2e_lab("up", config=V6PRIMARY, timeout=1200)
    print("IPv6-primary lab up: %.1f s" % (time.time() - t0))
    yield load(V6PRIMARY)
    e2e_lab("down", config=V6PRIMARY, check=False)


def test_v6primary_cold_and_warm_site_runs(v6primary):
    dummy, dummy, summary = cold_and_warm(V6PRIMARY)
    # IPv6 first everywhere: the client's endpoint, node-ip, the API endpoint
    conf = pexec(v6primary["lab"]["containers"]["heidi"], "cat", "/etc/wireguard/wg0.conf").stdout
    assert "Endpoint = [fd54:192::fe]:7777" in conf, conf
    kubeadm = pexec(v6primary["lab"]["containers"]["master1"], "cat", "/etc/kubernetes/kubeadm-config.yaml").stdout
    assert re.search(r"node-ip\W+value: fd54:194::14,172\.30\.194\.20", kubeadm) or \
        "fd54:194::14,172.30.194.20" in kubeadm, kubeadm
