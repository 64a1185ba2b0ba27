"""Published is not delivered: rows await the township's receipt, are re-sent without one, freed by one.

Real SQLite files on the test's temp dir; the uplink's wall clock is passed explicitly (`at`, `now`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kiosk.outbox import Limits, Outbox, Resend
from kiosk.outbox.schema import MIGRATIONS, SCHEMA_VERSION

Open = Callable[..., Outbox]
Fill = Callable[..., list[int]]
T = 1_800_000_000.0  # the uplink's wall clock


def _ids(ob: Outbox, seqs: list[int]) -> list[str]:
    rows = {r.seq: r.event_id for r in ob.tail(10_000)}
    return [rows[s] for s in seqs]


def test_a_published_row_awaits_its_receipt_and_the_receipt_deletes_it(open_outbox: Open, fill: Fill) -> None:
    ob = open_outbox()
    seqs = fill(ob, "entry", 3)
    assert ob.mark_published(seqs[:2], at=T) == (2, 0)
    s = ob.stats()
    assert (s.pending, s.published, s.sent, s.receipted, s.rows) == (1, 2, 0, 0, 3)
    assert [r.seq for r in ob.pending()] == [seqs[2]]  # published rows are not published again at once
    assert ob.awaiting_count() == 2
    assert ob.mark_published([seqs[2]], at=T, receipted=[*_ids(ob, seqs[:2]), "health-id", "unknown"]) == (1, 2)
    s = ob.stats()
    assert (s.pending, s.published, s.receipted, s.rows) == (0, 1, 2, 1)
    assert [r.seq for r in ob.tail()] == [seqs[2]]
    assert ob.mark_receipted(_ids(ob, seqs[2:])) == 1
    assert ob.stats().rows == 0 and ob.stats().receipted == 3


def test_a_receipt_may_come_before_the_puback_is_recorded(open_outbox: Open, fill: Fill) -> None:
    ob = open_outbox()
    (seq,) = fill(ob, "entry", 1)
    event_id = _ids(ob, [seq])[0]
    assert ob.mark_published([seq], at=T, receipted=[event_id]) == (0, 1)  # one transaction; freed, not updated
    assert ob.stats().rows == 0
    assert ob.mark_published([seq], at=T) == (0, 0)  # a late PUBACK of a freed row changes nothing


def test_no_receipt_re_sends_after_a_backing_off_delay(open_outbox: Open, fill: Fill) -> None:
    ob = open_outbox(resend=Resend(after_s=10, max_s=35))
    (seq,) = fill(ob, "entry", 1)
    delays = []
    at = T
    for _ in range(5):
        ob.mark_published([seq], at=at)
        assert ob.requeue_due(at) == 0 and ob.pending() == []
        row = ob._db.execute("SELECT resend_at, tries FROM outbox").fetchone()
        delays.append(row[0] - at)
        assert ob.requeue_due(row[0] - 0.001) == 0
        assert ob.requeue_due(row[0]) == 1  # due: to publish again
        assert [r.seq for r in ob.pending()] == [seq]
        at = row[0] + 1
    assert delays == [10, 20, 35, 35, 35]  # doubling, at most max_s


def test_a_resend_scheduled_on_a_clock_that_was_ahead_is_due(open_outbox: Open, fill: Fill) -> None:
    ob = open_outbox(resend=Resend(after_s=10, max_s=60))
    fill(ob, "entry", 1)
    ob.mark_published([1], at=T + 86_400)  # the clock was a day ahead, then set right
    assert ob.requeue_due(T) == 1


def test_alerts_are_re_sent_first(open_outbox: Open, fill: Fill) -> None:
    ob = open_outbox(resend=Resend(after_s=1, max_s=1))
    entries = fill(ob, "entry", 3)
    alerts = fill(ob, "alert", 2, priority=10)
    ob.mark_published(entries + alerts, at=T)
    assert ob.requeue_due(T + 1) == 5
    assert [r.seq for r in ob.pending()] == alerts + entries


def test_freed_without_receipts_then_receipts_come_back(open_outbox: Open, fill: Fill) -> None:
    ob = open_outbox()
    seqs = fill(ob, "entry", 4)
    ob.mark_published(seqs[:2], at=T)
    assert ob.free_awaiting() == 2  # an old township: the PUBACK frees them
    ob.mark_sent(seqs[2:3])  # freed on its PUBACK alone
    s = ob.stats()
    assert (s.pending, s.published, s.sent) == (1, 0, 3)
    assert ob.purge_sent() == 3  # delivered rows go with the retention, as before receipts
    seqs = fill(ob, "entry", 2)
    ob.mark_sent(seqs)
    assert ob.requeue_freed() == 2  # receipts again: what was freed on a PUBACK alone goes again
    assert ob.stats().pending == 3 and ob.stats().sent == 0


def test_rows_delivered_before_receipts_existed_are_not_sent_again(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite"
    db = sqlite3.connect(path)
    for statements in MIGRATIONS[:4]:
        for statement in statements:
            db.execute(statement)
    db.executemany("INSERT INTO outbox (event_id, stream, priority, created, payload, sent_at) "
                   "VALUES (?, 'entry', 0, 1.0, x'7b7d', ?)", [("delivered", 2.0), ("waiting", None)])
    db.execute("INSERT INTO outbox (event_id, stream, priority, created, payload, rejected) "
               "VALUES ('refused', 'entry', 0, 1.0, x'7b7d', 135)")
    db.execute("INSERT INTO visits (seq, day, decision, reasons, policy) VALUES (2, '2026-11-24', 'PASS', '', 'p')")
    db.execute("PRAGMA user_version = 4")
    db.commit()
    db.close()
    with Outbox(path) as ob:
        assert ob._db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 6
        assert [r.event_id for r in ob.pending()] == ["waiting"]
        s = ob.stats()
        assert (s.pending, s.sent, s.rejected, s.published, s.rows) == (1, 1, 1, 0, 3)
        assert ob.day_tally("2026-11-24") == [("PASS", (), None, "p")]
        assert ob.requeue_freed() == 0  # "delivered" was delivered by the old kiosk: it stays delivered
        ob.mark_published([2], at=T)
        assert ob.stats().published == 1


def test_rows_awaiting_a_receipt_are_undelivered_for_the_bounds(open_outbox: Open, fill: Fill) -> None:
    ob = open_outbox(limits=Limits(max_rows=10))
    alerts = fill(ob, "alert", 5, priority=10)
    entries = fill(ob, "entry", 5)
    ob.mark_published(alerts + entries, at=T)
    fill(ob, "entry", 1)  # room is made among undelivered entries, never by freeing awaited alerts
    assert ob.dropped() == {"entry": 1}
    assert ob.stats().published == 9 and [r.stream for r in ob.tail(100)].count("alert") == 5


def test_seconds_in_service_per_day_and_the_last_time_seen(open_outbox: Open, fill: Fill, clock: Any) -> None:
    ob = open_outbox()
    assert ob.last_wall() is None
    ob.add_service({"2026-11-24": 100.5})
    assert ob.last_wall() == clock.wall()
    clock.advance(60)
    ob.add_service({"2026-11-24": 50.0, "2026-11-25": 7.0})
    assert ob.service_seconds("2026-11-24") == 150.5 and ob.service_seconds("2026-11-23") == 0.0
    assert ob.last_wall() == clock.wall()
    clock.advance(60)
    fill(ob, "entry", 1)
    assert ob.last_wall() == clock.wall()  # a row is a trace too
