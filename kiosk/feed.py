"""The kiosk side of the township feed, as one part the kiosk loop drives.

`Feed` is both the kiosk's event store (`kiosk.runtime.EventStore`: it tallies each entry for
the daily summary in the same transaction as the event) and its uplink (`kiosk.runtime.Uplink`:
`poll()` on every loop step, `online` for the status strip).  Each `poll` runs, never blocking:

* the MQTT uplink (`kiosk.uplink.MqttUplink`), which drains the outbox, alerts first;
* the health report every `uplink.health_interval_s` (`kiosk.health`), published directly;
* the daily summary of finished days at `uplink.daily_report_time` (`kiosk.daily`), stored in
  the outbox;
* the outbox's retention and bounds (`Outbox.housekeeping`) every few minutes.

Everything is timed on the kiosk's `Clock`, so a simulation on a virtual clock sees health and
daily reports at virtual times.  Without an uplink (disabled in the configuration) the feed
still tallies, stores daily summaries and keeps the outbox bounded: they go out once a broker is
configured.
"""

from __future__ import annotations

import logging
from typing import Any

from kiosk.config import KioskConfig
from kiosk.daily import DailyReporter
from kiosk.health import EXPIRY_INTERVALS, HEALTH_STREAM, HealthSources, encode, health_report
from kiosk.outbox import Outbox
from kiosk.ports import Clock

log = logging.getLogger(__name__)

HOUSEKEEPING_S = 600.0


class Feed:
    """Outbox + uplink + health + daily summary behind the two small protocols the loop knows."""

    def __init__(self, config: KioskConfig, clock: Clock, outbox: Outbox, uplink: Any = None) -> None:
        self.config = config
        self.clock = clock
        self.outbox = outbox
        self.uplink = uplink  # a kiosk.uplink.MqttUplink, or None
        self.daily = DailyReporter(outbox, config)
        self.sources = HealthSources(uplink=uplink)
        self.health_sent = 0
        self._started = clock.monotonic()
        self._health_due = self._started  # the first report goes out as soon as we are online
        self._housekeeping_due = self._started
        self._last: tuple[str, int] | None = None  # (event_id, seq) of the last appended event

    def attach(self, kiosk: Any) -> None:
        """Read the kiosk's state for health and learn each visitor's seconds at the kiosk."""
        self.sources.kiosk = kiosk
        kiosk.on_outcome.append(self.on_outcome)

    # ----------------------------------------------------------------------------- EventStore
    def append(self, stream: str, event_id: str, payload: bytes, *, priority: int = 0) -> int:
        seq = self.outbox.append(stream, event_id, payload, priority=priority,
                                 visit=self.daily.visit_of(stream, payload))
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
        _guarded(self.daily.poll, self.clock.wall())
        if now >= self._housekeeping_due:
            self._housekeeping_due = now + HOUSEKEEPING_S
            done = _guarded(self.outbox.housekeeping)
            if done and done.get("dropped"):
                log.warning("outbox: %d undelivered events dropped after the retention period", done["dropped"])

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


def _guarded(call: Any, *args: Any) -> Any:
    try:
        return call(*args)
    except Exception:
        log.exception("feed: %s failed", getattr(call, "__qualname__", call))
        return None
