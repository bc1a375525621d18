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


# ------------------------------------------------------------------------------------------
# the modules: managed_files (owner defaults, enabled, failure result) and host_info
# ------------------------------------------------------------------------------------------

def run(main, args, capsys):
    import json

    from ansible.module_utils.testing import patch_module_args
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            main()
    return json.loads(capsys.readouterr().out)


def test_managed_files_module_check_apply_check_apply(tmp_path, capsys):
    from ansible_collections.dualstack.k8s.plugins.modules.managed_files import main
    conf = str(tmp_path / "d" / "a.conf")
    files = [dict(path=str(tmp_path / "d"), state="directory", mode="0700"),
             dict(path=conf, secret_content="TOKEN=abc\n", mode="0600", triggers=["reload"]),
             dict(path=str(tmp_path / "off"), content="x", mode="0644", enabled=False)]
    args = dict(files=files, _ansible_check_mode=True, _ansible_diff=True)
    res = run(main, args, capsys)
    assert res["changed"] and res["triggered"] == ["reload"] and not os.path.exists(conf)
    assert "TOKEN=abc" not in repr(res) and len(res["files"]) == 2  # the disabled entry is left out
    res = run(main, dict(args, _ansible_check_mode=False), capsys)
    assert res["changed"] and open(conf).read() == "TOKEN=abc\n" and not (tmp_path / "off").exists()
    assert not run(main, args, capsys)["changed"]
    assert not run(main, dict(args, _ansible_check_mode=False), capsys)["changed"]


def test_managed_files_module_failure_names_the_path_and_changes_nothing(tmp_path, capsys):
    from ansible_collections.dualstack.k8s.plugins.modules.managed_files import main
    files = [dict(path=str(tmp_path / "new"), state="directory", mode="0755"),
             dict(path=str(tmp_path / "x.conf"), content="x\n", mode="0644", owner="no-such-user-dsk")]
    res = run(main, dict(files=files), capsys)
    assert res["failed"] and "x.conf" in res["msg"] and "no-such-user-dsk" in res["msg"]
    assert res["applied"] == [] and not res["changed"] and not (tmp_path / "new").exists()


def test_host_info_reads_addresses_sysctls_and_files(tmp_path, capsys):
    from ansible_collections.dualstack.k8s.plugins.modules.host_info import main, parse_sysctl
    assert parse_sysctl("net.ipv4.ip_forward = 1\nbogus\nnet.ipv6.conf.lo.accept_ra = 0\n") == {
        "net.ipv4.ip_forward": "1", "net.ipv6.conf.lo.accept_ra": "0"}
    present = tmp_path / "kubeadm-config.yaml"
    present.write_text("kind: InitConfiguration\n")
    res = run(main, dict(sysctls=["net.ipv4.ip_forward", "net.no.such.key"],
                         interface_sysctls=["net.ipv6.conf.{ifname}.disable_ipv6"],
                         files=[str(present), str(tmp_path / "absent")]), capsys)
    assert not res["changed"] and "lo" in [link["ifname"] for link in res["interfaces"]]
    assert res["sysctls"]["net.ipv4.ip_forward"] in ("0", "1") and "net.no.such.key" not in res["sysctls"]
    assert "net.ipv6.conf.lo.disable_ipv6" in res["sysctls"]
    assert res["files"] == {str(present): {"exists": True, "content": "kind: InitConfiguration\n"},
                            str(tmp_path / "absent"): {"exists": False}}


def test_host_info_reports_paths_and_commands_without_reading_them(tmp_path, capsys):
    from ansible_collections.dualstack.k8s.plugins.modules.host_info import main
    secret = tmp_path / "admin.conf"
    secret.write_text("client-key-data: c2VjcmV0\n")
    tool = tmp_path / "bin" / "kubectl-dsk"
    tool.parent.mkdir()
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    res = run(main, dict(paths=[str(secret), str(tmp_path / "none.conf")],
                         commands=["sh", str(tool), "no-such-command-dsk"]), capsys)
    assert res["paths"] == {str(secret): True, str(tmp_path / "none.conf"): False}
    assert "c2VjcmV0" not in repr(res)
    assert res["commands"]["sh"].endswith("/sh") and res["commands"][str(tool)] == str(tool)
    assert res["commands"]["no-such-command-dsk"] is None
