"""The durable outbox: every event is committed to SQLite on the device before it is shown.

Why SQLite in WAL mode with `synchronous=FULL`: a committed row survives a power cut at any
instant (NORMAL can lose the last commits on power loss), appends cost one fsync of the WAL,
and another process (`kiosk outbox stats`) can read while the kiosk writes.

Rows leave in priority order (alerts overtake a backlog of ordinary entries), then in strict
sequence order.  A row is marked sent only when the broker has acknowledged it; sent rows are
purged.  Bounds by size and age, dead letters and retention arrive with the uplink work.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from kiosk.ports import Clock

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT    NOT NULL UNIQUE,
    stream   TEXT    NOT NULL,
    priority INTEGER NOT NULL DEFAULT 0,
    created  REAL    NOT NULL,
    payload  BLOB    NOT NULL,
    sent_at  REAL
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (priority DESC, seq) WHERE sent_at IS NULL;
"""


@dataclass(frozen=True, slots=True)
class OutboxRow:
    seq: int
    event_id: str
    stream: str
    priority: int
    created: float
    payload: bytes
    sent_at: float | None


@dataclass(frozen=True, slots=True)
class OutboxStats:
    pending: int
    sent: int
    oldest_pending_age_s: float | None
    bytes: int


class Outbox:
    def __init__(self, path: str | Path, *, clock: Clock | None = None) -> None:
        self.path = Path(path)
        self._clock = clock
        self._db = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise RuntimeError(f"{self.path}: outbox schema {version} is newer than this kiosk ({SCHEMA_VERSION})")
        self._db.executescript(_SCHEMA)
        self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def _now(self) -> float:
        return self._clock.wall() if self._clock is not None else time.time()

    def append(self, stream: str, event_id: str, payload: bytes, *, priority: int = 0) -> int:
        """Store one event durably; returns its sequence number.  Re-appending an id is a no-op."""
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            row = self._db.execute("SELECT seq FROM outbox WHERE event_id = ?", (event_id,)).fetchone()
            if row is not None:
                return int(row[0])
            cur = self._db.execute(
                "INSERT INTO outbox (event_id, stream, priority, created, payload) VALUES (?, ?, ?, ?, ?)",
                (event_id, stream, priority, self._now(), payload),
            )
            return int(cur.lastrowid or 0)

    def pending(self, limit: int = 100) -> list[OutboxRow]:
        """Unsent rows in the order they must leave: priority first, then sequence."""
        rows = self._db.execute(
            "SELECT seq, event_id, stream, priority, created, payload, sent_at FROM outbox "
            "WHERE sent_at IS NULL ORDER BY priority DESC, seq LIMIT ?", (limit,)
        ).fetchall()
        return [OutboxRow(*r) for r in rows]

    def pending_count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0])

    def mark_sent(self, seqs: list[int]) -> None:
        if not seqs:
            return
        with self._db:
            self._db.executemany("UPDATE outbox SET sent_at = ? WHERE seq = ? AND sent_at IS NULL",
                                 [(self._now(), s) for s in seqs])

    def purge_sent(self, older_than_s: float = 0.0) -> int:
        with self._db:
            cur = self._db.execute("DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at <= ?",
                                   (self._now() - older_than_s,))
        return cur.rowcount

    def tail(self, n: int = 10) -> list[OutboxRow]:
        """The last `n` rows, sent or not, oldest first."""
        rows = self._db.execute(
            "SELECT seq, event_id, stream, priority, created, payload, sent_at FROM outbox "
            "ORDER BY seq DESC LIMIT ?", (n,)
        ).fetchall()
        return [OutboxRow(*r) for r in reversed(rows)]

    def stats(self) -> OutboxStats:
        pending, sent, oldest, size = self._db.execute(
            "SELECT sum(sent_at IS NULL), sum(sent_at IS NOT NULL), "
            "min(CASE WHEN sent_at IS NULL THEN created END), coalesce(sum(length(payload)), 0) FROM outbox"
        ).fetchone()
        age = None if oldest is None else max(0.0, self._now() - oldest)
        return OutboxStats(int(pending or 0), int(sent or 0), age, int(size))

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
