#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine (as root): set-up, the embedded lab, a real
# `ansible-playbook playbooks/site.yml` run against it, and a summary read from the live hosts.
# Run it again: the lab is reused and the site run converges with changed=0.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
bash tools/setup.sh
export CONTAINERS_CONF="$repo/lab/containers.conf"
.venv/bin/python lab/lab.py up
printf '\033[1m==> ansible-playbook playbooks/site.yml\033[0m\n'
.venv/bin/ansible-playbook playbooks/site.yml "$@"
.venv/bin/python lab/lab.py summary
