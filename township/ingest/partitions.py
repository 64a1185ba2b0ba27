"""Day partitions of the feed's big tables: made on first use, dropped for retention."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import psycopg
from psycopg import sql

from township.ingest.schema import PARTITIONED

_NAME = re.compile(r"^(feed_entry|feed_health)_(\d{8})$")


def partition_name(table: str, day: dt.date) -> str:
    return f"{table}_{day:%Y%m%d}"


def ensure(conn: psycopg.Connection[Any], days: set[dt.date], known: set[dt.date]) -> None:
    """Create the partitions of `days` not in `known` (then added to it).  Own transactions.

    Several ingesters may race to create the same day: the loser's error is harmless.
    """
    for day in sorted(days - known):
        for table in PARTITIONED:
            statement = sql.SQL("CREATE TABLE IF NOT EXISTS {} PARTITION OF {} FOR VALUES FROM ({}) TO ({})").format(
                sql.Identifier(partition_name(table, day)), sql.Identifier(table), sql.Literal(day),
                sql.Literal(day + dt.timedelta(days=1)))
            try:
                with conn.transaction():
                    conn.execute(statement)
            except (psycopg.errors.DuplicateTable, psycopg.errors.UniqueViolation):
                pass  # another ingester made it between our check and our create
        known.add(day)


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


def drop_older_than(conn: psycopg.Connection[Any], keep_days: int, today: dt.date) -> list[str]:
    """Retention: drop every day partition older than `keep_days` before `today`; the names dropped."""
    cutoff = today - dt.timedelta(days=keep_days)
    dropped = []
    for table, days in existing(conn).items():
        for day in days:
            if day < cutoff:
                name = partition_name(table, day)
                with conn.transaction():
                    conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(name)))
                dropped.append(name)
    return dropped
