"""`lab down` against podman's stop races (issue 15 item 9), on real rootful podman.

CI on a fresh machine saw `podman rm -f -t 2` print "StopSignal failed to stop container ... in 2
seconds, resorting to SIGKILL" and then fail with "container state improper: stopped": the
container changed state under the removal. Here the lab's containers change state under `lab down`
on purpose - PID 1 ignores the stop signal (podman falls back to SIGKILL, as in CI), another process
stops them while `lab down` removes them, and two `lab down` run at once. Every `lab down` must
succeed and leave no container and no network of the lab behind.

Its own cluster name ("downrace") and network (172.30.190.0/24): no other lab is touched.
"""

import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from conftest_lab import REPO, lab_env  # noqa: E402

pytestmark = [pytest.mark.lab]

CLUSTER = "downrace"
LABEL = "dualstack-k8s-lab=%s" % CLUSTER
NETWORK = "dsk-%s-nodes" % CLUSTER
IMAGE = "localhost/dualstack-lab:latest"
LAB = [str(REPO / ".venv" / "bin" / "python"), str(REPO / "lab" / "lab.py")]


def podman(*args, check=True):
    return subprocess.run(["podman", *args], env=lab_env(), capture_output=True, text=True, timeout=180,
                          check=check)


def left_behind():
    names = podman("ps", "-a", "--filter", "label=" + LABEL, "--format", "{{.Names}}").stdout.split()
    nets = podman("network", "ls", "--filter", "label=" + LABEL, "--format", "{{.Name}}").stdout.split()
    return names + nets


@pytest.fixture
def config(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs rootful podman")
    if podman("image", "exists", IMAGE, check=False).returncode != 0:
        pytest.skip("no lab image (tools/setup.sh builds it)")
    path = tmp_path / "downrace.toml"
    path.write_text('[cluster]\nname = "%s"\n' % CLUSTER)
    yield str(path)
    # whatever happened: nothing of this cluster stays
    names = podman("ps", "-a", "--filter", "label=" + LABEL, "--format", "{{.Names}}").stdout.split()
    if names:
        podman("rm", "-f", "-t", "0", *names, check=False)
    podman("network", "rm", "-f", NETWORK, check=False)


def start_containers(count=4):
    """`count` lab containers on a lab network; PID 1 ignores SIGTERM, so every stop ends in SIGKILL."""
    if podman("network", "exists", NETWORK, check=False).returncode != 0:
        podman("network", "create", "--internal", "--label", LABEL, "--subnet", "172.30.190.0/24", NETWORK)
    names = ["dsk-%s-c%d" % (CLUSTER, i) for i in range(count)]
    for name in names:
        podman("run", "-d", "--name", name, "--label", LABEL, "--network", NETWORK, "--stop-signal", "SIGTERM",
               IMAGE, "sleep", "600")
    return names


def lab_down(config, background=False):
    env = dict(lab_env(), DUALSTACK_CONFIG=config)
    if background:
        return subprocess.Popen(LAB + ["down"], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True)
    return subprocess.run(LAB + ["down"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)


def test_down_while_another_process_stops_the_containers(config):
    for _round in range(3):  # bounded
        names = start_containers()
        stopper = subprocess.Popen(["podman", "stop", "-t", "1", *names], env=lab_env(),
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            res = lab_down(config)
        finally:
            stopper.wait(timeout=120)
        assert res.returncode == 0, res.stdout + res.stderr
        assert left_behind() == []


def test_two_downs_at_once_both_succeed(config):
    start_containers()
    first = lab_down(config, background=True)
    second = lab_down(config)
    out = first.communicate(timeout=300)[0]
    assert first.returncode == 0, out
    assert second.returncode == 0, second.stdout + second.stderr
    assert left_behind() == []


def test_down_of_a_lab_that_is_down_succeeds(config):
    res = lab_down(config)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "no container, network or neutron-server left" in res.stdout
