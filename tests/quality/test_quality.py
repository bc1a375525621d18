"""ansible-test sanity and ansible-lint (production profile) over the whole collection."""

import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)

pytestmark = pytest.mark.quality


def _run(cmd, timeout):
    res = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False)
    tail = "\n".join((res.stdout + res.stderr).splitlines()[-80:])
    return res.returncode, tail


def test_ansible_test_sanity_is_clean():
    code, tail = _run(["bash", os.path.join(REPO, "tools", "run-sanity.sh")], timeout=1500)
    assert code == 0, tail


def test_ansible_lint_production_profile_is_clean():
    code, tail = _run([os.path.join(BIN, "ansible-lint"), "--profile", "production", "--nocolor"], timeout=900)
    assert code == 0, tail


def test_collection_builds(tmp_path):
    code, tail = _run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--output-path", str(tmp_path)],
                      timeout=300)
    assert code == 0, tail
    assert (tmp_path / "dualstack-k8s-0.2.0.tar.gz").exists()


def test_config_reference_is_current():
    code, tail = _run([sys.executable, os.path.join(REPO, "tools", "gen_config_reference.py"), "--check"], timeout=60)
    assert code == 0, tail
