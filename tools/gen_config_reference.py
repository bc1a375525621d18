"""Generate docs/config-reference.md from the config model, so the docs never drift.

    .venv/bin/python tools/gen_config_reference.py          # rewrite the file
    .venv/bin/python tools/gen_config_reference.py --check  # exit 1 when it is stale
"""

import os
import sys
import typing as t

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, ".collections"))

from pydantic import BaseModel  # noqa: E402
from pydantic_core import PydanticUndefined  # noqa: E402

from ansible_collections.dualstack.k8s.plugins.plugin_utils import config as config_module  # noqa: E402
from ansible_collections.dualstack.k8s.plugins.plugin_utils.config import Config, LEGACY_ANYWHERE  # noqa: E402

TARGET = os.path.join(REPO, "docs", "config-reference.md")


ALIASES = {
    "IPv4Addr": "IPv4 address", "IPv6Addr": "IPv6 address", "IPv4Cidr": "IPv4 CIDR", "IPv6Cidr": "IPv6 CIDR",
    "IPv4Iface": "IPv4 address[/prefix]", "IPv6Iface": "IPv6 address[/prefix]", "AnyAddr": "IP address",
    "DnsName": "DNS name (at most 253 characters)", "HostName": "host name (DNS label)", "AsNumber": "AS number (1-4294967294, not 23456 or 65535)",
    "Port": "port (1-65535)",
}


def type_name(ann):
    for alias, text in ALIASES.items():
        if ann == getattr(config_module, alias):
            return text
    origin = t.get_origin(ann)
    args = t.get_args(ann)
    if origin is t.Annotated:
        if args[0] is str and any(getattr(m, "func", None) is config_module._wg_key for m in args[1:]):
            return "WireGuard public key"
        return type_name(args[0])
    if origin is t.Union:
        return " or ".join(type_name(a) for a in args if a is not type(None))
    if origin is t.Literal:
        return " | ".join('"%s"' % a for a in args)
    if origin is list:
        return "array of %s" % type_name(args[0])
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return "table"
    return {str: "string", int: "integer", float: "float", bool: "boolean"}.get(ann, str(ann))


def default_text(field):
    if field.default_factory is not None:
        value = field.default_factory()
        if isinstance(value, BaseModel):
            return "(table)"
        return "`%r`" % (value,)
    if field.default is PydanticUndefined:
        return "**required**"
    if field.default is None:
        return "—"
    value = field.default
    if isinstance(value, bool):
        return "`%s`" % str(value).lower()
    if isinstance(value, str):
        return '`"%s"`' % value
    return "`%s`" % (value,)


def models_of(ann):
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        yield ann
    for arg in t.get_args(ann):
        yield from models_of(arg)


def walk(model, prefix, out):
    rows = []
    nested = []
    for name, field in model.model_fields.items():
        key = "%s.%s" % (prefix, name) if prefix else name
        subs = list(models_of(field.annotation))
        if subs:
            is_list = t.get_origin(field.annotation) is list or any(
                t.get_origin(a) is list for a in t.get_args(field.annotation))
            nested.append((key + ("[]" if is_list else ""), subs[0], field))
            if is_list or not prefix:
                if prefix:
                    rows.append((key, "array of tables", default_text(field), field.description or ""))
                continue
        rows.append((key, type_name(field.annotation), default_text(field), field.description or ""))
    if rows:
        out.append("")
        out.append("| key | type | default | meaning |")
        out.append("|---|---|---|---|")
        for key, typ, dflt, desc in rows:
            out.append("| `%s` | %s | %s | %s |" % (key, typ.replace("|", "\\|"), dflt, desc.replace("|", "\\|")))
    for key, sub, field in nested:
        out.append("")
        out.append("## `[%s]`%s" % (key.replace("[]", ""), " (array of tables: `[[%s]]`)" % key.replace("[]", "")
                                    if key.endswith("[]") else ""))
        if field.description:
            out.append("")
            out.append(field.description)
        walk(sub, key, out)


def render():
    out = ["# config.toml reference", "",
           "Generated from `plugins/plugin_utils/config.py` by `tools/gen_config_reference.py`; do not edit.",
           "Unknown keys are errors (with a did-you-mean). Every address field is checked for syntax, host bits",
           "and family; the cross-field rules (overlaps, sizes, placement) are listed in `docs/validation.md`.",
           "", "## Seed-004 (yaook) names", "", "| seed-004 key | new key |", "|---|---|"]
    for old, new in sorted(LEGACY_ANYWHERE.items()):
        out.append("| `%s` | `%s` |" % (old, new))
    walk(Config, "", out)
    return "\n".join(out) + "\n"


def main():
    text = render()
    if "--check" in sys.argv:
        current = open(TARGET).read() if os.path.exists(TARGET) else ""
        if current != text:
            print("docs/config-reference.md is stale: run tools/gen_config_reference.py")
            return 1
        return 0
    with open(TARGET, "w") as handle:
        handle.write(text)
    print("wrote %s" % TARGET)
    return 0


if __name__ == "__main__":
    sys.exit(main())
