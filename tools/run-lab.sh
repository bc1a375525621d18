#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine (as root): set-up, the embedded lab, a real
# `ansible-playbook playbooks/site.yml` run against it, the lab's WireGuard client, and a summary
# read from the live hosts. Run it again: the lab is reused and the site run converges with changed=0.
#
# DUALSTACK_LAB_CONNECTION=ssh bash tools/run-lab.sh   reaches the lab's hosts over SSH as a user
# with sudo (become), the way real hosts are reached, instead of the lab's harness connection.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
bash tools/setup.sh
export CONTAINERS_CONF="$repo/lab/containers.conf"
# the lab's cloud (a neutron-server on 127.0.0.1) for the site run's OpenStack stage
OS_CLIENT_CONFIG_FILE=${OS_CLIENT_CONFIG_FILE:-$(.venv/bin/python lab/lab.py clouds-yaml)}
export OS_CLIENT_CONFIG_FILE
# containers, SSH user, stand-ins for calico/node and the API server (lab/playbooks/standins.yml)
.venv/bin/python lab/lab.py up
printf '\033[1m==> ansible-playbook playbooks/site.yml\033[0m\n'
.venv/bin/ansible-playbook playbooks/site.yml "$@"
# the WireGuard client needs the gateways' public key: after the site run (lab/playbooks/client.yml)
.venv/bin/python lab/lab.py client
.venv/bin/python lab/lab.py summary
