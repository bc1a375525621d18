# Copyright: dualstack.k8s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the OpenStack integration tests: a real neutron-server (tests/neutron_fixture.py),
the lab plan (config/config.toml through plugins/plugin_utils/plan.py) and Ansible runners."""
from __future__ import annotations

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(os.path.dirname(HERE))
for path in (TESTS, HERE):
    if path not in sys.path:
        sys.path.insert(0, path)

from neutron_fixture import make_neutron_fixture  # noqa: E402
import osrun  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line("markers", "openstack: needs the real neutron-server (slow)")


neutron_server = make_neutron_fixture()


@pytest.fixture(scope="session")
def lab_plan():
    return osrun.lab_plan()


@pytest.fixture(scope="session")
def ansible(neutron_server):
    """Runs playbooks/modules through the .venv's Ansible against the test server."""
    return osrun.Ansible(lambda: neutron_server.env)
