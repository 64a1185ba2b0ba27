"""The commands in the environments a kiosk really meets: a non-UTF-8 locale, closed streams, a user
without the right to look, a kiosk holding the outbox, a missing part at start.

Each case is a real `kiosk` process.  The locales are real ones (`localedef` builds en_US.ISO-8859-1
and zh_CN.GB2312, which raspi-config offers, into a temporary LOCPATH).  "Without the right to look"
is root with CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH removed from its bounding set (`setpriv`):
then the kernel's permission checks apply to it as to the kiosk user (a directory 0700 of another
owner is closed), while the Python it runs stays readable.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.healthpass.issuer import TestIssuer
from kiosk.outbox.store import Outbox
from tests.cli.conftest import ENV
from tests.cli.test_sweep import ready as sweep_ready
from tests.paths import ROOT

TRUST = json.dumps(TestIssuer("ES256").trust_list_json())
SETPRIV = shutil.which("setpriv")
UNPRIVILEGED = [SETPRIV or "setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner", "--no-new-privs"]
needs_root = pytest.mark.skipif(os.geteuid() != 0 or SETPRIV is None, reason="needs root and setpriv")


def kiosk(*args: str, env: dict[str, str] | None = None, prefix: list[str] | None = None, cwd: Path = ROOT,
          stdin: bytes | None = None, **kw: object) -> subprocess.CompletedProcess[str]:
    run = subprocess.run([*(prefix or []), sys.executable, "-m", "kiosk.cli", *args], capture_output=True,
                         timeout=120, cwd=cwd, env={**ENV, **(env or {})}, input=stdin, **kw)  # type: ignore[call-overload]
    out, err = run.stdout.decode("utf-8", "replace"), run.stderr.decode("utf-8", "replace")
    assert "Traceback" not in out + err and "internal error" not in err, err
    return subprocess.CompletedProcess(run.args, run.returncode, out, err)


def ready(tmp_path: Path, trust: Path | None = None) -> Path:
    trust = trust or tmp_path / "trust-list.json"
    if not trust.exists():
        trust.write_text(TRUST)
    config = tmp_path / "kiosk.toml"
    config.write_text(sweep_ready(**{"{d}/trust-list.json": str(trust), "{d}/data": str(tmp_path / "data")}))
    return config


# ------------------------------------------------------------------------------ locales
@pytest.fixture(scope="session")
def locales(tmp_path_factory: pytest.TempPathFactory) -> Path:
    localedef = shutil.which("localedef")
    charmaps = Path("/usr/share/i18n/charmaps")
    if localedef is None or not (charmaps / "GB2312.gz").exists():
        pytest.skip("localedef and the i18n charmaps are needed to build the locales")
    where = tmp_path_factory.mktemp("locales")
    for name, (source, charmap) in {"en_US.ISO-8859-1": ("en_US", "ISO-8859-1"),
                                    "zh_CN.GB2312": ("zh_CN", "GB2312")}.items():
        subprocess.run([localedef, "-i", source, "-f", charmap, str(where / name)], check=True, capture_output=True,
                       timeout=120)
    return where


@pytest.mark.parametrize("lang", ["en_US.ISO-8859-1", "zh_CN.GB2312"])
def test_a_non_utf8_locale_does_not_stop_a_command(locales: Path, tmp_path: Path, lang: str) -> None:
    """The em dash and the Chinese cannot be encoded: they are escaped, the command answers as always."""
    env = {"LOCPATH": str(locales), "LANG": lang}
    assert kiosk("--help", env=env).stdout  # the locale is really in force (no fallback to C.UTF-8):
    probe = subprocess.run([sys.executable, "-c", "import sys; print(sys.stdout.encoding)"], capture_output=True,
                           text=True, env={**ENV, **env})
    assert probe.stdout.strip() in ("iso8859-1", "gb2312")
    bad = tmp_path / "bad.toml"
    bad.write_text("config_version = 1\n[policy]\nfevr_c = 37.3\nfever_c = 45\n")  # "did you mean", a bound
    shown = kiosk("maintenance", "--config", str(bad), "--data", str(tmp_path), "--once", "--headless", env=env)
    assert shown.returncode == 0 and "did you mean fever_c?" in shown.stdout
    assert kiosk("selftest", "--simulated", "--config", str(bad), env=env).returncode == 1
    assert kiosk("config", "check", str(bad), env=env).returncode == 1
    boot = tmp_path / "boot"
    boot.mkdir()
    (boot / "kiosk.toml").write_bytes(bad.read_bytes())
    provisioned = kiosk("provision", "--boot", str(boot), "--etc", str(tmp_path / "etc"), "--data",
                        str(tmp_path / "data"), "--user", "", env=env)
    assert provisioned.returncode == 1 and "provisioning failed" in provisioned.stdout


# ------------------------------------------------------------------------------ closed streams
def _closing(fd: int) -> object:
    return lambda: os.close(fd)


def test_a_closed_stdin_is_said_not_crashed_on() -> None:
    trust = str(ROOT / "tests" / "corpus" / "trust-list.json")
    for args in (("code", "verify", "-", "--trust", trust), ("code", "verify", "--batch", "-", "--trust", trust)):
        run = kiosk(*args, preexec_fn=_closing(0), stdin=None)
        assert run.returncode == 2 and "standard input is closed" in run.stderr, run.stderr


def test_a_closed_stdout_still_gives_the_answer_as_the_exit_code(tmp_path: Path) -> None:
    config = ready(tmp_path)
    assert kiosk("config", "check", str(config), preexec_fn=_closing(1)).returncode == 0
    config.write_text("[policy]\nfever_c = 45\n")
    assert kiosk("config", "check", str(config), preexec_fn=_closing(1)).returncode == 1
    assert kiosk("selftest", "--simulated", preexec_fn=_closing(1)).returncode == 0


# ------------------------------------------------------------------------------ a user without the right to look
@pytest.fixture
def private(tmp_path: Path) -> Path:
    """A directory as /var/lib/kiosk is to a technician without sudo: 0700, the kiosk user's."""
    import pwd

    folder = tmp_path / "private"
    folder.mkdir()
    nobody = pwd.getpwnam("nobody")
    (folder / "trust-list.json").write_text(TRUST)
    os.chown(folder / "trust-list.json", nobody.pw_uid, nobody.pw_gid)
    folder.chmod(0o700)
    os.chown(folder, nobody.pw_uid, nobody.pw_gid)
    return folder


@needs_root
def test_a_file_this_user_may_not_reach_is_named_as_such(tmp_path: Path, private: Path) -> None:
    config = ready(tmp_path, private / "trust-list.json")
    check = kiosk("config", "check", str(config), prefix=UNPRIVILEGED)
    assert check.returncode == 1
    assert "permission denied (the kiosk user must be able to read it)" in check.stderr
    selftest = kiosk("selftest", "--config", str(config), prefix=UNPRIVILEGED)
    assert selftest.returncode == 1 and "permission denied" in selftest.stdout
    screen = kiosk("maintenance", "--config", str(config), "--data", str(tmp_path), "--once", "--headless",
                   prefix=UNPRIVILEGED)
    assert screen.returncode == 0 and "没有读取权限" in screen.stdout


@needs_root
def test_outbox_and_calibrate_without_sudo(tmp_path: Path, private: Path) -> None:
    stats = kiosk("outbox", "stats", "--db", str(private / "outbox.sqlite"), prefix=UNPRIVILEGED)
    assert stats.returncode == 2 and "permission denied: run it with sudo" in stats.stderr
    hidden = private / "kiosk.toml"
    hidden.write_text("config_version = 1\n")
    calibrate = kiosk("calibrate", "--reference", "36.9", "--config", str(hidden), prefix=UNPRIVILEGED)
    assert calibrate.returncode == 2 and "cannot read: Permission denied" in calibrate.stderr
    # readable, but in a directory this user cannot write: said before anything is measured
    import pwd

    shared = tmp_path / "etc-kiosk"
    shared.mkdir()
    (shared / "kiosk.toml").write_text("config_version = 1\n")
    os.chown(shared, pwd.getpwnam("nobody").pw_uid, 0)
    shared.chmod(0o755)
    refused = kiosk("calibrate", "--simulated", "--write", "--reference", "36.9", "--config",
                    str(shared / "kiosk.toml"), prefix=UNPRIVILEGED)
    assert refused.returncode == 2 and "said before measuring: run it with sudo" in refused.stderr
    assert "reference_c" not in refused.stdout  # nothing was measured


# ------------------------------------------------------------------------------ the kiosk holds the outbox
def test_purge_while_the_kiosk_writes_says_so(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite"
    with Outbox(path, reserve_bytes=0) as outbox:
        outbox.append("entry", "e1", b"{}")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # a write transaction held longer than the purge waits
    try:
        run = kiosk("outbox", "purge-sent", "--db", str(path))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert run.returncode == 2
    assert "设备正在写入发件箱，请稍后再试 / the outbox is busy (the kiosk is writing to it)" in run.stderr


# ------------------------------------------------------------------------------ a part missing at start
@pytest.mark.skipif(Path("/dev/i2c-1").exists(), reason="this machine has an I²C bus")
def test_a_missing_part_at_start_is_named_on_the_maintenance_screen(tmp_path: Path) -> None:
    config = ready(tmp_path)
    run = kiosk("run", "--config", str(config))
    assert run.returncode == 1
    assert "设备无法启动：热成像传感器无法使用 / The kiosk cannot start: the thermal sensor" in run.stderr
    screen = kiosk("maintenance", "--config", str(config), "--data", str(tmp_path / "data"), "--once", "--headless")
    assert screen.returncode == 0
    assert screen.stdout.splitlines()[:2] == (tmp_path / "data" / "last-failure.txt").read_text().splitlines()
    assert screen.stdout.startswith("设备无法启动：热成像传感器无法使用\nThe kiosk cannot start: the thermal sensor: ")


def test_a_display_that_cannot_open_is_a_named_part_not_a_pygame_error() -> None:
    """`kmsdrm not available` (no KMS/DRM console) was a `pygame.error`, which `kiosk run` did not catch."""
    from kiosk.config import KioskConfig
    from kiosk.service.app import PartFailed, build_display, open_part

    config = KioskConfig(display={"driver": "kmsdrm", "fullscreen": True})  # type: ignore[arg-type]
    with pytest.raises(PartFailed) as failed:
        open_part("display", lambda: build_display(config))
    assert failed.value.zh == "设备无法启动：显示屏无法使用"
    assert failed.value.en.startswith("The kiosk cannot start: the display: ") and "kmsdrm" in failed.value.en


def test_the_demo_stops_quietly_when_its_reader_goes_away() -> None:
    """`kiosk run --simulated --headless | head -1`: no traceback per visitor, no demo running on for nobody."""
    proc = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "run", "--simulated", "--headless", "--loops", "3"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV, cwd=ROOT)
    assert proc.stdout is not None and proc.stderr is not None
    first = json.loads(proc.stdout.readline())
    assert first["decision"] in ("PASS", "STOP")
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141
    assert "Traceback" not in err and "demo: stopped after 1 round(s)" in err
