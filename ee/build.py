"""Build the dualstack.k8s execution environment ``localhost/dualstack-ee`` with ansible-builder.

1. the Debian base image (ee/base_image.py, a slimmer sibling of the lab's image);
2. the definition staged in ``.cache/ee/definition/``: ee/execution-environment.yml, ee/requirements.yml
   and ``collections/`` - this checkout as the tarball ``ansible-galaxy collection build`` makes, and
   ansible.posix / ansible.utils copied from the controller virtualenv's ``ansible`` package;
3. a wheelhouse (``.cache/ee/wheels``, ``pip wheel`` on this machine, pinned by
   requirements/controller.txt) of every Python package the build installs: ansible-core,
   ansible-runner, dumb-init, ansible-builder's own bindep/pyyaml/packaging, and the collections'
   requirements as ``ansible-builder introspect`` reads them from their metadata;
4. ``ansible-builder build`` with the wheelhouse and a ``no-index`` pip.conf mounted into its RUN steps
   (``podman build --volume``): no build container reaches a registry or PyPI, and neither lands in
   the image.

The image is tagged ``localhost/dualstack-ee:<hash>`` (and ``:latest``); the hash covers every input
(base image tag, the EE definition, the collection's files, the other collections' versions, the
wheels, this script, ansible-builder's version). When that tag exists nothing is built.

Usage: ``.venv/bin/python ee/build.py [--force] [--print-tag]``; prints the image reference.
"""
from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

EE_DIR = Path(__file__).resolve().parent
REPO = EE_DIR.parent
sys.path.insert(0, str(EE_DIR))
import base_image  # noqa: E402

lab_image = base_image.lab_image
VENV_BIN = Path(sys.executable).parent
IMAGE = "localhost/dualstack-ee"
CACHE = REPO / ".cache" / "ee"
DEFINITION = CACHE / "definition"
CONTEXT = CACHE / "context"
WHEELS = CACHE / "wheels"
SITE_COLLECTIONS = Path(sys.prefix) / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages" / "ansible_collections"
OTHER_COLLECTIONS = ("ansible.posix", "ansible.utils")
# what ansible-builder installs besides the collections' requirements (its own steps)
BUILD_PACKAGES = ["bindep", "pyyaml", "packaging", "dumb-init==1.2.5"]
PIP_CONF = "[global]\nno-index = true\nfind-links = /wheelhouse\n"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def ee_definition() -> dict:
    import yaml  # noqa: PLC0415

    return yaml.safe_load((EE_DIR / "execution-environment.yml").read_text())


def stage() -> tuple[Path, dict]:
    """The definition with its collections in .cache/ee/definition; returns (dir, fingerprints)."""
    shutil.rmtree(DEFINITION, ignore_errors=True)
    coll = DEFINITION / "collections"
    coll.mkdir(parents=True)
    for name in ("execution-environment.yml", "requirements.yml"):
        shutil.copy2(EE_DIR / name, DEFINITION / name)
    out = CACHE / "collection-build"
    shutil.rmtree(out, ignore_errors=True)
    subprocess.run([str(VENV_BIN / "ansible-galaxy"), "collection", "build", "--force", "--output-path", str(out),
                    str(REPO)], check=True, cwd=REPO, stdout=sys.stderr)
    tarball = next(out.glob("dualstack-k8s-*.tar.gz"))
    shutil.copy2(tarball, coll / "dualstack-k8s.tar.gz")
    prints = {}
    with tarfile.open(tarball) as tar:
        # FILES.json: every file of the artifact with its sha256 (no timestamps: a stable fingerprint)
        prints["dualstack.k8s"] = hashlib.sha256(tar.extractfile("FILES.json").read()
                                                 + tar.extractfile("MANIFEST.json").read()).hexdigest()
    for name in OTHER_COLLECTIONS:
        src = SITE_COLLECTIONS.joinpath(*name.split("."))
        if not (src / "MANIFEST.json").exists():
            raise SystemExit(f"{name} is not in {SITE_COLLECTIONS} (PyPI's ansible package, requirements/controller.txt)")
        shutil.copytree(src, coll / name, ignore=shutil.ignore_patterns("__pycache__", "tests"))
        prints[name] = json.loads((src / "MANIFEST.json").read_text())["collection_info"]["version"]
    return DEFINITION, prints


def python_requirements(definition: dict) -> list[str]:
    """The collections' Python requirements as ansible-builder's introspection combines them."""
    tree = CACHE / "introspect"
    shutil.rmtree(tree, ignore_errors=True)
    req = DEFINITION / "requirements.yml"
    local = CACHE / "introspect-requirements.yml"
    local.write_text(req.read_text().replace("/build/collections/", str(DEFINITION / "collections") + "/"))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(tree))
    subprocess.run([str(VENV_BIN / "ansible-galaxy"), "collection", "install", "--offline", "--force", "-r",
                    str(local), "-p", str(tree)], check=True, env=env, stdout=sys.stderr, stderr=subprocess.DEVNULL)
    excl = CACHE / "introspect-exclude.txt"
    excl.write_text("\n".join(definition["dependencies"].get("exclude", {}).get("python", [])) + "\n")
    pip_out = CACHE / "introspect-pip.txt"
    subprocess.run([str(VENV_BIN / "ansible-builder"), "introspect", "--sanitize", "--exclude-pip-reqs", str(excl),
                    "--write-pip", str(pip_out), str(tree)], check=True, stdout=subprocess.DEVNULL)
    reqs = [line.split("#")[0].strip() for line in pip_out.read_text().splitlines()]
    return [r for r in reqs if r]


def wheelhouse(definition: dict) -> list[str]:
    """pip wheel of everything the build installs into .cache/ee/wheels; returns the wheel names."""
    deps = definition["dependencies"]
    wanted = sorted(set(python_requirements(definition) + BUILD_PACKAGES
                        + [deps["ansible_core"]["package_pip"], deps["ansible_runner"]["package_pip"]]))
    reqfile = CACHE / "wheelhouse-requirements.txt"
    text = "\n".join(wanted) + "\n"
    stamp = WHEELS / ".requirements"
    if not (stamp.exists() and stamp.read_text() == text):
        shutil.rmtree(WHEELS, ignore_errors=True)
        WHEELS.mkdir(parents=True)
        reqfile.write_text(text)
        t0 = time.monotonic()
        subprocess.run([str(VENV_BIN / "python"), "-m", "pip", "wheel", "--quiet", "-w", str(WHEELS), "-r", str(reqfile),
                        "-c", str(REPO / "requirements" / "controller.txt")], check=True, stdout=sys.stderr)
        stamp.write_text(text)
        log(f"wheelhouse: {time.monotonic() - t0:.0f} s")
    return sorted(p.name for p in WHEELS.glob("*.whl"))


def builder_version() -> str:
    out = subprocess.run([str(VENV_BIN / "ansible-builder"), "--version"], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def image_id(ref: str) -> str:
    out = subprocess.run(["podman", "image", "inspect", "--format", "{{.Id}}", ref], env=lab_image.podman_env(),
                         capture_output=True, text=True, check=False)
    return out.stdout.strip()


def prune(keep: str) -> None:
    """Remove the images of earlier inputs (other hash tags of IMAGE)."""
    out = subprocess.run(["podman", "images", "--format", "{{.Repository}}:{{.Tag}}", IMAGE], env=lab_image.podman_env(),
                         capture_output=True, text=True, check=False).stdout.split()
    for ref in out:
        if ref not in (keep, f"{IMAGE}:latest") and ref.startswith(IMAGE + ":"):
            subprocess.run(["podman", "rmi", ref], env=lab_image.podman_env(), capture_output=True, check=False)


def ensure_image(force: bool = False) -> str:
    """Build the EE unless an image of the current inputs exists; returns ``IMAGE:<hash>``."""
    # ansible-builder runs podman from its build context: a relative CONTAINERS_CONF would not be found
    if os.environ.get("CONTAINERS_CONF"):
        os.environ["CONTAINERS_CONF"] = os.path.abspath(os.environ["CONTAINERS_CONF"])
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        base = base_image.ensure_image()
        definition = ee_definition()
        staged, prints = stage()
        wheels = wheelhouse(definition)
        h = hashlib.sha256()
        for part in (base, (EE_DIR / "execution-environment.yml").read_text(), (EE_DIR / "requirements.yml").read_text(),
                     json.dumps(prints, sort_keys=True), "\n".join(wheels), Path(__file__).read_text(), builder_version()):
            h.update(part.encode())
            h.update(b"\0")
        tag = f"{IMAGE}:{h.hexdigest()[:12]}"
        if force or not lab_image.image_exists(tag):
            pip_conf = CACHE / "pip.conf"
            pip_conf.write_text(PIP_CONF)
            shutil.rmtree(CONTEXT, ignore_errors=True)
            t0 = time.monotonic()
            lab_image.run([str(VENV_BIN / "ansible-builder"), "build", "--file", str(staged / "execution-environment.yml"),
                           "--context", str(CONTEXT), "--tag", tag, "--container-runtime", "podman",
                           "--build-arg", f"EE_BASE_IMAGE={base}", "--verbosity", "2",
                           "--extra-build-cli-args",
                           f"--volume {WHEELS}:/wheelhouse:ro --volume {pip_conf}:/etc/pip.conf:ro"],
                          env=lab_image.podman_env(), cwd=CACHE)
            log(f"ansible-builder build: {time.monotonic() - t0:.0f} s")
            prune(keep=tag)
        lab_image.run(["podman", "tag", tag, f"{IMAGE}:latest"], env=lab_image.podman_env())
    return tag


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--force", action="store_true", help="rebuild even if an image of the current inputs exists")
    args = ap.parse_args()
    print(ensure_image(force=args.force))
    return 0


if __name__ == "__main__":
    sys.exit(main())
