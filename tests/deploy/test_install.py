"""scripts/install: shellcheck-clean, and idempotent in a sandbox root (a second run changes nothing).

The sandbox is a directory with a copy of this machine's passwd/group files and a Raspberry Pi OS
style /boot/firmware/config.txt: `--root DIR` redirects every path into it, skips apt (it acts on
the running system only) and, with --skip-pip, the network step.  A full run in a Debian Bookworm
debootstrap chroot was done by hand (see the report in README's technician section).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.paths import ROOT

INSTALL = ROOT / "scripts" / "install"
IMAGE = ROOT / "scripts" / "image"
SHELL_SCRIPTS = [INSTALL, ROOT / "scripts" / "provision-overlayroot", *sorted(IMAGE.rglob("*.sh")),
                 *[p for p in sorted(IMAGE.rglob("*")) if p.is_file() and p.suffix == ""
                   and p.read_text(errors="replace").startswith("#!/bin/bash")]]

needs_root = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("useradd") is None,
                                reason="useradd --prefix and chown need root")


def test_shellcheck_clean() -> None:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck not installed")
    assert len(SHELL_SCRIPTS) >= 4
    run = subprocess.run([shellcheck, "-x", *map(str, SHELL_SCRIPTS)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def _sandbox(tmp_path: Path, *, pi_boot: bool = True) -> Path:
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    for name in ("passwd", "group", "shadow", "gshadow"):
        shutil.copy(f"/etc/{name}", root / "etc" / name)
    if pi_boot:
        (root / "boot/firmware").mkdir(parents=True)
        (root / "boot/firmware/config.txt").write_text("dtparam=audio=on\ndtparam=i2c_arm=on\n[all]\n")
    return root


def _install(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(INSTALL), "--root", str(root), "--skip-pip", *args], capture_output=True, text=True,
                          timeout=300)


def _lines(out: str, kind: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith(kind)]


@needs_root
def test_install_twice_in_a_sandbox_root_changes_nothing_the_second_time(tmp_path: Path) -> None:
    root = _sandbox(tmp_path)
    first = _install(root)
    assert first.returncode == 0, first.stdout + first.stderr
    changed = "\n".join(_lines(first.stdout, "changed:"))
    for expected in ("config.txt", "user kiosk created", "gpio i2c video render input",
                     "/etc/kiosk -> /var/lib/kiosk/etc", "/opt/kiosk/venv created", "kiosk.service installed",
                     "kiosk.service enabled", "kiosk-provision.service enabled",
                     "journald.conf.d/kiosk.conf installed"):
        assert expected in changed, first.stdout
    skipped = "\n".join(_lines(first.stdout, "skipped:"))
    assert "apt packages" in skipped and "pip install" in skipped  # said clearly, not silently left out

    second = _install(root)
    assert second.returncode == 0, second.stderr
    assert _lines(second.stdout, "changed:") == [], second.stdout
    assert second.stdout.rstrip().endswith("install: nothing to change")

    # What the first run left behind.
    config_txt = (root / "boot/firmware/config.txt").read_text()
    assert "dtparam=i2c_arm=on,i2c_arm_baudrate=400000" in config_txt
    assert "\ndtparam=i2c_arm=on\n" not in config_txt  # raspi-config's line gave way to ours
    assert "[pi4]\ncore_freq_min=500" in config_txt and "[pi3]\ncore_freq_min=400" in config_txt
    passwd = {line.split(":")[0]: line.split(":") for line in (root / "etc/passwd").read_text().splitlines()}
    kiosk_uid, kiosk_gid = int(passwd["kiosk"][2]), int(passwd["kiosk"][3])
    data = (root / "var/lib/kiosk").stat()
    assert (data.st_mode & 0o777, data.st_uid, data.st_gid) == (0o750, kiosk_uid, kiosk_gid)
    assert os.readlink(root / "etc/kiosk") == "/var/lib/kiosk/etc"
    assert (root / "etc/systemd/system/multi-user.target.wants/kiosk.service").is_symlink()
    assert (root / "etc/systemd/system/kiosk.service").read_text() == (ROOT / "systemd/kiosk.service").read_text()
    assert (root / "opt/kiosk/venv/pyvenv.cfg").read_text().count("include-system-site-packages = true") == 1
    groups = (root / "etc/group").read_text()
    for group in ("gpio", "i2c", "video", "render", "input"):
        assert any(line.startswith(f"{group}:") and "kiosk" in line.split(":")[3].split(",")
                   for line in groups.splitlines()), group

    # A changed unit is put back by the next run, and only that.
    (root / "etc/systemd/system/kiosk.service").write_text("[Service]\n")
    third = _install(root)
    assert _lines(third.stdout, "changed:") == ["changed: /etc/systemd/system/kiosk.service installed"]


@needs_root
def test_not_a_pi_boot_partition_is_skipped_and_an_old_etc_kiosk_moves_to_the_data_partition(tmp_path: Path) -> None:
    root = _sandbox(tmp_path, pi_boot=False)
    (root / "etc/kiosk").mkdir()
    (root / "etc/kiosk/kiosk.toml").write_text("config_version = 1\n")
    venv_python = root / "opt/kiosk/venv/bin/python"  # an existing venv: this test is about the rest
    venv_python.parent.mkdir(parents=True)
    venv_python.write_text("#!/bin/sh\n")
    venv_python.chmod(0o755)
    run = _install(root)
    assert run.returncode == 0, run.stderr
    assert any("I2C at 400 kHz" in line and "no /boot/firmware/config.txt" in line
               for line in _lines(run.stdout, "skipped:")), run.stdout
    assert (root / "var/lib/kiosk/etc/kiosk.toml").read_text() == "config_version = 1\n"
    assert (root / "etc/kiosk").is_symlink()
    assert "install: nothing to change" in _install(root).stdout


def test_refuses_a_directory_that_is_not_a_root_tree(tmp_path: Path) -> None:
    run = _install(tmp_path)
    assert run.returncode == 1 and "not a root tree" in run.stderr


# ------------------------------------------------------------------------------ no township on a kiosk
def test_the_kiosk_is_built_without_the_township(tmp_path: Path) -> None:
    """What scripts/install builds the venv from: kiosk, drivers and ui, no township code, no `township` command."""
    stage = tmp_path / "stage"
    run = subprocess.run([str(INSTALL), "--stage", str(stage)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert sorted(p.name for p in stage.iterdir()) == ["README.md", "drivers", "kiosk", "pyproject.toml", "ui"]
    assert "township.cli" not in (stage / "pyproject.toml").read_text()
    assert 'kiosk = "kiosk.cli:main"' in (stage / "pyproject.toml").read_text()
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--disable-pip-version-check",
                            "-w", str(tmp_path / "wheel"), str(stage)], capture_output=True, text=True, timeout=300)
    if built.returncode != 0 and "setuptools" in built.stdout + built.stderr:
        pytest.skip(f"no build backend to fetch here: {built.stderr.strip()[-200:]}")
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = (tmp_path / "wheel").glob("*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        points = next(z.read(n).decode() for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert not [n for n in names if n.startswith("township/")]
    assert "kiosk/cli/township.py" in names and "ui/strings/zh.json" in names
    assert "kiosk = kiosk.cli:main" in points and "township" not in points


def test_a_wheel_with_the_township_is_refused(tmp_path: Path) -> None:
    wheel = tmp_path / "checkpoint_kiosk-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr("kiosk/__init__.py", "")
        z.writestr("township/__init__.py", "")
    run = _install(_sandbox(tmp_path, pi_boot=False), "--wheel", str(wheel))
    assert run.returncode == 1 and "contains the township server" in run.stderr
    assert "changed:" not in run.stdout  # refused before touching anything
