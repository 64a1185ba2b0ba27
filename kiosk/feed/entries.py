"""The kiosk's record of entries: each decision committed to the outbox and tallied for its day.

`EntryLog` is the event sink the kiosk loop stores into (`kiosk.loop.EventSink`): `store` takes
the typed event and the outcome it records, and commits the payload, the day's tally row (the
daily summary's counts: `DailyReporter.tally_of`) and the visitor's seconds at the kiosk in the
outbox, durably, before the decision is shown.  Nothing is parsed back out of the bytes.

The wall clock may be wrong: the Pi has no RTC, and until NTP answers it runs on the stale time
fake-hwclock saved.  While `clock_sync` says it is not synchronised, rows are stored flagged as
stamped on a stale clock (`Outbox.settle_clock` re-stamps them once it is; see `kiosk.feed.pump`).
"""

from __future__ import annotations

import logging

from kiosk.checkpoint import VisitorOutcome
from kiosk.clocksync import ClockSync
from kiosk.feed.daily import DailyReporter
from kiosk.feed.events import EntryEvent
from kiosk.outbox import Outbox

log = logging.getLogger(__name__)


def clock_trusted(clock_sync: ClockSync | None) -> bool:
    """Whether the wall clock can be trusted for ages and days: no `clock_sync` says yes, an error answering no."""
    if clock_sync is None:
        return True
    try:
        return bool(clock_sync.synchronized())
    except Exception:
        log.exception("feed: the clock synchronisation could not be read")
        return False


class EntryLog:
    """Stores each entry with its tally row and seconds; other records (config acks) with the clock flag."""

    def __init__(self, outbox: Outbox, daily: DailyReporter, *, clock_sync: ClockSync | None = None) -> None:
        self.outbox = outbox
        self.daily = daily
        self.clock_sync = clock_sync  # None: the wall clock is trusted

    @property
    def clock_synced(self) -> bool:
        return clock_trusted(self.clock_sync)

    def store(self, event: EntryEvent, outcome: VisitorOutcome) -> int:
        """Commit one decision's event, its tally row and its seconds; raises if it was not stored."""
        seq = self.outbox.append(event.stream, event.event_id, event.to_json(), priority=event.priority,
                                 tally=self.daily.tally_of(event), clock_synced=self.clock_synced)
        self.outbox.note_seconds(seq, max(0.0, outcome.decided_at - outcome.started_at))
        return seq

    def append(self, stream: str, event_id: str, payload: bytes, *, priority: int = 0) -> int:
        """Store a record that is not an entry (a configuration ack): no tally, the clock flag all the same."""
        return self.outbox.append(stream, event_id, payload, priority=priority, clock_synced=self.clock_synced)

    def pending_count(self) -> int:
        """Events not yet at the township (the status strip's "buffered"): to publish, or awaiting a receipt."""
        return self.outbox.pending_count() + self.outbox.awaiting_count()

    def close(self) -> None:
        self.outbox.close()
