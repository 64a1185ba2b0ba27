"""The township's event store in PostgreSQL: what `township.store.EventStore` does, for a county.

Same guarantees as the SQLite store, so the listener needs no change of mind: (township, site,
kiosk, event id) identifies an event and a known one is a duplicate; the topic says who speaks
(a body naming another kiosk is `mismatched`); a body that is not a UTF-8 JSON object is
`malformed`.  Different in three ways, for a county's volume and for the console:

* a whole batch is one transaction (`add_many`): one commit for up to 500 messages, so the
  listener acks them all after it, and a kill -9 before it loses nothing (nothing was acked);
* every new alert also opens an `console_alert` row, and the commit carries one NOTIFY on
  `township_feed` saying what changed, which the console's live pages listen to;
* several listeners (a `$share` group) may write one database at once: inserts are
  `ON CONFLICT DO NOTHING`, partitions are created idempotently.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from township.ingest import partitions
from township.ingest.schema import NOTIFY_CHANNEL
from township.store import IDENTITY, Incoming, Stored, _finite, fallback_event_id

DEFAULT_ZONE = "Asia/Shanghai"
PLAUSIBLE_S = 400 * 86_400  # an event's own `at` further than this from its arrival is not believed


def _iso_day(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**62 else None


def _text(value: Any, limit: int = 200) -> str | None:
    return value[:limit] if isinstance(value, str) else None


class PgEventStore:
    """Used from one thread (the listener's main loop); one connection, autocommit between batches."""

    transient_errors: tuple[type[BaseException], ...] = (psycopg.OperationalError,)

    def __init__(self, dsn: str, *, zone: str | None = None,
                 on_alerts: Callable[[list[dict[str, Any]]], None] | None = None) -> None:
        self.dsn = dsn
        self.zone = ZoneInfo(zone or os.environ.get("TOWNSHIP_TIME_ZONE") or DEFAULT_ZONE)
        self.on_alerts = on_alerts
        self._con = psycopg.connect(dsn, autocommit=True)
        found = self._con.execute("SELECT to_regclass('feed_entry'), to_regclass('console_alert')").fetchone()
        if found is None or None in found:
            self._con.close()
            raise RuntimeError("the database has no feed tables yet: run `township migrate` first")
        self._days: set[dt.date] = set()

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

    def _day(self, at: float | None, received_at: float) -> dt.date:
        when = at if at is not None and abs(at - received_at) < PLAUSIBLE_S else received_at
        return dt.datetime.fromtimestamp(when, self.zone).date()

    def add_many(self, items: list[Incoming]) -> list[Stored]:
        """Store a batch in one transaction; one `Stored` per item, in order."""
        results: list[Stored] = []
        counts = {"malformed": 0, "mismatched": 0}
        rows: dict[str, list[tuple[Any, ...]]] = {"entry": [], "health": [], "daily": [], "ack": []}
        kiosks: dict[tuple[str, str, str], dict[str, Any]] = {}
        for it in items:
            key = (it.township, it.site, it.kiosk)
            state = kiosks.setdefault(key, {"seen": it.received_at})
            state["seen"] = max(state["seen"], it.received_at)
            if it.kind == "status":
                state["status"] = (it.payload.decode("utf-8", "replace")[:20], it.received_at)
                results.append(Stored(False, "", it.kind, None, *key))
                continue
            try:
                text = it.payload.decode("utf-8")
                body = json.loads(text)
            except (UnicodeDecodeError, ValueError, RecursionError):
                body = None
            if not isinstance(body, dict) or "\\u0000" in text:  # jsonb cannot hold NUL
                counts["malformed"] += 1
                results.append(Stored(False, "", it.kind, None, *key))
                continue
            topic = dict(zip(IDENTITY, key, strict=True))
            if any(name in body and body[name] != topic[name] for name in IDENTITY):
                counts["mismatched"] += 1
                results.append(Stored(False, "", it.kind, None, *key))
                continue
            event_id = str(body.get("event_id") or it.event_id
                           or fallback_event_id(f"{it.township}/{it.site}/{it.kiosk}/{it.kind}", it.payload))[:80]
            at = _finite(body.get("at"))
            if it.kind in ("entry", "alert"):
                reasons = [r for r in body.get("reasons") or [] if isinstance(r, str)] \
                    if isinstance(body.get("reasons"), list) else []
                rows["entry"].append((self._day(at, it.received_at), *key, event_id, at, it.received_at,
                                      it.kind == "alert" or body.get("alert") is True, _text(body.get("decision"), 8),
                                      ",".join(r.replace(",", "") for r in reasons),
                                      _finite(body.get("temperature_c")), _text(body.get("policy_version"), 40),
                                      _text(body.get("name"), 40), _text(body.get("sid_sealed"), 400), it.sid, text))
            elif it.kind == "health":
                rows["health"].append((self._day(at, it.received_at), *key, event_id, at, it.received_at, text))
                state["health"] = (text, at if at is not None else it.received_at)
            elif it.kind == "daily":
                day = _iso_day(body.get("day")) or self._day(at, it.received_at)
                in_service = _int(body.get("in_service_s"))
                rows["daily"].append((*key, event_id, day, it.received_at, _int(body.get("visitors")),
                                      _int(body.get("alerts")), in_service, text))
            elif it.kind == "config/ack":
                rows["ack"].append((*key, event_id, at, it.received_at, _text(body.get("status"), 20),
                                    _int(body.get("version")), _int(body.get("applied_version")),
                                    _text(body.get("reason"), 40), text))
                state["ack"] = (text, at if at is not None else it.received_at)
            results.append(Stored(True, event_id, it.kind, body, *key))  # `new` settled below
        new = self._commit(rows, kiosks, counts)
        out, first = [], set()
        for r in results:  # new: inserted now, and the first of its id in this batch
            key = (r.township, r.site, r.kiosk, r.event_id)
            is_new = bool(r.event_id) and key in new.get(r.kind, ()) and (r.kind, *key) not in first
            first.add((r.kind, *key))
            out.append(r if not r.event_id else Stored(is_new, r.event_id, r.kind, r.body, *key[:3]))
        alerts = [r.body | {"event_id": r.event_id, "township": r.township, "site": r.site, "kiosk": r.kiosk}
                  for r in out if r.new and r.kind == "alert" and r.body]
        if alerts and self.on_alerts is not None:
            self.on_alerts(alerts)
        return out

    def _commit(self, rows: dict[str, list[tuple[Any, ...]]], kiosks: dict[tuple[str, str, str], dict[str, Any]],
                counts: dict[str, int]) -> dict[str, set[tuple[str, str, str, str]]]:
        days = {r[0] for r in rows["entry"]} | {r[0] for r in rows["health"]}
        partitions.ensure(self._con, days, self._days)
        new: dict[str, set[tuple[str, str, str, str]]] = {}
        with self._con.transaction(), self._con.cursor() as cur:
            if rows["entry"]:
                cur.execute(INSERT_ENTRIES, _columns(rows["entry"], 16))
                fresh = cur.fetchall()
                new["entry"] = new["alert"] = {tuple(r[:4]) for r in fresh}  # type: ignore[misc]
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
            stored = sum(len(v) for k, v in rows.items())
            duplicates = stored - sum(len(new.get(k, ())) for k in ("entry", "health", "daily", "config/ack"))
            for name, n in (*counts.items(), ("duplicates", duplicates)):
                if n:
                    cur.execute("INSERT INTO feed_counter (name, n) VALUES (%s, %s) "
                                "ON CONFLICT (name) DO UPDATE SET n = feed_counter.n + excluded.n", (name, n))
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
        self._con.execute("INSERT INTO feed_counter (name, n) VALUES (%s, 1) "
                          "ON CONFLICT (name) DO UPDATE SET n = feed_counter.n + 1", (name,))

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


def _columns(rows: list[tuple[Any, ...]], n: int) -> list[list[Any]]:
    """Row tuples → one list per column (for `unnest`): one statement per table per batch."""
    return [list(c) for c in zip(*rows, strict=True)] if rows else [[] for _ in range(n)]


def _kiosk_columns(kiosks: dict[tuple[str, str, str], dict[str, Any]]) -> list[list[Any]]:
    out: list[list[Any]] = [[] for _ in range(10)]
    for (t, s, k), st in kiosks.items():
        status, health, ack = st.get("status"), st.get("health"), st.get("ack")
        for i, v in enumerate((t, s, k, st["seen"], status and status[0], status and status[1],
                               health and health[0], health and health[1], ack and ack[0], ack and ack[1])):
            out[i].append(v)
    return out


INSERT_ENTRIES = """
INSERT INTO feed_entry (day, township, site, kiosk, event_id, at, received_at, alert, decision, reasons,
                        temperature_c, policy_version, name, sid_sealed, sid, payload)
SELECT d, t, s, k, e, to_timestamp(a), to_timestamp(r), al, dec, coalesce(string_to_array(NULLIF(rs, ''), ','), '{}'),
       tc, pv, nm, ss, sd, p::jsonb
FROM unnest(%s::date[], %s::text[], %s::text[], %s::text[], %s::text[], %s::float8[], %s::float8[], %s::bool[],
            %s::text[], %s::text[], %s::float8[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[])
     AS u(d, t, s, k, e, a, r, al, dec, rs, tc, pv, nm, ss, sd, p)
ON CONFLICT DO NOTHING
RETURNING township, site, kiosk, event_id
"""

INSERT_ALERTS = """
INSERT INTO console_alert (day, township, site, kiosk, event_id, at, received_at, decision, reasons, temperature_c,
                           policy_version, name)
SELECT d, t, s, k, e, to_timestamp(coalesce(a, r)), to_timestamp(r), coalesce(dec, 'STOP'),
       to_jsonb(coalesce(string_to_array(NULLIF(rs, ''), ','), '{}')), tc, pv, nm
FROM unnest(%s::date[], %s::text[], %s::text[], %s::text[], %s::text[], %s::float8[], %s::float8[], %s::bool[],
            %s::text[], %s::text[], %s::float8[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[])
     AS u(d, t, s, k, e, a, r, al, dec, rs, tc, pv, nm, ss, sd, p)
ON CONFLICT DO NOTHING
"""

INSERT_HEALTH = """
INSERT INTO feed_health (day, township, site, kiosk, event_id, at, received_at, payload)
SELECT d, t, s, k, e, to_timestamp(a), to_timestamp(r), p::jsonb
FROM unnest(%s::date[], %s::text[], %s::text[], %s::text[], %s::text[], %s::float8[], %s::float8[], %s::text[])
     AS u(d, t, s, k, e, a, r, p)
ON CONFLICT DO NOTHING
RETURNING township, site, kiosk, event_id
"""

INSERT_DAILY = """
INSERT INTO feed_daily (township, site, kiosk, event_id, day, received_at, visitors, alerts, in_service_s, payload)
SELECT t, s, k, e, d, to_timestamp(r), v, al, sv, p::jsonb
FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::date[], %s::float8[], %s::int[], %s::int[],
            %s::int[], %s::text[]) AS u(t, s, k, e, d, r, v, al, sv, p)
ON CONFLICT DO NOTHING
RETURNING township, site, kiosk, event_id
"""

INSERT_ACK = """
INSERT INTO feed_ack (township, site, kiosk, event_id, at, received_at, status, version, applied_version, reason,
                      payload)
SELECT t, s, k, e, to_timestamp(a), to_timestamp(r), st, v, av, rs, p::jsonb
FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::float8[], %s::float8[], %s::text[], %s::int8[],
            %s::int8[], %s::text[], %s::text[]) AS u(t, s, k, e, a, r, st, v, av, rs, p)
ON CONFLICT DO NOTHING
RETURNING township, site, kiosk, event_id
"""

UPSERT_KIOSKS = """
INSERT INTO feed_kiosk AS f (township, site, kiosk, first_seen, last_seen, status, status_at, health, health_at, ack,
                             ack_at)
SELECT t, s, k, to_timestamp(seen), to_timestamp(seen), st, to_timestamp(st_at), h::jsonb, to_timestamp(h_at),
       ak::jsonb, to_timestamp(ak_at)
FROM unnest(%s::text[], %s::text[], %s::text[], %s::float8[], %s::text[], %s::float8[], %s::text[], %s::float8[],
            %s::text[], %s::float8[]) AS u(t, s, k, seen, st, st_at, h, h_at, ak, ak_at)
ON CONFLICT (township, site, kiosk) DO UPDATE SET
    last_seen = greatest(f.last_seen, excluded.last_seen),
    status = coalesce(excluded.status, f.status), status_at = coalesce(excluded.status_at, f.status_at),
    health = CASE WHEN excluded.health_at >= coalesce(f.health_at, '-infinity') THEN excluded.health ELSE f.health END,
    health_at = greatest(excluded.health_at, f.health_at),
    ack = CASE WHEN excluded.ack_at >= coalesce(f.ack_at, '-infinity') THEN excluded.ack ELSE f.ack END,
    ack_at = greatest(excluded.ack_at, f.ack_at)
"""
