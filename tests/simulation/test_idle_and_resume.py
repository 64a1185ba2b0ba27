"""Idle stretches are jumped over with every timer still on time; a data folder is one kiosk's life across runs;
implausible scenarios are refused before anything runs."""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kiosk.clock import VirtualClock
from kiosk.config import KioskConfig
from kiosk.errors import ConfigError, StartupError
from kiosk.outbox import Outbox
from kiosk.simulation import Scenario, build_simulated, load_scenario, play, scenario_config, simulate
from kiosk.simulation.runner import JUMP_MIN_S, LEAD_S, data_folder, skip_idle

ZONE = ZoneInfo("Asia/Shanghai")
DAY = 86_400.0


def visitors(*arrivals: float, start: float = 1_764_000_000.0) -> Scenario:
    return Scenario.model_validate({"name": "spread out", "start": start, "visitors": [
        {"id": f"v{i}", "arrive_s": t, "forehead_c": 38.2 if i % 2 else 36.5, "code": {"colour": "G"},
         "expect": {"decision": "STOP" if i % 2 else "PASS", "reasons": ["fever"] if i % 2 else []}}
        for i, t in enumerate(arrivals)]})


def local_day(wall: float) -> str:
    return datetime.fromtimestamp(wall, ZONE).date().isoformat()


def test_two_days_of_idle_are_jumped_and_each_daily_summary_is_made_on_time(tmp_path: Path) -> None:
    scenario = visitors(0.0, 2 * DAY + 3600)  # the second visitor two days and an hour later
    started = time.monotonic()
    result = simulate(scenario, data_dir=str(tmp_path))
    assert time.monotonic() - started < 120  # a hang guard, not a speed test (bench/ measures speed)
    assert result.mismatches() == [] and result.simulated_s > 2 * DAY + 3600
    with Outbox(tmp_path / "outbox.sqlite") as ob:
        summaries = [json.loads(r.payload) for r in ob.tail(100) if r.stream == "daily"]
    first = local_day(scenario.start)
    assert [s["day"] for s in summaries] == [first, local_day(scenario.start + DAY)]  # the third is not over
    report_time = KioskConfig().uplink.daily_report_time
    for s in summaries:
        made = datetime.fromtimestamp(s["at"], ZONE)
        assert made.strftime("%H:%M") == report_time  # on time (00:05 the next day), not after the jump
        assert s["period_end"] + 300 <= s["at"] < s["period_end"] + 360
    assert summaries[0]["visitors"] == 1 and summaries[1]["visitors"] == 0
    assert summaries[0]["in_service_s"] == pytest.approx(summaries[0]["period_end"] - scenario.start, abs=2)
    assert summaries[1]["in_service_s"] == 86_400  # the kiosk ran all day (virtually), nobody came


def test_a_jump_stops_short_of_the_next_visitor_and_only_over_long_stretches(tmp_path: Path) -> None:
    scenario = visitors(0.0, 20.0, 20.0 + JUMP_MIN_S + LEAD_S + 500)
    config = scenario_config(scenario, KioskConfig(), str(tmp_path))
    clock = VirtualClock(wall_start=scenario.start)
    assembly, world, device = build_simulated(scenario, config, clock)
    t0 = clock.monotonic()
    jumps: list[tuple[float, float]] = []
    try:
        while not world.finished():
            device.unplugged = world.sensor_unplugged(clock.monotonic())  # type: ignore[attr-defined]
            assembly.kiosk.step()
            before = clock.monotonic()
            if skip_idle(assembly.kiosk, world, clock, assembly.feed.pump):
                jumps.append((before - t0, clock.monotonic() - t0))
    finally:
        assembly.close()
    assert jumps  # not between the first two, only on the way to the third (stopping at the daily report time)
    for start, end in jumps:
        assert start > 20.0 and end <= scenario.visitors[2].arrive_s - LEAD_S and (end - start) % 1 == 0
    assert jumps[-1][1] > scenario.visitors[2].arrive_s - LEAD_S - 1
    assert [r.decision for r in world.records()] == ["PASS", "STOP", "PASS"]


def test_a_data_folder_is_one_kiosk_across_runs(tmp_path: Path) -> None:
    scenario = visitors(0.0, 8.0)
    first = simulate(scenario, data_dir=str(tmp_path), resume=True)
    second = simulate(scenario, data_dir=str(tmp_path), resume=True)
    assert first.start == scenario.start and first.mismatches() == second.mismatches() == []
    assert second.start > first.start + first.simulated_s - 1  # the clock goes on, never back
    with Outbox(tmp_path / "outbox.sqlite") as ob:
        rows = ob.tail(100)
        assert ob.day_tally(local_day(scenario.start)) and len(ob.day_tally(local_day(scenario.start))) == 4
    assert len(rows) == 4 and rows == sorted(rows, key=lambda r: r.created)  # both runs' events, in time order


def test_a_data_folder_in_use_is_refused(tmp_path: Path) -> None:
    with data_folder(str(tmp_path)), pytest.raises(StartupError, match="another kiosk"):
        simulate(visitors(0.0), data_dir=str(tmp_path), resume=True)


@pytest.mark.parametrize(("change", "message"), [
    ({"start": -1000}, "start: -1000 is not a date a kiosk could run on"),
    ({"start": 1e13}, "start: 1e+13 is not a date"),
    ({"visitors": [{"id": "far", "arrive_s": 1e12, "forehead_c": 36.5}]}, "more than a year after the start"),
])
def test_implausible_scenarios_are_refused_with_a_reason(tmp_path: Path, change: dict[str, object],
                                                         message: str) -> None:
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"name": "odd", **change}))
    with pytest.raises(ConfigError) as refused:
        load_scenario(path)
    assert any(message in p for p in refused.value.problems), refused.value.problems


def test_a_visitor_a_year_later_is_played(tmp_path: Path) -> None:
    scenario = visitors(0.0, 365 * DAY)
    config = scenario_config(scenario, KioskConfig(), str(tmp_path))
    clock = VirtualClock(wall_start=scenario.start)
    assembly, world, device = build_simulated(scenario, config, clock)
    try:
        played = play(assembly.kiosk, world, device, clock, scenario, pump=assembly.feed.pump)
    finally:
        assembly.close()
    assert played > 365 * DAY and [r.decision for r in world.records()] == ["PASS", "STOP"]
