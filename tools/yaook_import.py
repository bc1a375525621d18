"""Import a yaook/k8s config.toml without Ansible (the playbook playbooks/import_yaook.yml is the
documented way; both run the same code, plugins/action/yaook_import.py):

    .venv/bin/python tools/yaook_import.py YAOOK_CONFIG DEST [--ipam FILE] [--openstack-cloud NAME] [--check]

Prints the report (and the diff with --check); exit status 1 when the import fails.
"""

import argparse
import difflib
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, ".collections"))

from ansible_collections.dualstack.k8s.plugins.action.yaook_import import import_yaook  # noqa: E402


def main(argv):
    parser = argparse.ArgumentParser(description="Import a yaook/k8s config.toml as dualstack.k8s config.toml")
    parser.add_argument("yaook_config")
    parser.add_argument("dest")
    parser.add_argument("--ipam", help="yaook's wireguard_ipam.toml (default: next to YAOOK_CONFIG)")
    parser.add_argument("--openstack-cloud", help="clouds.yaml entry: also write [openstack]")
    parser.add_argument("--check", action="store_true", help="report and diff, write nothing")
    args = parser.parse_args(argv)
    result = import_yaook(args.yaook_config, args.dest, ipam=args.ipam, openstack_cloud=args.openstack_cloud,
                          check=args.check)
    print("\n".join(result.get("report_lines", [])))
    if result.get("failed"):
        sys.stderr.write(result["msg"] + "\n")
        return 1
    if args.check and result["changed"]:
        diff = result["diff"]
        sys.stdout.writelines(difflib.unified_diff(diff["before"].splitlines(True), diff["after"].splitlines(True),
                                                   args.dest, args.dest))
    print("%s: %s" % (args.dest, ("would change" if args.check else "written") if result["changed"] else "unchanged"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
