"""Build the embedded lab's base image ``localhost/dualstack-lab`` from Debian packages.

No container registry is reachable from the lab machine, so the image is built locally:
``debootstrap --variant=minbase bookworm`` with the packages below, from the Debian mirror the
host's apt is configured with (read from ``/etc/apt/sources.list.d/*`` / ``sources.list``, never
hard-coded), then ``podman import``.

The image is tagged ``localhost/dualstack-lab:<hash>`` where ``<hash>`` covers the package list
and this script, and ``localhost/dualstack-lab:latest``. It is rebuilt only when the hash changes
(``--force`` rebuilds anyway). A lock file serialises concurrent callers.

Container artefacts baked in (they are facts of running systemd in a rootful podman container,
not of a real VM):
- every daemon service is disabled: roles enable and start them once they are configured;
- Debian's haproxy unit fails with 226/NAMESPACE in a container (``BindReadOnlyPaths=/dev/log``):
  a drop-in resets ``BindReadOnlyPaths=``;
- apt timers and units that make no sense in a container are masked;
- podman mounts /proc/sys read-only: a oneshot unit re-mounts only /proc/sys/net (per network
  namespace) read-write so roles set net.* sysctls as on a VM. It needs ``--cap-add SYS_ADMIN``
  next to NET_ADMIN, NET_RAW, NET_BROADCAST; kernel.*/vm.*/fs.* stay read-only;
- openssh-server and sudo, so the lab can be reached as users reach their hosts (over SSH as a
  user with sudo; ``lab/lab.py up`` creates that user and its key). The image carries no SSH host
  key: each container makes its own at first boot (``ssh-keygen -A`` before ssh.service), and
  ``pam_loginuid`` is optional (a container may not write /proc/self/loginuid).

Usage: ``.venv/bin/python lab/image.py [--force] [--print-tag]``. Prints the image reference.
podman runs with ``CONTAINERS_CONF=lab/containers.conf`` (docs/lab.md).
"""
from __future__ import annotations

import argparse
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LAB_DIR = Path(__file__).resolve().parent
STATE_DIR = LAB_DIR / ".state"
CONTAINERS_CONF = LAB_DIR / "containers.conf"
IMAGE = "localhost/dualstack-lab"
SUITE = "bookworm"

PACKAGES = sorted(
    [
        "systemd",
        "systemd-sysv",
        "dbus",
        "python3",
        "python3-apt",  # ansible.builtin.apt/package: state=present works offline with it
        "iproute2",
        "iputils-ping",
        "procps",
        "bird2",
        "keepalived",
        "haproxy",
        "wireguard-tools",
        "wireguard-go",
        "nftables",
        "tayga",  # NAT64 (role nat64) for IPv6-only clusters
        "unbound",  # DNS64 (role nat64)
        "nsd",  # the lab's IPv4-only "outside" host: an authoritative zone for its name
        "ca-certificates",
        "sudo",
        "openssh-server",  # SSH mode (DUALSTACK_LAB_CONNECTION=ssh): the path real hosts take
        "curl",
        "netbase",
        "less",
    ]
)

# Units that are installed enabled by the packages; the roles enable them when configured.
DISABLE_UNITS = ["bird.service", "keepalived.service", "haproxy.service", "nftables.service", "tayga.service",
                 "unbound.service", "nsd.service", "unbound-resolvconf.service"]
# Noise in a container.
MASK_UNITS = [
    "apt-daily.timer",
    "apt-daily-upgrade.timer",
    "dpkg-db-backup.timer",
    "e2scrub_all.timer",
    "fstrim.timer",
    "systemd-networkd-wait-online.service",
    "getty@tty1.service",
    "console-getty.service",
]

# podman mounts /proc/sys read-only; with CAP_SYS_ADMIN this oneshot re-mounts only /proc/sys/net
# (per network namespace, so it cannot touch the host) read-write, before systemd-sysctl runs.
# kernel.*, vm.*, fs.* stay read-only. Roles then set net.* sysctls as on a real VM.
PROC_SYS_NET_UNIT = """\
[Unit]
Description=dualstack lab: writable /proc/sys/net for this container's network namespace
DefaultDependencies=no
Before=systemd-sysctl.service sysinit.target
ConditionPathIsReadWrite=!/proc/sys/net

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/mount --bind /proc/sys/net /proc/sys/net
ExecStart=/bin/mount -o remount,bind,rw /proc/sys/net

[Install]
WantedBy=sysinit.target
"""

# Every container gets its own SSH host keys at first boot (the image has none).
SSH_HOSTKEYS_UNIT = """\
[Unit]
Description=dualstack lab: this container's own SSH host keys
Before=ssh.service
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/bin/ssh-keygen -A

[Install]
WantedBy=multi-user.target
"""

HAPROXY_DROPIN = """\
# dualstack lab image: Debian's haproxy unit fails with 226/NAMESPACE inside a
# container (BindReadOnlyPaths=/dev/log). An empty assignment resets the list.
[Service]
BindReadOnlyPaths=
"""


def podman_env() -> dict:
    env = dict(os.environ)
    env.setdefault("CONTAINERS_CONF", str(CONTAINERS_CONF))
    return env


def image_hash() -> str:
    h = hashlib.sha256()
    h.update("\n".join(PACKAGES).encode())
    h.update(b"\0")
    h.update(Path(__file__).read_bytes())
    return h.hexdigest()[:12]


def host_mirror(suite: str = SUITE) -> str:
    """The Debian mirror URI the host's apt uses for ``suite`` (deb822 or one-line format)."""
    files = sorted(Path("/etc/apt/sources.list.d").glob("*.sources"))
    files += sorted(Path("/etc/apt/sources.list.d").glob("*.list"))
    if Path("/etc/apt/sources.list").exists():
        files.append(Path("/etc/apt/sources.list"))
    for path in files:
        text = path.read_text(errors="replace")
        if path.suffix == ".sources":
            for stanza in re.split(r"\n\s*\n", text):
                fields = {}
                for line in stanza.splitlines():
                    if line.startswith("#") or ":" not in line:
                        continue
                    key, dummy, value = line.partition(":")
                    fields[key.strip().lower()] = value.split()
                if suite in fields.get("suites", []) and "deb" in fields.get("types", []) and "main" in fields.get(
                    "components", []
                ):
                    return fields["uris"][0]
        else:
            for line in text.splitlines():
                parts = line.split("#", 1)[0].split()
                if len(parts) >= 4 and parts[0] == "deb":
                    words = [p for p in parts[1:] if not p.startswith("[")]
                    if len(words) >= 3 and words[1] == suite and "main" in words[2:]:
                        return words[0]
    raise SystemExit(f"no apt source for Debian {suite} main found in /etc/apt/sources.list(.d)")


def image_exists(ref: str) -> bool:
    return subprocess.run(["podman", "image", "exists", ref], env=podman_env(), check=False).returncode == 0


def run(cmd: list[str], **kw) -> None:
    """Run a command; its output goes to stderr so stdout carries only the image reference."""
    print("+", " ".join(cmd), file=sys.stderr, flush=True)
    kw.setdefault("stdout", sys.stderr)
    subprocess.run(cmd, check=True, **kw)


def chroot(rootfs: Path, *cmd: str) -> None:
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND": "noninteractive", "LC_ALL": "C"}
    run(["chroot", str(rootfs), *cmd], env=env)


def build(tag: str, mirror: str) -> None:
    work = Path(tempfile.mkdtemp(prefix="dualstack-lab-image.", dir="/var/tmp"))
    rootfs = work / "rootfs"
    try:
        t0 = time.monotonic()
        run(
            [
                "debootstrap",
                "--variant=minbase",
                "--components=main",
                "--include=" + ",".join(PACKAGES),
                SUITE,
                str(rootfs),
                mirror,
            ]
        )
        t1 = time.monotonic()
        (rootfs / "etc/apt/sources.list").write_text(f"deb {mirror} {SUITE} main\n")
        for unit in DISABLE_UNITS:
            if (rootfs / "lib/systemd/system" / unit).exists():
                chroot(rootfs, "systemctl", "disable", unit)
        for unit in MASK_UNITS:
            chroot(rootfs, "systemctl", "mask", unit)
        dropin = rootfs / "etc/systemd/system/haproxy.service.d"
        dropin.mkdir(parents=True, exist_ok=True)
        (dropin / "10-dualstack-lab-container.conf").write_text(HAPROXY_DROPIN)
        unit = rootfs / "etc/systemd/system/dualstack-lab-proc-sys-net.service"
        unit.write_text(PROC_SYS_NET_UNIT)
        chroot(rootfs, "systemctl", "enable", unit.name)
        # SSH: no host key in the image (each container makes its own), loginuid optional
        for key in (rootfs / "etc/ssh").glob("ssh_host_*"):
            key.unlink()
        keys = rootfs / "etc/systemd/system/dualstack-lab-ssh-hostkeys.service"
        keys.write_text(SSH_HOSTKEYS_UNIT)
        chroot(rootfs, "systemctl", "enable", keys.name)
        pam = rootfs / "etc/pam.d/sshd"
        pam.write_text(re.sub(r"(?m)^session\s+required\s+pam_loginuid\.so", "session optional pam_loginuid.so",
                              pam.read_text()))
        chroot(rootfs, "apt-get", "clean")
        for sub in ("var/lib/apt/lists", "var/cache/apt/archives", "var/log"):
            for p in (rootfs / sub).glob("*"):
                if p.is_file() or p.is_symlink():
                    p.unlink()
        # identity comes from podman (hostname) and systemd (machine-id) at first boot
        (rootfs / "etc/machine-id").write_text("")
        (rootfs / "etc/hostname").unlink(missing_ok=True)
        (rootfs / "etc/dualstack-lab-image").write_text(f"{tag}\n")
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "--numeric-owner", "-c", "."], stdout=subprocess.PIPE)
        run(
            [
                "podman",
                "import",
                "--change",
                'CMD ["/sbin/init"]',
                "--change",
                "STOPSIGNAL=SIGRTMIN+3",
                "--message",
                f"dualstack lab image {tag}",
                "-",
                tag,
            ],
            stdin=tar.stdout,
            env=podman_env(),
            stdout=subprocess.DEVNULL,
        )
        tar.stdout.close()
        if tar.wait() != 0:
            raise SystemExit("tar of the rootfs failed")
        t2 = time.monotonic()
        print(f"debootstrap {t1 - t0:.0f} s, configure+import {t2 - t1:.0f} s", file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def ensure_image(force: bool = False) -> str:
    """Build the image unless a current one exists; returns ``IMAGE:<hash>``."""
    tag = f"{IMAGE}:{image_hash()}"
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    with open(STATE_DIR / "image.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if force or not image_exists(tag):
            if os.geteuid() != 0:
                raise SystemExit("building the lab image needs root (debootstrap, rootful podman)")
            build(tag, host_mirror())
        run(["podman", "tag", tag, f"{IMAGE}:latest"], env=podman_env())
    return tag


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--force", action="store_true", help="rebuild even if the current hash exists")
    ap.add_argument("--print-tag", action="store_true", help="print the tag the current script would build and exit")
    args = ap.parse_args()
    if args.print_tag:
        print(f"{IMAGE}:{image_hash()}")
        return 0
    print(ensure_image(force=args.force))
    return 0


if __name__ == "__main__":
    sys.exit(main())
