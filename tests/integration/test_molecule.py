"""Molecule scenarios of the gateway roles (extensions/molecule/<scenario>), run as pytest tests.

    .venv/bin/pytest -m molecule tests/integration/test_molecule.py

Each scenario runs `molecule test -s NAME` (destroy, syntax, create, prepare, check, converge,
idempotence, verify, destroy) on rootful podman with CONTAINERS_CONF=lab/containers.conf and must
leave no container or network behind. The one-role scenarios run their role with plain variables
(host_vars/group_vars in molecule.yml; no config.toml, no inventory plugin). The Molecule log is kept
in tests/output/molecule-NAME.log.
"""

from __future__ import annotations

import os
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from conftest_lab import REPO, molecule, podman, skip_reason  # noqa: E402

pytestmark = [pytest.mark.molecule, pytest.mark.skipif(skip_reason() is not None, reason=str(skip_reason()))]

# One scenario per role; every gateway role together (scenario "gateways") runs in
# test_failover.py, which also kills the VIP holder.
SCENARIOS = ["sysctl", "wireguard", "keepalived", "haproxy", "bird", "nat64", "kubernetes"]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenario(scenario):
    log = REPO / "tests" / "output" / f"molecule-{scenario}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    try:
        result = molecule("test", scenario, timeout=1500, log=log)
    finally:
        # never leave containers/networks behind, even after a timeout
        if molecule("destroy", scenario, timeout=300).returncode != 0:
            pass
    elapsed = time.monotonic() - start
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-60:])
    assert result.returncode == 0, f"molecule test -s {scenario} failed after {elapsed:.0f} s:\n{tail}"
    assert_clean(scenario)


def assert_clean(scenario):
    """No container or network labelled with the scenario (shared/create.yml labels both) is left."""
    label = f"label=dualstack-k8s-molecule={scenario}"
    containers = podman("ps", "-aq", "--filter", label, check=False).stdout.split()
    networks = podman("network", "ls", "-q", "--filter", label, check=False).stdout.split()
    assert not containers and not networks, f"left behind: {containers} {networks}"


def test_bad_config_stops_before_any_host(tmp_path):
    """A config that would render an invalid bird config (gateway AS == Calico AS: no eBGP) fails
    when the inventory loads: the gateways playbook touches no host."""
    import subprocess

    from conftest_lab import MOLECULE_DIR, lab_env

    cfg = (MOLECULE_DIR / "gateways" / "config.toml").read_text()
    cfg = cfg.replace("as_number = 65000", "as_number = 64512").replace(
        '"../../../.cache/', f'"{REPO}/.cache/')
    bad = tmp_path / "config.toml"
    bad.write_text(cfg)
    env = lab_env()
    env["DUALSTACK_CONFIG"] = str(bad)
    result = subprocess.run(
        [str(REPO / ".venv" / "bin" / "ansible-playbook"), "playbooks/gateways.yml"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    out = result.stdout + result.stderr
    assert result.returncode != 0
    assert "gateways.as_number" in out
    assert "TASK [" not in out, "a task ran although the config is invalid"
