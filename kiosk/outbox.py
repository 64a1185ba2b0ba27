"""The outbox: every entry event, stored durably on the kiosk before its decision is shown.

The checkpoint's promise is that an entry that was shown was recorded, and that the township
receives it eventually, however long the network is down.  So an event is committed here first,
and the uplink (`kiosk.uplink`) publishes from here and marks a row sent only when the broker
has acknowledged it.  Nothing is ever removed before that.

SQLite (stdlib, one file on the data partition) gives us atomic, crash-safe commits:

* WAL mode, so the CLI (`kiosk outbox stats`) can read from another process while the kiosk
  writes, without either blocking the other;
* `synchronous=FULL`, because in WAL mode `NORMAL` does not fsync on commit: a power cut right
  after the visitor saw the decision could lose that row.  FULL costs one fsync per append;
* a busy timeout, so a concurrent writer (a maintenance command) makes us wait, not fail;
* `seq INTEGER PRIMARY KEY AUTOINCREMENT`, so sequence numbers never go backwards, even after
  every row has been purged (a plain rowid would reuse the largest deleted one);
* the schema version in `PRAGMA user_version`, so a newer file is refused rather than misread.

Bounded (`Limits`): by rows, by payload bytes and by age.  When an append would pass a bound,
room is made in the same transaction, in this order: delivered rows (oldest first), dead
letters, then undelivered rows of the lowest priority (ordinary entries before alerts), oldest
first, but only rows of a priority at most the new row's own: an entry never pushes out an
alert, an alert pushes out entries and, when nothing else is left, the oldest alerts.  If room
cannot be made that way, the new row is the one dropped: it is counted and `append` raises
`OutboxFull` (the kiosk then shows FAULT, never PASS, for an entry it could not store).
Undelivered rows dropped, by bound or by age, are counted per stream in the file (`dropped`), so
the loss is reported in `stats` and in the kiosk's health, never silent.  The running totals
live in memory (one scan at open, re-counted by `housekeeping`), so enforcing the bounds costs
an append nothing until a bound is reached; making room then removes a tenth of the bound at
once (from the tiers it may touch) so that it happens rarely.

Age (`retention_s`) and an unsynchronised clock.  The Pi has no RTC: until NTP answers, the wall
clock is the stale time fake-hwclock saved, maybe weeks behind.  So `housekeeping` applies the
retention only when told the clock is synchronised (`clock_synced`, from the feed), and a row
appended while it is not is flagged (`unsynced`): its `created` is on the stale timeline and the
age logic ignores it until `settle_clock` re-stamps it with the first synchronised time (from
then on its age counts; it is kept at most `retention_s` after that).  The day tally of such a
row waits for `settle_clock` too, and is counted on the day the clock was found right.  The
retention never drops an undelivered alert (priority `Limits.keep_priority` or more): see
`housekeeping`.

Cheap on SD writes: an append is one transaction (one fsync) that writes the five or so pages
it touched to the WAL, and the daily-summary tally (`Visit`) rides in that same transaction.
Pages are 1 KiB rather than SQLite's 4 KiB, which halves the bytes written per event (measured
with bench/outbox_enqueue.py: about 13.5 KB per event including WAL checkpoints, against 27 KB
with 4 KiB pages and 34 KB for a connection per event).  A busy kiosk (1,000 visitors a day)
writes some 14 MB a day: negligible wear for an SD card.  Health reports are not stored at all.

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
from kiosk.ports import Clock, KioskError

SCHEMA_VERSION = 4
BUSY_TIMEOUT_MS = 5000
_FORBIDDEN_IN_STREAM = frozenset("+#\0")  # '/' allowed inside (`config/ack`), not at either end
# Small pages: each commit writes every page it touched (about five) to the WAL, and a 4 KiB page
# per touch doubled the bytes written per event (bench/outbox_enqueue.py: 27 KB vs 13.5 KB).
PAGE_SIZE = 1024
RESERVE_BYTES = 1 << 20  # given up on a full disk, so that delivered rows can still be deleted
ROOM_FRACTION = 0.1  # making room frees this share of a bound, so it is rare

# Each entry takes a file from version i to i + 1; a fresh file runs them all.
_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (  # 1: the walking skeleton's queue
        """CREATE TABLE outbox (
        seq      INTEGER PRIMARY KEY AUTOINCREMENT,
        event_id TEXT    NOT NULL UNIQUE,
        stream   TEXT    NOT NULL,
        priority INTEGER NOT NULL DEFAULT 0,
        created  REAL    NOT NULL,          -- Clock.wall() when appended
        payload  BLOB    NOT NULL,
        sent_at  REAL                       -- Clock.wall() when the broker acknowledged it
    )""",
        "CREATE INDEX outbox_pending ON outbox (priority DESC, seq) WHERE sent_at IS NULL",
    ),
    (  # 2: dead letters, so a row the broker refuses is set aside instead of retried forever
        "ALTER TABLE outbox ADD COLUMN rejected INTEGER",  # the MQTT reason code (>= 0x80) it was refused with
        # The uplink asks "what next?" on every loop: keep that an index walk, however long the history.
        "DROP INDEX IF EXISTS outbox_pending",
        "CREATE INDEX outbox_pending ON outbox (priority DESC, seq) WHERE sent_at IS NULL AND rejected IS NULL",
        "CREATE INDEX outbox_sent ON outbox (sent_at) WHERE sent_at IS NOT NULL",
    ),
    (  # 3: bounds (what was dropped undelivered), the daily summary's tally and its reported days
        "CREATE TABLE dropped (stream TEXT PRIMARY KEY, count INTEGER NOT NULL) WITHOUT ROWID",
        # One row per decision, keyed by its outbox seq (appended at the end of the b-tree: one page).
        """CREATE TABLE visits (
        seq      INTEGER PRIMARY KEY,
        day      TEXT    NOT NULL,          -- local calendar day, YYYY-MM-DD
        decision TEXT    NOT NULL,
        reasons  TEXT    NOT NULL,          -- comma-separated
        policy   TEXT    NOT NULL,          -- the policy version that decided it
        seconds  REAL                       -- at the kiosk; NULL if lost in a power cut
    )""",
        "CREATE TABLE daily_reports (day TEXT PRIMARY KEY, event_id TEXT NOT NULL, made REAL NOT NULL) WITHOUT ROWID",
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
    ),
    (  # 4: rows stamped on a wall clock not yet synchronised (age logic ignores them until settled)
        "ALTER TABLE outbox ADD COLUMN unsynced INTEGER",  # 1: `created` is on a stale timeline
        "ALTER TABLE visits ADD COLUMN unsynced INTEGER",  # 1: `day` is on a stale timeline
        "CREATE INDEX outbox_unsynced ON outbox (seq) WHERE unsynced IS NOT NULL",
        "CREATE INDEX visits_unsynced ON visits (seq) WHERE unsynced IS NOT NULL",
    ),
)
_ROW = "seq, event_id, stream, priority, created, payload, sent_at, rejected"
_PENDING = "sent_at IS NULL AND rejected IS NULL"


class OutboxError(KioskError, sqlite3.DatabaseError):
    """The outbox file cannot be used as it is (e.g. written by a newer kiosk).

    A `sqlite3.DatabaseError` too, so a caller guarding against a broken database catches it.
    """


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
class Limits:
    """How much the outbox may hold (`storage.max_mb`, `max_rows`, `retention_days`)."""

    max_rows: int = 500_000
    max_bytes: int = 256 * 1024 * 1024
    retention_s: float = 7 * 86_400.0
    keep_priority: int = 10  # undelivered rows this urgent (alerts: kiosk.events.ALERT_PRIORITY) never age out


@dataclass(frozen=True, slots=True)
class Visit:
    """One decision in the day tally: no person, only what the daily summary counts."""

    day: str  # local YYYY-MM-DD
    decision: str
    reasons: tuple[str, ...]
    policy_version: str = ""


class Outbox:
    """A durable, ordered queue of events on SQLite.  See the module docstring for why each setting."""

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
        con = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        try:
            con.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            con.execute(f"PRAGMA page_size = {PAGE_SIZE}")  # takes effect only on a new, empty file
            mode = con.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise OutboxError(f"{self.path}: cannot use write-ahead logging (journal mode {mode})")
            con.execute("PRAGMA synchronous = FULL")
            self._con = con
            self._migrate()
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

    def dropped(self) -> dict[str, int]:
        """Undelivered rows dropped by a bound or by age, per stream, ever."""
        return dict(self._db.execute("SELECT stream, count FROM dropped ORDER BY stream").fetchall())

    def housekeeping(self, *, keep_days_of_tally: float | None = None, clock_synced: bool = True) -> dict[str, int]:
        """Apply the retention, forget old tallies, then re-count the totals.  Returns what it did.

        What ages out after `limits.retention_s`: delivered rows (by when they were delivered),
        dead letters (never retried, so keeping them longer serves nobody) and undelivered rows
        below `limits.keep_priority` — ordinary entries, daily summaries, acks; those dropped
        undelivered are counted.  An undelivered alert never ages out: it reports somebody
        stopped at the door (fever, a red or forged code), which the township must follow up,
        and it has not served its purpose until it is delivered; it stays bounded by `max_rows`
        and `max_bytes` and leaves, as the kiosk's privacy notice says, once delivered and aged.

        Nothing is aged while the wall clock is not synchronised (`clock_synced=False`): a clock
        that jumps forward weeks when NTP answers would make minutes-old rows look expired.
        Rows stamped on such a clock (`unsynced`) are ignored here until `settle_clock`.

        Cheap enough for every few minutes; the kiosk's feed calls it.
        """
        purged = forgotten = 0
        old: list[tuple[int, str]] = []
        if clock_synced:
            cutoff = self._clock.wall() - self.limits.retention_s
            keep_days = keep_days_of_tally or max(2.0, self.limits.retention_s / 86_400)
            tally_cutoff = self._clock.wall() - keep_days * 86_400
            with self._write() as con:
                purged = con.execute("DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at <= ?",
                                     (cutoff,)).rowcount
                old = con.execute("SELECT seq, stream FROM outbox WHERE sent_at IS NULL AND created <= ? "
                                  "AND unsynced IS NULL AND (rejected IS NOT NULL OR priority < ?)",
                                  (cutoff, self.limits.keep_priority)).fetchall()
                self._drop(con, old)
                # A day's tally is kept a while after its report was made (for the CLI), then forgotten.
                forgotten = con.execute("DELETE FROM visits WHERE day IN (SELECT day FROM daily_reports "
                                        "WHERE made <= ?)", (tally_cutoff,)).rowcount
        self._count()
        self._keep_reserve()
        return {"purged": purged, "dropped": len(old), "tallies_forgotten": forgotten, "aged": int(clock_synced)}

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
            n = con.execute("UPDATE outbox SET created = ?, unsynced = NULL WHERE unsynced IS NOT NULL",
                            (now,)).rowcount
            con.execute("UPDATE outbox SET sent_at = ? WHERE sent_at > ?", (now, now))  # an index range
            if today is not None:
                con.execute("UPDATE visits SET day = ?, unsynced = NULL WHERE unsynced IS NOT NULL", (today,))
        return n

    def _over(self, rows: int, size: int) -> bool:
        return self._rows + rows > self.limits.max_rows or self._bytes + size > self.limits.max_bytes

    def _make_room(self, con: sqlite3.Connection, rows: int, size: int, priority: int) -> bool:
        """Inside a write transaction: keep the bounds after adding `rows` rows of `size` bytes of
        `priority`.  False, having deleted nothing, if that would need an undelivered row of a
        higher priority.

        Victims, in order: delivered rows (oldest delivery first), dead letters, undelivered rows
        of priority <= `priority` (lowest priority first, oldest first).  A tenth of the bound is
        freed at once so that a kiosk at its bound does not re-count the table on every append.
        """
        max_rows, max_bytes = self.limits.max_rows, self.limits.max_bytes
        if self._rows + rows <= max_rows and self._bytes + size <= max_bytes:
            return True
        self._count(con)
        excess_rows = self._rows + rows - max_rows
        excess_bytes = self._bytes + size - max_bytes
        if excess_rows <= 0 and excess_bytes <= 0:
            return True
        want_rows = max(excess_rows, int(max_rows * ROOM_FRACTION)) if excess_rows > 0 else 0
        want_bytes = max(excess_bytes, int(max_bytes * ROOM_FRACTION)) if excess_bytes > 0 else 0
        freed_rows = freed_bytes = 0
        plan: list[tuple[list[tuple[int, str]], bool]] = []
        for where, order, params, counted in (
            ("sent_at IS NOT NULL", "sent_at, seq", (), False),
            ("rejected IS NOT NULL AND sent_at IS NULL", "seq", (), True),
            (f"{_PENDING} AND priority <= ?", "priority, seq", (priority,), True),
        ):
            if freed_rows >= want_rows and freed_bytes >= want_bytes:
                break
            victims: list[tuple[int, str]] = []
            for seq, stream, length in con.execute(
                    f"SELECT seq, stream, length(payload) FROM outbox WHERE {where} ORDER BY {order}", params):
                if freed_rows >= want_rows and freed_bytes >= want_bytes:
                    break
                victims.append((seq, stream))
                freed_rows += 1
                freed_bytes += length
            plan.append((victims, counted))
        if freed_rows < excess_rows or freed_bytes < excess_bytes:
            return False  # only more urgent undelivered rows are left: the new row is the one that goes
        for victims, counted in plan:
            if counted:
                self._drop(con, victims)
            else:
                con.executemany("DELETE FROM outbox WHERE seq = ?", [(seq,) for seq, _ in victims])
        self._count(con)
        return True

    def _drop(self, con: sqlite3.Connection, victims: list[tuple[int, str]]) -> None:
        """Delete undelivered rows and count them per stream (the loss must be reported)."""
        if not victims:
            return
        con.executemany("DELETE FROM outbox WHERE seq = ?", [(seq,) for seq, _ in victims])
        self._count_dropped(con, [stream for _, stream in victims])

    def _count_dropped(self, con: sqlite3.Connection, streams: list[str]) -> None:
        per_stream: dict[str, int] = {}
        for stream in streams:
            per_stream[stream] = per_stream.get(stream, 0) + 1
        con.executemany("INSERT INTO dropped (stream, count) VALUES (?, ?) "
                        "ON CONFLICT (stream) DO UPDATE SET count = count + excluded.count", per_stream.items())

    def _count(self, con: sqlite3.Connection | None = None) -> None:
        rows, size = (con or self._db).execute(
            "SELECT count(*), coalesce(sum(length(payload)), 0) FROM outbox").fetchone()
        self._rows, self._bytes = int(rows), int(size)

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
        return self._update(f"UPDATE outbox SET rejected = ? WHERE seq = ? AND {_PENDING}",
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
        where, params = _PENDING, []
        if after:
            cases = " ".join("WHEN ? THEN ?" for _ in after)
            where += f" AND seq > CASE priority {cases} ELSE 0 END"
            for priority, seq in after.items():
                params += [int(priority), int(seq)]
        rows = self._db.execute(
            f"SELECT {_ROW} FROM outbox WHERE {where} ORDER BY priority DESC, seq LIMIT ?", (*params, int(limit))
        ).fetchall()
        return [OutboxRow(*r) for r in rows]

    def pending_count(self) -> int:
        """How many events wait for the broker (the status strip's "buffered" number)."""
        return int(self._db.execute(f"SELECT count(*) FROM outbox WHERE {_PENDING}").fetchone()[0])

    def tail(self, n: int = 20) -> list[OutboxRow]:
        """The last `n` rows in any state, oldest first (for the CLI and for tests)."""
        rows = self._db.execute(f"SELECT {_ROW} FROM outbox ORDER BY seq DESC LIMIT ?", (int(n),)).fetchall()
        return [OutboxRow(*r) for r in reversed(rows)]

    def stats(self) -> OutboxStats:
        pending, sent, rejected, oldest, size = self._db.execute(
            f"SELECT count(*) FILTER (WHERE {_PENDING}), count(sent_at), count(rejected), "
            f"min(created) FILTER (WHERE {_PENDING}), coalesce(sum(length(payload)), 0) FROM outbox"
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

    def _migrate(self) -> None:
        """Bring the file to `SCHEMA_VERSION`; refuse one written by a newer kiosk.

        Runs under the write lock and re-reads the version, because the CLI may open the same
        file at the same moment; the migration and the version bump commit together.
        """
        if self._db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
            return
        with self._write() as con:
            version = con.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise OutboxError(f"{self.path}: outbox schema {version} is newer than this kiosk's "
                                  f"({SCHEMA_VERSION}); upgrade the kiosk")
            for statements in _MIGRATIONS[version:]:
                for statement in statements:
                    con.execute(statement)
            con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _is_full(exc: sqlite3.Error) -> bool:
    """SQLITE_FULL: the disk, or the file's `max_page_count`, has no room."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code == sqlite3.SQLITE_FULL or "full" in str(exc).lower()
