"""module_utils.services: what dualstack.k8s.managed_services decides from `systemctl show`
(pure logic). The module against real systemd runs in every gateway Molecule scenario and the
lab's site run (cold: enable + start, warm: no change)."""

import pytest

from ansible_collections.dualstack.k8s.plugins.module_utils import services as S

SHOW = """Id=bird.service
LoadState=loaded
ActiveState=active
UnitFileState=enabled

Id=wg-quick@wg0.service
LoadState=loaded
ActiveState=inactive
UnitFileState=disabled

Id=nothing.service
LoadState=not-found
ActiveState=inactive
UnitFileState=
"""


def test_parse_show_keeps_argument_order():
    status = S.parse_show(SHOW, ["bird", "wg-quick@wg0", "nothing"])
    assert status["wg-quick@wg0"]["ActiveState"] == "inactive"
    assert status["nothing"]["LoadState"] == "not-found" and status["nothing"]["UnitFileState"] == ""
    with pytest.raises(S.ServicesError, match="returned 3 units for 2 names"):
        S.parse_show(SHOW, ["bird", "wg-quick@wg0"])
    assert S.show_command(["bird"]) == ["systemctl", "show", "--property=Id,LoadState,ActiveState,UnitFileState",
                                        "--", "bird"]


@pytest.mark.parametrize("unit, status, actions", [
    ({"enabled": True, "state": "started"}, {"ActiveState": "active", "UnitFileState": "enabled"}, []),
    ({"enabled": True, "state": "started"}, {"ActiveState": "inactive", "UnitFileState": "disabled"},
     ["enable", "start"]),
    ({"enabled": True, "state": "started"}, {"ActiveState": "activating", "UnitFileState": "static"}, []),
    ({"enabled": False, "state": "stopped"}, {"ActiveState": "active", "UnitFileState": "enabled"},
     ["disable", "stop"]),
    ({"enabled": False, "state": "stopped"}, {"ActiveState": "failed", "UnitFileState": "disabled"}, []),
    ({"enabled": True, "state": "restarted"}, {"ActiveState": "active", "UnitFileState": "enabled"}, ["restart"]),
    ({"state": "reloaded"}, {"ActiveState": "active", "UnitFileState": "masked"}, ["reload"]),
    ({"state": "reloaded"}, {"ActiveState": "inactive", "UnitFileState": "enabled"}, ["start"]),
    ({"enabled": True}, {"ActiveState": "inactive", "UnitFileState": "masked"}, ["enable"]),
])
def test_actions(unit, status, actions):
    assert S.actions_for(dict(unit, name="u"), dict(status, LoadState="loaded")) == actions


def test_bad_entries_and_unknown_units():
    with pytest.raises(S.ServicesError, match="nothing: no such unit"):
        S.actions_for({"name": "nothing", "state": "started"}, {"LoadState": "not-found"})
    with pytest.raises(S.ServicesError, match="listed twice"):
        S.check_entries([{"name": "bird"}, {"name": "bird"}])
    for name in ("", "-bird", "bird x"):
        with pytest.raises(S.ServicesError, match="not a systemd unit name"):
            S.check_entries([{"name": name}])


def test_diff_lines():
    before = {"ActiveState": "inactive", "UnitFileState": "disabled"}
    assert S.describe(before) == "inactive, disabled\n"
    assert S.after(before, ["enable", "start"]) == "active, enabled\n"
    assert S.after({"ActiveState": "active", "UnitFileState": "enabled"}, ["disable", "stop"]) == "inactive, disabled\n"
