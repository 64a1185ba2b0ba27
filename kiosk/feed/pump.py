"""The kiosk side of the township feed, as one part the kiosk loop drives.

`Feed` is both the kiosk's event store (`kiosk.loop.runtime.EventStore`: it tallies each entry for
the daily summary in the same transaction as the event) and its uplink (`kiosk.loop.runtime.Uplink`:
`poll()` on every loop step, `online` for the status strip).  Each `poll` runs, never blocking:

* the MQTT uplink (`kiosk.uplink.MqttUplink`), which drains the outbox, alerts first;
* the health report every `uplink.health_interval_s` (`kiosk.feed.health`), published directly;
* the daily summary of finished days at `uplink.daily_report_time` (`kiosk.feed.daily`), stored in
  the outbox;
* the outbox's retention and bounds (`Outbox.housekeeping`) every few minutes.

The wall clock may be wrong: the Pi has no RTC, and until NTP answers it runs on the stale time
fake-hwclock saved.  The feed asks the kiosk's `clock_sync` (`kiosk.clocksync`, learnt in
`attach`; none means the clock is trusted): while it is not synchronised, events are stored
flagged as stamped on a stale clock, no daily summary is made (its days would be the stale
timeline's) and nothing is aged out (a jump forward would make minutes-old rows look expired).
Once it is synchronised, the flagged rows are re-stamped (`Outbox.settle_clock`) before either
runs again.

Everything is timed on the kiosk's `Clock`, so a simulation on a virtual clock sees health and
daily reports at virtual times.  Without an uplink (disabled in the configuration) the feed
still tallies, stores daily summaries and keeps the outbox bounded: they go out once a broker is
configured.
"""

from __future__ import annotations

import logging
from typing import Any

from kiosk.config import KioskConfig
from kiosk.feed.daily import DailyReporter
from kiosk.feed.health import EXPIRY_INTERVALS, HEALTH_STREAM, HealthSources, encode, health_report
from kiosk.outbox import Outbox
from kiosk.ports import Clock

log = logging.getLogger(__name__)

HOUSEKEEPING_S = 600.0
SETTLE_RETRY_S = 60.0  # a failed `Outbox.settle_clock` is tried again this much later (not every loop step)


class Feed:
    """Outbox + uplink + health + daily summary behind the two small protocols the loop knows."""

    def __init__(self, config: KioskConfig, clock: Clock, outbox: Outbox, uplink: Any = None, *,
                 clock_sync: Any = None) -> None:
        self.config = config
        self.clock = clock
        self.outbox = outbox
        self.uplink = uplink  # a kiosk.uplink.MqttUplink, or None
        self.clock_sync = clock_sync  # a kiosk.clocksync.ClockSync; None: the attached kiosk's, if any
        self._settled = False  # rows stamped on an unsynchronised clock re-stamped since it became synchronised
        self.daily = DailyReporter(outbox, config)
        self.sources = HealthSources(uplink=uplink)
        self.health_sent = 0
        self._started = clock.monotonic()
        self._health_due = self._started  # the first report goes out as soon as we are online
        self._housekeeping_due = self._started
        self._settle_due = self._started
        self._last: tuple[str, int] | None = None  # (event_id, seq) of the last appended event

    def attach(self, kiosk: Any) -> None:
        """Read the kiosk's state for health and learn each visitor's seconds at the kiosk."""
        self.sources.kiosk = kiosk
        kiosk.on_outcome.append(self.on_outcome)

    @property
    def clock_synced(self) -> bool:
        """Whether the wall clock can be trusted for ages and days (an error answering: no).

        Asks our own `clock_sync`, else the attached kiosk's (`Kiosk.clock_sync`); none: trusted.
        """
        sync = self.clock_sync if self.clock_sync is not None else getattr(self.sources.kiosk, "clock_sync", None)
        if sync is None:
            return True
        return bool(_guarded(sync.synchronized))

    # ----------------------------------------------------------------------------- EventStore
    def append(self, stream: str, event_id: str, payload: bytes, *, priority: int = 0) -> int:
        seq = self.outbox.append(stream, event_id, payload, priority=priority,
                                 visit=self.daily.visit_of(stream, payload), clock_synced=self.clock_synced)
        self._last = (event_id, seq)
        return seq

    def pending_count(self) -> int:
        return self.outbox.pending_count()

    def on_outcome(self, outcome: Any, event: Any) -> None:
        if self._last is not None and self._last[0] == getattr(event, "event_id", None):
            self.outbox.note_seconds(self._last[1], max(0.0, outcome.decided_at - outcome.started_at))

    # ----------------------------------------------------------------------------- Uplink
    @property
    def online(self) -> bool:
        return bool(self.uplink is not None and self.uplink.online)

    def poll(self) -> None:
        """One non-blocking turn of the whole feed; each part is guarded so one cannot stop another."""
        now = self.clock.monotonic()
        if self.uplink is not None:
            _guarded(self.uplink.poll)
        if now >= self._health_due and self.online and _guarded(self._publish_health):
            self._health_due = now + self.config.uplink.health_interval_s
        synced = self.clock_synced
        if not synced:
            self._settled = False
        elif not self._settled and now >= self._settle_due:  # first synchronised turn: re-stamp stale rows first
            self._settled = _guarded(self._settle) is not None
            self._settle_due = now + SETTLE_RETRY_S
        trusted = synced and self._settled
        if trusted:
            _guarded(self.daily.poll, self.clock.wall())
        if now >= self._housekeeping_due:
            self._housekeeping_due = now + HOUSEKEEPING_S
            done = _guarded(self.outbox.housekeeping, clock_synced=trusted)
            if done and done.get("dropped"):
                log.warning("outbox: %d undelivered events dropped after the retention period", done["dropped"])

    def _settle(self) -> int:
        restamped = self.outbox.settle_clock(self.daily.local_day(self.clock.wall()))
        if restamped:
            log.info("outbox: %d events stored before the clock was synchronised re-stamped", restamped)
        return restamped

    def _publish_health(self) -> bool:
        report = health_report(self.config, self.clock, self.outbox, self.sources, started_at=self._started)
        interval = self.config.uplink.health_interval_s
        sent = bool(self.uplink.publish_direct(HEALTH_STREAM, encode(report), retain=True,
                                               expiry_s=int(interval * EXPIRY_INTERVALS)))
        self.health_sent += sent
        return sent

    # ----------------------------------------------------------------------------- the end
    def drain(self, timeout_s: float, *, sleep: Any = None) -> bool:
        """Poll (in real time) until the outbox has nothing pending or `timeout_s` passed; True if empty."""
        import time

        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.poll()
            if self.outbox.pending_count() == 0 and (self.uplink is None or self.uplink.stats().in_flight == 0):
                return True
            if self.uplink is not None:
                self.uplink.wait(0.05)  # until the network thread reports (not a spin: paho needs the GIL)
            else:
                (sleep or time.sleep)(0.01)
        return self.outbox.pending_count() == 0

    def close(self) -> None:
        """Say offline, record the last acks, close the outbox."""
        if self.uplink is not None:
            _guarded(self.uplink.close)
        self.outbox.close()


def _guarded(call: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return call(*args, **kwargs)
    except Exception:
        log.exception("feed: %s failed", getattr(call, "__qualname__", call))
        return None
