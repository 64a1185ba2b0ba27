"""What the broker and the township said, written to the outbox in batches.

PUBACKs, the broker's refusals and the township's receipts all change outbox rows, and every
change is a transaction, that is an fsync: 2 to 20 ms on an SD card.  One per PUBACK would cap
the drain of a backlog at a few hundred events a second.  So `Recorder` collects them and writes
them in batches: the PUBACKs of up to `ACK_BATCH` rows (or those of `ACK_DELAY_S`) together with
the receipts that came meanwhile, in one transaction (`Outbox.mark_published`), and at once
when nothing more is in flight.  Receipts alone wait longer (`RECEIPT_BATCH`, `RECEIPT_DELAY_S`),
even with nothing in flight: during a drain they ride in the acks' transactions, so that they
cost no fsync of their own, and after it, as the township's receipts trickle in, one
transaction a second at most frees what came.  An
ack not yet written at a power cut costs a duplicate later, never a loss; a receipt not yet
written costs a re-send the township drops.

What a PUBACK means depends on the township (`kiosk.uplink.receipts`): the row awaits its
receipt (`mark_published`), or, from a township that sends none, it is freed (`mark_sent`) —
never when it said "no matching subscribers" (0x10): nobody has the event, so it awaits and goes
again, whatever the mode.  The township's refusals (a receipt's `refused`) are written the same way.
The mode changes the receipts owe (free the awaiting rows; publish again those freed on a PUBACK
alone) are made here too, before the next batch, and retried until the outbox takes them.
"""

from __future__ import annotations

import time

from kiosk.outbox import Outbox
from kiosk.ports import Clock
from kiosk.uplink.connection import log
from kiosk.uplink.receipts import ABSENT, PRESENT, Receipts

ACK_BATCH = 4096  # acks recorded in one transaction at most this many ...
ACK_DELAY_S = 0.5  # ... or after this long, or at once when nothing more is in flight
RECEIPT_BATCH = 5000  # receipted ids waiting alone: record at this many ...
RECEIPT_DELAY_S = 1.0  # ... or this old (with an ack's transaction sooner)


class Recorder:
    """Acks, refusals and receipts not yet on disk; `record` writes them (see the module docstring).

    A part of `MqttUplink`, which holds one and tells it what the network thread reported
    (`acked`, `refused`); the receipts come through the `Receipts` part it is given.  `clock`
    is the uplink's (real time): its wall clock schedules the re-sends.
    """

    def __init__(self, outbox: Outbox, receipts: Receipts, clock: Clock) -> None:
        self.outbox = outbox
        self.receipts = receipts
        self._clock = clock
        self._acked: list[int] = []  # acknowledged, not yet recorded in the outbox
        self._unheard: list[int] = []  # acknowledged with "no matching subscribers" (0x10): nobody has them
        self._first_ack_at = 0.0  # time.monotonic() of the oldest unrecorded ack
        self._refused: list[tuple[int, int]] = []  # (seq, reason code) refused, not yet recorded
        self.done: set[int] = set()  # the seqs of both, for the uplink's look-ups (kept, not rebuilt per poll)
        self._ids: list[str] = []  # receipted, taken from `receipts`, not yet recorded
        self._refused_ids: list[str] = []  # refused by the township, taken from `receipts`, not yet recorded
        self.receipted = 0  # rows freed by a receipt (through this uplink)
        self.requeued = 0  # rows freed on a PUBACK alone, published again when receipts came back

    def acked(self, seq: int, *, heard: bool = True) -> None:
        """The broker acknowledged row `seq`; `heard=False`: with 0x10, no subscriber had it."""
        if not self._acked and not self._unheard:
            self._first_ack_at = time.monotonic()
        (self._acked if heard else self._unheard).append(seq)
        self.done.add(seq)

    def refused(self, seq: int, code: int) -> None:
        self._refused.append((seq, code))
        self.done.add(seq)

    @property
    def unrecorded(self) -> int:
        return (len(self._acked) + len(self._unheard) + len(self._refused) + len(self._ids) + len(self._refused_ids)
                + self.receipts.waiting)

    def record(self, *, force: bool = False, idle: bool = False) -> None:
        """Write what is due: all of it with `force`, or when `idle` (nothing in flight, nothing more
        to publish), or when a batch is full or old enough.  Each write is one transaction; what
        fails (an `sqlite3.Error` propagates) is kept for the next call."""
        self._transition()
        if self.receipts.seen_owed:
            self.outbox.note_receipts_seen()  # remembered in the file: this township sends receipts
            self.receipts.seen_owed = False
        acked, unheard, waiting = self._acked, self._unheard, self.receipts.waiting
        count = len(acked) + len(unheard)
        due = bool(count) and (idle or count >= ACK_BATCH or time.monotonic() - self._first_ack_at >= ACK_DELAY_S)
        # Receipts ride with the acks: on their own they are written only when many or old, even with nothing in
        # flight (a receipt written late holds a row a moment longer; a commit costs an fsync, and after a drain
        # the township's receipts trickle in a few ids at a time: one commit each would double the drain's fsyncs).
        due = due or waiting >= RECEIPT_BATCH or self.receipts.oldest_s >= RECEIPT_DELAY_S
        if (count or waiting or self._ids or self._refused_ids) and (force or self._ids or self._refused_ids or due):
            ids, refused = self.receipts.take()  # kept here if the write fails, written first next time
            self._ids.extend(ids)
            self._refused_ids.extend(refused)
            ids, refused = self._ids, self._refused_ids
            at = self._clock.wall()
            if self.receipts.frees_on_puback:
                if acked:
                    self.outbox.mark_sent(acked)
                    self.receipts.heard()  # a subscriber had them: the township (an old one) is there
                freed = self.outbox.mark_published((), at=at, receipted=ids, unheard=unheard, refused=refused)[1]
            else:
                published, freed = self.outbox.mark_published(acked, at=at, receipted=ids, unheard=unheard,
                                                               refused=refused)
                if published:
                    self.receipts.awaiting = True
            self.receipted += freed
            self.done.difference_update(acked)
            self.done.difference_update(unheard)
            self._acked, self._unheard, self._ids, self._refused_ids = [], [], [], []
        while self._refused:
            seq, code = self._refused[0]
            self.outbox.mark_rejected([seq], code)
            self._refused.pop(0)
            self.done.discard(seq)

    def _transition(self) -> None:
        owed = self.receipts.transition
        if owed == ABSENT:
            freed = self.outbox.free_awaiting()
            log.info("uplink: %d events awaiting a receipt freed (the township sends none)", freed)
        elif owed == PRESENT:
            n = self.outbox.requeue_freed()
            self.requeued += n
            if n:
                log.info("uplink: %d events freed without a receipt are published again", n)
        if owed is not None:
            self.receipts.done()
