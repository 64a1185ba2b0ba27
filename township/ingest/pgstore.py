"""The township's event store in PostgreSQL: what `township.store.EventStore` does, for a county.

Same guarantees as the SQLite store, so the listener needs no change of mind: (township, site,
kiosk, event id) identifies an event and a known one is a duplicate; the topic says who speaks
(a body naming another kiosk is `mismatched`); a body that is not a UTF-8 JSON object, or whose
event id is not an id (`EVENT_ID`), is `malformed`.  Different, for a county's volume and the console:

* a whole batch is one transaction (`add_many`): one commit for up to 500 messages, so the
  listener acks them all after it, and a kill -9 before it loses nothing (nothing was acked);
* every new alert also opens an `console_alert` row, and the commit carries one NOTIFY on
  `township_feed` saying what changed, which the console's live pages listen to;
* several listeners (a `$share` group) may write one database at once: inserts are
  `ON CONFLICT DO NOTHING`, rows go in in primary-key order (no deadlock between members), and a
  batch that still meets a deadlock or serialization failure is retried, not given up;
* an event is filed under the day of its own `at` (believed if near its UUIDv7's time, which every
  copy shares), else of its UUIDv7, else of its first arrival (remembered in `feed_seen`): a re-send
  is always filed under the same day, so it is a duplicate;
* a text holding NUL (`\u0000`, which jsonb cannot hold) is stored with U+FFFD in its place, not
  refused (a kiosk would otherwise send it again forever);
* the database's state (unreachable, read-only after a failover, a permission or a table
  missing) is `StoreUnavailable`, transient for the listener: nothing is acked, the broker keeps
  the messages.  Only an error in what a message holds is that message's fault.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import random
import re
import time
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from township.ingest import partitions
from township.ingest.schema import NOTIFY_CHANNEL
from township.ingest.statements import (
    COUNT,
    INSERT_ACK,
    INSERT_ALERTS,
    INSERT_DAILY,
    INSERT_ENTRIES,
    INSERT_HEALTH,
    SEEN_INSERT,
    SEEN_SELECT,
    UPSERT_KIOSKS,
)
from township.store import IDENTITY, Incoming, Stored, _finite, fallback_event_id

log = logging.getLogger(__name__)

DEFAULT_ZONE = "Asia/Shanghai"
PLAUSIBLE_S = 400 * 86_400  # an event's own time further than this from its arrival is not believed
EVENT_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,80}$")  # UUIDv7, the fallback `sha256:…`, a test's `a1`
_UUID7 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
RETRIES = 5
_RETRY = (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure)
_SERVER_BUSY = ("starting up", "shutting down", "in recovery", "too many clients", "too many connections")


class StoreUnavailable(psycopg.OperationalError):
    """The database, not a message: read-only, a permission or a table missing, retries used up."""


class DatabaseUnreachable(Exception):
    """Nobody answered (no socket, refused, a server starting up): worth waiting for, unlike a refusal."""


def _iso_day(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**62 else None


def _text(value: Any, limit: int = 200) -> str | None:
    return value[:limit] if isinstance(value, str) else None


def _uuid7_time(event_id: str) -> float | None:
    return int(event_id[:8] + event_id[9:13], 16) / 1000 if _UUID7.match(event_id) else None


def _believed(at: float | None, arrived: float) -> float:
    """`at` if it is within `PLAUSIBLE_S` of the arrival, else the arrival."""
    return at if at is not None and abs(at - arrived) < PLAUSIBLE_S else arrived


def _without_nul(value: Any) -> Any:
    """`value` (parsed JSON) with every NUL in its strings and keys replaced by U+FFFD (jsonb refuses NUL)."""
    if isinstance(value, str):
        return value.replace("\0", "\ufffd")
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    return value


def _message_fault(exc: psycopg.Error) -> bool:
    """An error in what the messages hold (bad data, a constraint): not the database's state."""
    state = exc.sqlstate or ""
    return state[:2] in ("22", "23") and not _no_partition(exc)


def _no_partition(exc: psycopg.Error) -> bool:
    return isinstance(exc, psycopg.errors.CheckViolation) and "no partition" in str(exc)


def connect(dsn: str) -> psycopg.Connection[Any]:
    """Open the store's connection: `DatabaseUnreachable` if nobody answers (wait for it), the error itself
    if the server refused us (no such database, role, password) or the URL is wrong (a person must look)."""
    try:
        return psycopg.connect(dsn, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as exc:
        text = str(exc)
        if "FATAL" in text and not any(word in text for word in _SERVER_BUSY):
            raise
        raise DatabaseUnreachable(" ".join(text.split())[:300]) from None


class PgEventStore:
    """Used from one thread (the listener's main loop); one connection, autocommit between batches."""

    transient_errors: tuple[type[BaseException], ...] = (psycopg.OperationalError,)

    def __init__(self, dsn: str, *, zone: str | None = None,
                 on_alerts: Callable[[list[dict[str, Any]]], None] | None = None) -> None:
        self.dsn = dsn
        self.zone = ZoneInfo(zone or os.environ.get("TOWNSHIP_TIME_ZONE") or DEFAULT_ZONE)
        self.on_alerts = on_alerts
        self.retried = 0
        self._con = connect(dsn)
        found = self._con.execute("SELECT to_regclass('feed_entry'), to_regclass('console_alert'), "
                                  "to_regclass('feed_seen')").fetchone()
        if found is None or None in found:
            self._con.close()
            raise RuntimeError("the database has no feed tables yet (or older ones): run `township migrate` first")
        self._days: set[dt.date] = set()
        try:  # days ahead, so that ingest itself almost never has to make a partition
            partitions.ensure_ahead(self._con, dt.datetime.now(self.zone).date(), self._days)
        except psycopg.Error as exc:  # a lock held, a read-only standby: the first batch will tell
            log.warning("ingest: could not make the coming days' partitions now (%s); later", type(exc).__name__)

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> PgEventStore:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # ----------------------------------------------------------------------------- writing
    def add(self, township: str, site: str, kiosk: str, kind: str, payload: bytes, *, received_at: float,
            event_id: str | None = None, sid: str | None = None) -> Stored:
        return self.add_many([Incoming(township, site, kiosk, kind, payload, received_at, event_id, sid)])[0]

    def _day(self, at: float | None, event_id: str, received_at: float) -> dt.date | None:
        """The event's own day, the same on every re-send, or None: filed by first arrival (`feed_seen`).

        The plausibility of `at` is judged against the event id's UUIDv7 time, which is the same in
        every copy, not against the arrival, which is not: judged against the arrival, an `at` 399 days
        off was believed in one copy and not in a re-send a day later, and the two copies went into two
        day partitions (a duplicate).  Without a UUIDv7 id, or with one no nearer than `PLAUSIBLE_S`
        to the arrival (a clock stuck in 1970), the first arrival decides (`_anchor`)."""
        anchor = _uuid7_time(event_id)
        if anchor is None or abs(anchor - received_at) >= PLAUSIBLE_S:
            return None
        when = at if at is not None and abs(at - anchor) < PLAUSIBLE_S else anchor
        return dt.datetime.fromtimestamp(when, self.zone).date()

    def add_many(self, items: list[Incoming]) -> list[Stored]:
        """Store a batch in one transaction; one `Stored` per item, in order."""
        results: list[Stored] = []
        counts = {"malformed": 0, "mismatched": 0}
        rows: dict[str, list[list[Any]]] = {"entry": [], "health": [], "daily": [], "ack": []}
        unanchored: list[tuple[list[Any], float]] = []  # rows with no day of their own, and their arrival
        kiosks: dict[tuple[str, str, str], dict[str, Any]] = {}
        for it in items:
            key = (it.township, it.site, it.kiosk)
            state = kiosks.setdefault(key, {"seen": it.received_at})
            state["seen"] = max(state["seen"], it.received_at)
            if it.kind == "status":
                if it.received_at >= state.get("status", ("", float("-inf")))[1]:
                    state["status"] = (it.payload.decode("utf-8", "replace")[:20], it.received_at)
                results.append(Stored(False, "", it.kind, None, *key))
                continue
            try:
                text = it.payload.decode("utf-8")
                body = json.loads(text)
            except (UnicodeDecodeError, ValueError, RecursionError):
                body = None
            if not isinstance(body, dict):
                counts["malformed"] += 1
                results.append(Stored(False, "", it.kind, None, *key))
                continue
            if "\\u0000" in text:  # jsonb cannot hold NUL: stored with U+FFFD in its place, not refused
                body = _without_nul(body)
                text = json.dumps(body, ensure_ascii=False)
            topic = dict(zip(IDENTITY, key, strict=True))
            if any(name in body and body[name] != topic[name] for name in IDENTITY):
                counts["mismatched"] += 1
                results.append(Stored(False, "", it.kind, None, *key))
                continue
            event_id = str(body.get("event_id") or it.event_id
                           or fallback_event_id(f"{it.township}/{it.site}/{it.kiosk}/{it.kind}", it.payload))
            if not EVENT_ID.match(event_id):  # an id is an id: it is echoed in receipts, pages, requests
                counts["malformed"] += 1
                results.append(Stored(False, "", it.kind, None, *key))
                continue
            at = _finite(body.get("at"))
            if it.kind in ("entry", "alert"):
                reasons = [r for r in body.get("reasons") or [] if isinstance(r, str)] \
                    if isinstance(body.get("reasons"), list) else []
                row = [self._day(at, event_id, it.received_at), *key, event_id, at, it.received_at,
                       it.kind == "alert" or body.get("alert") is True, _text(body.get("decision"), 8),
                       ",".join(r.replace(",", "") for r in reasons), _finite(body.get("temperature_c")),
                       _text(body.get("policy_version"), 40), _text(body.get("name"), 40),
                       _text(body.get("sid_sealed"), 400), it.sid, text]
                rows["entry"].append(row)
            elif it.kind == "health":
                row = [self._day(at, event_id, it.received_at), *key, event_id, at, it.received_at, text]
                rows["health"].append(row)
                if (at if at is not None else it.received_at) >= state.get("health", ("", float("-inf")))[1]:
                    state["health"] = (text, at if at is not None else it.received_at)
            elif it.kind == "daily":
                day = _iso_day(body.get("day")) or self._day(at, event_id, it.received_at) or \
                    dt.datetime.fromtimestamp(it.received_at, self.zone).date()
                rows["daily"].append([*key, event_id, day, it.received_at, _int(body.get("visitors")),
                                      _int(body.get("alerts")), _int(body.get("in_service_s")), text])
                row = None
            elif it.kind == "config/ack":
                rows["ack"].append([*key, event_id, at, it.received_at, _text(body.get("status"), 20),
                                    _int(body.get("version")), _int(body.get("applied_version")),
                                    _text(body.get("reason"), 40), text])
                if (at if at is not None else it.received_at) >= state.get("ack", ("", float("-inf")))[1]:
                    state["ack"] = (text, at if at is not None else it.received_at)
                row = None
            else:
                row = None
            if row is not None and row[0] is None:
                unanchored.append((row, it.received_at))
            results.append(Stored(True, event_id, it.kind, body, *key))  # `new` settled below
        self._anchor(unanchored)
        new = self._commit(rows, kiosks, counts)
        out, first = [], set()
        for r in results:  # new: inserted now, and the first of its id in this batch
            key4 = (r.township, r.site, r.kiosk, r.event_id)
            is_new = bool(r.event_id) and key4 in new.get(r.kind, ()) and (r.kind, *key4) not in first
            first.add((r.kind, *key4))
            out.append(r if not r.event_id else Stored(is_new, r.event_id, r.kind, r.body, *key4[:3]))
        alerts = [r.body | {"event_id": r.event_id, "township": r.township, "site": r.site, "kiosk": r.kiosk}
                  for r in out if r.new and r.kind == "alert" and r.body]
        if alerts and self.on_alerts is not None:
            try:  # committed already: a failing webhook must not make the batch look unstored
                self.on_alerts(alerts)
            except Exception:
                log.exception("ingest: the alert hook failed (the alerts are stored)")
        return out

    def _anchor(self, unanchored: list[tuple[list[Any], float]]) -> None:
        """Day of first arrival for events without a day of their own, the same on every re-send."""
        if not unanchored:
            return
        proposed = {tuple(row[1:5]): dt.datetime.fromtimestamp(_believed(row[5], arrived), self.zone).date()
                    for row, arrived in unanchored}  # row[5]: its `at`, believed on first arrival if plausible
        keys = sorted(proposed)
        columns = [list(c) for c in zip(*keys, strict=True)]
        with _Guard():
            self._con.execute(SEEN_INSERT, [*columns, [proposed[k] for k in keys]])
            filed = {tuple(r[:4]): r[4] for r in self._con.execute(SEEN_SELECT, columns).fetchall()}
        for row, _ in unanchored:
            row[0] = filed.get(tuple(row[1:5])) or proposed[tuple(row[1:5])]

    def _commit(self, rows: dict[str, list[list[Any]]], kiosks: dict[tuple[str, str, str], dict[str, Any]],
                counts: dict[str, int]) -> dict[str, set[tuple[str, str, str, str]]]:
        for table, key in (("entry", slice(0, 5)), ("health", slice(0, 5)), ("daily", slice(0, 4)),
                           ("ack", slice(0, 4))):
            rows[table].sort(key=lambda r, k=key: tuple(r[k]))  # one lock order for every listener
        days = {r[0] for r in rows["entry"]} | {r[0] for r in rows["health"]}
        for attempt in range(1, RETRIES + 1):
            with _Guard():
                partitions.ensure(self._con, days, self._days)
            try:
                with _Guard():
                    return self._write(rows, kiosks, counts)
            except _RETRY as exc:
                if attempt == RETRIES:
                    raise StoreUnavailable(f"{type(exc).__name__} {RETRIES} times in a row") from exc
                self.retried += 1
                log.warning("ingest: %s; retrying the batch (%d)", type(exc).__name__, attempt)
                time.sleep(random.uniform(0.01, 0.05) * attempt)
            except StoreUnavailable as exc:
                if not _no_partition(exc.__cause__) or attempt == RETRIES:  # type: ignore[arg-type]
                    raise
                self._days -= days  # a partition we made was dropped (retention): make it again
                log.warning("ingest: a day partition was missing; making it again")
        raise AssertionError("unreachable")

    def _write(self, rows: dict[str, list[list[Any]]], kiosks: dict[tuple[str, str, str], dict[str, Any]],
               counts: dict[str, int]) -> dict[str, set[tuple[str, str, str, str]]]:
        new: dict[str, set[tuple[str, str, str, str]]] = {}
        with self._con.transaction(), self._con.cursor() as cur:
            if rows["entry"]:
                cur.execute(INSERT_ENTRIES, _columns(rows["entry"], 16))
                new["entry"] = new["alert"] = {tuple(r[:4]) for r in cur.fetchall()}  # type: ignore[misc]
                alerts = [r for r in rows["entry"] if r[7] and (r[1], r[2], r[3], r[4]) in new["entry"]]
                if alerts:
                    cur.execute(INSERT_ALERTS, _columns(alerts, 16))
            if rows["health"]:
                cur.execute(INSERT_HEALTH, _columns(rows["health"], 8))
                new["health"] = {tuple(r) for r in cur.fetchall()}  # type: ignore[misc]
            if rows["daily"]:
                cur.execute(INSERT_DAILY, _columns(rows["daily"], 9))
                new["daily"] = {tuple(r) for r in cur.fetchall()}  # type: ignore[misc]
            if rows["ack"]:
                cur.execute(INSERT_ACK, _columns(rows["ack"], 10))
                new["config/ack"] = {tuple(r) for r in cur.fetchall()}  # type: ignore[misc]
            cur.execute(UPSERT_KIOSKS, _kiosk_columns(kiosks))
            stored = sum(len(v) for v in rows.values())
            duplicates = stored - sum(len(new.get(k, ())) for k in ("entry", "health", "daily", "config/ack"))
            for name, n in sorted((*counts.items(), ("duplicates", duplicates))):
                if n:
                    cur.execute(COUNT, (name, n))
            changed = {"alert": sum(1 for r in rows["entry"] if r[7] and (r[1], r[2], r[3], r[4]) in new["entry"]),
                       "entry": len(new.get("entry", ())), "daily": len(new.get("daily", ())),
                       "ack": len(new.get("config/ack", ())), "health": len(new.get("health", ())),
                       "status": sum(1 for s in kiosks.values() if "status" in s)}
            kinds = [k for k, n in changed.items() if n]
            if kinds:
                cur.execute("SELECT pg_notify(%s, %s)", (NOTIFY_CHANNEL, json.dumps(
                    {"kinds": kinds, "townships": sorted({k[0] for k in kiosks})})))
        return new

    def count_rejected(self, name: str) -> None:
        self._con.execute(COUNT, (name, 1))

    # ----------------------------------------------------------------------------- reading (tests, tools)
    def counter(self, name: str) -> int:
        row = self._con.execute("SELECT n FROM feed_counter WHERE name = %s", (name,)).fetchone()
        return int(row[0]) if row else 0

    def count(self, kind: str | None = None) -> int:
        return len(self.event_ids(kind))

    def event_ids(self, kind: str | None = None) -> list[str]:
        parts = {"entry": "SELECT event_id FROM feed_entry WHERE NOT alert",
                 "alert": "SELECT event_id FROM feed_entry WHERE alert",
                 "health": "SELECT event_id FROM feed_health", "daily": "SELECT event_id FROM feed_daily",
                 "config/ack": "SELECT event_id FROM feed_ack"}
        chosen = [parts[kind]] if kind else list(parts.values())
        return sorted(r[0] for r in self._con.execute(" UNION ALL ".join(chosen)).fetchall())

    def rows(self, query: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        with self._con.cursor(row_factory=psycopg.rows.dict_row) as cur:
            return list(cur.execute(query, params).fetchall())  # type: ignore[arg-type]


class _Guard:
    """Database errors that are not a message's fault become `StoreUnavailable` (transient)."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, _tb: object) -> bool:
        if isinstance(exc, psycopg.Error) and not isinstance(exc, psycopg.OperationalError | StoreUnavailable) \
                and not isinstance(exc, _RETRY) and not _message_fault(exc):
            raise StoreUnavailable(f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}") from exc
        return False


def _columns(rows: list[list[Any]], n: int) -> list[list[Any]]:
    """Rows → one list per column (for `unnest`): one statement per table per batch."""
    return [list(c) for c in zip(*rows, strict=True)] if rows else [[] for _ in range(n)]


def _kiosk_columns(kiosks: dict[tuple[str, str, str], dict[str, Any]]) -> list[list[Any]]:
    out: list[list[Any]] = [[] for _ in range(10)]
    for (t, s, k), st in sorted(kiosks.items()):  # one lock order for every listener
        status, health, ack = st.get("status"), st.get("health"), st.get("ack")
        for i, v in enumerate((t, s, k, st["seen"], status and status[0], status and status[1],
                               health and health[0], health and health[1], ack and ack[0], ack and ack[1])):
            out[i].append(v)
    return out
