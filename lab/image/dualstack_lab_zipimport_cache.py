# dualstack.k8s embedded lab image only (lab/image.py installs this file and a .pth that imports it).
"""Cache the bytecode that zipimport compiles from source, for Ansible's AnsiballZ modules.

Every Ansible module arrives as a zip of Python sources (AnsiballZ); zipimport compiles
ansible.module_utils.basic and friends from source on every task (~0.3-0.6 s of CPU per module
run on the lab's 2 cores) because a zip of sources carries no bytecode and zipimport never writes
any. This hook keeps the compiled code objects in /var/cache/dualstack-lab-pyc, keyed by the
SHA-256 of the source and the Python version, so the second task with the same module_utils only
unmarshals them. Nothing else changes: other imports, and the modules' behaviour, are untouched.
"""
import hashlib
import marshal
import os
import sys
import zipimport

_CACHE = "/var/cache/dualstack-lab-pyc"
_TAG = sys.implementation.cache_tag or "python"


def _install():
    original = getattr(zipimport, "_compile_source", None)
    if original is None or getattr(original, "_dualstack_cached", False):
        return

    def compile_source(pathname, source):
        key = hashlib.sha256(source).hexdigest()
        path = os.path.join(_CACHE, "%s-%s.bin" % (_TAG, key))
        try:
            with open(path, "rb") as handle:
                return marshal.loads(handle.read())
        except (OSError, ValueError, EOFError, TypeError):
            pass
        code = original(pathname, source)
        try:
            os.makedirs(_CACHE, mode=0o755, exist_ok=True)
            tmp = "%s.%d.tmp" % (path, os.getpid())
            with open(tmp, "wb") as handle:
                handle.write(marshal.dumps(code))
            os.replace(tmp, path)
        except OSError:
            pass
        return code

    compile_source._dualstack_cached = True
    zipimport._compile_source = compile_source


_install()
