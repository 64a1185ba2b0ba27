"""The outbox's bounds (rows, bytes, age), what it drops first, and a full disk.

A full disk is a real one where we can have it: a 320 KiB tmpfs mounted for the test (we run as
root in the dev container); elsewhere SQLite's own `max_page_count`, which fails the same way
(SQLITE_FULL).  Either way an entry that cannot be stored must raise, and the kiosk must show
FAULT for it, never PASS.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kiosk.clock import VirtualClock
from kiosk.outbox import Limits, Outbox, OutboxFull, Tally

DAY = 86_400.0
Open = Callable[..., Outbox]
Fill = Callable[..., list[int]]


def test_row_bound_drops_oldest_entries_and_keeps_alerts(open_outbox: Open, fill: Fill) -> None:
    with open_outbox(limits=Limits(max_rows=100)) as ob:
        alerts = fill(ob, "alert", 30, priority=10)
        entries = fill(ob, "entry", 70)
        assert ob.stats().dropped == 0
        more = fill(ob, "entry", 5)  # the bound is reached: room is made for a tenth of it
        held = {r.seq for r in ob.tail(1000)}
        assert set(alerts) <= held  # every alert kept
        assert set(more) <= held
        dropped = [s for s in entries if s not in held]
        assert dropped == entries[: len(dropped)] and len(dropped) == 10  # the oldest ordinary entries
        stats = ob.stats()
        assert stats.rows == 95 and stats.dropped == 10 and dict(stats.dropped_by_stream) == {"entry": 10}


def test_rows_freed_on_a_puback_go_first_and_are_counted(open_outbox: Open, fill: Fill) -> None:
    """A row freed on a PUBACK alone (no receipt) is not known to be at the township: it goes before any
    undelivered row, but its deletion before the retention is counted as dropped."""
    with open_outbox(limits=Limits(max_rows=100)) as ob:
        sent = fill(ob, "entry", 50)
        ob.mark_sent(sent)
        pending = fill(ob, "entry", 60)  # passes the bound: only rows freed on a PUBACK are deleted
        stats = ob.stats()
        assert ob.pending_count() == 60 and {r.seq for r in ob.pending(1000)} == set(pending)
        assert stats.dropped == 50 - stats.sent > 0 and dict(stats.dropped_by_stream) == {"entry": stats.dropped}


def test_an_entry_never_pushes_out_an_alert_freed_on_a_puback(open_outbox: Open, fill: Fill) -> None:
    """The reviewer's case: alerts freed on a PUBACK (no receipt) were deleted first, uncounted, to make room for
    entries.  Now they keep the priority rule: the oldest entries go (counted), every alert stays."""
    with open_outbox(limits=Limits(max_rows=30)) as ob:
        alerts = fill(ob, "alert", 20, priority=10)
        ob.mark_sent(alerts)
        fill(ob, "entry", 20)
        held = {r.seq for r in ob.tail(1000)}
        stats = ob.stats()
        assert set(alerts) <= held
        assert stats.rows <= 30 and stats.dropped == 20 + 20 - stats.rows
        assert dict(stats.dropped_by_stream) == {"entry": stats.dropped}


def test_rows_freed_past_the_retention_go_uncounted(open_outbox: Open, fill: Fill, clock: VirtualClock) -> None:
    with open_outbox(limits=Limits(max_rows=100, retention_s=DAY)) as ob:
        ob.mark_sent(fill(ob, "entry", 50))
        clock.advance(2 * DAY)  # past the retention, housekeeping not run yet: their deletion is no loss
        fill(ob, "entry", 60)
        assert ob.stats().dropped == 0 and ob.pending_count() == 60


def test_only_alerts_left_then_the_oldest_alerts_go(open_outbox: Open, fill: Fill) -> None:
    with open_outbox(limits=Limits(max_rows=100)) as ob:
        first = fill(ob, "alert", 100, priority=10)
        fill(ob, "alert", 1, priority=10)
        assert ob.stats().dropped == 10 and {r.seq for r in ob.pending(1000)}.isdisjoint(first[:10])


def test_byte_bound(open_outbox: Open, fill: Fill) -> None:
    with open_outbox(limits=Limits(max_rows=10_000, max_bytes=50_000)) as ob:
        fill(ob, "alert", 10, priority=10, size=1000)
        fill(ob, "entry", 60, size=1000)
        stats = ob.stats()
        assert stats.bytes <= 50_000 and stats.dropped > 0
        assert dict(stats.dropped_by_stream).keys() == {"entry"}
        assert len([r for r in ob.pending(1000) if r.stream == "alert"]) == 10


def test_bounds_hold_across_reopen(open_outbox: Open, fill: Fill) -> None:
    with open_outbox(limits=Limits(max_rows=100)) as ob:
        fill(ob, "entry", 100)
    with open_outbox(limits=Limits(max_rows=100)) as ob:  # the totals are re-counted at open
        fill(ob, "entry", 1)
        assert ob.stats().rows == 91 and ob.stats().dropped == 10


def test_retention_purges_delivered_and_drops_stale_undelivered(open_outbox: Open, fill: Fill,
                                                                  clock: VirtualClock) -> None:
    with open_outbox(limits=Limits(retention_s=7 * DAY)) as ob:
        old_sent = fill(ob, "entry", 3)
        ob.mark_sent(old_sent)
        fill(ob, "entry", 2)  # never delivered
        clock.advance(6 * DAY)
        recent = fill(ob, "entry", 4)
        clock.advance(1.5 * DAY)
        done = ob.housekeeping()
        assert done["purged"] == 3 and done["dropped"] == 2
        assert {r.seq for r in ob.tail(100)} == set(recent)
        assert ob.stats().dropped == 2 and ob.stats().rows == 4


def test_day_tally_rides_with_the_append_and_seconds_with_the_next_commit(open_outbox: Open) -> None:
    with open_outbox() as ob:
        seq = ob.append("entry", "a", b"{}", tally=Tally("2026-11-25", "PASS", (), "p1"))
        ob.note_seconds(seq, 4.5)
        assert ob.day_tally("2026-11-25") == [("PASS", (), 4.5, "p1")]  # from memory until written
        ob.append("alert", "b", b"{}", tally=Tally("2026-11-25", "STOP", ("fever", "code_red"), "p1"))
    with open_outbox() as ob:
        assert sorted(ob.day_tally("2026-11-25")) == [("PASS", (), 4.5, "p1"), ("STOP", ("fever", "code_red"), None,
                                                                                  "p1")]


def test_a_day_is_reported_once(open_outbox: Open) -> None:
    with open_outbox() as ob:
        assert ob.report_day("2026-11-24", "daily", "d1", b"{}")
        assert not ob.report_day("2026-11-24", "daily", "d2", b"{}")
        assert [r.event_id for r in ob.pending()] == ["d1"] and ob.reported_days() == ["2026-11-24"]


# ----------------------------------------------------------------------------------------- full disk
@contextlib.contextmanager
def tiny_disk(path: Path, kib: int) -> Iterator[bool]:
    """A `kib` KiB tmpfs at `path` when we may mount one; yields False when we may not."""
    path.mkdir()
    if os.geteuid() != 0:
        yield False
        return
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={kib}k", "tmpfs", str(path)], capture_output=True)
    if done.returncode != 0:
        yield False
        return
    try:
        yield True
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill_disk(path: Path) -> None:
    try:
        with open(path, "wb") as f:
            while True:
                f.write(b"\0" * 4096)
                f.flush()
    except OSError:
        pass


def test_a_full_disk_raises_keeps_what_was_stored_and_recovers(tmp_path: Path, fill: Fill) -> None:
    disk = tmp_path / "disk"
    with tiny_disk(disk, 4096) as real:
        if not real:
            pytest.skip("cannot mount a tmpfs here (the page-limit test below covers SQLITE_FULL)")
        with Outbox(disk / "o.sqlite") as ob:
            before = fill(ob, "entry", 200, size=500)
            fill_disk(disk / "logs")  # something else filled the partition
            stored: list[int] = []
            with pytest.raises(OutboxFull):
                for _ in range(100_000):
                    stored.extend(fill(ob, "entry", 1, size=500))
            assert ob.pending_count() == len(before) + len(stored)
            (disk / "logs").unlink()
            after = fill(ob, "entry", 3, size=500)  # space again: appends work again
        with Outbox(disk / "o.sqlite") as ob:  # nothing was damaged, nothing lost
            assert ob._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert [r.seq for r in ob.pending(10_000)] == before + stored + after


def test_a_full_file_purges_delivered_rows_to_make_room(open_outbox: Open, fill: Fill) -> None:
    with open_outbox() as ob:
        delivered = fill(ob, "entry", 200, size=500)
        waiting = fill(ob, "entry", 50, size=500)
        alerts = fill(ob, "alert", 5, priority=10, size=500)
        ob.mark_sent(delivered + alerts)
        pages = ob._db.execute("PRAGMA page_count").fetchone()[0]
        ob._db.execute(f"PRAGMA max_page_count = {pages}")  # SQLITE_FULL from now on, as on a full disk
        stored: list[int] = []
        with pytest.raises(OutboxFull):
            for _ in range(100_000):
                stored.extend(fill(ob, "entry", 1, size=500))
        assert len(stored) >= 100  # room was made by deleting the delivered entries, and only those
        assert [r.seq for r in ob.pending(10_000)] == waiting + stored
        stats = ob.stats()  # freed on a PUBACK alone, deleted before the retention: counted; alerts kept
        assert stats.sent == 5 and stats.dropped == 200 and {r.seq for r in ob.tail(10_000)} >= set(alerts)
        assert ob._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
