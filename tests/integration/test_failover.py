"""Gateway failover, end to end (2 gateways, 1 node, 1 WireGuard client on the external network).

    .venv/bin/pytest -m molecule tests/integration/test_failover.py

Brings up Molecule scenario `gateways` — every gateway role together — (create, prepare,
converge, idempotence, verify: VIPs on one gateway, BGP only from it, the nodes' routes, the
client pings the node and reaches HAProxy through the tunnel), then pings the node over IPv6 from the client through the tunnel and
SIGKILLs keepalived on the VIP holder: the VIPs must move to the other gateway, its BGP sessions
must come up and the path must come back through it within 30 s (bounded count of pings). Then, per
tracked daemon (issue 15 item 6), SIGKILL of wireguard-go, bird and haproxy (restart disabled: it
stays down) on the VIP holder: keepalived must give up the VIPs within 5 s and the path through the
new holder (ICMPv6 to the node; HTTPS /readyz through the VIP for haproxy) must work again within
10 s (benchmarks/failover_bench.py measures the same). Everything is destroyed afterwards.
"""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from conftest_lab import (  # noqa: E402
    REPO, assert_clean, measure_failover, molecule, restore_keepalived, scenario_plan_names, skip_reason)

sys.path.insert(0, str(REPO / "benchmarks"))
from failover_bench import measure, settle  # noqa: E402

pytestmark = [pytest.mark.molecule, pytest.mark.outage,  # measures outages: runs alone
              pytest.mark.skipif(skip_reason() is not None, reason=str(skip_reason()))]

SCENARIO = "gateways"
BOUND_S = 30.0


@pytest.fixture(scope="module")
def failover_lab():
    log_dir = REPO / "tests" / "output"
    log_dir.mkdir(parents=True, exist_ok=True)
    try:
        for action in ("destroy", "create", "converge", "idempotence", "verify"):
            result = molecule(action, SCENARIO, timeout=1200, log=log_dir / f"failover-{action}.log")
            assert result.returncode == 0, f"molecule {action} -s {SCENARIO} failed, see tests/output/failover-{action}.log"
        yield scenario_plan_names(SCENARIO)
    finally:
        molecule("destroy", SCENARIO, timeout=300, log=log_dir / "failover-destroy-final.log")
        assert_clean(SCENARIO)


def test_path_survives_master_kill(failover_lab):
    result = measure_failover(failover_lab, family="ipv6", interval=0.1, max_seconds=BOUND_S + 10)
    print(f"failover: {result}")
    restore_keepalived(failover_lab, result["holder"])  # the next tests start from the first gateway
    assert result["vip_s"] < 5, f"the VIPs did not move within 5 s: {result}"
    assert result["bgp_s"] < BOUND_S, f"BGP did not come up on the new VIP holder: {result}"
    assert result["path_s"] is not None and result["path_s"] <= BOUND_S, f"the path did not come back: {result}"


@pytest.mark.parametrize("daemon", ["wireguard-go", "bird", "haproxy"])
def test_tracked_daemon_down_gives_up_the_vips(failover_lab, daemon):
    settle(failover_lab, failover_lab["groups"]["gateways"][0])
    result = measure(failover_lab, daemon)
    print(f"{daemon} killed: {result}")
    assert result["vip_s"] < 5, f"the VIPs did not leave the gateway whose {daemon} is down: {result}"
    assert result["path_s"] is not None and result["path_s"] <= 10, f"the path did not come back: {result}"
