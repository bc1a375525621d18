"""Run a playbook of this checkout inside the execution environment the way AWX does: ansible-runner
with process isolation (``ansible-runner run --process-isolation --container-image ...``).

AWX lays out a private data directory per job (``project/`` = the project checkout, ``env/extravars``
= the job's extra variables and what credentials inject, ``env/envvars`` = injected environment) and
runs ``ansible-runner`` with it mounted at ``/runner`` in the EE container. This script does the same
with this checkout as the project (mounted at ``/runner/project``), and:

- ``ANSIBLE_COLLECTIONS_PATH=/usr/share/ansible/collections``: the collections are the EE's own
  (dualstack.k8s from its tarball, ansible.posix, ansible.utils), not the checkout's ``.collections``;
- ``--network=host``: the embedded lab's hosts sit on podman ``--internal`` bridges the host reaches,
  and its cloud (neutron-server) listens on the host's 127.0.0.1;
- the embedded lab's SSH material (``.cache/lab``: the ``dsk`` user's key and each lab's known_hosts,
  named by absolute paths in ``.cache/lab/<cluster>/hosts.json``) mounted read-only at the same path,
  and the container's user root (with rootful podman the image's user 1000 cannot read the
  root-owned key). On AWX the key is a Machine credential (ansible-runner's ``env/ssh_key``).

Usage: ``.venv/bin/python ee/run.py [--image REF] [--config FILE] [--limit HOSTS] [-e @FILE] PLAYBOOK``;
the lab's connection is SSH (DUALSTACK_LAB_CONNECTION=ssh; the harness connection cannot work from
inside a container).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
CONTAINERS_CONF = REPO / "lab" / "containers.conf"
IMAGE = "localhost/dualstack-ee:latest"


def run_playbook(playbook: str, config: str | Path, image: str = IMAGE, extravars: dict | None = None,
                 limit: str | None = None, timeout: float = 1800, verbose: bool = False) -> subprocess.CompletedProcess:
    """ansible-runner run --process-isolation in the EE; returns the completed process (stdout = the
    playbook's output)."""
    config = Path(config).resolve()
    try:
        config_in_ee = "/runner/project/" + str(config.relative_to(REPO))
    except ValueError as exc:
        raise SystemExit(f"{config}: the config must be inside the project ({REPO})") from exc
    work = REPO / ".cache" / "ee" / "runner"
    work.mkdir(parents=True, exist_ok=True)
    pdd = Path(tempfile.mkdtemp(prefix="job.", dir=work))
    try:
        env_dir = pdd / "env"
        env_dir.mkdir(mode=0o700)
        envvars = {
            "DUALSTACK_CONFIG": config_in_ee,
            "DUALSTACK_LAB_CONNECTION": "ssh",
            "ANSIBLE_COLLECTIONS_PATH": "/usr/share/ansible/collections",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
            "HOME": "/runner",
        }
        clouds = REPO / ".cache" / "lab" / _cluster(config) / "clouds.yaml"
        if clouds.exists():
            envvars["OS_CLIENT_CONFIG_FILE"] = "/runner/project/" + str(clouds.relative_to(REPO))
        (env_dir / "envvars").write_text(json.dumps(envvars))
        if extravars:
            fd = os.open(env_dir / "extravars", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                json.dump(extravars, handle)
        # the job's inventory in the private data directory, as AWX writes it there: here the project's
        # inventory directory (the dualstack.k8s.config plugin file and host_vars/localhost.yml)
        shutil.copytree(REPO / "inventory", pdd / "inventory")
        lab_ssh = REPO / ".cache" / "lab"
        cmd = [str(VENV_BIN / "ansible-runner"), "run", str(pdd), "--playbook", playbook,
               "--process-isolation", "--process-isolation-executable", "podman",
               "--container-image", image,
               "--container-volume-mount", f"{REPO}:/runner/project",
               "--container-volume-mount", f"{lab_ssh}:{lab_ssh}:ro",
               "--container-option=--network=host", "--container-option=--user=0",
               "--ident", "job"]
        if limit:
            cmd += ["--limit", limit]
        if verbose:
            cmd += ["-v"]
        env = dict(os.environ, CONTAINERS_CONF=str(CONTAINERS_CONF))
        env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
        return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    finally:
        shutil.rmtree(pdd, ignore_errors=True)


def _cluster(config: Path) -> str:
    import tomllib  # noqa: PLC0415

    return str(tomllib.loads(config.read_text()).get("cluster", {}).get("name", "dualstack"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("playbook", help="relative to the project, e.g. playbooks/site.yml")
    ap.add_argument("--image", default=IMAGE)
    ap.add_argument("--config", default=os.environ.get("DUALSTACK_CONFIG") or str(REPO / "config" / "config.toml"))
    ap.add_argument("--limit")
    ap.add_argument("-e", "--extra-vars", help="@FILE (YAML or JSON) of extra variables, as a job's")
    args = ap.parse_args()
    extravars = None
    if args.extra_vars:
        import yaml  # noqa: PLC0415

        extravars = yaml.safe_load(Path(args.extra_vars.lstrip("@")).read_text())
    t0 = time.monotonic()
    res = run_playbook(args.playbook, args.config, image=args.image, extravars=extravars, limit=args.limit)
    sys.stdout.write(res.stdout)
    sys.stderr.write(res.stderr)
    print(f"ansible-runner in the EE: {time.monotonic() - t0:.1f} s, rc={res.returncode}", file=sys.stderr)
    return res.returncode


if __name__ == "__main__":
    sys.exit(main())
