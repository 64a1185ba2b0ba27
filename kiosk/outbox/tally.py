"""The outbox's day tally: what the daily summary counts, and which days were reported.

Every site reports daily ("the report may be zero, but never missing"), so the summary must
count every decision exactly once, across crashes and reboots.  That is why the tally lives in
the outbox file and rides in the outbox's own transactions instead of being counted elsewhere:

* one small row per decision (`visits`: local day, decision, reasons, policy version, seconds at
  the kiosk), inserted in the transaction that stores the event itself, so a crash can neither
  count an entry that was not stored nor store one that is not counted.  It holds no person:
  only what the summary counts (`Tally`);
* the visitor's seconds at the kiosk are known only after the append returns; they are kept in
  memory and written with the next transaction (no extra fsync; a power cut may lose that
  number, never the count);
* `daily_reports` remembers which days were reported, in the transaction that stores the
  report, so a day is reported exactly once;
* a decision stamped on an unsynchronised wall clock is flagged (`unsynced`) and left out of
  the summaries until `settle` moves it to the day the clock was found right (see
  `kiosk.outbox.bounds` on the clock);
* `service` holds the seconds the kiosk was in service per local day (the summary's
  `in_service_s`), added to every few minutes by the feed (`kiosk.feed.service_time`), not per
  loop pass: a power cut loses at most those minutes.

`DayTally` holds no connection and opens no transaction: the outbox passes its connection to
each call, and the writes are made inside the outbox's write transactions, which commit them.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

LAST_WALL = "last_wall"  # meta: the wall clock of the last in-service record (the kiosk ran until then)


@dataclass(frozen=True, slots=True)
class Tally:
    """One decision in the day tally: no person, only what the daily summary counts."""

    day: str  # local YYYY-MM-DD
    decision: str
    reasons: tuple[str, ...]
    policy_version: str = ""


class DayTally:
    """The `visits` and `daily_reports` tables, and the seconds not yet written; see the module docstring."""

    def __init__(self) -> None:
        self._seconds: dict[int, float] = {}  # visit seq -> seconds at the kiosk, written with the next commit

    # ----------------------------------------------------------------------------- inside a write transaction
    def add(self, con: sqlite3.Connection, seq: int, tally: Tally, unsynced: int | None) -> None:
        """Tally the decision stored as outbox row `seq` (in the transaction that stored it)."""
        con.execute("INSERT OR IGNORE INTO visits (seq, day, decision, reasons, policy, unsynced) "
                    "VALUES (?, ?, ?, ?, ?, ?)", (seq, tally.day, tally.decision,
                                                  ",".join(tally.reasons), tally.policy_version, unsynced))

    def write_seconds(self, con: sqlite3.Connection) -> None:
        """Just before a commit: write the seconds noted since the last one (they ride along, no extra fsync)."""
        if self._seconds:
            con.executemany("UPDATE visits SET seconds = ? WHERE seq = ?", [(s, q) for q, s in self._seconds.items()])

    def seconds_written(self) -> None:
        """The commit that carried `write_seconds` succeeded: forget them."""
        self._seconds.clear()

    def mark_reported(self, con: sqlite3.Connection, day: str, event_id: str, made: float) -> bool:
        """Record that `day` is reported by event `event_id`; False if it already was."""
        return bool(con.execute("INSERT INTO daily_reports (day, event_id, made) VALUES (?, ?, ?) "
                                "ON CONFLICT (day) DO NOTHING RETURNING day", (day, event_id, made)).fetchall())

    def add_service(self, con: sqlite3.Connection, seconds: dict[str, float], wall: float) -> None:
        """Add in-service seconds per local day, and note `wall` as the last time the kiosk ran."""
        con.executemany("INSERT INTO service (day, seconds) VALUES (?, ?) "
                        "ON CONFLICT (day) DO UPDATE SET seconds = seconds + excluded.seconds", seconds.items())
        con.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = "
                    "max(CAST(value AS REAL), CAST(excluded.value AS REAL))", (LAST_WALL, repr(float(wall))))

    def forget(self, con: sqlite3.Connection, made_before: float) -> int:
        """Forget the tallies of days whose report was made at or before `made_before`; returns how many."""
        # A day's tally is kept a while after its report was made (for the CLI), then forgotten.
        con.execute("DELETE FROM service WHERE day IN (SELECT day FROM daily_reports WHERE made <= ?)", (made_before,))
        return int(con.execute("DELETE FROM visits WHERE day IN (SELECT day FROM daily_reports "
                               "WHERE made <= ?)", (made_before,)).rowcount)

    def settle(self, con: sqlite3.Connection, today: str) -> None:
        """The clock is right now: count the decisions tallied on a stale clock on `today`."""
        con.execute("UPDATE visits SET day = ?, unsynced = NULL WHERE unsynced IS NOT NULL", (today,))

    # ----------------------------------------------------------------------------- anywhere
    def note_seconds(self, seq: int, seconds: float) -> None:
        """The seconds a tallied visitor spent at the kiosk; written with the next transaction."""
        self._seconds[int(seq)] = float(seconds)

    def day(self, con: sqlite3.Connection, day: str) -> list[tuple[str, tuple[str, ...], float | None, str]]:
        """(decision, reasons, seconds, policy version) of every decision tallied on `day` (local)."""
        rows = con.execute("SELECT seq, decision, reasons, seconds, policy FROM visits "
                           "WHERE day = ? AND unsynced IS NULL", (day,)).fetchall()
        return [(d, tuple(r for r in reasons.split(",") if r), self._seconds.get(seq, seconds), policy)
                for seq, d, reasons, seconds, policy in rows]

    def days(self, con: sqlite3.Connection) -> list[str]:
        """Every day with a tally, oldest first."""
        return [r[0] for r in con.execute("SELECT DISTINCT day FROM visits ORDER BY day")]

    def reported_days(self, con: sqlite3.Connection) -> list[str]:
        """Every day whose report was stored, oldest first."""
        return [r[0] for r in con.execute("SELECT day FROM daily_reports ORDER BY day")]

    def last_wall(self, con: sqlite3.Connection) -> float | None:
        """The latest wall time this file has a trace of: the last in-service record, the newest row, the
        newest report (None for a new file)."""
        row = con.execute("SELECT max(t) FROM (SELECT CAST(value AS REAL) AS t FROM meta WHERE key = ? "
                          "UNION ALL SELECT max(created) FROM outbox UNION ALL SELECT max(made) FROM daily_reports)",
                          (LAST_WALL,)).fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def service(self, con: sqlite3.Connection, day: str) -> float:
        """Seconds in service recorded for `day` (local)."""
        row = con.execute("SELECT seconds FROM service WHERE day = ?", (day,)).fetchone()
        return 0.0 if row is None else float(row[0])

