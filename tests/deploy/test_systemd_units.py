"""The systemd units verify cleanly, are sandboxed, and the kiosk speaks sd_notify correctly.

`systemd-analyze verify` exits 0 on a misspelt key (it only prints a warning), so every test here
fails on ANY output.  verify also insists that ExecStart's binary exists and that the units the
kiosk's depend on (multi-user.target, getty@tty1.service, …) can be loaded, so it runs with
`--root` on a temporary tree: the host's own unit files (copied, as --root does not follow
absolute symlinks out of it), our units in /etc/systemd/system, and executable stubs at
/opt/kiosk/venv/bin/kiosk, where scripts/install puts the real one (and the township's at
/opt/township/venv/bin/township).  The units themselves are verified unchanged, so what passes
here is what the Pi (and the township's server) loads.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from kiosk.service.watchdog import Liveness, Watchdog, notify, watchdog_interval
from tests.paths import ROOT

UNITS_DIR = ROOT / "systemd"
KIOSK_UNITS = ("kiosk.service", "kiosk-maintenance.service", "kiosk-provision.service")
TOWNSHIP_UNITS = ("township-listener.service",)  # the township's server, never a kiosk
UNITS = KIOSK_UNITS + TOWNSHIP_UNITS
ANALYZE = shutil.which("systemd-analyze")
HOST_UNITS = Path("/usr/lib/systemd/system")
IMAGE_UNIT = ROOT / "scripts/image/stage-kiosk/00-kiosk/files/kiosk-datapart.service"  # the SD image's first boot

needs_analyze = pytest.mark.skipif(ANALYZE is None or not HOST_UNITS.is_dir(), reason="systemd-analyze not installed")


def _root(tmp_path: Path, units: dict[str, str] | None = None) -> Path:
    root = tmp_path / "root"
    shutil.copytree(HOST_UNITS, root / "usr/lib/systemd/system", symlinks=True)
    target = root / "etc/systemd/system"
    target.mkdir(parents=True)
    for name in UNITS:
        text = (units or {}).get(name, (UNITS_DIR / name).read_text())
        (target / name).write_text(text)
    (target / IMAGE_UNIT.name).write_text(IMAGE_UNIT.read_text())
    for stub in ("opt/kiosk/venv/bin/kiosk", "usr/local/sbin/kiosk-datapart", "usr/local/sbin/kiosk-overlayroot",
                 "opt/township/venv/bin/township"):
        binary = root / stub
        binary.parent.mkdir(parents=True, exist_ok=True)
        binary.write_text("#!/bin/sh\nexit 0\n")
        binary.chmod(0o755)
    return root


def _verify(root: Path, *names: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([ANALYZE, "verify", f"--root={root}", *names], capture_output=True, text=True,
                          cwd=root, timeout=60)


@needs_analyze
def test_units_verify_without_any_warning(tmp_path: Path) -> None:
    run = _verify(_root(tmp_path), *UNITS, IMAGE_UNIT.name)
    assert run.returncode == 0 and run.stdout == "" and run.stderr == "", run.stdout + run.stderr


@needs_analyze
def test_verify_would_catch_a_typo(tmp_path: Path) -> None:
    """The check above is meaningful: a misspelt key prints a warning (with exit status 0)."""
    broken = (UNITS_DIR / "kiosk.service").read_text().replace("Restart=always", "Restrt=always")
    run = _verify(_root(tmp_path, {"kiosk.service": broken}), "kiosk.service")
    assert "Unknown key 'Restrt'" in run.stdout + run.stderr


@needs_analyze
@pytest.mark.parametrize("name,limit", [("kiosk.service", 2.0), ("kiosk-maintenance.service", 1.5),
                                        ("kiosk-provision.service", 2.0), ("township-listener.service", 1.5)])
def test_units_are_sandboxed(name: str, limit: float, tmp_path: Path) -> None:
    run = subprocess.run([ANALYZE, "security", "--offline=yes", str(UNITS_DIR / name)], capture_output=True,
                         text=True, timeout=60, cwd=tmp_path)
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", run.stdout)
    assert found, run.stdout + run.stderr
    assert float(found.group(1)) <= limit, run.stdout


def _unit(name: str) -> dict[str, list[str]]:
    keys: dict[str, list[str]] = {}
    for line in (UNITS_DIR / name).read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            keys.setdefault(key, []).append(value)
    return keys


def test_kiosk_unit_is_notify_with_watchdog_start_limit_and_maintenance() -> None:
    unit = _unit("kiosk.service")
    assert unit["Type"] == ["notify"] and int(unit["WatchdogSec"][0]) > 0
    assert unit["OnFailure"] == ["kiosk-maintenance.service"]
    assert int(unit["StartLimitBurst"][0]) >= 3 and int(unit["StartLimitIntervalSec"][0]) > 0
    assert unit["ExecStart"][0].startswith("/opt/kiosk/venv/bin/kiosk run")
    assert "kiosk-maintenance.service" in unit["Conflicts"][0]
    # The maintenance screen gives up (to let the kiosk try again) only after the start limit has expired.
    maintenance = _unit("kiosk-maintenance.service")
    retry = float(re.search(r"--retry-after (\d+)", maintenance["ExecStart"][0]).group(1))  # type: ignore[union-attr]
    assert retry > int(unit["StartLimitIntervalSec"][0])
    assert maintenance["OnSuccess"] == ["kiosk.service"]


def test_journald_limits() -> None:
    text = (UNITS_DIR / "journald.conf.d" / "kiosk.conf").read_text()
    assert "[Journal]" in text
    for key in ("SystemMaxUse=", "SystemKeepFree=", "SystemMaxFileSize=", "MaxRetentionSec="):
        assert key in text


# ------------------------------------------------------------------------------------ sd_notify
@pytest.fixture
def notify_socket(tmp_path: Path):  # type: ignore[no-untyped-def]
    path = tmp_path / "notify"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(1.0)
    try:
        yield path, sock
    finally:
        sock.close()


def _received(sock: socket.socket) -> list[str]:
    out = []
    sock.settimeout(0.05)
    while True:
        try:
            out.append(sock.recv(4096).decode())
        except TimeoutError:
            return out


def test_notify_sends_a_datagram_to_the_socket(notify_socket) -> None:  # type: ignore[no-untyped-def]
    path, sock = notify_socket
    assert notify("READY=1\nSTATUS=up", environ={"NOTIFY_SOCKET": str(path)})
    assert sock.recv(4096) == b"READY=1\nSTATUS=up"
    assert not notify("READY=1", environ={})  # not run by systemd: a no-op


def test_notify_uses_the_abstract_namespace() -> None:
    name = f"kiosk-test-{id(object())}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(1.0)
        assert notify("WATCHDOG=1", environ={"NOTIFY_SOCKET": "@" + name})
        assert sock.recv(100) == b"WATCHDOG=1"


def test_watchdog_interval_is_half_of_watchdog_usec() -> None:
    assert watchdog_interval({"WATCHDOG_USEC": "20000000"}) == 10.0
    assert watchdog_interval({}) is None
    assert watchdog_interval({"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": "1"}) is None  # someone else's


def test_watchdog_feeds_every_half_period_only_while_all_parts_progress(notify_socket, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path, sock = notify_socket
    dead_reports: list[str] = []
    env = {"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "4000000"}  # WatchdogSec=4 → feed every 2 s
    dog = Watchdog(liveness=Liveness(stale_s=3.0), environ=env, on_dead=dead_reports.append)
    dog.ready(100.0)
    assert _received(sock) == ["READY=1\nSTATUS=running", "WATCHDOG=1"]
    t = 100.0
    while t < 106.0:  # all parts progress every 0.5 s: fed at 102, 104, 106
        t += 0.5
        for part in ("thermal", "camera", "ui"):
            dog.liveness.progress(part, t)
        dog.beat(t)
    assert _received(sock) == ["WATCHDOG=1"] * 3
    # The camera hangs; the loop itself still turns (threads), so only liveness can tell.
    while t < 112.0:
        t += 0.5
        dog.liveness.progress("thermal", t)
        dog.liveness.progress("ui", t)
        dog.beat(t)
    messages = _received(sock)
    assert messages[-1] == "STATUS=not responding: camera"
    assert messages.count("WATCHDOG=1") == 1  # at 108; none once the camera was 3 s quiet (109.5)
    assert dead_reports == ["not responding: camera"]
    dog.liveness.progress("camera", t)
    dog.beat(t)
    assert _received(sock) == ["STATUS=running", "WATCHDOG=1"]


def test_township_listener_runs_the_township_program_as_its_own_user() -> None:
    unit = _unit("township-listener.service")
    assert unit["ExecStart"][0].startswith("/opt/township/venv/bin/township listen ")
    assert unit["User"] == ["township"] and unit["StateDirectory"] == ["township"]
    assert unit["RestartPreventExitStatus"] == ["2"]  # a configuration error is not retried forever


def test_kiosk_service_files_are_installed_by_the_installer_and_the_townships_are_not() -> None:
    text = (ROOT / "scripts" / "install").read_text()
    for name in (*KIOSK_UNITS, "journald.conf.d"):
        assert name in text
    for name in TOWNSHIP_UNITS:
        assert name not in text


def test_the_kiosk_loop_feeds_the_watchdog_until_the_screen_dies(notify_socket) -> None:  # type: ignore[no-untyped-def]
    """The real loop's hooks (Kiosk.on_beat / on_progress) drive the watchdog, as kiosk.service.app wires them."""
    import tempfile

    from kiosk.clock import VirtualClock
    from kiosk.config import KioskConfig
    from kiosk.simulation import build_simulated_kiosk, load_scenario, scenario_config

    path, sock = notify_socket
    scenario = load_scenario(ROOT / "tests" / "scenarios" / "no-risk-areas.json")
    with tempfile.TemporaryDirectory() as data:
        config = scenario_config(scenario, KioskConfig(), data)
        clock = VirtualClock(wall_start=scenario.start)
        kiosk, _world, _device = build_simulated_kiosk(scenario, config, clock)
        dog = Watchdog(environ={"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "20000000"})
        kiosk.on_progress.append(dog.liveness.progress)
        kiosk.on_beat.append(dog.beat)
        try:
            dog.ready(clock.monotonic())
            start = clock.monotonic()
            while clock.monotonic() - start < 60.0:
                kiosk.step()
            healthy = _received(sock)
            assert healthy[0].startswith("READY=1") and healthy.count("WATCHDOG=1") in (6, 7)  # every 10 s

            def broken(view: object) -> None:
                raise RuntimeError("the panel is gone")

            kiosk.display.render = broken  # type: ignore[method-assign]
            start = clock.monotonic()
            while clock.monotonic() - start < 60.0:
                kiosk.step()
            after = _received(sock)
            assert "STATUS=not responding: ui" in after
            assert after.count("WATCHDOG=1") <= 1  # at most the one due before the screen was 10 s dead
        finally:
            kiosk.close()
