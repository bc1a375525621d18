"""Build the execution environment's base image ``localhost/dualstack-ee-base`` from Debian packages.

No container registry is reachable from the lab machine, so - like the lab's image (``lab/image.py``,
whose functions this script reuses) - the base is built locally: ``debootstrap --variant=minbase
bookworm`` with the few packages an execution environment needs on the controller side, from the
Debian mirror the host's apt uses, then ``podman import``. It is a slimmer sibling of
``localhost/dualstack-lab``: no systemd, no daemons, only what ansible-builder's stages and an
Ansible controller run:

- ``python3``, ``python3-pip``, ``python3-venv``: the interpreter ansible-builder installs into (Debian
  has no ``ensurepip`` for the system Python, so the EE definition sets ``skip_pip_install`` and pip
  comes from ``python3-pip``; ansible-builder's ``assemble`` makes a ``venv``);
- ``openssh-client``: the ``ssh`` connection (and ``ssh-agent``, which ansible-runner uses for a
  machine credential's key);
- ``ca-certificates``, ``netbase``.

The image is tagged ``localhost/dualstack-ee-base:<hash>`` (the package list and this script) and
``:latest``; it is rebuilt only when the hash changes (``--force`` rebuilds anyway).

Usage: ``.venv/bin/python ee/base_image.py [--force] [--print-tag]``. Prints the image reference.
"""
from __future__ import annotations

import argparse
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EE_DIR = Path(__file__).resolve().parent
REPO = EE_DIR.parent
sys.path.insert(0, str(REPO / "lab"))
import image as lab_image  # noqa: E402  (lab/image.py: host_mirror, run, chroot, podman_env, image_exists)

IMAGE = "localhost/dualstack-ee-base"
SUITE = lab_image.SUITE
STATE_DIR = REPO / ".cache" / "ee"
PACKAGES = sorted(["python3", "python3-pip", "python3-venv", "openssh-client", "ca-certificates", "netbase"])


def image_hash() -> str:
    h = hashlib.sha256()
    h.update("\n".join(PACKAGES).encode())
    h.update(b"\0")
    h.update(Path(__file__).read_bytes())
    return h.hexdigest()[:12]


def build(tag: str, mirror: str) -> None:
    work = Path(tempfile.mkdtemp(prefix="dualstack-ee-base.", dir="/var/tmp"))
    rootfs = work / "rootfs"
    try:
        t0 = time.monotonic()
        lab_image.run(["debootstrap", "--variant=minbase", "--components=main", "--include=" + ",".join(PACKAGES),
                       SUITE, str(rootfs), mirror])
        (rootfs / "etc/apt/sources.list").write_text(f"deb {mirror} {SUITE} main\n")
        lab_image.chroot(rootfs, "apt-get", "clean")
        for sub in ("var/lib/apt/lists", "var/cache/apt/archives", "var/log"):
            for p in (rootfs / sub).glob("*"):
                if p.is_file() or p.is_symlink():
                    p.unlink()
        for sub in ("usr/share/doc", "usr/share/man", "usr/share/info"):
            shutil.rmtree(rootfs / sub, ignore_errors=True)
            (rootfs / sub).mkdir(parents=True, exist_ok=True)
        (rootfs / "etc/machine-id").write_text("")
        (rootfs / "etc/hostname").unlink(missing_ok=True)
        (rootfs / "etc/dualstack-ee-base-image").write_text(f"{tag}\n")
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "--numeric-owner", "-c", "."], stdout=subprocess.PIPE)
        lab_image.run(["podman", "import", "--change", 'CMD ["/bin/bash"]', "--message",
                       f"dualstack.k8s execution environment base {tag}", "-", tag],
                      stdin=tar.stdout, env=lab_image.podman_env(), stdout=subprocess.DEVNULL)
        tar.stdout.close()
        if tar.wait() != 0:
            raise SystemExit("tar of the rootfs failed")
        print(f"EE base image: {time.monotonic() - t0:.0f} s", file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def ensure_image(force: bool = False) -> str:
    """Build the base image unless a current one exists; returns ``IMAGE:<hash>``."""
    tag = f"{IMAGE}:{image_hash()}"
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    with open(STATE_DIR / "base-image.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if force or not lab_image.image_exists(tag):
            if os.geteuid() != 0:
                raise SystemExit("building the EE base image needs root (debootstrap, rootful podman)")
            build(tag, lab_image.host_mirror())
        lab_image.run(["podman", "tag", tag, f"{IMAGE}:latest"], env=lab_image.podman_env())
    return tag


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--force", action="store_true", help="rebuild even if the current hash exists")
    ap.add_argument("--print-tag", action="store_true", help="print the tag this script would build and exit")
    args = ap.parse_args()
    if args.print_tag:
        print(f"{IMAGE}:{image_hash()}")
        return 0
    print(ensure_image(force=args.force))
    return 0


if __name__ == "__main__":
    sys.exit(main())
