#!/usr/bin/env bash
# Lay the collection out as .../ansible_collections/dualstack/k8s (what ansible-test needs) in $1.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
dest=${1:?usage: sanity_tree.sh DIR}/ansible_collections/dualstack/k8s
rm -rf "$dest"; mkdir -p "$dest"
cd "$repo"
git ls-files -co --exclude-standard -z | grep -zv '^\.collections/' | xargs -0 cp --parents -P -t "$dest"
# ansible-test only looks at files git knows about
git -C "$dest" init -q && git -C "$dest" add -A >/dev/null
echo "$dest"
