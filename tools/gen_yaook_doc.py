"""Generate the key tables of docs/yaook.md from the import's own mapping (plugins/plugin_utils/yaook.py),
so the page never drifts from what the import does. The prose around the tables is written by hand;
only the text between the BEGIN/END markers is replaced.

    .venv/bin/python tools/gen_yaook_doc.py          # rewrite the tables
    .venv/bin/python tools/gen_yaook_doc.py --check  # exit 1 when they are stale
"""

import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, ".collections"))

from ansible_collections.dualstack.k8s.plugins.plugin_utils import yaook  # noqa: E402

TARGET = os.path.join(REPO, "docs", "yaook.md")
BLOCKS = {
    "mapping": yaook.mapping_table,
    "defaults": yaook.defaults_table,
}


def marker(name, end=False):
    return "<!-- %s GENERATED %s: tools/gen_yaook_doc.py from plugins/plugin_utils/yaook.py -->" % (
        "END" if end else "BEGIN", name)


def render(text):
    """``text`` with every generated block replaced by the mapping's current tables."""
    for name, make in BLOCKS.items():
        begin, end = marker(name), marker(name, end=True)
        if begin not in text or end not in text:
            raise SystemExit("%s: markers for block %r are missing" % (TARGET, name))
        head, rest = text.split(begin, 1)
        dummy, tail = rest.split(end, 1)
        text = "%s%s\n%s\n%s%s" % (head, begin, make(), end, tail)
    return text


def main(argv):
    with open(TARGET) as handle:
        current = handle.read()
    wanted = render(current)
    if "--check" in argv:
        if wanted != current:
            sys.stderr.write("docs/yaook.md is stale: run tools/gen_yaook_doc.py\n")
            return 1
        return 0
    if wanted != current:
        with open(TARGET, "w") as handle:
            handle.write(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
