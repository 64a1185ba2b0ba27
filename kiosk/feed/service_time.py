"""Seconds in service per local day: the daily summary's `in_service_s`.

A zero report says "nobody came" only if the kiosk was there to see them.  So each daily summary
says how many seconds of that local day the kiosk process was running (`in_service_s`,
0..86400): a late zero report from a kiosk that was off then reads as "not screened" at the
township, not as a quiet day.

Cheap and durable enough, never an fsync per loop pass: `InService.tick` (each pass of the feed)
adds the monotonic time since the last pass to the local day(s) it fell on, in memory, split at
midnight; every `FLUSH_S` of the kiosk's clock the running totals are added to the outbox's
`service` table in one small transaction (`Outbox.add_service`), and at `close`.  A power cut
therefore loses at most `FLUSH_S` of in-service time, never a report.  On a virtual clock (a
simulation) the seconds are virtual, jumps over idle stretches included: the kiosk was running.

Time counted while the wall clock is not synchronised (a Pi without RTC before NTP answers) has
no trustworthy day: it is held and counted on the day the clock is first found right.
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from kiosk.outbox import Outbox
from kiosk.ports import Clock

log = logging.getLogger(__name__)

FLUSH_S = 300.0  # in-service seconds reach the disk this often: a power cut loses at most this much
DAY_S = 86_400


class InService:
    """The running per-day totals of the kiosk's time in service (see the module docstring)."""

    def __init__(self, outbox: Outbox, zone: ZoneInfo, clock: Clock, *, flush_s: float = FLUSH_S) -> None:
        self.outbox = outbox
        self.zone = zone
        self.clock = clock
        self.flush_s = flush_s
        self._last = clock.monotonic()
        self._flush_due = self._last + flush_s
        self._unsaved: dict[str, float] = {}
        self._held = 0.0  # seconds counted while the clock could not be trusted
        self._span: tuple[float, float, str] = (0.0, 0.0, "")  # [start, end) wall of the day last seen, its name

    @property
    def next_due(self) -> float:
        """When (`Clock.monotonic`) the totals are next written to the outbox."""
        return self._flush_due

    def tick(self, *, trusted: bool = True) -> None:
        """Count the time since the last tick; write the totals when due (an outbox error is logged, kept)."""
        now = self.clock.monotonic()
        elapsed, self._last = max(0.0, now - self._last), now
        if not trusted:
            self._held += elapsed
            return
        wall = self.clock.wall()
        self._spread(wall - elapsed, wall)
        if self._held:  # counted on the day the clock was found right
            day = self._day(wall)[2]
            self._unsaved[day] = self._unsaved.get(day, 0.0) + self._held
            self._held = 0.0
        if now >= self._flush_due:
            self.flush()

    def flush(self) -> None:
        """Add the running totals to the outbox (and note the time: the kiosk ran until now)."""
        self._flush_due = self.clock.monotonic() + self.flush_s
        try:
            self.outbox.add_service(self._unsaved)
        except sqlite3.Error:
            log.exception("feed: in-service time not recorded; kept for the next try")
            return
        self._unsaved = {}

    def seconds(self, day: str) -> int:
        """Seconds in service on local `day`, recorded and not yet recorded, at most a day's."""
        try:
            recorded = self.outbox.service_seconds(day)
        except sqlite3.Error:
            log.exception("feed: in-service time unreadable")
            recorded = 0.0
        return max(0, min(DAY_S, round(recorded + self._unsaved.get(day, 0.0))))

    def _spread(self, start: float, end: float) -> None:
        while start < end:
            _, day_end, day = self._day(start)
            part = min(end, day_end) - start
            self._unsaved[day] = self._unsaved.get(day, 0.0) + part
            start += part

    def _day(self, wall: float) -> tuple[float, float, str]:
        span = self._span
        if not span[0] <= wall < span[1]:
            d = datetime.fromtimestamp(wall, self.zone).date()
            start = datetime.combine(d, time(0), self.zone).timestamp()
            end = datetime.combine(d + timedelta(days=1), time(0), self.zone).timestamp()
            span = self._span = (start, end, d.isoformat())
        return span
