"""An unsynchronised wall clock (the Pi has no RTC): shown, reported, and no freshness-dependent PASS.

The scenario test plays a real scenario through the whole pipeline (emulated MLX90640, rendered
phone screens, zbar, THP1 verification, the outbox) with the clock reported unsynchronised: every
visitor who shows a code is stopped with `clock_unsynced`, which is never an alert.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import pytest

from kiosk.checkpoint.policy import REASONS, CodeFacts, Verdict, decide
from kiosk.clock import VirtualClock
from kiosk.clocksync import SimulatedClockSync, SystemClockSync, kernel_synchronized
from kiosk.config import KioskConfig, PolicyConfig
from tests.paths import SCENARIOS

GREEN = CodeFacts(valid=True, colour="G")


def test_policy_refuses_pass_while_unsynchronised() -> None:
    policy = PolicyConfig()
    assert decide(36.5, GREEN, policy, 1e9).verdict is Verdict.PASS
    unsynced = decide(36.5, GREEN, policy, 1e9, clock_synced=False)
    assert (unsynced.verdict, unsynced.reasons, unsynced.is_alert) == (Verdict.STOP, ("clock_unsynced",), False)
    # Other reasons still stand (a fever is still an alert); no code is no_code, not a clock problem.
    fever = decide(38.5, CodeFacts(valid=True, colour="R"), policy, 1e9, clock_synced=False)
    assert fever.reasons == ("fever", "code_red", "clock_unsynced") and fever.is_alert
    assert decide(36.5, None, policy, 1e9, clock_synced=False).reasons == ("no_code",)
    assert "clock_unsynced" in REASONS


def test_simulated_clock_sync() -> None:
    sync = SimulatedClockSync(False)
    assert not sync.synchronized() and sync.source() == "simulated"
    sync.synced = True
    assert sync.synchronized()


def test_system_clock_sync_reads_the_timesyncd_flag_and_caches(tmp_path: Path) -> None:
    flag = tmp_path / "synchronized"
    flag.touch()
    t = [0.0]
    sync = SystemClockSync(flag=flag, recheck_s=30.0, monotonic=lambda: t[0])
    assert sync.synchronized() and sync.source() == "timesyncd"
    flag.unlink()
    t[0] = 10.0
    assert sync.synchronized()  # cached
    t[0] = 31.0
    # Without the flag the kernel (adjtimex) or timedatectl answers; whatever it says is a bool.
    assert sync.synchronized() in (True, False) and sync.source() in ("adjtimex", "timedatectl", "unknown")


def test_a_slow_timedatectl_never_stalls_the_caller(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Under ProtectClock=yes only timedatectl answers, and it may take seconds: never on the loop's time."""
    import kiosk.clocksync as clocksync

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "timedatectl"
    fake.write_text("#!/bin/sh\nsleep 1.5\necho yes\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ.get('PATH', '')}")
    monkeypatch.setattr(clocksync, "kernel_synchronized", lambda: None)  # adjtimex refused, as in the service
    t = [0.0]
    sync = SystemClockSync(flag=tmp_path / "no-flag", recheck_s=30.0, monotonic=lambda: t[0])

    def timed() -> tuple[bool, float]:
        start = time.perf_counter()
        answer = sync.synchronized()
        return answer, time.perf_counter() - start

    answer, took = timed()
    assert (answer, sync.source()) == (False, "unknown") and took < 0.05  # unknown is not synchronised
    deadline = time.monotonic() + 10
    while not sync.synchronized() and time.monotonic() < deadline:
        answer, took = timed()
        assert took < 0.05
        time.sleep(0.05)
    assert sync.synchronized() and sync.source() == "timedatectl"
    t[0] = 31.0  # due again: a new probe starts, the last answer comes back at once
    answer, took = timed()
    assert answer and took < 0.05
    waits = SystemClockSync(flag=tmp_path / "no-flag", background=False)  # the selftest's: asks and waits
    assert waits.synchronized() and waits.source() == "timedatectl"


def test_kernel_status_is_readable_here() -> None:
    assert kernel_synchronized() in (True, False, None)


def test_scenario_with_the_clock_unsynchronised_stops_every_code_with_clock_unsynced() -> None:
    from kiosk.simulation import build_simulated_kiosk, load_scenario, play, scenario_config

    scenario = load_scenario(SCENARIOS / "no-risk-areas.json")
    views = []
    with tempfile.TemporaryDirectory() as data:
        config = scenario_config(scenario, KioskConfig(), data)
        clock = VirtualClock(wall_start=scenario.start)
        kiosk, world, device = build_simulated_kiosk(scenario, config, clock, clock_sync=SimulatedClockSync(False))
        kiosk.on_view.append(views.append)
        try:
            play(kiosk, world, device, clock, scenario)
        finally:
            kiosk.close()
    records = world.records()
    assert records, "nobody was decided"
    with_code = [r for r in records if "no_code" not in r.reasons]
    assert with_code
    for record in with_code:
        assert record.decision == "STOP" and "clock_unsynced" in record.reasons, record
    assert not any(r.decision == "PASS" for r in records)
    assert views and all(not v.status.clock_synced and "warning_clock" in v.status.warnings for v in views)
