#!/usr/bin/env bash
# The whole test suite: set-up (apt, virtualenvs, lab image), then one pytest run over unit tests,
# real-Neutron tests, Molecule scenarios, the failover test, the end-to-end lab tests,
# ansible-test sanity and ansible-lint. Extra arguments go to pytest (e.g. -m "not molecule").
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
bash tools/setup.sh
export CONTAINERS_CONF="$repo/lab/containers.conf"
set +e
.venv/bin/python -m pytest -p no:cacheprovider -rfEs --durations=15 "$@" tests
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests: that is a failure" >&2
  exit 1
fi
exit "$rc"
