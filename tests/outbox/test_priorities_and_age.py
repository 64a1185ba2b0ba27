"""Review findings on the outbox's storage, each pinned by a test on a real SQLite file.

1. Making room must never push out an undelivered row more urgent than the one appended: an
   entry never evicts an alert; if only alerts could make room, the entry is the one dropped
   (counted for its stream) and `append` raises `OutboxFull`, so the kiosk shows FAULT for it.
2. Age-based deletion must not trust an unsynchronised wall clock, and never ages out an
   undelivered alert; rows stamped on a stale clock are flagged (schema 4) and ignored by the
   age logic until the clock is settled.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from kiosk.clock import VirtualClock
from kiosk.config import KioskConfig
from kiosk.feed.daily import DailyReporter
from kiosk.feed.events import ALERT_PRIORITY
from kiosk.outbox import Limits, Outbox, OutboxFull, Tally
from kiosk.outbox.schema import MIGRATIONS, SCHEMA_VERSION

DAY = 86_400.0
Open = Callable[..., Outbox]
Fill = Callable[..., list[int]]


def pending_by_stream(ob: Outbox) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in ob.pending(100_000):
        counts[row.stream] = counts.get(row.stream, 0) + 1
    return counts


# ------------------------------------------------------------------------ 1. making room by priority
def test_an_entry_never_pushes_out_an_alert(open_outbox: Open, fill: Fill) -> None:
    with open_outbox(limits=Limits(max_rows=100)) as ob:
        alerts = fill(ob, "alert", 95, priority=ALERT_PRIORITY)
        fill(ob, "entry", 5)
        (new,) = fill(ob, "entry", 1)  # the review's case: this dropped {'alert': 5, 'entry': 5}
        assert ob.dropped() == {"entry": 5}  # its own tier only (the oldest entries)
        held = {r.seq for r in ob.pending(1000)}
        assert set(alerts) <= held and new in held
        assert ob.stats().rows <= 100


def test_an_entry_only_alerts_could_make_room_for_is_dropped_counted_and_raises(open_outbox: Open, fill: Fill) -> None:
    with open_outbox(limits=Limits(max_rows=100)) as ob:
        alerts = fill(ob, "alert", 100, priority=ALERT_PRIORITY)
        with pytest.raises(OutboxFull, match="more urgent"):
            ob.append("entry", "refused", b"x" * 100, tally=Tally("2026-11-25", "PASS", ()))
        assert [r.seq for r in ob.pending(1000)] == alerts  # not one alert lost
        assert "refused" not in {r.event_id for r in ob.tail(1000)}
        assert ob.dropped() == {"entry": 1}  # the refused entry is the loss, and it is counted
        assert ob.day_tally("2026-11-25") == []  # nor tallied: the visitor saw FAULT, not a decision
        # A higher priority still gets in: an alert may push out the oldest alerts.
        fill(ob, "alert", 1, priority=ALERT_PRIORITY)
        assert ob.dropped() == {"entry": 1, "alert": 10}
        assert {r.seq for r in ob.pending(1000)}.isdisjoint(alerts[:10])


def test_a_byte_bound_refuses_an_entry_rather_than_evict_alerts(open_outbox: Open, fill: Fill) -> None:
    with open_outbox(limits=Limits(max_rows=10_000, max_bytes=10_000)) as ob:
        fill(ob, "alert", 10, priority=ALERT_PRIORITY, size=1000)
        with pytest.raises(OutboxFull):
            ob.append("entry", "big", b"x" * 10)
        assert ob.dropped() == {"entry": 1} and pending_by_stream(ob) == {"alert": 10}


def test_an_alert_takes_delivered_rows_dead_letters_and_entries_before_any_alert(open_outbox: Open, fill: Fill) -> None:
    with open_outbox(limits=Limits(max_rows=100)) as ob:
        sent = fill(ob, "entry", 3)
        ob.mark_sent(sent)
        dead = fill(ob, "entry", 2)
        ob.mark_rejected(dead, 0x87)
        alerts = fill(ob, "alert", 90, priority=ALERT_PRIORITY)
        entries = fill(ob, "entry", 5)
        fill(ob, "alert", 1, priority=ALERT_PRIORITY)  # frees a tenth: 3 sent + 2 dead + 5 entries
        held = {r.seq for r in ob.tail(1000)}
        assert held.isdisjoint(sent + dead + entries) and set(alerts) <= held
        # all counted: the dead letters, the pending entries, and the sent ones (freed on a PUBACK, no receipt)
        assert ob.dropped() == {"entry": 10}


def test_a_daily_summary_pushes_out_entries_but_waits_behind_alerts(open_outbox: Open, fill: Fill) -> None:
    with open_outbox(limits=Limits(max_rows=10)) as ob:
        fill(ob, "alert", 10, priority=ALERT_PRIORITY)
        with pytest.raises(OutboxFull):
            ob.report_day("2026-11-24", "daily", "d1", b"{}", priority=5)
        assert ob.reported_days() == [] and ob.dropped() == {}  # nothing recorded: tried again later
        assert DailyReporter(ob, KioskConfig()).report("2026-11-24", 1_764_000_000.0) is False  # logged, not raised
        assert ob.reported_days() == []
    with open_outbox("p.sqlite", limits=Limits(max_rows=10)) as ob:
        fill(ob, "alert", 5, priority=ALERT_PRIORITY)
        fill(ob, "entry", 5)
        assert ob.report_day("2026-11-24", "daily", "d1", b"{}", priority=5)
        assert ob.reported_days() == ["2026-11-24"] and ob.dropped() == {"entry": 1}


def test_a_retry_at_the_bound_returns_the_stored_row_and_drops_nothing(open_outbox: Open, fill: Fill) -> None:
    with open_outbox(limits=Limits(max_rows=10)) as ob:
        fill(ob, "alert", 9, priority=ALERT_PRIORITY)
        seq = ob.append("entry", "once", b"x")
        assert ob.append("entry", "once", b"x") == seq
        assert ob.dropped() == {} and ob.stats().rows == 10


# ------------------------------------------------------------------------ 2. ages and the clock
def test_the_alert_priority_is_the_one_kept_from_ageing() -> None:
    assert Limits().keep_priority == ALERT_PRIORITY


def test_retention_never_ages_out_an_undelivered_alert(open_outbox: Open, fill: Fill, clock: VirtualClock) -> None:
    with open_outbox(limits=Limits(retention_s=7 * DAY)) as ob:
        alerts = fill(ob, "alert", 2, priority=ALERT_PRIORITY)
        dead_alert = fill(ob, "alert", 1, priority=ALERT_PRIORITY)
        ob.mark_rejected(dead_alert, 0x87)
        entries = fill(ob, "entry", 2)
        clock.advance(8 * DAY)
        done = ob.housekeeping()
        assert done["dropped"] == 3  # the entries and the dead letter
        assert [r.seq for r in ob.pending(100)] == alerts
        assert ob.dropped() == {"alert": 1, "entry": 2} and not set(entries) & {r.seq for r in ob.tail(100)}


def test_nothing_ages_while_the_clock_is_not_synchronised(open_outbox: Open, fill: Fill, clock: VirtualClock) -> None:
    with open_outbox(limits=Limits(retention_s=7 * DAY)) as ob:
        sent = fill(ob, "entry", 1)
        ob.mark_sent(sent)
        fill(ob, "entry", 2)
        clock.advance(30 * DAY)
        done = ob.housekeeping(clock_synced=False)
        assert (done["purged"], done["dropped"], done["aged"]) == (0, 0, 0)
        assert ob.stats().rows == 3 and ob.dropped() == {}


def test_rows_stamped_on_a_stale_clock_age_from_when_it_was_settled(open_outbox: Open, fill: Fill) -> None:
    clock = VirtualClock(wall_start=1_760_000_000.0)  # fake-hwclock's stale time at boot
    with open_outbox(clock=clock, limits=Limits(retention_s=7 * DAY)) as ob:
        stale = fill(ob, "entry", 2, clock_synced=False)
        ob.append("entry", "tallied", b"{}", tally=Tally("2025-10-09", "PASS", ()), clock_synced=False)
        assert ob.day_tally("2025-10-09") == []  # a stale day is not counted
        assert dict(ob._db.execute("SELECT seq, unsynced FROM outbox").fetchall()) == \
            {**dict.fromkeys(stale, 1), stale[-1] + 1: 1}
    clock._wall_offset += 40 * DAY  # NTP answers: the wall clock jumps forward 40 days
    with open_outbox(clock=clock, limits=Limits(retention_s=7 * DAY)) as ob:  # across a reboot, too
        assert ob.housekeeping()["dropped"] == 0  # flagged rows are not aged on their stale stamps
        assert ob.settle_clock("2025-11-18") == 3
        assert ob.day_tally("2025-11-18") == [("PASS", (), None, "")]  # counted once, on the day the clock was right
        assert ob.housekeeping()["dropped"] == 0 and ob.pending_count() == 3
        clock.advance(7 * DAY + 1)
        assert ob.housekeeping()["dropped"] == 3  # then they age like any other row


def test_a_schema_3_file_is_migrated_keeping_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite"
    db = sqlite3.connect(path)
    for statements in MIGRATIONS[:3]:
        for statement in statements:
            db.execute(statement)
    db.execute("INSERT INTO outbox (event_id, stream, priority, created, payload) "
               "VALUES ('kept', 'entry', 0, 1.0, x'7b7d')")
    db.execute("INSERT INTO visits (seq, day, decision, reasons, policy) VALUES (1, '2026-11-24', 'PASS', '', 'p')")
    db.execute("PRAGMA user_version = 3")
    db.commit()
    db.close()
    with Outbox(path) as ob:
        assert ob._db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert [r.event_id for r in ob.pending()] == ["kept"]
        assert ob._db.execute("SELECT unsynced FROM outbox").fetchall() == [(None,)]
        assert ob.day_tally("2026-11-24") == [("PASS", (), None, "p")]
        ob.append("entry", "new", b"{}", clock_synced=False)
        assert ob._db.execute("SELECT unsynced FROM outbox WHERE event_id = 'new'").fetchone() == (1,)
