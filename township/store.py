"""The township's event store: one SQLite file, every event once.

Kiosks deliver at least once, so the same event can arrive twice (a kiosk re-sends what it had
in flight when its link dropped).  The key is (township, site, kiosk, event id) and an insert of a
known key changes nothing: that is the whole of deduplication, and it holds across listener
restarts.  The identity comes from the topic (which the broker's ACL confines to each kiosk's own
branch), so one kiosk can neither take over another's event ids nor inject events in its name: an
event whose body names another township, site or kiosk than its topic is rejected.
A message that is not a UTF-8 JSON object is counted as `malformed` and not stored.
The subject id is kept only as the township can read it: unsealed if the listener was given the
township's sealing key, else sealed exactly as it arrived.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS events (
        event_id    TEXT NOT NULL,      -- unique per kiosk, not across kiosks
        township    TEXT NOT NULL,
        site        TEXT NOT NULL,
        kiosk       TEXT NOT NULL,
        kind        TEXT NOT NULL,      -- entry, alert, health, daily, config/ack
        at          REAL,               -- the kiosk's time of the event (epoch s)
        day         TEXT,               -- daily summaries: the day they cover
        received_at REAL NOT NULL,
        payload     TEXT NOT NULL,      -- the JSON as received (subject id sealed)
        sid         TEXT,               -- the subject id, only if unsealed with the township's key
        PRIMARY KEY (township, site, kiosk, event_id)
    )""",
    "CREATE INDEX IF NOT EXISTS events_kind_day ON events (kind, day)",
    "CREATE INDEX IF NOT EXISTS events_site ON events (township, site, kiosk)",
    """CREATE TABLE IF NOT EXISTS kiosks (
        township TEXT NOT NULL, site TEXT NOT NULL, kiosk TEXT NOT NULL,
        status   TEXT, status_at REAL, first_seen REAL NOT NULL, last_seen REAL NOT NULL,
        PRIMARY KEY (township, site, kiosk)
    )""",
    "CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, n INTEGER NOT NULL)",
)
IDENTITY = ("township", "site", "kiosk")
# What the reports read: a file without these is not an event store (of this schema) to report on.
READ_COLUMNS = {"events": ("township", "site", "kiosk", "kind", "at", "day", "payload"),
                "kiosks": ("township", "site", "kiosk")}


@dataclass(frozen=True, slots=True)
class Incoming:
    """One kiosk → township message as the listener hands it to a store (identity from the topic)."""

    township: str
    site: str
    kiosk: str
    kind: str
    payload: bytes
    received_at: float
    event_id: str | None = None  # the MQTT 5 user property, if any
    sid: str | None = None  # the subject id, if the listener unsealed it


@dataclass(frozen=True, slots=True)
class Stored:
    """What `add` did with one message: `new` False means a duplicate (or a status update).

    `event_id` is empty when nothing was stored (status, malformed, mismatched); otherwise the
    township holds the event (new or not), which is what a receipt tells the kiosk.
    """

    new: bool
    event_id: str
    kind: str
    body: dict[str, Any] | None
    township: str = ""
    site: str = ""
    kiosk: str = ""


def _finite(value: Any) -> float | None:
    """A JSON number SQLite can hold as REAL, else None (a bool, a 400-digit integer, NaN)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def fallback_event_id(topic: str, payload: bytes) -> str:
    """For a message without an event id: the same bytes on the same topic are the same message."""
    return "sha256:" + hashlib.sha256(topic.encode() + b"\0" + payload).hexdigest()[:32]


class EventStore:
    """Used from one thread (the listener's main loop)."""

    transient_errors: tuple[type[BaseException], ...] = (sqlite3.OperationalError,)

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._con = sqlite3.connect(self.path, isolation_level=None)
        self._con.execute("PRAGMA journal_mode=WAL")
        self._con.execute("PRAGMA synchronous=FULL")  # a message is acked to the broker only after this commit
        self._con.execute("PRAGMA busy_timeout=5000")
        self._migrate()
        for statement in SCHEMA:
            self._con.execute(statement)

    @classmethod
    def read_only(cls, path: str | os.PathLike[str]) -> EventStore:
        """The store at `path` for reading only (`township report`): SQLite refuses any write, and nothing
        is changed on opening — no WAL switched on, no migration, no table added.  `ValueError` if the
        file is not an event store of this schema (its tables or columns are missing)."""
        store = cls.__new__(cls)
        store.path = os.fspath(path)
        uri = f"{Path(store.path).resolve().as_uri()}?mode=ro"
        store._con = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=5.0)
        try:
            store._con.execute("PRAGMA query_only = ON")
            missing = [f"{table}.{column}" for table, columns in READ_COLUMNS.items()
                       for column in sorted(set(columns) - {r[1] for r in store._con.execute(
                           f"PRAGMA table_info({table})")})]
        except BaseException:
            store._con.close()
            raise
        if missing:
            store._con.close()
            raise ValueError("an SQLite database, but not the township's event database (missing "
                             + ", ".join(missing[:4]) + ")")
        return store

    def _migrate(self) -> None:
        """A database of the first schema (event id alone the key): re-key it per kiosk, rows kept."""
        self._con.execute("BEGIN IMMEDIATE")
        try:
            columns = self._con.execute("PRAGMA table_info(events)").fetchall()
            if [c[1] for c in columns if c[5]] == ["event_id"]:
                self._con.execute("DROP INDEX IF EXISTS events_kind_day")
                self._con.execute("DROP INDEX IF EXISTS events_site")
                self._con.execute("ALTER TABLE events RENAME TO events_v1")
                for statement in SCHEMA:
                    self._con.execute(statement)
                names = ", ".join(c[1] for c in columns)
                self._con.execute(f"INSERT INTO events ({names}) SELECT {names} FROM events_v1")
                self._con.execute("DROP TABLE events_v1")
            self._con.execute("COMMIT")
        except BaseException:
            self._con.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> EventStore:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def add(self, township: str, site: str, kiosk: str, kind: str, payload: bytes, *, received_at: float,
            event_id: str | None = None, sid: str | None = None) -> Stored:
        """Store one kiosk → township message; a known event id is counted as a duplicate and skipped."""
        if kind == "status":
            self._seen(township, site, kiosk, received_at, status=payload.decode("utf-8", "replace")[:20])
            return Stored(False, "", kind, None)
        try:  # json.loads would also take UTF-16/32 bytes, which the payload column cannot hold as text
            text = payload.decode("utf-8")
            body = json.loads(text)
        except (UnicodeDecodeError, ValueError, RecursionError):
            body = None
        if not isinstance(body, dict):
            self._count("malformed")
            return Stored(False, "", kind, None)
        topic = {"township": township, "site": site, "kiosk": kiosk}
        if any(name in body and body[name] != topic[name] for name in IDENTITY):
            self._count("mismatched")  # a kiosk speaking for another: its topic is who it is
            return Stored(False, "", kind, None)
        event_id = str(body.get("event_id") or event_id or fallback_event_id(f"{township}/{site}/{kiosk}/{kind}",
                                                                             payload))
        at = _finite(body.get("at"))
        day = body.get("day") if kind == "daily" else None
        self._con.execute("BEGIN IMMEDIATE")
        try:
            cur = self._con.execute(
                "INSERT INTO events (event_id, township, site, kiosk, kind, at, day, received_at, payload, sid) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (township, site, kiosk, event_id) DO NOTHING",
                (event_id, township, site, kiosk, kind, at, day if isinstance(day, str) else None, received_at,
                 text, sid))
            new = cur.rowcount == 1
            self._seen(township, site, kiosk, received_at)
            if not new:
                self._count("duplicates")
            self._con.execute("COMMIT")
        except BaseException:
            self._con.execute("ROLLBACK")
            raise
        return Stored(new, event_id, kind, body, township, site, kiosk)

    def _seen(self, township: str, site: str, kiosk: str, at: float, *, status: str | None = None) -> None:
        self._con.execute(
            "INSERT INTO kiosks (township, site, kiosk, status, status_at, first_seen, last_seen) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (township, site, kiosk) DO UPDATE SET "
            "last_seen = excluded.last_seen, status = coalesce(excluded.status, status), "
            "status_at = coalesce(excluded.status_at, status_at)",
            (township, site, kiosk, status, at if status is not None else None, at, at))

    def count_rejected(self, name: str) -> None:
        """Count a message the listener could not handle at all (`name` says why)."""
        self._count(name)

    def _count(self, name: str) -> None:
        self._con.execute("INSERT INTO counters (name, n) VALUES (?, 1) ON CONFLICT (name) DO UPDATE SET n = n + 1",
                          (name,))

    # ----------------------------------------------------------------------------- reading
    def counter(self, name: str) -> int:
        row = self._con.execute("SELECT n FROM counters WHERE name = ?", (name,)).fetchone()
        return int(row[0]) if row else 0

    def count(self, kind: str | None = None) -> int:
        if kind is None:
            return int(self._con.execute("SELECT count(*) FROM events").fetchone()[0])
        return int(self._con.execute("SELECT count(*) FROM events WHERE kind = ?", (kind,)).fetchone()[0])

    def event_ids(self, kind: str | None = None) -> list[str]:
        sql = "SELECT event_id FROM events" + (" WHERE kind = ?" if kind else "") + " ORDER BY event_id"
        return [r[0] for r in self._con.execute(sql, (kind,) if kind else ())]

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        cur = self._con.cursor()
        cur.row_factory = sqlite3.Row
        return list(cur.execute(sql, params))
