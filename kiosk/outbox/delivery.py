"""The outbox's delivery states: published is not delivered until the township's receipt says so.

A PUBACK only says the *broker* has an event.  A broker that crashes before its queue reaches
the disk, while the township's consumer is away, loses what it acknowledged; a kiosk that had
freed those rows on the PUBACK could never send them again.  So (issue 13) the township's
listener, after committing, names the event ids it holds on the kiosk's `receipt` topic, and
a row leaves the outbox only then.  A row is in one of these states (columns of `outbox`):

    to publish           published_at NULL, sent_at NULL, rejected NULL   (`PENDING`)
    awaiting a receipt   published_at set,  sent_at NULL                  (`AWAITING`)
                         (`published_at`, like `created` and `sent_at`, is on the outbox's clock)
    delivered            sent_at set: freed on the PUBACK, without a receipt (a township that
                         sends none, see `kiosk.uplink.receipts`), or by a kiosk from before
                         receipts; kept for the retention, the first to go for room
    a dead letter        rejected set: the broker refused it (its reason code), or the township's
                         receipt named it `refused` (`REFUSED`: malformed, say; never re-sent)
    receipted            deleted at once, and counted (`counters.receipted`)

A published row that no receipt frees is published again: `mark_published` schedules it
(`resend_at`) after `Resend.after_s`, doubling with each PUBACK that brings no receipt
(`tries`) up to `Resend.max_s`, and `requeue_due` turns it back into a row to publish when
that time has come (the queue's order then puts alerts first), or at once, all of them, when the
broker comes back without the kiosk's session (`requeue_awaiting`: a broker that forgot the
kiosk may have forgotten what it queued for the township too).  The township drops the
duplicate by its event id and receipts it again.  `resend_at` is on the uplink's wall clock
(real time even in a simulation on a virtual clock: the broker and the township are real),
and one further ahead than `Resend.max_s` (a clock that was ahead and was set back) counts as
due.  A PUBACK saying "no matching subscribers" (0x10) marks the row `unheard`: nobody has it, so
it is never freed on that PUBACK (not even from a township that sends no receipts) and goes again.

`Delivery` holds no connection and opens no transaction: the outbox (`kiosk.outbox.store`) passes
its connection and calls it inside its own write transactions.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

from kiosk.outbox.schema import AWAITING, REFUSED

RECEIPTED = "receipted"  # the counter of rows freed by a receipt, ever


@dataclass(frozen=True, slots=True)
class Resend:
    """When a published row with no receipt is published again: `after_s`, doubling, at most `max_s`."""

    after_s: float = 60.0
    max_s: float = 900.0

    def __post_init__(self) -> None:
        if not 0 < self.after_s <= self.max_s:
            raise ValueError("Resend needs 0 < after_s <= max_s")


class Delivery:
    """Published, receipted, freed: the SQL of the delivery states (see the module docstring)."""

    def __init__(self, resend: Resend | None = None) -> None:
        self.resend = resend or Resend()

    # ----------------------------------------------------------------------------- inside a write transaction
    def published(self, con: sqlite3.Connection, seqs: Iterable[int], stamp: float, at: float, *,
                  heard: bool = True) -> int:
        """The broker acknowledged these rows (`stamp`: the outbox's clock, `at`: the uplink's): they
        await a receipt; schedule their re-send.  `heard=False`: the PUBACK said "no matching
        subscribers" (0x10), so nobody has them: marked `unheard`, never freed on that PUBACK."""
        r = self.resend
        before = con.total_changes
        # `tries` on the right is the value before this update: the first wait is `after_s`.
        con.executemany("UPDATE outbox SET published_at = ?1, tries = tries + 1, "
                        "resend_at = ?2 + min(?3, ?4 * (1 << min(tries, 30))), unheard = ?6 "
                        "WHERE seq = ?5 AND sent_at IS NULL AND rejected IS NULL",
                        [(stamp, at, r.max_s, r.after_s, int(s), None if heard else 1) for s in seqs])
        return con.total_changes - before

    def receipted(self, con: sqlite3.Connection, event_ids: Iterable[str]) -> int:
        """The township holds these events: delete their rows (any state but one the broker refused); how many went.

        Ids of other rows (health, which is not stored; rows already freed) change nothing.
        """
        before = con.total_changes
        con.executemany("DELETE FROM outbox WHERE event_id = ? AND (rejected IS NULL OR rejected = ?)",
                        [(i, REFUSED) for i in event_ids])
        n = con.total_changes - before
        if n:
            con.execute("INSERT INTO counters (name, count) VALUES (?, ?) "
                        "ON CONFLICT (name) DO UPDATE SET count = count + excluded.count", (RECEIPTED, n))
        return n

    def requeue_due(self, con: sqlite3.Connection, now: float, limit: int | None = None) -> int:
        """Rows awaiting a receipt whose re-send is due at `now` become rows to publish; how many.

        `limit`: only that many, alerts first, then the oldest (a probe, `kiosk.uplink.resender`).
        """
        due = f"{AWAITING} AND (resend_at <= ?1 OR resend_at > ?2)"  # or scheduled on a clock that was ahead
        if limit is None:
            return int(con.execute(f"UPDATE outbox SET published_at = NULL WHERE {due}",
                                   (now, now + self.resend.max_s)).rowcount)
        return int(con.execute(f"UPDATE outbox SET published_at = NULL WHERE seq IN (SELECT seq FROM outbox "
                               f"WHERE {due} ORDER BY priority DESC, seq LIMIT ?3)",
                               (now, now + self.resend.max_s, int(limit))).rowcount)

    def requeue_awaiting(self, con: sqlite3.Connection, limit: int | None = None) -> int:
        """Every row awaiting a receipt becomes a row to publish (the broker forgot us: it may have lost them);
        with `limit`, only that many, alerts first, then the oldest."""
        if limit is None:
            return int(con.execute(f"UPDATE outbox SET published_at = NULL WHERE {AWAITING}").rowcount)
        return int(con.execute(f"UPDATE outbox SET published_at = NULL WHERE seq IN (SELECT seq FROM outbox "
                               f"WHERE {AWAITING} ORDER BY priority DESC, seq LIMIT ?)", (int(limit),)).rowcount)

    def free_awaiting(self, con: sqlite3.Connection, now: float) -> int:
        """No receipts come (an old township): rows awaiting one count as delivered, as of `now` — but not those
        whose PUBACK said nobody subscribed (`unheard`): nobody has them, they go again."""
        return int(con.execute(f"UPDATE outbox SET sent_at = ?, resend_at = NULL WHERE {AWAITING} AND unheard IS NULL",
                               (now,)).rowcount)

    def refused(self, con: sqlite3.Connection, event_ids: Iterable[str]) -> int:
        """The township refused these events for good (its receipt's `refused`): dead letters, never published
        again, kept until the retention and counted (`stats().refused`); how many rows changed."""
        before = con.total_changes
        con.executemany("UPDATE outbox SET rejected = ?, resend_at = NULL WHERE event_id = ? AND rejected IS NULL",
                        [(REFUSED, i) for i in event_ids])
        return con.total_changes - before

    def requeue_freed(self, con: sqlite3.Connection) -> int:
        """Receipts came back: rows freed on a PUBACK alone are published again, so that they are receipted.

        Only rows this kiosk published (`published_at` set): not those delivered before receipts existed.
        """
        return int(con.execute("UPDATE outbox SET sent_at = NULL, published_at = NULL, resend_at = NULL "
                               "WHERE sent_at IS NOT NULL AND published_at IS NOT NULL AND rejected IS NULL").rowcount)

    # ----------------------------------------------------------------------------- reading
    def due(self, con: sqlite3.Connection, now: float) -> bool:
        """Is any re-send due at `now`?  (A read, from the index: cheap enough for every second.)"""
        return con.execute(f"SELECT 1 FROM outbox WHERE {AWAITING} AND (resend_at <= ? OR resend_at > ?) LIMIT 1",
                           (now, now + self.resend.max_s)).fetchone() is not None

    def awaiting(self, con: sqlite3.Connection, at_most: int | None = None) -> int:
        if at_most is None:
            return int(con.execute(f"SELECT count(*) FROM outbox WHERE {AWAITING}").fetchone()[0])
        return int(con.execute(f"SELECT count(*) FROM (SELECT 1 FROM outbox WHERE {AWAITING} LIMIT ?)",
                               (int(at_most),)).fetchone()[0])

    def count_receipted(self, con: sqlite3.Connection) -> int:
        row = con.execute("SELECT count FROM counters WHERE name = ?", (RECEIPTED,)).fetchone()
        return 0 if row is None else int(row[0])
