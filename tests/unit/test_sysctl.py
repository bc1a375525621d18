"""module_utils.sysctl: the logic of dualstack.k8s.sysctl_settings on a stand-in /proc/sys (a
temporary directory with the same layout) and a real file; check -> apply -> check -> apply. The
module against a real kernel runs in the sysctl Molecule scenario and the lab's site run."""

import grp
import os
import pwd

import pytest

from ansible_collections.dualstack.k8s.plugins.module_utils import sysctl as S

SETTINGS = {"net.ipv4.ip_forward": "1", "net.ipv6.conf.eth0/100.accept_ra": "2",
            "net.ipv4.ip_local_port_range": "32768 60999"}


def fake_proc(base, values):
    for name, value in values.items():
        path = S.proc_path(name, str(base))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(value + "\n")


def owner():
    return pwd.getpwuid(os.geteuid()).pw_name, grp.getgrgid(os.getegid()).gr_name


def converge(tmp_path, settings=None, **kwargs):
    user, group = owner()
    return S.converge_settings(SETTINGS if settings is None else settings, str(tmp_path / "60-test.conf"), header="Managed by a test",
                               owner=user, group=group, want_diff=True, proc_dir=str(tmp_path / "proc"),
                               **kwargs)


def test_names_map_to_proc_paths():
    assert S.proc_path("net.ipv6.conf.eth0/100.accept_ra", "/p") == "/p/net/ipv6/conf/eth0.100/accept_ra"
    for bad in ("net", "net..ipv4", "net.ipv4.ip_forward; rm", "../etc.passwd"):
        with pytest.raises(S.SysctlError, match="not a sysctl name"):
            S.proc_path(bad)


def test_check_apply_check_apply(tmp_path):
    fake_proc(tmp_path / "proc", {"net.ipv4.ip_forward": "0", "net.ipv6.conf.eth0/100.accept_ra": "1",
                                  "net.ipv4.ip_local_port_range": "32768\t60999"})
    first = converge(tmp_path, check_mode=True)
    # the tab-separated kernel value matches the space-separated wanted one
    assert first["changed"] and first["applied"] == ["net.ipv4.ip_forward", "net.ipv6.conf.eth0/100.accept_ra"]
    assert first["before"]["net.ipv4.ip_forward"] == "0" and not (tmp_path / "60-test.conf").exists()
    assert (tmp_path / "proc/net/ipv4/ip_forward").read_text() == "0\n"
    live = first["diff"][-1]
    assert live["before"] == "net.ipv4.ip_forward = 0\nnet.ipv6.conf.eth0/100.accept_ra = 1\n"

    applied = converge(tmp_path)
    assert applied["changed"] and applied["file_changed"] and applied["applied"] == first["applied"]
    assert (tmp_path / "proc/net/ipv6/conf/eth0.100/accept_ra").read_text() == "2\n"
    assert (tmp_path / "60-test.conf").read_text() == (
        "# Managed by a test\nnet.ipv4.ip_forward = 1\nnet.ipv6.conf.eth0/100.accept_ra = 2\n"
        "net.ipv4.ip_local_port_range = 32768 60999\n")

    again = converge(tmp_path, check_mode=True)
    assert not again["changed"] and again["applied"] == [] and again["diff"] == []
    assert not converge(tmp_path)["changed"]

    # only the live value drifted: written again, the file stays
    (tmp_path / "proc/net/ipv4/ip_forward").write_text("0\n")
    drift = converge(tmp_path)
    assert drift["changed"] and not drift["file_changed"] and drift["applied"] == ["net.ipv4.ip_forward"]


def test_unknown_setting_fails_before_any_write(tmp_path):
    fake_proc(tmp_path / "proc", {"net.ipv4.ip_forward": "0"})
    with pytest.raises(S.SysctlError, match=r"net.ipv6.conf.eth9.accept_ra: no such kernel setting"):
        converge(tmp_path, settings={"net.ipv4.ip_forward": "1", "net.ipv6.conf.eth9.accept_ra": "2"})
    assert (tmp_path / "proc/net/ipv4/ip_forward").read_text() == "0\n"
    assert not (tmp_path / "60-test.conf").exists()
    with pytest.raises(S.SysctlError, match="at least one setting"):
        converge(tmp_path, settings={})


def test_a_refused_value_names_the_setting(tmp_path):
    # a directory where the value should be: the write fails as the kernel's refusal would
    fake_proc(tmp_path / "proc", {"net.ipv4.ip_forward": "0"})
    (tmp_path / "proc/net/ipv4/conf").mkdir()
    with pytest.raises(S.SysctlError, match=r"net.ipv4.conf: cannot read"):
        converge(tmp_path, settings={"net.ipv4.conf": "1"})
    os.unlink(tmp_path / "proc/net/ipv4/ip_forward")
    os.mkdir(tmp_path / "proc/net/ipv4/ip_forward")
    with pytest.raises(S.SysctlError, match=r"net.ipv4.ip_forward: cannot read"):
        converge(tmp_path, settings={"net.ipv4.ip_forward": "1"})
