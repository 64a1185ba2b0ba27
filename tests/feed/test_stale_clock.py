"""Review findings on the feed (kiosk.feed.pump, kiosk.feed.daily) over a real SQLite outbox.

The Pi has no RTC: until NTP answers, the wall clock is fake-hwclock's stale time.  A kiosk that
was off longer than the retention and runs offline after boot must not, once NTP jumps the clock
forward, drop minutes-old rows as expired, nor report days on the stale timeline.  And a visitor
whose entry the outbox refuses (the bounds are held by alerts) sees FAULT, never PASS.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from kiosk.clock import VirtualClock
from kiosk.clocksync import SimulatedClockSync
from kiosk.config import KioskConfig
from kiosk.feed import ALERT_PRIORITY, Feed
from kiosk.feed.pump import HOUSEKEEPING_S
from kiosk.outbox import Limits, Outbox
from kiosk.ports import Screen
from tests.feed.rig import DAY, entry, feed_over
from tests.loop.rig import SimulatedKiosk

ZONE = ZoneInfo("Asia/Shanghai")  # KioskConfig's default uplink.timezone


def at(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=ZONE).timestamp()


def _feed(tmp_path: Path, clock: VirtualClock, *, synced: bool) -> tuple[Feed, SimulatedClockSync]:
    assert KioskConfig().uplink.timezone == "Asia/Shanghai"
    sync = SimulatedClockSync(synced)
    return feed_over(tmp_path, clock, clock_sync=sync), sync


def _ntp_answers(clock: VirtualClock, sync: SimulatedClockSync, jump_s: float) -> None:
    clock._wall_offset += jump_s  # the wall clock steps; the monotonic one does not
    sync.synced = True


def _summaries(ob: Outbox) -> list[dict]:
    return [json.loads(r.payload) for r in ob.tail(1000) if r.stream == "daily"]


def test_rows_stored_offline_on_a_stale_clock_survive_the_ntp_jump(tmp_path: Path) -> None:
    clock = VirtualClock(wall_start=at("2026-10-01 08:00"))  # fake-hwclock: off for eight weeks
    feed, sync = _feed(tmp_path, clock, synced=False)
    try:
        feed.pump.poll()
        feed.entries.store(*entry("e1", clock.wall()))
        feed.entries.store(*entry("a1", clock.wall(), "STOP", ("fever",), alert=True))
        clock.advance(300)
        _ntp_answers(clock, sync, at("2026-11-25 08:00") - clock.wall())
        clock.advance(HOUSEKEEPING_S + 1)  # the next housekeeping, minutes after the rows were made
        feed.pump.poll()
        assert sorted(r.event_id for r in feed.outbox.pending(100) if r.stream != "daily") == ["a1", "e1"]
        assert feed.outbox.dropped() == {}
        assert _summaries(feed.outbox) == []  # no day of the stale timeline is reported either
        # They age from the moment the clock was right, like any row stored then.
        clock.advance(7 * DAY + 1)
        feed.pump.poll()
        left = [r.event_id for r in feed.outbox.pending(100) if r.stream != "daily"]
        assert left == ["a1"]  # an undelivered alert never ages out
        assert feed.outbox.dropped() == {"entry": 1}
    finally:
        feed.close()


def test_nothing_is_aged_and_no_day_reported_while_the_clock_is_unsynchronised(tmp_path: Path) -> None:
    clock = VirtualClock(wall_start=at("2026-10-01 08:00"))
    feed, sync = _feed(tmp_path, clock, synced=False)
    try:
        feed.entries.store(*entry("e1", clock.wall()))
        clock.advance(3 * DAY)  # stale days pass (and stale report times), offline
        for _ in range(3):
            clock.advance(HOUSEKEEPING_S + 1)
            feed.pump.poll()
        assert _summaries(feed.outbox) == [] and feed.outbox.meta_get("daily_since") is None
        assert feed.outbox.pending_count() == 1
        # NTP answers on the 24th; the visitor stored on the stale timeline is counted that day.
        _ntp_answers(clock, sync, at("2026-11-24 09:00") - clock.wall())
        feed.pump.poll()
        assert _summaries(feed.outbox) == [] and feed.outbox.meta_get("daily_since") == "2026-11-24"
        clock.advance(at("2026-11-25 00:06") - clock.wall())
        feed.pump.poll()
        (summary,) = _summaries(feed.outbox)
        assert summary["day"] == "2026-11-24" and summary["visitors"] == 1
        assert feed.outbox.dropped() == {}
    finally:
        feed.close()


def test_a_clock_sync_that_fails_to_answer_counts_as_unsynchronised(tmp_path: Path) -> None:
    class Broken:
        def synchronized(self) -> bool:
            raise OSError("timedatectl vanished")

    clock = VirtualClock(wall_start=at("2026-10-01 08:00"))
    feed = feed_over(tmp_path, clock, clock_sync=Broken())
    try:
        assert feed.entries.clock_synced is False
        feed.entries.store(*entry("e1", clock.wall()))
        assert feed.outbox._db.execute("SELECT unsynced FROM outbox").fetchall() == [(1,)]
        clock._wall_offset += 60 * DAY
        feed.pump.poll()
        assert feed.outbox.pending_count() == 1 and _summaries(feed.outbox) == []
    finally:
        feed.close()


def test_no_pass_for_an_entry_refused_because_alerts_hold_the_bound(simulated: Callable[..., SimulatedKiosk]) -> None:
    sim = simulated()
    ob = sim.feed.outbox
    ob.limits = Limits(max_rows=20)
    for i in range(20):
        ob.append("alert", f"a{i}", b"{}", priority=ALERT_PRIORITY)
    sim.play()
    assert sim.kiosk.store_failures == 1
    assert Screen.PASS not in [v.screen for v in sim.views]
    with Outbox(ob.path) as again:
        assert {r.stream for r in again.pending(100)} == {"alert"} and again.pending_count() == 20
        assert again.dropped() == {"entry": 1}
