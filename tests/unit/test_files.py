"""module_utils.files: the one writer behind dualstack.k8s.managed_files, kubeadm_config and
calico_manifests. Real files in a temporary directory; check -> apply -> check -> apply."""

import os
import stat

import pytest

from ansible_collections.dualstack.k8s.plugins.module_utils import files as F


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def entries(base, conf="a = 1\n"):
    return [
        dict(path=str(base / "etc"), state="directory", mode="0750"),
        dict(path=str(base / "etc" / "app.conf"), content=conf, mode="0644", triggers=["reload"]),
        dict(path=str(base / "etc" / "app.key"), secret_content="SECRET-KEY\n", mode="0600",
             triggers=["reload", "restart"]),
        dict(path=str(base / "old.conf"), state="absent"),
    ]


def test_check_apply_check_apply(tmp_path):
    (tmp_path / "old.conf").write_text("stale\n")
    first = F.converge(entries(tmp_path), check_mode=True, want_diff=True)
    assert first["changed"] and first["triggered"] == ["reload", "restart"]
    assert [f["changes"] for f in first["files"]] == [["create"], ["create"], ["create"], ["remove"]]
    assert not (tmp_path / "etc").exists() and (tmp_path / "old.conf").exists()

    applied = F.converge(entries(tmp_path), want_diff=True)
    assert applied["changed_paths"] == first["changed_paths"]
    assert (tmp_path / "etc" / "app.conf").read_text() == "a = 1\n"
    assert mode_of(tmp_path / "etc") == 0o750 and mode_of(tmp_path / "etc" / "app.key") == 0o600
    assert not (tmp_path / "old.conf").exists()

    again = F.converge(entries(tmp_path), check_mode=True, want_diff=True)
    assert not again["changed"] and again["triggered"] == [] and again["diff"] == []
    assert not F.converge(entries(tmp_path))["changed"]


def test_only_the_changed_entry_triggers_and_shows_in_the_diff(tmp_path):
    F.converge(entries(tmp_path))
    res = F.converge(entries(tmp_path, conf="a = 2\n"), want_diff=True)
    assert res["changed_paths"] == [str(tmp_path / "etc" / "app.conf")] and res["triggered"] == ["reload"]
    assert res["diff"] == [dict(before_header=str(tmp_path / "etc" / "app.conf"),
                                after_header=str(tmp_path / "etc" / "app.conf"),
                                before="a = 1\n", after="a = 2\n")]


def test_secret_content_never_reaches_the_diff(tmp_path):
    F.converge(entries(tmp_path))
    changed = entries(tmp_path)
    changed[2]["secret_content"] = "OTHER-KEY\n"
    res = F.converge(changed, check_mode=True, want_diff=True)
    assert res["triggered"] == ["reload", "restart"]
    text = repr(res)
    assert "SECRET-KEY" not in text and "OTHER-KEY" not in text
    assert res["diff"][0]["before"] == F.SECRET_PLACEHOLDER and res["diff"][0]["after"] == F.SECRET_CHANGED


def test_mode_drift_is_repaired_and_shown_as_an_attribute_line(tmp_path):
    F.converge(entries(tmp_path))
    os.chmod(tmp_path / "etc" / "app.key", 0o644)
    res = F.converge(entries(tmp_path), want_diff=True)
    assert res["files"][2]["changes"] == ["mode"] and mode_of(tmp_path / "etc" / "app.key") == 0o600
    diff = res["diff"][0]
    assert diff["before"].startswith("# mode 0644") and diff["after"].startswith("# mode 0600")
    assert "SECRET-KEY" not in repr(diff)


def test_failed_validation_keeps_the_old_file_and_reports_what_was_applied(tmp_path):
    F.converge(entries(tmp_path))
    bad = entries(tmp_path, conf="a = broken\n")
    bad[0]["mode"] = "0755"  # applied before the failing entry
    bad[1]["validate"] = "grep -q '^a = [0-9]' %s"
    with pytest.raises(F.FilesError) as err:
        F.converge(bad)
    assert "app.conf" in str(err.value) and "failed validation" in str(err.value)
    assert err.value.partial == [str(tmp_path / "etc")]
    assert (tmp_path / "etc" / "app.conf").read_text() == "a = 1\n"
    assert [p for p in os.listdir(tmp_path / "etc") if p.startswith(".dualstack.")] == []
    good = entries(tmp_path, conf="a = 3\n")
    good[1]["validate"] = "grep -q '^a = [0-9]' %s"
    # the directory's mode goes back to 0750, the valid content is written
    assert F.converge(good)["changed_paths"] == [str(tmp_path / "etc"), str(tmp_path / "etc" / "app.conf")]


@pytest.mark.parametrize("entry, message", [
    (dict(path="relative/x", content="", mode="0644"), "must be absolute"),
    (dict(path="/x", content="", mode="0999"), "not an octal number"),
    (dict(path="/x", mode="0644"), "needs content or secret_content"),
    (dict(path="/x", content="a", secret_content="b", mode="0644"), "not both"),
    (dict(path="/x", content="a"), "mode is required"),
    (dict(path="/x", state="directory", content="a", mode="0755"), "state=file only"),
    (dict(path="/x", content="a", mode="0644", validate="true"), "must contain %s"),
    (dict(path="/x", content="a", mode="0644", owner="no-such-user-dsk"), "owner 'no-such-user-dsk'"),
    (dict(path="/x", state="fifo"), "state 'fifo'"),
])
def test_bad_entries_name_the_path_and_the_reason(entry, message):
    with pytest.raises(F.FilesError, match=message):
        F.converge([entry])


def test_a_bad_entry_anywhere_changes_nothing(tmp_path):
    listed = entries(tmp_path) + [dict(path=str(tmp_path / "etc"), state="file", content="x", mode="0644")]
    with pytest.raises(F.FilesError, match="listed twice"):
        F.converge(listed)
    assert not (tmp_path / "etc").exists()
    (tmp_path / "dir").mkdir()
    with pytest.raises(F.FilesError, match="found a directory"):
        F.converge(entries(tmp_path) + [dict(path=str(tmp_path / "dir"), content="x", mode="0644")])
    assert not (tmp_path / "etc").exists()


def test_absent_ignores_content_so_a_file_can_be_switched_off(tmp_path):
    on = dict(path=str(tmp_path / "dropin.conf"), content="[Service]\n", mode="0644", triggers=["systemd"])
    assert F.converge([on])["triggered"] == ["systemd"]
    off = dict(on, state="absent")
    assert F.converge([off])["triggered"] == ["systemd"] and not (tmp_path / "dropin.conf").exists()
    assert not F.converge([off])["changed"]


def test_a_symlink_is_replaced_by_the_file(tmp_path):
    target = tmp_path / "target"
    target.write_text("keep\n")
    (tmp_path / "link").symlink_to(target)
    res = F.converge([dict(path=str(tmp_path / "link"), content="new\n", mode="0644")])
    assert res["changed"] and not os.path.islink(tmp_path / "link")
    assert target.read_text() == "keep\n" and (tmp_path / "link").read_text() == "new\n"


def test_a_directory_created_as_an_earlier_parent_gets_its_own_mode(tmp_path):
    listed = [dict(path=str(tmp_path / "etc" / "hooks.d"), state="directory", mode="0755"),
              dict(path=str(tmp_path / "etc"), state="directory", mode="0700")]
    assert F.converge(listed)["changed_paths"] == [str(tmp_path / "etc" / "hooks.d"), str(tmp_path / "etc")]
    assert mode_of(tmp_path / "etc") == 0o700 and not F.converge(listed)["changed"]


def test_validate_gets_the_new_file_as_one_argument_even_with_a_space(tmp_path):
    base = tmp_path / "with space"
    entry = dict(path=str(base / "app.conf"), content="a = 1\n", mode="0644", validate="grep -q '^a = 1$' %s")
    assert F.converge([entry])["changed"] and (base / "app.conf").read_text() == "a = 1\n"
