"""The kiosk side of the township feed: the entry log the loop stores into, the pump it turns.

`Feed.build` makes both over one outbox, and the composition root hands them to the kiosk loop
as two collaborators: `Feed.entries` (`kiosk.feed.entries.EntryLog`, the loop's event sink:
each decision committed with its day tally before it is shown) and `Feed.pump` (`FeedPump`, the
loop's poller: `poll(status)` on every pass, `online` for the status strip).  Each `poll` runs,
never blocking:

* the MQTT uplink (`kiosk.uplink.mqtt.MqttUplink`), which drains the outbox, alerts first;
* the health report every `uplink.health_interval_s` (`kiosk.feed.health`), published directly,
  from the `KioskStatus` the loop handed in;
* the daily summary of finished days at `uplink.daily_report_time` (`kiosk.feed.daily`), stored in
  the outbox, with the seconds the kiosk was in service that day (`kiosk.feed.service_time`,
  counted here on every pass, written every few minutes);
* the outbox's retention and bounds (`Outbox.housekeeping`) every few minutes.

`next_due` says when the next of these falls due, so that a simulation on a virtual clock can
jump over an idle stretch without skipping any (`kiosk.simulation.runner`).

The wall clock may be wrong: the Pi has no RTC, and until NTP answers it runs on the stale time
fake-hwclock saved.  Both parts ask the kiosk's `clock_sync` (`kiosk.clocksync`; none means the
clock is trusted): while it is not synchronised, events are stored flagged as stamped on a stale
clock, no daily summary is made (its days would be the stale timeline's) and nothing is aged out
(a jump forward would make minutes-old rows look expired).  Once it is synchronised, the flagged
rows are re-stamped (`Outbox.settle_clock`) before either runs again.

Everything is timed on the kiosk's `Clock`, so a simulation on a virtual clock sees health and
daily reports at virtual times.  Without an uplink (disabled in the configuration) the feed
still tallies, stores daily summaries and keeps the outbox bounded: they go out once a broker is
configured.  Summaries and health name the policy in force (`PolicyInForce`), the one the kiosk
decides by.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from kiosk.checkpoint import PolicyInForce
from kiosk.clocksync import ClockSync
from kiosk.config import KioskConfig
from kiosk.feed.daily import DailyReporter
from kiosk.feed.entries import EntryLog, clock_trusted
from kiosk.feed.health import EXPIRY_INTERVALS, HEALTH_STREAM, encode, health_report
from kiosk.feed.service_time import InService
from kiosk.outbox import Outbox
from kiosk.ports import Clock, KioskStatus

if TYPE_CHECKING:
    from kiosk.uplink import MqttUplink

log = logging.getLogger(__name__)

HOUSEKEEPING_S = 600.0
SETTLE_RETRY_S = 60.0  # a failed `Outbox.settle_clock` is tried again this much later (not every loop step)
RECEIPTS_GRACE_S = 3.0  # `drain`: no receipt this long after the broker took everything: the township sends none


class FeedPump:
    """Uplink, health, daily summary and housekeeping: one non-blocking turn per pass of the loop."""

    def __init__(self, config: KioskConfig, clock: Clock, outbox: Outbox, daily: DailyReporter,
                 uplink: MqttUplink | None = None, *, policy: PolicyInForce,
                 clock_sync: ClockSync | None = None, service: InService | None = None) -> None:
        self.config = config
        self.clock = clock
        self.outbox = outbox
        self.daily = daily
        self.uplink = uplink  # None: no uplink configured (the feed still tallies and keeps the outbox bounded)
        self.policy = policy
        self.clock_sync = clock_sync  # None: the wall clock is trusted
        self.service = service or daily.service or InService(outbox, daily.zone, clock)
        self.status: KioskStatus | None = None  # the kiosk's, as of the last pass (None: not heard from yet)
        self.health_sent = 0
        self._settled = False  # rows stamped on an unsynchronised clock re-stamped since it became synchronised
        self._started = clock.monotonic()
        self._health_due = self._started  # the first report goes out as soon as we are online
        self._housekeeping_due = self._started
        self._settle_due = self._started

    @property
    def online(self) -> bool:
        return bool(self.uplink is not None and self.uplink.online)

    def poll(self, status: KioskStatus | None = None) -> None:
        """One non-blocking turn of the whole feed; each part is guarded so one cannot stop another.

        `status` is the kiosk's as of this pass (kept for the health report); None keeps the last.
        """
        if status is not None:
            self.status = status
        now = self.clock.monotonic()
        if self.uplink is not None:
            _guarded(self.uplink.poll)
        if now >= self._health_due and self.online and _guarded(self._publish_health):
            self._health_due = now + self.config.uplink.health_interval_s
        synced = clock_trusted(self.clock_sync)
        if not synced:
            self._settled = False
        elif not self._settled and now >= self._settle_due:  # first synchronised turn: re-stamp stale rows first
            self._settled = _guarded(self._settle) is not None
            self._settle_due = now + SETTLE_RETRY_S
        trusted = synced and self._settled
        _guarded(self.service.tick, trusted=trusted)
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
        assert self.uplink is not None  # only called while online
        report = health_report(self.config, self.clock, self.outbox, status=self.status, uplink=self.uplink,
                               policy_version=self.policy.version, started_at=self._started)
        interval = self.config.uplink.health_interval_s
        sent = bool(self.uplink.publish_direct(HEALTH_STREAM, encode(report), retain=True,
                                               expiry_s=int(interval * EXPIRY_INTERVALS)))
        self.health_sent += sent
        return sent

    def next_due(self) -> float:
        """The earliest `Clock.monotonic` time at which the feed does something seen outside the kiosk.

        The health report (only while online: offline, none is due) and the daily summary (at the
        next `uplink.daily_report_time`).  Housekeeping and the in-service record are the kiosk's
        own business: after a jump over them they run on the next pass, with the time jumped.
        """
        now = self.clock.monotonic()
        due = now + max(0.0, self.daily.next_report_at(self.clock.wall()) - self.clock.wall())
        return min(due, self._health_due) if self.online else due

    def drain(self, timeout_s: float, *, receipts: bool = True, receipts_grace_s: float = RECEIPTS_GRACE_S,
              sleep: Callable[[float], None] | None = None) -> bool:
        """Poll (in real time) until the township has everything, or `timeout_s` passed; True if it has.

        Everything: nothing pending or in flight, and (with `receipts`) nothing awaiting a receipt,
        unless the township sends none: receipts `"absent"`, or still `"expected"` with none
        arrived within `receipts_grace_s` of the broker having taken everything.  A township that
        receipts but has not named some rows `receipts_grace_s` after the broker took everything
        gets them again at once (`MqttUplink.resend_awaiting`) rather than at their re-send time,
        which may be minutes away: this run is about to end.
        """
        deadline = time.monotonic() + timeout_s
        taken_at: float | None = None  # when the broker had everything (again)
        while True:
            self.poll()
            if self._drained(receipts, taken_at, receipts_grace_s):
                return True
            if taken_at is None and self._taken():
                taken_at = time.monotonic()
            elif taken_at is not None and receipts and self.uplink is not None \
                    and self.uplink.receipts.mode == "present" and time.monotonic() - taken_at >= receipts_grace_s:
                self.uplink.resend_awaiting()  # the rows the broker may have lost go now, not in minutes
                taken_at = None
            if time.monotonic() >= deadline:
                return False
            if self.uplink is not None:
                self.uplink.wait(0.05)  # until the network thread reports (not a spin: paho needs the GIL)
            else:
                (sleep or time.sleep)(0.01)

    def _taken(self) -> bool:
        return self.outbox.pending_count() == 0 and (self.uplink is None or self.uplink.stats().in_flight == 0)

    def _drained(self, receipts: bool, taken_at: float | None, grace_s: float) -> bool:
        if not self._taken():
            return False
        if not receipts or self.uplink is None or self.outbox.awaiting_count() == 0:
            return True
        mode = self.uplink.receipts.mode
        return mode == "absent" or (mode == "expected" and taken_at is not None
                                    and time.monotonic() - taken_at >= grace_s)

    def close(self) -> None:
        """Say offline, record the last acks and the in-service time (the outbox is the entry log's to close)."""
        _guarded(self.service.tick, trusted=self._settled and clock_trusted(self.clock_sync))
        _guarded(self.service.flush)
        if self.uplink is not None:
            _guarded(self.uplink.close)


@dataclass(frozen=True, slots=True)
class Feed:
    """The two halves of the feed over one outbox, as the composition root builds them."""

    entries: EntryLog
    pump: FeedPump

    @classmethod
    def build(cls, config: KioskConfig, clock: Clock, outbox: Outbox, uplink: MqttUplink | None = None, *,
              policy: PolicyInForce | None = None, clock_sync: ClockSync | None = None) -> Feed:
        """The feed of `outbox` (and `uplink`, if any), naming `policy` (the kiosk's policy in force)."""
        policy = policy or PolicyInForce(config.policy)
        service = InService(outbox, ZoneInfo(config.uplink.timezone), clock)
        daily = DailyReporter(outbox, config, policy, service=service)
        return cls(EntryLog(outbox, daily, clock_sync=clock_sync),
                   FeedPump(config, clock, outbox, daily, uplink, policy=policy, clock_sync=clock_sync,
                            service=service))

    @property
    def outbox(self) -> Outbox:
        return self.entries.outbox

    @property
    def daily(self) -> DailyReporter:
        return self.entries.daily

    @property
    def uplink(self) -> MqttUplink | None:
        return self.pump.uplink

    def close(self) -> None:
        """Say offline, record the last acks, close the outbox."""
        self.pump.close()
        self.entries.close()


def _guarded(call: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return call(*args, **kwargs)
    except Exception:
        log.exception("feed: %s failed", getattr(call, "__qualname__", call))
        return None
