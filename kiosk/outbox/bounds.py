"""The outbox's bounds: how much it may hold, what gives way when it is full, and what ages out.

An outbox that grew without limit would one day fill the data partition and stop the kiosk; one
that dropped rows silently would break the checkpoint's promise that the township receives every
entry.  This is the policy between the two, kept apart from the queue itself (`kiosk.outbox.store`),
which calls it from inside its own write transactions.

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
"""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kiosk.outbox.schema import PENDING
from kiosk.ports import Clock

ROOM_FRACTION = 0.1  # making room frees this share of a bound, so it is rare


@dataclass(frozen=True, slots=True)
class Limits:
    """How much the outbox may hold (`storage.max_mb`, `max_rows`, `retention_days`)."""

    max_rows: int = 500_000
    max_bytes: int = 256 * 1024 * 1024
    retention_s: float = 7 * 86_400.0
    keep_priority: int = 10  # undelivered rows this urgent (alerts: kiosk.feed.events.ALERT_PRIORITY) never age out


class Bounds:
    """The part of `Outbox` that keeps it within its `Limits`; see the module docstring.

    Mixed into `Outbox`, which provides the connection (`_db`), write transactions (`_write`)
    and the disk reserve (`_keep_reserve`).  `_rows` and `_bytes` are the running totals.
    """

    limits: Limits
    _clock: Clock
    _rows: int
    _bytes: int

    if TYPE_CHECKING:  # provided by `Outbox`
        _db: sqlite3.Connection

        def _write(self) -> AbstractContextManager[sqlite3.Connection]: ...

        def _keep_reserve(self) -> None: ...

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
            (f"{PENDING} AND priority <= ?", "priority, seq", (priority,), True),
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
