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
* only a probe while the township is silent: when no receipt has come for longer than the longest
  back-off (`Resend.max_s`), rows awaiting one are not all published again every `max_s` (200
  kiosks x 500 rows would fill the broker's queue for an absent listener, and it would then drop
  new events): only `PROBE_ROWS` of them, alerts first, then the oldest, once per `max_s`, until a
  receipt (any) shows the township is back; then every row due goes again at once;
* from a township that sends no receipts (the PUBACK frees a row then, as before receipts) only
  the rows whose PUBACK said nobody subscribed (0x10), and in probes once it is silent too.
"""

from __future__ import annotations

from kiosk.outbox import Outbox
from kiosk.ports import Clock
from kiosk.uplink.connection import log
from kiosk.uplink.receipts import Receipts

RESEND_CHECK_S = 1.0  # how often (while connected) rows awaiting a receipt past their time are looked for
PROBE_ROWS = 20  # published again per round while the township is silent


class Resender:
    """The re-send schedule's side in the uplink (see the module docstring); `resent` counts the rows."""

    def __init__(self, outbox: Outbox, receipts: Receipts, clock: Clock) -> None:
        self.outbox = outbox
        self.receipts = receipts
        self._clock = clock  # the uplink's (real time): its wall clock is the one `resend_at` is on
        self._due = float("-inf")
        self._all: str | None = None  # why every awaited row goes again on the next step
        self._next_probe = float("-inf")
        self._probe_at = float("-inf")  # the uplink's monotonic clock when the last probe went out
        self.probing = False  # the township is silent: re-sends are probes (see the module docstring)
        self.probes = 0
        self.resent = 0

    def everything(self, why: str) -> None:
        """On the next step, publish again every row awaiting a receipt, whatever its time."""
        self._all = why

    def step(self, now: float) -> int:
        """Turn the rows due (or all, if asked) back into rows to publish; how many (the caller rewinds then)."""
        if now < self._due and self._all is None:
            return 0
        self._due = now + RESEND_CHECK_S
        max_s = self.outbox.resend.max_s
        heard = self.receipts.last_heard
        if self.probing:  # until a receipt comes after a probe went out (or nothing is left to deliver: none
            # awaits a receipt, none waits to be published or is in flight — a probe's rows are, for a moment)
            if (heard is not None and heard > self._probe_at) or (
                    self.outbox.awaiting_count(at_most=1) == 0 and self.outbox.pending_count() == 0):
                self.probing = False
                log.info("uplink: the township receipts again: rows awaiting a receipt go again as due")
        elif self.receipts.quiet_s(now) > max_s and self.outbox.awaiting_count(at_most=1) > 0:
            self.probing, self._probe_at = True, now
            log.warning("uplink: no receipt from the township for %.0f s: rows awaiting one are published "
                        "again only %d at a time (a probe) until one comes", self.receipts.quiet_s(now), PROBE_ROWS)
        probing = self.probing
        limit = None
        if probing:
            if now < self._next_probe:
                return 0
            self._next_probe, self._probe_at, limit = now + max_s, now, PROBE_ROWS
        if self._all is not None:
            why, self._all = self._all, None
            n = self.outbox.requeue_awaiting(limit=limit)
            if n:
                log.info("uplink: %s: %d events awaiting a receipt are published again", why, n)
        else:
            n = self.outbox.requeue_due(self._clock.wall(), limit=limit)
            if n:
                log.info("uplink: %d events with no receipt in time are published again", n)
        if probing and n:
            self.probes += 1
        self.resent += n
        return n
