"""The outbox's bounds: how much it may hold, what gives way when it is full, and what ages out.

An outbox that grew without limit would one day fill the data partition and stop the kiosk; one
that dropped rows silently would break the checkpoint's promise that the township receives every
entry.  This is the policy between the two, kept apart from the queue itself (`kiosk.outbox.store`),
which holds a `Bounds` and calls it from inside its own write transactions.

Bounded (`Limits`): by rows, by payload bytes and by age. When an append would pass a bound, room
is made in the same transaction, in this order: rows freed on a PUBACK without a receipt (oldest
delivery first), dead letters, then undelivered rows (to publish, or published and awaiting the
township's receipt: `kiosk.outbox.delivery`) of the lowest priority (ordinary entries before
alerts), oldest first, but, dead letters apart, only rows of a priority at most the new row's
own: an entry never pushes out an alert (not even one freed on a PUBACK: no receipt says the
township has it), an alert pushes out entries and, when nothing else is left, the oldest alerts. If room cannot be made
that way, the new row is the one dropped: it is counted and `append` raises `OutboxFull` (the
kiosk then shows FAULT, never PASS, for an entry it could not store).
Rows dropped before the township receipted them (undelivered, or freed on a PUBACK alone and
deleted before the retention), by bound, by age or for a full disk, are counted per stream in the file (`dropped`), so
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
`Bounds.age_out`.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from kiosk.outbox.schema import UNDELIVERED

ROOM_FRACTION = 0.1  # making room frees this share of a bound, so it is rare


@dataclass(frozen=True, slots=True)
class Limits:
    """How much the outbox may hold (`storage.max_mb`, `max_rows`, `retention_days`)."""

    max_rows: int = 500_000
    max_bytes: int = 256 * 1024 * 1024
    retention_s: float = 7 * 86_400.0
    keep_priority: int = 10  # undelivered rows this urgent (alerts: kiosk.feed.events.ALERT_PRIORITY) never age out


class Bounds:
    """Keeps the outbox within its `Limits`: the running totals, making room, counting what was dropped.

    A part of `Outbox`, which holds one.  It holds no connection and opens no transaction: every
    method that reads the file takes the connection (`con`), and those that write are called
    inside the outbox's write transaction, which commits their deletions together with the row
    they made room for (or with the count of the row that was refused).  `rows` and `bytes` are
    the running totals of the file; `over` reads only them.
    """

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.rows = 0
        self.bytes = 0

    def dropped(self, con: sqlite3.Connection) -> dict[str, int]:
        """Undelivered rows dropped by a bound or by age, per stream, ever."""
        return dict(con.execute("SELECT stream, count FROM dropped ORDER BY stream").fetchall())

    def count(self, con: sqlite3.Connection) -> None:
        """Re-count the running totals from the file (at open, after a purge, in housekeeping)."""
        rows, size = con.execute("SELECT count(*), coalesce(sum(length(payload)), 0) FROM outbox").fetchone()
        self.rows, self.bytes = int(rows), int(size)

    def added(self, size: int) -> None:
        """One row of `size` payload bytes was committed."""
        self.rows += 1
        self.bytes += size

    def over(self, rows: int, size: int) -> bool:
        """Would adding `rows` rows of `size` bytes pass a bound?  (Cheap: the totals only.)"""
        return self.rows + rows > self.limits.max_rows or self.bytes + size > self.limits.max_bytes

    # ----------------------------------------------------------------------------- inside a write transaction
    def age_out(self, con: sqlite3.Connection, cutoff: float) -> tuple[int, int]:
        """Apply the retention to rows stamped at or before `cutoff`; returns (purged, dropped).

        What ages out: delivered rows (by when they were delivered), dead letters (never retried,
        so keeping them longer serves nobody) and undelivered rows below `limits.keep_priority`
        — ordinary entries, daily summaries, acks; those dropped undelivered are counted.  An
        undelivered alert never ages out: it reports somebody stopped at the door (fever, a red
        or forged code), which the township must follow up, and it has not served its purpose
        until it is delivered; it stays bounded by `max_rows` and `max_bytes` and leaves, as the
        kiosk's privacy notice says, once delivered and aged.  Rows flagged `unsynced` are left
        alone: their stamps are on a stale timeline (see `settle`).
        """
        purged = con.execute("DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at <= ?", (cutoff,)).rowcount
        old = con.execute("SELECT seq, stream FROM outbox WHERE sent_at IS NULL AND created <= ? "
                          "AND unsynced IS NULL AND (rejected IS NOT NULL OR priority < ?)",
                          (cutoff, self.limits.keep_priority)).fetchall()
        self._drop(con, old)
        return int(purged), len(old)

    def settle(self, con: sqlite3.Connection, now: float) -> int:
        """The clock is right at `now`: re-stamp the rows stamped while it was not; returns how many.

        A flagged row's age counts from `now` (its true age is unknown); a delivery stamped in
        the future (a clock that was ahead) is brought back to `now`.
        """
        n = con.execute("UPDATE outbox SET created = ?, unsynced = NULL WHERE unsynced IS NOT NULL", (now,)).rowcount
        con.execute("UPDATE outbox SET sent_at = ? WHERE sent_at > ?", (now, now))  # an index range
        return int(n)

    def make_room(self, con: sqlite3.Connection, rows: int, size: int, priority: int,
                  retained_before: float | None = None) -> bool:
        """Inside a write transaction: keep the bounds after adding `rows` rows of `size` bytes of
        `priority`.  False, having deleted nothing, if that would need a row of a higher priority
        that the township has not receipted.

        Victims, in order: rows freed on a PUBACK alone (`sent_at`: no receipt, oldest delivery
        first), dead letters, undelivered rows — each of priority <= `priority` but for dead
        letters, lowest priority first, oldest first.  Every victim is counted as dropped: none is
        known to be at the township; only a freed row past the retention (sent at or before
        `retained_before`) is not, as the retention would have taken it anyway.  A tenth of the
        bound is freed at once so that a kiosk at its bound does not re-count the table on every append.
        """
        max_rows, max_bytes = self.limits.max_rows, self.limits.max_bytes
        if self.rows + rows <= max_rows and self.bytes + size <= max_bytes:
            return True
        self.count(con)
        excess_rows = self.rows + rows - max_rows
        excess_bytes = self.bytes + size - max_bytes
        if excess_rows <= 0 and excess_bytes <= 0:
            return True
        want_rows = max(excess_rows, int(max_rows * ROOM_FRACTION)) if excess_rows > 0 else 0
        want_bytes = max(excess_bytes, int(max_bytes * ROOM_FRACTION)) if excess_bytes > 0 else 0
        freed_rows = freed_bytes = 0
        retained = float("-inf") if retained_before is None else retained_before
        counted: list[tuple[int, str]] = []
        uncounted: list[int] = []
        for where, order, params in (
            ("sent_at IS NOT NULL AND priority <= ?", "priority, sent_at, seq", (priority,)),
            ("rejected IS NOT NULL AND sent_at IS NULL", "seq", ()),
            (f"{UNDELIVERED} AND priority <= ?", "priority, seq", (priority,)),
        ):
            if freed_rows >= want_rows and freed_bytes >= want_bytes:
                break
            for seq, stream, length, sent_at in con.execute(
                    f"SELECT seq, stream, length(payload), sent_at FROM outbox WHERE {where} ORDER BY {order}", params):
                if freed_rows >= want_rows and freed_bytes >= want_bytes:
                    break
                if sent_at is not None and sent_at <= retained:
                    uncounted.append(seq)
                else:
                    counted.append((seq, stream))
                freed_rows += 1
                freed_bytes += length
        if freed_rows < excess_rows or freed_bytes < excess_bytes:
            return False  # only more urgent rows are left: the new row is the one that goes
        con.executemany("DELETE FROM outbox WHERE seq = ?", [(seq,) for seq in uncounted])
        self._drop(con, counted)
        self.count(con)
        return True

    def purge_freed(self, con: sqlite3.Connection, sent_before: float, retained_before: float,
                    priority: int | None) -> int:
        """Delete rows freed on a PUBACK alone (no receipt) sent at or before `sent_before`, of at most
        `priority` if given (an entry never pushes out an alert); those sent after `retained_before`
        (not yet due for the retention) are counted as dropped.  Returns how many went."""
        where, params = "sent_at IS NOT NULL AND sent_at <= ?", [sent_before]
        if priority is not None:
            where += " AND priority <= ?"
            params.append(priority)
        victims = con.execute(f"SELECT seq, stream, sent_at FROM outbox WHERE {where}", params).fetchall()
        con.executemany("DELETE FROM outbox WHERE seq = ?", [(seq,) for seq, _, _ in victims])
        self.count_dropped(con, [stream for _, stream, sent_at in victims if sent_at > retained_before])
        return len(victims)

    def _drop(self, con: sqlite3.Connection, victims: list[tuple[int, str]]) -> None:
        """Delete undelivered rows and count them per stream (the loss must be reported)."""
        if not victims:
            return
        con.executemany("DELETE FROM outbox WHERE seq = ?", [(seq,) for seq, _ in victims])
        self.count_dropped(con, [stream for _, stream in victims])

    def count_dropped(self, con: sqlite3.Connection, streams: list[str]) -> None:
        """Count undelivered rows of `streams` (one entry per row) as dropped: the loss is reported, never silent."""
        per_stream: dict[str, int] = {}
        for stream in streams:
            per_stream[stream] = per_stream.get(stream, 0) + 1
        con.executemany("INSERT INTO dropped (stream, count) VALUES (?, ?) "
                        "ON CONFLICT (stream) DO UPDATE SET count = count + excluded.count", per_stream.items())
