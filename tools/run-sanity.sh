#!/usr/bin/env bash
# ansible-test sanity on a temporary ansible_collections/dualstack/k8s copy of the checkout.
# Extra arguments go to ansible-test (e.g. --test validate-modules).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
venv=$repo/.cache/sanity-venv
if [ ! -x "$venv/bin/ansible-test" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$repo/requirements/sanity.txt"
fi
# the pip version ansible-test bootstraps its venvs with
pipver=$(grep -hoE "pip='[0-9.]+'" "$venv"/lib/python3*/site-packages/ansible_test/_internal/python_requirements.py | grep -oE '[0-9.]+')
mkdir -p ~/.ansible/test/cache
cp "$repo/tools/ansible_test_get_pip.py" ~/.ansible/test/cache/get_pip_${pipver//./_}.py
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dest=$("$repo/tools/sanity_tree.sh" "$work")
cd "$dest"
"$venv/bin/ansible-test" sanity --venv --python 3.11 --color no "$@"
