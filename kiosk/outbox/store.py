"""The outbox: every entry event, stored durably on the kiosk before its decision is shown.

The checkpoint's promise is that an entry that was shown was recorded, and that the township
receives it eventually, however long the network is down.  So an event is committed here first,
and the uplink (`kiosk.uplink.mqtt`) publishes from here and marks a row sent only when the broker
has acknowledged it.  Nothing is ever removed before that.

Two parts of it have their own modules, each read on its own:

* `kiosk.outbox.schema`: the SQLite file itself, opened in WAL mode with `synchronous=FULL` (a
  commit is on the card when `append` returns), its tables and their migrations;
* `kiosk.outbox.bounds`: the bounds (`Limits`: rows, bytes, age), what gives way when one is
  reached (never an alert for an entry; never silently), and the retention, which waits for a
  synchronised clock.

This module is the queue: `append`, `pending`, `mark_sent`/`mark_rejected`, the day tally that
rides in the same transactions, and what happens when the disk is full.

Cheap on SD writes: an append is one transaction (one fsync) that writes the five or so pages
it touched to the WAL, and the daily-summary tally (`Visit`) rides in that same transaction.
With 1 KiB pages (`kiosk.outbox.schema`) that is about 13.5 KB per event including WAL
checkpoints (bench/outbox_enqueue.py).  A busy kiosk (1,000 visitors a day) writes some 14 MB
a day: negligible wear for an SD card.  Health reports are not stored at all.

A full disk: SQLite needs space even to delete (the WAL records the change first), so a disk
filled by something else could leave the outbox unable to free anything.  The outbox therefore
keeps a reserve file (`<file>.reserve`, 1 MiB) beside itself.  When an append meets
`SQLITE_FULL` it checkpoints the WAL, then gives up the reserve and deletes delivered rows, and
tries once more; if the event still cannot be stored, `append` raises `OutboxFull` and the kiosk
shows FAULT, never PASS, for it.  `housekeeping` re-creates the reserve once there is room.

Day tally for the daily summary (`visits`): one small row per decision (local day, decision,
reasons, seconds at the kiosk), written with the event itself so a crash can neither count an
entry that was not stored nor store one that is not counted.  The visitor's seconds are known
only after the append returns; they are kept in memory and written with the next transaction
(a power cut may lose that number, never the count).  `daily_reports` remembers which days were
reported, in the transaction that stores the report, so a day is reported exactly once.

An `Outbox` is used from one thread (the kiosk loop); paho's network thread never touches it.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from kiosk.clock import RealClock
from kiosk.outbox.bounds import ROOM_FRACTION, Bounds, Limits
from kiosk.outbox.schema import (
    BUSY_TIMEOUT_MS,
    MIGRATIONS,
    PAGE_SIZE,
    PENDING,
    ROW,
    SCHEMA_VERSION,
    OutboxError,
    open_database,
)
from kiosk.ports import Clock

__all__ = [
    "BUSY_TIMEOUT_MS",
    "PAGE_SIZE",
    "RESERVE_BYTES",
    "ROOM_FRACTION",
    "SCHEMA_VERSION",
    "Limits",
    "Outbox",
    "OutboxError",
    "OutboxFull",
    "OutboxRow",
    "OutboxStats",
    "Visit",
]

_MIGRATIONS = MIGRATIONS  # under its old name, for tests that build a file of an older schema
_FORBIDDEN_IN_STREAM = frozenset("+#\0")  # '/' allowed inside (`config/ack`), not at either end
RESERVE_BYTES = 1 << 20  # given up on a full disk, so that delivered rows can still be deleted


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One stored event.  `payload` is opaque here: the outbox never looks inside."""

    seq: int
    event_id: str
    stream: str
    priority: int
    created: float
    payload: bytes
    sent_at: float | None
    rejected: int | None = None  # the broker's refusal reason code: a dead letter, never retried


@dataclass(frozen=True, slots=True)
class OutboxStats:
    """What an operator asks first: how much is waiting, for how long, and how much is held."""

    pending: int
    sent: int
    oldest_pending_age_s: float | None  # None when nothing is pending
    bytes: int  # payload bytes held, in any state (what a size bound will limit)
    rejected: int = 0
    rows: int = 0  # rows held, in any state
    dropped: int = 0  # undelivered rows dropped by a bound or by age, ever
    dropped_by_stream: tuple[tuple[str, int], ...] = ()


class OutboxFull(OutboxError):
    """The event was NOT stored: the disk (or the file's page limit) is full, or the bounds are
    taken by undelivered events of a higher priority that it may not push out."""


@dataclass(frozen=True, slots=True)
class Visit:
    """One decision in the day tally: no person, only what the daily summary counts."""

    day: str  # local YYYY-MM-DD
    decision: str
    reasons: tuple[str, ...]
    policy_version: str = ""


class Outbox(Bounds):
    """A durable, ordered queue of events on SQLite.  See the module docstrings for why each setting."""

    def __init__(self, path: str | os.PathLike[str], *, clock: Clock | None = None,
                 limits: Limits | None = None, reserve_bytes: int = RESERVE_BYTES) -> None:
        self.path = Path(path)
        self.reserve_bytes = reserve_bytes
        self._clock: Clock = clock or RealClock()
        self.limits = limits or Limits()
        self._con: sqlite3.Connection | None = None
        self._rows = self._bytes = 0
        self.appended = 0  # appends through this object: a reader's cue that its read-ahead may be stale
        self._seconds: dict[int, float] = {}  # visit seq -> seconds at the kiosk, written with the next commit
        con = open_database(self.path)
        try:
            self._con = con
            self._count()
            self._keep_reserve()
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

    # ----------------------------------------------------------------------------- writing
    def append(self, stream: str, event_id: str, payload: bytes, *, priority: int = 0,
               visit: Visit | None = None, clock_synced: bool = True) -> int:
        """Store an event and return its sequence number once it is durably committed.

        Appending an `event_id` that is already stored changes nothing and returns the stored
        row's `seq`: a caller that retries after an error cannot create a duplicate.

        `stream` becomes the topic's last levels, so it may not contain `+`, `#` or NUL, nor
        start or end with `/`.  Give every event of a stream the same `priority`: order within a
        stream is `seq` order only among rows of equal priority.  `visit` tallies the decision
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
            return self._append(stream, event_id, data, int(priority), visit, clock_synced)
        except sqlite3.OperationalError as exc:
            if not _is_full(exc):
                raise
        # The disk is full.  First fold the WAL back into the file (the WAL holds every page
        # version since the last checkpoint; the file needs only the latest), then delete
        # delivered rows, the only thing we may delete to make room.
        for make_room in (self._checkpoint, self._purge_for_room):
            try:
                make_room()
                return self._append(stream, event_id, data, int(priority), visit, clock_synced)
            except sqlite3.OperationalError as exc:
                if not _is_full(exc):
                    raise
        raise OutboxFull(f"{self.path}: disk full, event not stored")

    def _checkpoint(self) -> None:
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def _purge_for_room(self) -> None:
        self.reserve_path.unlink(missing_ok=True)
        self._checkpoint()
        self.purge_sent()
        self._checkpoint()

    @property
    def reserve_path(self) -> Path:
        return self.path.with_name(self.path.name + ".reserve")

    def _keep_reserve(self) -> None:
        """Best effort: (re-)create the reserve file when it is missing and the disk has room for it twice."""
        if self.reserve_bytes <= 0 or self.reserve_path.exists():
            return
        try:
            if shutil.disk_usage(self.path.parent).free < 2 * self.reserve_bytes:
                return
            with open(self.reserve_path, "wb") as f:
                f.write(b"\0" * self.reserve_bytes)  # written, not sparse: the blocks are really taken
                f.flush()
                os.fsync(f.fileno())
        except OSError:
            self.reserve_path.unlink(missing_ok=True)

    def _append(self, stream: str, event_id: str, data: bytes, priority: int, visit: Visit | None,
                clock_synced: bool) -> int:
        unsynced = None if clock_synced else 1
        with self._write() as con:
            room = True
            if self._over(1, len(data)):
                known = con.execute("SELECT seq FROM outbox WHERE event_id = ?", (event_id,)).fetchone()
                if known is not None:  # a retry: there is nothing to make room for
                    return int(known[0])
                room = self._make_room(con, 1, len(data), priority)
                if not room:
                    self._count_dropped(con, [stream])  # committed: the loss is counted, then we raise
            if room:
                inserted = con.execute(
                    "INSERT INTO outbox (event_id, stream, priority, created, payload, unsynced) "
                    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING RETURNING seq",
                    (event_id, stream, priority, self._clock.wall(), data, unsynced),
                ).fetchall()
                if not inserted:
                    return int(con.execute("SELECT seq FROM outbox WHERE event_id = ?", (event_id,)).fetchone()[0])
                seq = int(inserted[0][0])
                if visit is not None:
                    con.execute("INSERT OR IGNORE INTO visits (seq, day, decision, reasons, policy, unsynced) "
                                "VALUES (?, ?, ?, ?, ?, ?)", (seq, visit.day, visit.decision,
                                                              ",".join(visit.reasons), visit.policy_version, unsynced))
        if not room:
            raise OutboxFull(f"{self.path}: the bounds are held by undelivered events more urgent than this "
                             f"{stream!r} event (priority {priority}); not stored, counted as dropped")
        self._rows += 1
        self._bytes += len(data)
        self.appended += 1
        return seq

    def note_seconds(self, seq: int, seconds: float) -> None:
        """The seconds a tallied visitor spent at the kiosk; written with the next transaction."""
        self._seconds[int(seq)] = float(seconds)

    def report_day(self, day: str, stream: str, event_id: str, payload: bytes, *, priority: int = 0) -> bool:
        """Store a day's summary unless that day was already reported; False if it was.

        The report and the record that it was made commit together: a reboot at any instant
        neither loses the report nor sends it twice.  Raises `OutboxFull` (and records nothing,
        so the day is tried again later, not counted as dropped) when only more urgent
        undelivered rows could make room for it.
        """
        with self._write() as con:
            done = con.execute("INSERT INTO daily_reports (day, event_id, made) VALUES (?, ?, ?) "
                               "ON CONFLICT (day) DO NOTHING RETURNING day",
                               (day, event_id, self._clock.wall())).fetchall()
            if not done:
                return False
            if self._over(1, len(payload)) and not self._make_room(con, 1, len(payload), int(priority)):
                raise OutboxFull(f"{self.path}: the bounds are held by more urgent undelivered events; "
                                 f"the summary of {day} is not stored yet")
            con.execute("INSERT INTO outbox (event_id, stream, priority, created, payload) VALUES (?, ?, ?, ?, ?)",
                        (event_id, stream, int(priority), self._clock.wall(), bytes(payload)))
        self._rows += 1
        self._bytes += len(payload)
        self.appended += 1
        return True

    def reported_days(self) -> list[str]:
        return [r[0] for r in self._db.execute("SELECT day FROM daily_reports ORDER BY day")]

    def day_tally(self, day: str) -> list[tuple[str, tuple[str, ...], float | None, str]]:
        """(decision, reasons, seconds, policy version) of every decision tallied on `day` (local)."""
        rows = self._db.execute("SELECT seq, decision, reasons, seconds, policy FROM visits "
                                "WHERE day = ? AND unsynced IS NULL", (day,)).fetchall()
        return [(d, tuple(r for r in reasons.split(",") if r), self._seconds.get(seq, seconds), policy)
                for seq, d, reasons, seconds, policy in rows]

    def meta_get(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def meta_set(self, key: str, value: str) -> None:
        with self._write() as con:
            con.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = "
                        "excluded.value", (key, value))

    def tallied_days(self) -> list[str]:
        return [r[0] for r in self._db.execute("SELECT DISTINCT day FROM visits ORDER BY day")]


    def mark_sent(self, seqs: Iterable[int]) -> int:
        """Record that the broker acknowledged these rows; returns how many changed.

        One transaction (one fsync) for the whole batch, which is what lets the uplink drain a
        backlog faster than the kiosk can fill it.
        """
        return self._update("UPDATE outbox SET sent_at = ? WHERE seq = ? AND sent_at IS NULL",
                            [(self._clock.wall(), int(s)) for s in seqs])

    def mark_rejected(self, seqs: Iterable[int], reason_code: int) -> int:
        """Set rows aside that the broker refused (PUBACK reason >= 0x80): retrying cannot help.

        They leave `pending`, are kept by `purge_sent`, and are counted in `stats().rejected`.
        """
        return self._update(f"UPDATE outbox SET rejected = ? WHERE seq = ? AND {PENDING}",
                            [(int(reason_code), int(s)) for s in seqs])

    def purge_sent(self, older_than_s: float = 0.0) -> int:
        """Delete acknowledged rows sent at least `older_than_s` ago; returns how many."""
        cutoff = self._clock.wall() - older_than_s
        with self._write() as con:
            n = con.execute("DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at <= ?", (cutoff,)).rowcount
        self._count()
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
        """How many events wait for the broker (the status strip's "buffered" number)."""
        return int(self._db.execute(f"SELECT count(*) FROM outbox WHERE {PENDING}").fetchone()[0])

    def tail(self, n: int = 20) -> list[OutboxRow]:
        """The last `n` rows in any state, oldest first (for the CLI and for tests)."""
        rows = self._db.execute(f"SELECT {ROW} FROM outbox ORDER BY seq DESC LIMIT ?", (int(n),)).fetchall()
        return [OutboxRow(*r) for r in reversed(rows)]

    def stats(self) -> OutboxStats:
        pending, sent, rejected, oldest, size = self._db.execute(
            f"SELECT count(*) FILTER (WHERE {PENDING}), count(sent_at), count(rejected), "
            f"min(created) FILTER (WHERE {PENDING}), coalesce(sum(length(payload)), 0) FROM outbox"
        ).fetchone()
        age = None if oldest is None else max(0.0, self._clock.wall() - oldest)
        dropped = self.dropped()
        return OutboxStats(pending=pending, sent=sent, oldest_pending_age_s=age, bytes=size, rejected=rejected,
                           rows=pending + sent + rejected, dropped=sum(dropped.values()),
                           dropped_by_stream=tuple(sorted(dropped.items())))

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
            if self._seconds:  # visitors' seconds noted since the last commit ride along (no extra fsync)
                con.executemany("UPDATE visits SET seconds = ? WHERE seq = ?",
                                [(s, q) for q, s in self._seconds.items()])
            con.execute("COMMIT")
        except BaseException:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise
        self._seconds.clear()

    def _update(self, sql: str, params: list[tuple[object, ...]]) -> int:
        if not params:
            return 0
        with self._write() as con:
            before = con.total_changes
            con.executemany(sql, params)
            return con.total_changes - before


def _is_full(exc: sqlite3.Error) -> bool:
    """SQLITE_FULL: the disk, or the file's `max_page_count`, has no room."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code == sqlite3.SQLITE_FULL or "full" in str(exc).lower()
