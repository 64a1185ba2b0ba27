"""The units' commands work under the units' own sandbox: the system-call filter, the capabilities, the umask.

There is no systemd PID 1 here, so `tests.deploy.sandbox` applies what the unit file says (its
`SystemCallFilter=` lines resolved by the installed `systemd-analyze` and loaded with libseccomp,
`SystemCallErrorNumber=`, `UMask=`), and `setpriv` applies `CapabilityBoundingSet=` and
`NoNewPrivileges=`.  The unit files are read as they are in the repository: a filter that takes
away a call the command needs (provisioning's chown: `@privileged` includes `@chown`) fails here.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.sandbox import allowed_calls, unit_keys
from tests.paths import ROOT
from tests.service.test_provisioning import CONFIG, _drop

UNITS = ROOT / "systemd"
SETPRIV = shutil.which("setpriv")

needs_root_and_tools = pytest.mark.skipif(
    os.geteuid() != 0 or SETPRIV is None or shutil.which("systemd-analyze") is None,
    reason="needs root (chown, capability sets), setpriv and systemd-analyze")


def _sandboxed(unit: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`kiosk ARGS` as the unit runs it: its filter and umask, its capability bounding set, no new privileges."""
    keys = dict(unit_keys(UNITS / unit))
    caps = keys.get("CapabilityBoundingSet", "").split()
    bounding = ",".join(["-all", *("+" + c.removeprefix("CAP_").lower() for c in caps)])
    argv = [SETPRIV, f"--bounding-set={bounding}", "--no-new-privs", sys.executable, "-m", "tests.deploy.sandbox",
            str(UNITS / unit), "--", sys.executable, "-m", "kiosk.cli", *args]
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "SDL_VIDEODRIVER": "dummy",
           "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env, cwd=ROOT)


@needs_root_and_tools
def test_the_provisioning_units_filter_allows_chown() -> None:
    allowed = allowed_calls(UNITS / "kiosk-provision.service")
    assert allowed is not None and {"chown", "fchown", "fchownat"} <= allowed
    assert "reboot" not in allowed and "init_module" not in allowed  # the rest of @privileged stays denied


@needs_root_and_tools
def test_first_boot_provisioning_succeeds_under_its_own_unit(tmp_path: Path) -> None:
    boot, etc, data = tmp_path / "boot", tmp_path / "etc", tmp_path / "data"
    boot.mkdir()
    _drop(boot)
    run = _sandboxed("kiosk-provision.service", "provision", "--boot", str(boot), "--etc", str(etc),
                     "--data", str(data), "--user", "nobody")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "provisioned" in run.stdout and "Operation not permitted" not in run.stdout + run.stderr
    nobody = pwd.getpwnam("nobody")
    key = (etc / "kiosk.key").stat()
    assert (key.st_uid, key.st_gid, stat.S_IMODE(key.st_mode)) == (nobody.pw_uid, nobody.pw_gid, 0o600)
    assert (etc.stat().st_uid, etc.stat().st_gid) == (0, nobody.pw_gid)
    toml = (etc / "kiosk.toml").stat()
    assert (toml.st_uid, stat.S_IMODE(toml.st_mode)) == (0, 0o644)
    report = (data / "provisioning-report.json").stat()
    assert (report.st_uid, stat.S_IMODE(report.st_mode)) == (nobody.pw_uid, 0o644)
    assert not boot.exists()


@needs_root_and_tools
def test_a_failed_provisioning_under_its_unit_still_leaves_the_report(tmp_path: Path) -> None:
    """The maintenance screen (the kiosk user) must be able to read why, under UMask=0077."""
    boot, etc, data = tmp_path / "boot", tmp_path / "etc", tmp_path / "data"
    boot.mkdir()
    _drop(boot, CONFIG.replace("port = 8883", "port = 99999"))
    run = _sandboxed("kiosk-provision.service", "provision", "--boot", str(boot), "--etc", str(etc),
                     "--data", str(data), "--user", "nobody")
    assert run.returncode == 1 and "uplink.port" in run.stdout
    report = data / "provisioning-report.json"
    assert report.stat().st_uid == pwd.getpwnam("nobody").pw_uid and stat.S_IMODE(report.stat().st_mode) == 0o644
    assert any("uplink.port" in p for p in json.loads(report.read_text())["problems"])
    assert (boot / "kiosk.key").exists()


@needs_root_and_tools
def test_the_maintenance_screen_draws_under_its_own_unit(tmp_path: Path) -> None:
    config = tmp_path / "kiosk.toml"
    config.write_text("config_version = 1\n[policy]\nfever_c = 45\n")
    run = _sandboxed("kiosk-maintenance.service", "maintenance", "--config", str(config), "--data", str(tmp_path),
                     "--once", "--headless")
    assert run.returncode == 0, run.stderr
    assert "policy.fever_c = 45" in run.stdout
