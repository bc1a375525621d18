"""Stand-in for the pip bootstrap script ansible-test downloads (get-pip.py), which this
machine cannot fetch: it installs pip from the interpreter's own ensurepip wheel, then asks
that pip for the requested version from the package index (PyPI is reachable).

ansible-test runs it as __main__ with get-pip's arguments, e.g.
    --disable-pip-version-check pip==24.2 --no-setuptools --no-wheel
tools/run-sanity.sh copies it to ~/.ansible/test/cache/get_pip_<version>.py.
"""

import subprocess
import sys


def main():
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"], stdout=subprocess.DEVNULL)
    args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q"] + args)


if __name__ == "__main__":
    main()
