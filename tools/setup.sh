#!/usr/bin/env bash
# All set-up for a fresh Debian 12 machine (as root), idempotent and quick when done already:
# apt packages (no recommends), the controller virtualenv .venv, the Neutron virtualenv and
# the lab image. Each step is skipped when its inputs have not changed.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
stamp_dir=.cache/stamps
mkdir -p "$stamp_dir"
log() { printf '\033[1m==> %s\033[0m\n' "$*"; }

APT_PACKAGES=(
  python3 python3-venv python3-pip git rsync ca-certificates iproute2 iputils-ping procps
  podman runc netavark aardvark-dns iptables uidmap debootstrap
  openssh-client  # the lab over SSH (DUALSTACK_LAB_CONNECTION=ssh): ssh, ssh-keygen
  bird2 keepalived haproxy wireguard-tools wireguard-go
)
apt_hash=$(printf '%s\n' "${APT_PACKAGES[@]}" | sha256sum | cut -c1-16)
if [ "$(cat $stamp_dir/apt 2>/dev/null)" != "$apt_hash" ]; then
  log "apt: installing ${#APT_PACKAGES[@]} packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -q -o DPkg::Lock::Timeout=300 update
  apt-get -q -y -o DPkg::Lock::Timeout=300 install --no-install-recommends "${APT_PACKAGES[@]}"
  # the host's own daemons are only used as config checkers (bird -p, keepalived -t, haproxy -c)
  for unit in bird keepalived haproxy; do systemctl disable --now "$unit" >/dev/null 2>&1 || true; done
  echo "$apt_hash" > $stamp_dir/apt
else
  log "apt: up to date"
fi

PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
venv_sync() {  # venv_sync DIR REQUIREMENTS...
  local dir=$1; shift
  local hash; hash=$(cat "$@" requirements/*.txt | sha256sum | cut -c1-16)
  local name; name=$(basename "$dir")
  if [ "$(cat "$stamp_dir/$name" 2>/dev/null)" = "$hash" ] && [ -x "$dir/bin/python" ]; then
    log "$dir: up to date"; return
  fi
  log "$dir: installing $*"
  [ -x "$dir/bin/python" ] || "$PY" -m venv "$dir"
  "$dir/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip==25.3
  for req in "$@"; do "$dir/bin/python" -m pip install -q --disable-pip-version-check -r "$req"; done
  echo "$hash" > "$stamp_dir/$name"
}
venv_sync .venv requirements/test.txt
venv_sync .cache/neutron-venv requirements/neutron.txt
# the oldest supported ansible-core (2.16), for tests/integration/test_collection.py
venv_sync .cache/venv-2.16 requirements/compat-2.16.txt

log "lab image"
CONTAINERS_CONF="$repo/lab/containers.conf" .venv/bin/python lab/image.py

log "lab WireGuard client key pairs (config/config.toml and the lab-ready examples read their public keys)"
.venv/bin/python lab/lab.py keys
for example in config/examples/*.toml; do
  DUALSTACK_CONFIG="$example" .venv/bin/python lab/lab.py keys
done
