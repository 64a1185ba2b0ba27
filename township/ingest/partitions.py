"""Day partitions of the feed's big tables: made days ahead, attached without blocking, dropped for retention.

`CREATE TABLE … PARTITION OF` takes an ACCESS EXCLUSIVE lock on the parent, so it waits behind any
open reader (a nightly `pg_dump`, a long search) and every insert and read queues behind it: the
first event after midnight would stall ingest.  A partition is therefore made as a table of its
own and then attached (`ATTACH PARTITION` needs only SHARE UPDATE EXCLUSIVE on the parent, which
readers and writers do not conflict with), with a short `lock_timeout` so that even that never
holds anyone up for long, and it is made days ahead: at the listener's start (`AHEAD_DAYS`) and by
the daily timer (`township retention`), so ingest itself almost never makes one.

Retention drops whole partitions (no DELETE of millions of rows), never today's or yesterday's
(`MIN_KEEP_DAYS`), and prunes what is kept per row: the alerts (names, temperatures), the seen-id
table, and the daily summaries and acknowledgements after their own (longer) period.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import psycopg
from psycopg import sql

from township.ingest.schema import PARTITIONED

_NAME = re.compile(r"^(feed_entry|feed_health)_(\d{8})$")
AHEAD_DAYS = 7
MIN_KEEP_DAYS = 2  # today and yesterday (still awaiting its report) are never dropped
LOCK_TIMEOUT = "2s"


def partition_name(table: str, day: dt.date) -> str:
    return f"{table}_{day:%Y%m%d}"


def _attach(conn: psycopg.Connection[Any], table: str, day: dt.date) -> None:
    name = sql.Identifier(partition_name(table, day))
    parent = sql.Identifier(table)
    low, high = sql.Literal(day), sql.Literal(day + dt.timedelta(days=1))
    with conn.transaction():
        conn.execute(sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(LOCK_TIMEOUT)))
        if conn.execute("SELECT to_regclass(%s)", (partition_name(table, day),)).fetchone() == (None,):
            conn.execute(sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
                         .format(name, parent))
            # The constraint lets ATTACH skip its scan (the table is empty anyway).
            conn.execute(sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} CHECK (day >= {} AND day < {})").format(
                name, sql.Identifier(f"{partition_name(table, day)}_day"), low, high))
        attached = conn.execute("SELECT 1 FROM pg_inherits WHERE inhrelid = to_regclass(%s)",
                                (partition_name(table, day),)).fetchone()
        if attached is None:
            conn.execute(sql.SQL("ALTER TABLE {} ATTACH PARTITION {} FOR VALUES FROM ({}) TO ({})").format(
                parent, name, low, high))


def ensure(conn: psycopg.Connection[Any], days: set[dt.date], known: set[dt.date]) -> None:
    """Make and attach the partitions of `days` not in `known` (then added to it).  Own transactions.

    Several ingesters may race to make the same day: the loser's error is harmless, it retries once
    and finds the table there.  A lock not granted within `LOCK_TIMEOUT` raises LockNotAvailable
    (transient for the listener): it never waits behind a reader for longer.
    """
    for day in sorted(days - known):
        for table in PARTITIONED:
            for attempt in (1, 2):
                try:
                    _attach(conn, table, day)
                    break
                except (psycopg.errors.DuplicateTable, psycopg.errors.DuplicateObject,
                        psycopg.errors.UniqueViolation, psycopg.errors.InvalidObjectDefinition):
                    if attempt == 2:  # made (and attached) by another ingester meanwhile
                        break
        known.add(day)


def ensure_ahead(conn: psycopg.Connection[Any], today: dt.date, known: set[dt.date] | None = None,
                 ahead: int = AHEAD_DAYS) -> set[dt.date]:
    """Yesterday's, today's and the next `ahead` days' partitions; the set of days now there."""
    known = set() if known is None else known
    ensure(conn, {today + dt.timedelta(days=i) for i in range(-1, ahead + 1)}, known)
    return known


def existing(conn: psycopg.Connection[Any]) -> dict[str, list[dt.date]]:
    """{table: [days]} of the partitions there are."""
    rows = conn.execute("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                        "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = ANY(%s)",
                        (list(PARTITIONED),)).fetchall()
    out: dict[str, list[dt.date]] = {t: [] for t in PARTITIONED}
    for (name,) in rows:
        m = _NAME.match(name)
        if m:
            out[m.group(1)].append(dt.datetime.strptime(m.group(2), "%Y%m%d").date())
    return {t: sorted(days) for t, days in out.items()}


def drop_older_than(conn: psycopg.Connection[Any], keep_days: int, today: dt.date, *,
                    keep_summary_days: int | None = None) -> list[str]:
    """Retention: drop every day partition older than `keep_days` before `today`, delete the alerts and
    seen ids of those days, and the daily summaries and acknowledgements older than `keep_summary_days`
    (default: the same).  What was dropped or pruned, one line each."""
    if keep_days < MIN_KEEP_DAYS:
        raise ValueError(f"keep at least {MIN_KEEP_DAYS} days (today and yesterday, whose report is still due), "
                         f"not {keep_days}")
    cutoff = today - dt.timedelta(days=keep_days)
    summary_cutoff = today - dt.timedelta(days=max(keep_days, keep_summary_days or keep_days))
    done = []
    for table, days in existing(conn).items():
        for day in days:
            if day < cutoff:
                name = partition_name(table, day)
                with conn.transaction():
                    conn.execute(sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(LOCK_TIMEOUT)))
                    conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(name)))
                done.append(name)
    for table, column, before in (("console_alert", "day", cutoff), ("feed_seen", "day", cutoff),
                                  ("feed_daily", "day", summary_cutoff),
                                  ("feed_ack", "(received_at AT TIME ZONE 'UTC')::date", summary_cutoff)):
        with conn.transaction():
            n = conn.execute(sql.SQL("DELETE FROM {} WHERE {} < %s").format(sql.Identifier(table), sql.SQL(column)),
                             (before,)).rowcount
        if n:
            done.append(f"{table}: {n} rows before {before}")
    return done
