"""The outbox: every entry event, stored durably on the kiosk before its decision is shown.

The checkpoint's promise is that an entry that was shown was recorded, and that the township
receives it eventually, however long the network is down.  So an event is committed here first,
and the uplink (`kiosk.uplink`) publishes from here; a row leaves only once the township's receipt
names it (a PUBACK only says the broker has it: `mark_published`), or, with a township that sends
no receipts, once the broker has acknowledged it (`mark_sent`).  Nothing is removed before that.

This module is the queue: `append`, `pending`, `mark_published`/`mark_receipted`/`mark_sent`/
`mark_rejected`, and the one place where transactions begin and commit (its rows and stats are
`kiosk.outbox.rows`).  It holds its parts, each in its own module and each given the connection
explicitly (they hold none and open no transaction):

* `kiosk.outbox.schema`: the SQLite file itself, opened in WAL mode with `synchronous=FULL` (a
  commit is on the card when `append` returns), its tables and their migrations;
* `kiosk.outbox.bounds.Bounds`: the bounds (`Limits`: rows, bytes, age), what gives way when one
  is reached (never an alert for an entry; never silently), and the retention, which waits for a
  synchronised clock;
* `kiosk.outbox.delivery.Delivery`: the delivery states (to publish, awaiting the township's
  receipt, delivered, receipted) and when an unreceipted row is published again (`Resend`);
* `kiosk.outbox.tally.DayTally`: the daily summary's tally (`Tally`), written in the same
  transaction as the event it counts, the days already reported and the seconds in service;
* `kiosk.outbox.reserve.DiskReserve`: room kept aside so that a full disk can still be cleared.

Cheap on SD writes: an append is one transaction (one fsync) that writes the five or so pages
it touched to the WAL, the day tally included: about 13.5 KB per event with WAL checkpoints
(bench/outbox_enqueue.py), some 14 MB a day for 1,000 visitors, negligible wear for an SD card.
On a full disk `append` checkpoints the WAL, gives up the reserve, deletes delivered rows and
tries once more; if the event still cannot be stored it raises `OutboxFull` (the kiosk shows
FAULT, never PASS).

An `Outbox` is used from one thread (the kiosk loop); paho's network thread never touches it.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

from kiosk.clock import RealClock
from kiosk.outbox.bounds import Bounds, Limits
from kiosk.outbox.delivery import Delivery, Resend
from kiosk.outbox.inspect import NotAnOutbox, check_usable
from kiosk.outbox.reserve import RESERVE_BYTES, DiskReserve, is_full
from kiosk.outbox.rows import OutboxFull, OutboxRow, OutboxStats, age
from kiosk.outbox.schema import AWAITING, PENDING, REFUSED, ROW, UNDELIVERED, OutboxError, open_database
from kiosk.outbox.tally import DayTally, Tally
from kiosk.ports import Clock

__all__ = ["Outbox", "OutboxFull", "OutboxRow", "OutboxStats"]

_FORBIDDEN_IN_STREAM = frozenset("+#\0")  # '/' allowed inside (`config/ack`), not at either end
RECEIPTS_SEEN = "receipts_seen"  # meta: the wall clock when a township's receipt first freed a row here


class Outbox:
    """A durable, ordered queue of events on SQLite.  See the module docstrings for why each setting."""

    def __init__(self, path: str | os.PathLike[str], *, clock: Clock | None = None,
                 limits: Limits | None = None, reserve_bytes: int = RESERVE_BYTES,
                 resend: Resend | None = None) -> None:
        self.path = Path(path)
        self._clock: Clock = clock or RealClock()
        self._bounds = Bounds(limits or Limits())
        self._delivery = Delivery(resend)
        self._tally = DayTally()
        self._reserve = DiskReserve(self.path.with_name(self.path.name + ".reserve"), reserve_bytes)
        self._con: sqlite3.Connection | None = None
        self.appended = 0  # appends through this object: a reader's cue that its read-ahead may be stale
        try:
            check_usable(self.path)
        except NotAnOutbox as exc:
            raise OutboxError(f"{self.path}: {exc.text()}") from None
        try:
            con = open_database(self.path)
        except OutboxError:
            raise
        except sqlite3.DatabaseError as exc:  # damaged: SQLite's words, with where and what to do
            raise OutboxError(f"{self.path}: 发件箱文件无法使用（{exc}）/ the outbox file cannot be used ({exc}): "
                              "move it aside (the kiosk starts a new one) and keep it for the township") from None
        try:
            self._con = con
            self._bounds.count(con)
            self._reserve.keep()
        except BaseException:
            self._con = None
            con.close()
            raise

    # ----------------------------------------------------------------------------- lifecycle
    def close(self) -> None:
        """Close the file; safe to call twice.  Everything appended is already on disk."""
        if self._con is not None:
            self._con.close()
            self._con = None

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        return self._con is None

    @property
    def limits(self) -> Limits:
        """The bounds it keeps; may be replaced on an open outbox (they apply from the next write)."""
        return self._bounds.limits

    @limits.setter
    def limits(self, limits: Limits) -> None:
        self._bounds.limits = limits

    # ----------------------------------------------------------------------------- writing
    def append(self, stream: str, event_id: str, payload: bytes, *, priority: int = 0,
               tally: Tally | None = None, clock_synced: bool = True) -> int:
        """Store an event and return its sequence number once it is durably committed.

        Appending an `event_id` that is already stored changes nothing and returns the stored
        row's `seq`: a caller that retries after an error cannot create a duplicate.

        `stream` becomes the topic's last levels, so it may not contain `+`, `#` or NUL, nor
        start or end with `/`.  Give every event of a stream the same `priority`: order within a
        stream is `seq` order only among rows of equal priority.  `tally` counts the decision
        for the daily summary in the same transaction.  `clock_synced=False` flags the row (and
        its tally) as stamped on an unsynchronised wall clock (see `settle_clock`).

        Raises `OutboxFull` when the event is not stored: the disk is full, or a bound is reached
        and only undelivered rows of a higher priority could make room (the event is then
        counted as dropped for its stream: an alert is never pushed out by an entry).
        """
        if not stream or not _FORBIDDEN_IN_STREAM.isdisjoint(stream) or stream[0] == "/" or stream[-1] == "/":
            raise ValueError(f"stream {stream!r} must be a non-empty MQTT topic suffix")
        if not event_id:
            raise ValueError("event_id must not be empty")
        data = bytes(payload)
        try:
            return self._append(stream, event_id, data, int(priority), tally, clock_synced)
        except sqlite3.OperationalError as exc:
            if not is_full(exc):
                raise
        # The disk is full.  First fold the WAL back into the file (the WAL holds every page
        # version since the last checkpoint; the file needs only the latest), then delete
        # delivered rows, the only thing we may delete to make room.
        for make_room in (self._checkpoint, lambda: self._purge_for_room(int(priority))):
            try:
                make_room()
                return self._append(stream, event_id, data, int(priority), tally, clock_synced)
            except sqlite3.OperationalError as exc:
                if not is_full(exc):
                    raise
        raise OutboxFull(f"{self.path}: disk full, event not stored")

    def _checkpoint(self) -> None:
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def _purge_for_room(self, priority: int) -> None:
        self._reserve.release()
        self._checkpoint()
        self.purge_sent(priority=priority)
        self._checkpoint()

    def _append(self, stream: str, event_id: str, data: bytes, priority: int, tally: Tally | None,
                clock_synced: bool) -> int:
        unsynced = None if clock_synced else 1
        bounds = self._bounds
        with self._write() as con:
            room = True
            if bounds.over(1, len(data)):
                known = con.execute("SELECT seq FROM outbox WHERE event_id = ?", (event_id,)).fetchone()
                if known is not None:  # a retry: there is nothing to make room for
                    return int(known[0])
                room = bounds.make_room(con, 1, len(data), priority, self._retained_before())
                if not room:
                    bounds.count_dropped(con, [stream])  # committed: the loss is counted, then we raise
            if room:
                inserted = con.execute(
                    "INSERT INTO outbox (event_id, stream, priority, created, payload, unsynced) "
                    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING RETURNING seq",
                    (event_id, stream, priority, self._clock.wall(), data, unsynced),
                ).fetchall()
                if not inserted:
                    return int(con.execute("SELECT seq FROM outbox WHERE event_id = ?", (event_id,)).fetchone()[0])
                seq = int(inserted[0][0])
                if tally is not None:
                    self._tally.add(con, seq, tally, unsynced)
        if not room:
            raise OutboxFull(f"{self.path}: the bounds are held by undelivered events more urgent than this "
                             f"{stream!r} event (priority {priority}); not stored, counted as dropped")
        bounds.added(len(data))
        self.appended += 1
        return seq

    def note_seconds(self, seq: int, seconds: float) -> None:
        """The seconds a tallied visitor spent at the kiosk; written with the next transaction."""
        self._tally.note_seconds(seq, seconds)

    def report_day(self, day: str, stream: str, event_id: str, payload: bytes, *, priority: int = 0) -> bool:
        """Store a day's summary unless that day was already reported; False if it was.

        The report and the record that it was made commit together: a reboot at any instant
        neither loses the report nor sends it twice.  Raises `OutboxFull` (and records nothing,
        so the day is tried again later, not counted as dropped) when only more urgent
        undelivered rows could make room for it.
        """
        with self._write() as con:
            if not self._tally.mark_reported(con, day, event_id, self._clock.wall()):
                return False
            bounds = self._bounds
            if bounds.over(1, len(payload)) and not bounds.make_room(con, 1, len(payload), int(priority),
                                                                     self._retained_before()):
                raise OutboxFull(f"{self.path}: the bounds are held by more urgent undelivered events; "
                                 f"the summary of {day} is not stored yet")
            con.execute("INSERT INTO outbox (event_id, stream, priority, created, payload) VALUES (?, ?, ?, ?, ?)",
                        (event_id, stream, int(priority), self._clock.wall(), bytes(payload)))
        self._bounds.added(len(payload))
        self.appended += 1
        return True

    def meta_set(self, key: str, value: str) -> None:
        with self._write() as con:
            con.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = "
                        "excluded.value", (key, value))

    def mark_sent(self, seqs: Iterable[int]) -> int:
        """The broker acknowledged these rows: free them (a township that sends no receipts; otherwise
        `mark_published`); how many changed.  One transaction (one fsync) for the whole batch."""
        return self._update("UPDATE outbox SET sent_at = ?1, published_at = coalesce(published_at, ?1), "
                            "unheard = NULL WHERE seq = ?2 AND sent_at IS NULL AND rejected IS NULL",
                            [(self._clock.wall(), int(s)) for s in seqs])

    def mark_published(self, seqs: Iterable[int], *, at: float, receipted: Iterable[str] = (),
                       unheard: Iterable[int] = (), refused: Iterable[str] = ()) -> tuple[int, int]:
        """The broker acknowledged rows `seqs` at `at` (the uplink's wall clock): they await their receipt,
        and go again if none comes (`Resend`); the township's receipts named `receipted` (event ids): they
        are deleted.  `unheard`: rows whose PUBACK said nobody subscribed (0x10), awaiting too, never freed
        on a PUBACK; `refused`: event ids the township refused for good (dead letters, `stats().refused`).
        One transaction, one fsync, for all; returns (published, receipted) rows changed."""
        seqs, ids, unheard, refused = list(seqs), list(receipted), list(unheard), list(refused)
        if not seqs and not ids and not unheard and not refused:
            return 0, 0
        wall = self._clock.wall()
        with self._write() as con:  # receipts first: a row receipted before its PUBACK is recorded is not updated
            freed = self._delivery.receipted(con, ids) if ids else 0
            if refused:
                self._delivery.refused(con, refused)
            published = self._delivery.published(con, seqs, wall, at) if seqs else 0
            if unheard:
                self._delivery.published(con, unheard, wall, at, heard=False)
        return published, freed

    def mark_receipted(self, event_ids: Iterable[str]) -> int:
        """The township holds these events: delete their rows; how many went."""
        return self.mark_published((), at=0.0, receipted=event_ids)[1]

    def requeue_due(self, now: float, *, limit: int | None = None) -> int:
        """Rows awaiting a receipt past their re-send time (`now`: the uplink's wall clock) become `pending`
        again (at most `limit`, alerts first, then the oldest); writes (one fsync) only when some are due."""
        if not self._delivery.due(self._db, now):
            return 0
        with self._write() as con:
            return self._delivery.requeue_due(con, now, limit)

    def requeue_awaiting(self, *, limit: int | None = None) -> int:
        """Every row awaiting a receipt (at most `limit`, alerts first) is published again (a broker that lost
        our session); how many."""
        with self._write() as con:
            return self._delivery.requeue_awaiting(con, limit)

    @property
    def resend(self) -> Resend:
        """When a row with no receipt is published again (its `max_s` is the longest wait)."""
        return self._delivery.resend

    def receipts_seen(self) -> bool:
        """Has this outbox ever been freed by a township's receipt?  (Its kiosk's township sends them.)"""
        return self.meta_get(RECEIPTS_SEEN) is not None

    def note_receipts_seen(self) -> None:
        """Remember, in the file, that the township sends receipts: a kiosk that has had one never again
        concludes, after a restart and a listener outage, that it sends none (`kiosk.uplink.receipts`)."""
        self.meta_set(RECEIPTS_SEEN, repr(self._clock.wall()))

    def free_awaiting(self) -> int:
        """No receipts come: rows awaiting one are delivered as of their PUBACK; how many."""
        with self._write() as con:
            return self._delivery.free_awaiting(con, self._clock.wall())

    def requeue_freed(self) -> int:
        """Receipts come again: rows freed on a PUBACK alone are published again; how many."""
        with self._write() as con:
            return self._delivery.requeue_freed(con)

    def mark_rejected(self, seqs: Iterable[int], reason_code: int) -> int:
        """Set rows aside that the broker refused (PUBACK reason >= 0x80): retrying cannot help.

        They leave `pending`, are kept by `purge_sent`, and are counted in `stats().rejected`.
        """
        return self._update(f"UPDATE outbox SET rejected = ? WHERE seq = ? AND {UNDELIVERED}",
                            [(int(reason_code), int(s)) for s in seqs])

    def purge_sent(self, older_than_s: float = 0.0, *, priority: int | None = None) -> int:
        """Delete rows freed on a PUBACK (no receipt) sent at least `older_than_s` ago; returns how many.

        `priority`: only rows of at most that priority (the disk is full and an event of that priority
        needs room: an entry never pushes out an alert).  Rows deleted before the retention are counted
        as dropped: without a receipt nobody knows that the township has them.
        """
        wall = self._clock.wall()
        with self._write() as con:
            n = self._bounds.purge_freed(con, wall - older_than_s, wall - self.limits.retention_s, priority)
        self._bounds.count(self._db)
        return n

    # ----------------------------------------------------------------------------- keeping it bounded
    def housekeeping(self, *, keep_days_of_tally: float | None = None, clock_synced: bool = True) -> dict[str, int]:
        """Apply the retention, forget old tallies, then re-count the totals.  Returns what it did.

        What ages out after `limits.retention_s` is `Bounds.age_out`'s to say (never an
        undelivered alert); the tally of a reported day is kept `keep_days_of_tally` (default:
        the retention, at least two days) after its report was made.  Nothing is aged while the
        wall clock is not synchronised (`clock_synced=False`): a clock that jumps forward weeks
        when NTP answers would make minutes-old rows look expired.  Rows stamped on such a clock
        (`unsynced`) are ignored here until `settle_clock`.

        Cheap enough for every few minutes; the kiosk's feed calls it.
        """
        purged = dropped = forgotten = 0
        if clock_synced:
            cutoff = self._clock.wall() - self.limits.retention_s
            keep_days = keep_days_of_tally or max(2.0, self.limits.retention_s / 86_400)
            tally_cutoff = self._clock.wall() - keep_days * 86_400
            with self._write() as con:
                purged, dropped = self._bounds.age_out(con, cutoff)
                forgotten = self._tally.forget(con, tally_cutoff)
        self._bounds.count(self._db)
        self._reserve.keep()
        return {"purged": purged, "dropped": dropped, "tallies_forgotten": forgotten, "aged": int(clock_synced)}

    def settle_clock(self, today: str | None = None) -> int:
        """The wall clock is synchronised now: re-stamp what was stamped while it was not.

        A row flagged `unsynced` gets `created` = now: its true age is unknown (the stale clock
        ran behind, and the kiosk may have been off), so its age counts from the first moment
        the clock is right, which keeps it at most `retention_s` longer than that.  Its day
        tally moves to `today` (the local day now; not yet reported, so counted exactly once);
        without `today` the tallies stay flagged, and out of the summaries, until a later call.
        A delivery stamped in the future (a clock that was ahead) is brought back to now.  Returns
        how many rows were re-stamped.
        """
        now = self._clock.wall()
        with self._write() as con:
            n = self._bounds.settle(con, now)
            if today is not None:
                self._tally.settle(con, today)
        return n

    # ----------------------------------------------------------------------------- reading
    def pending(self, limit: int = 100, *, after: dict[int, int] | None = None) -> list[OutboxRow]:
        """The next rows to publish: higher priority first (alerts overtake a backlog), then `seq`.

        `after` maps a priority to the last `seq` of that priority already handed over: those
        rows and earlier ones of the same priority are skipped (from the index, without reading
        them), which keeps a draining uplink's query as cheap as its window.
        """
        where, params = PENDING, []
        if after:
            cases = " ".join("WHEN ? THEN ?" for _ in after)
            where += f" AND seq > CASE priority {cases} ELSE 0 END"
            for priority, seq in after.items():
                params += [int(priority), int(seq)]
        rows = self._db.execute(
            f"SELECT {ROW} FROM outbox WHERE {where} ORDER BY priority DESC, seq LIMIT ?", (*params, int(limit))
        ).fetchall()
        return [OutboxRow(*r) for r in rows]

    def pending_count(self) -> int:
        """How many events wait for the broker."""
        return int(self._db.execute(f"SELECT count(*) FROM outbox WHERE {PENDING}").fetchone()[0])

    def awaiting_count(self, *, at_most: int | None = None) -> int:
        """How many events the broker has that the township has not receipted yet (counting up to `at_most`)."""
        return self._delivery.awaiting(self._db, at_most)

    def tail(self, n: int = 20) -> list[OutboxRow]:
        """The last `n` rows in any state, oldest first (for the CLI and for tests)."""
        rows = self._db.execute(f"SELECT {ROW} FROM outbox ORDER BY seq DESC LIMIT ?", (int(n),)).fetchall()
        return [OutboxRow(*r) for r in reversed(rows)]

    def stats(self) -> OutboxStats:
        pending, published, sent, rejected, oldest, oldest_published, size, refused = self._db.execute(
            f"SELECT count(*) FILTER (WHERE {PENDING}), count(*) FILTER (WHERE {AWAITING}), count(sent_at), "
            f"count(rejected), min(created) FILTER (WHERE {PENDING}), min(created) FILTER (WHERE {AWAITING}), "
            f"coalesce(sum(length(payload)), 0), count(*) FILTER (WHERE rejected = {REFUSED}) FROM outbox"
        ).fetchone()
        wall = self._clock.wall()
        dropped = self.dropped()
        return OutboxStats(pending=pending, sent=sent, oldest_pending_age_s=age(wall, oldest), bytes=size,
                           rejected=rejected - refused, refused=refused, rows=pending + published + sent + rejected,
                           dropped=sum(dropped.values()), dropped_by_stream=tuple(sorted(dropped.items())),
                           published=published, receipted=self._delivery.count_receipted(self._db),
                           oldest_unreceipted_age_s=age(wall, oldest_published))

    def dropped(self) -> dict[str, int]:
        """Undelivered rows dropped by a bound or by age, per stream, ever."""
        return self._bounds.dropped(self._db)

    def day_tally(self, day: str) -> list[tuple[str, tuple[str, ...], float | None, str]]:
        """(decision, reasons, seconds, policy version) of every decision tallied on `day` (local)."""
        return self._tally.day(self._db, day)

    def add_service(self, seconds: dict[str, float]) -> None:
        """Add in-service seconds per local day (the daily summary's `in_service_s`), noting the time."""
        with self._write() as con:
            self._tally.add_service(con, seconds, self._clock.wall())

    def service_seconds(self, day: str) -> float:
        return self._tally.service(self._db, day)

    def last_wall(self) -> float | None:
        """The latest wall time this outbox's kiosk left a trace at (None: a new file)."""
        return self._tally.last_wall(self._db)

    def tallied_days(self) -> list[str]:
        return self._tally.days(self._db)

    def reported_days(self) -> list[str]:
        return self._tally.reported_days(self._db)

    def meta_get(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    # ----------------------------------------------------------------------------- internals
    @property
    def _db(self) -> sqlite3.Connection:
        if self._con is None:
            raise OutboxError(f"{self.path}: outbox is closed")
        return self._con

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taking the write lock up front (no upgrade deadlock with readers)."""
        con = self._db
        con.execute("BEGIN IMMEDIATE")
        try:
            yield con
            self._tally.write_seconds(con)  # visitors' seconds noted since the last commit ride along
            con.execute("COMMIT")
        except BaseException:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise
        self._tally.seconds_written()

    def _retained_before(self) -> float:
        """Rows delivered at or before this are past the retention (their deletion is no loss)."""
        return self._clock.wall() - self.limits.retention_s

    def _update(self, sql: str, params: list[tuple[object, ...]]) -> int:
        if not params:
            return 0
        with self._write() as con:
            before = con.total_changes
            con.executemany(sql, params)
            return con.total_changes - before
