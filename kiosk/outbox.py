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

An `Outbox` is used from one thread (the kiosk loop); paho's network thread never touches it.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from kiosk.clock import RealClock
from kiosk.ports import Clock, KioskError

SCHEMA_VERSION = 2
BUSY_TIMEOUT_MS = 5000
_FORBIDDEN_IN_STREAM = frozenset("/+#\0")

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


class Outbox:
    """A durable, ordered queue of events on SQLite.  See the module docstring for why each setting."""

    def __init__(self, path: str | os.PathLike[str], *, clock: Clock | None = None) -> None:
        self.path = Path(path)
        self._clock: Clock = clock or RealClock()
        self._con: sqlite3.Connection | None = None
        con = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        try:
            con.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            mode = con.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise OutboxError(f"{self.path}: cannot use write-ahead logging (journal mode {mode})")
            con.execute("PRAGMA synchronous = FULL")
            self._con = con
            self._migrate()
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
    def append(self, stream: str, event_id: str, payload: bytes, *, priority: int = 0) -> int:
        """Store an event and return its sequence number once it is durably committed.

        Appending an `event_id` that is already stored changes nothing and returns the stored
        row's `seq`: a caller that retries after an error cannot create a duplicate.

        `stream` becomes one MQTT topic level, so it may not contain `/`, `+`, `#` or NUL.
        Give every event of a stream the same `priority`: order within a stream is `seq` order
        only among rows of equal priority.
        """
        if not stream or not _FORBIDDEN_IN_STREAM.isdisjoint(stream):
            raise ValueError(f"stream {stream!r} must be one non-empty MQTT topic level")
        if not event_id:
            raise ValueError("event_id must not be empty")
        with self._write() as con:
            inserted = con.execute(
                "INSERT INTO outbox (event_id, stream, priority, created, payload) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (event_id) DO NOTHING RETURNING seq",
                (event_id, stream, int(priority), self._clock.wall(), bytes(payload)),
            ).fetchall()
            if inserted:
                return int(inserted[0][0])
            return int(con.execute("SELECT seq FROM outbox WHERE event_id = ?", (event_id,)).fetchone()[0])

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
            return con.execute("DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at <= ?",
                               (cutoff,)).rowcount

    # ----------------------------------------------------------------------------- reading
    def pending(self, limit: int = 100) -> list[OutboxRow]:
        """The next rows to publish: higher priority first (alerts overtake a backlog), then `seq`."""
        rows = self._db.execute(
            f"SELECT {_ROW} FROM outbox WHERE {_PENDING} ORDER BY priority DESC, seq LIMIT ?", (int(limit),)
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
        return OutboxStats(pending=pending, sent=sent, oldest_pending_age_s=age, bytes=size, rejected=rejected)

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
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")

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
