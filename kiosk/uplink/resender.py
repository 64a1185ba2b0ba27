"""When the rows that await the township's receipt are published again.

A row the broker acknowledged waits for the township's receipt (`kiosk.uplink.receipts`).  If
none comes, the broker may have lost it (a crash before it saved its queue) or the receipt may
have been lost: either way the row goes again, and the township drops the duplicate by its id.
`Resender` decides when, for the uplink, which holds one:

* past its time: each row has its own (`kiosk.outbox.delivery`: from `uplink.receipt_timeout_s`,
  doubling up to `uplink.receipt_backoff_max_s`), looked for every `RESEND_CHECK_S` while
  connected, a read from an index until one is due;
* all at once, when the broker comes back without the kiosk's session (a broker that forgot the
  kiosk may have forgotten what it had queued for the township), or when a run about to end asks
  (`MqttUplink.resend_awaiting`, the simulation's last drain);
* never while the township sends no receipts (the PUBACK frees a row then, as before receipts).
"""

from __future__ import annotations

from kiosk.outbox import Outbox
from kiosk.ports import Clock
from kiosk.uplink.connection import log
from kiosk.uplink.receipts import Receipts

RESEND_CHECK_S = 1.0  # how often (while connected) rows awaiting a receipt past their time are looked for


class Resender:
    """The re-send schedule's side in the uplink (see the module docstring); `resent` counts the rows."""

    def __init__(self, outbox: Outbox, receipts: Receipts, clock: Clock) -> None:
        self.outbox = outbox
        self.receipts = receipts
        self._clock = clock  # the uplink's (real time): its wall clock is the one `resend_at` is on
        self._due = float("-inf")
        self._all: str | None = None  # why every awaited row goes again on the next step
        self.resent = 0

    def everything(self, why: str) -> None:
        """On the next step, publish again every row awaiting a receipt, whatever its time."""
        self._all = why

    def step(self, now: float) -> int:
        """Turn the rows due (or all, if asked) back into rows to publish; how many (the caller rewinds then)."""
        if self.receipts.frees_on_puback or (now < self._due and self._all is None):
            return 0
        self._due = now + RESEND_CHECK_S
        if self._all is not None:
            why, self._all = self._all, None
            n = self.outbox.requeue_awaiting()
            if n:
                log.info("uplink: %s: %d events awaiting a receipt are published again", why, n)
        else:
            n = self.outbox.requeue_due(self._clock.wall())
            if n:
                log.info("uplink: %d events with no receipt in time are published again", n)
        self.resent += n
        return n
