#!/usr/bin/env bash
# The whole test suite: set-up (apt, virtualenvs, lab image), then pytest in two phases:
#   1. the tests not marked `outage` (unit, real Neutron, Molecule, the installed collection, the e2e
#      and IPv6-primary labs, sanity, lint), two files at a time (pytest-xdist --dist loadfile, both
#      cores: the tests of a file share its lab, podman network or neutron-server, so they stay together);
#   2. the tests marked `outage` - gateway failover, the conversion (lost probes), the IPv6-only lab
#      (NAT64 failover), ingress failover - one at a time, nothing competing with their probes.
# Extra arguments go to one plain pytest run instead (e.g. -m "not molecule" or a test file).
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
bash tools/setup.sh || exit 1
export CONTAINERS_CONF="$repo/lab/containers.conf"

run_pytest() {
  .venv/bin/python -m pytest -p no:cacheprovider -rfEs --durations=15 "$@"
  local rc=$?
  if [ "$rc" -eq 5 ]; then
    echo "pytest collected no tests: that is a failure" >&2
    rc=1
  fi
  return "$rc"
}

if [ "$#" -gt 0 ]; then
  run_pytest "$@" tests
  exit $?
fi
start=$(date +%s)
run_pytest -n 2 --dist loadfile -m "not outage" tests
rc1=$?
mid=$(date +%s)
run_pytest -m outage tests
rc2=$?
end=$(date +%s)
echo "suite: phase 1 (two at a time) $((mid - start)) s (exit $rc1), phase 2 (one at a time) $((end - mid)) s (exit $rc2)"
[ "$rc1" -eq 0 ] && [ "$rc2" -eq 0 ]
