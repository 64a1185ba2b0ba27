"""The daily summary: what one kiosk decided on one local calendar day, zero counts included.

Townships need a report from every kiosk every day, including the kiosks that saw nobody: a
missing report then means a kiosk that is down, never a quiet one.  So each day's summary is
computed from the outbox's day tally (`kiosk.outbox.Tally`, written in the same transaction as
each entry event) and stored in the outbox as an ordinary event of stream `daily`, in the one
transaction that also records the day as reported (`Outbox.report_day`).  A reboot at any
instant therefore neither loses a day's report nor makes a second one, and the report itself
travels like every other event: at least once, dropped as a duplicate by its `event_id`.

At `uplink.daily_report_time` (local time, `uplink.timezone`) the previous day is reported; a
kiosk that was off for days reports each missed day when it comes back (they are zeros: it saw
nobody), going back no further than the day the feed first ran on this outbox and no further
than the outbox's retention.

Payload (JSON, `schema` 1; these names are stable and are the `DailySummary` schema in
`config/asyncapi.yaml`):

    schema               1
    event_id             UUIDv7 (consumers drop duplicates by it)
    at                   epoch seconds the summary was made
    day                  "YYYY-MM-DD", the local calendar day counted
    timezone             IANA zone whose day it is, e.g. "Asia/Shanghai"
    period_start/_end    epoch seconds of that day's local midnight and the next one
    township/site/kiosk  where
    policy_version       the policy in force when the summary was made (`PolicyInForce`)
    policy_versions      every policy version that decided an entry that day (sorted)
    visitors             decisions made (every visitor, PASS or STOP)
    alerts               decisions reported at once as alerts
    decisions            {"PASS": n, "STOP": n}, both always present
    reasons              {reason: n} for every reason in `kiosk.checkpoint.policy.REASONS`, zeros included
    seconds_per_visitor  mean seconds from a visitor's arrival to the decision; null if no visitor
    in_service_s         seconds of that local day the kiosk process was running, 0..86400
                         (`kiosk.feed.service_time`): a zero report with 0 here means "not
                         screened" (the kiosk was off), never a quiet day
"""

from __future__ import annotations

import json
import logging
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from kiosk.checkpoint import ALERT_REASONS, REASONS, PolicyInForce, Verdict
from kiosk.config import KioskConfig
from kiosk.feed.events import EntryEvent
from kiosk.feed.service_time import InService
from kiosk.ids import uuid7
from kiosk.outbox import Outbox, OutboxFull, Tally

log = logging.getLogger(__name__)

DAILY_STREAM = "daily"
DAILY_PRIORITY = 5  # ahead of a backlog of entries, behind alerts
SCHEMA = 1
SINCE_KEY = "daily_since"  # outbox meta: the first day this outbox's feed ran


class DailyReporter:
    """Tallies decisions by local day and stores each finished day's summary once."""

    def __init__(self, outbox: Outbox, config: KioskConfig, policy: PolicyInForce | None = None, *,
                 service: InService | None = None) -> None:
        self.outbox = outbox
        self.config = config
        self.policy = policy or PolicyInForce(config.policy)  # the kiosk's, so a summary names the version applied
        self.zone = ZoneInfo(config.uplink.timezone)
        self.service = service  # the running in-service totals; None: only what the outbox recorded
        hh, mm = config.uplink.daily_report_time.split(":")
        self.report_time = time(int(hh), int(mm))
        self._reported: set[str] | None = None  # cache of the outbox's reported days
        self._checked_minute: int | None = None

    # ----------------------------------------------------------------------------- tally
    def local_day(self, wall: float) -> str:
        return datetime.fromtimestamp(wall, self.zone).date().isoformat()

    def tally_of(self, event: EntryEvent) -> Tally:
        """The day tally's row for an entry or alert: its local day, decision, reasons and policy version."""
        return Tally(day=self.local_day(event.at), decision=event.decision, reasons=tuple(event.reasons),
                     policy_version=event.policy_version)

    # ----------------------------------------------------------------------------- reporting
    def poll(self, wall: float) -> list[str]:
        """Store the summary of every finished day that is due and not yet reported; the days stored.

        Cheap when nothing is due (checked once per minute of wall time).  `wall` must come from a
        synchronised clock: the feed does not call this until it is (`kiosk.feed.pump`), since on the
        stale time of a Pi without RTC the due days would be the wrong ones.
        """
        minute = int(wall // 60)
        if minute == self._checked_minute:
            return []
        self._checked_minute = minute
        return [day for day in self.due_days(wall) if self.report(day, wall)]

    def next_report_at(self, wall: float) -> float:
        """The next wall time after `wall` at which a day's summary falls due (`uplink.daily_report_time`)."""
        now = datetime.fromtimestamp(wall, self.zone)
        at = datetime.combine(now.date(), self.report_time, self.zone)
        if at.timestamp() <= wall:
            at = datetime.combine(now.date() + timedelta(days=1), self.report_time, self.zone)
        return at.timestamp()

    def in_service_s(self, day: str) -> int:
        if self.service is not None:
            return self.service.seconds(day)
        return max(0, min(86_400, round(self.outbox.service_seconds(day))))

    def due_days(self, wall: float) -> list[str]:
        now = datetime.fromtimestamp(wall, self.zone)
        today = now.date()
        since = self.outbox.meta_get(SINCE_KEY)
        if since is None:
            since = today.isoformat()
            self.outbox.meta_set(SINCE_KEY, since)
        last_due = today - timedelta(days=1 if now.time() >= self.report_time else 2)
        oldest = max(date.fromisoformat(since), today - timedelta(days=int(self.outbox.limits.retention_s // 86_400)))
        if self._reported is None:
            self._reported = set(self.outbox.reported_days())
        days = []
        day = oldest
        while day <= last_due:
            if day.isoformat() not in self._reported:
                days.append(day.isoformat())
            day += timedelta(days=1)
        return days

    def report(self, day: str, wall: float) -> bool:
        """Store `day`'s summary now unless it was reported already; True if stored."""
        summary = self.summary(day, wall)
        payload = json.dumps(summary, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
        try:
            stored = self.outbox.report_day(day, DAILY_STREAM, summary["event_id"], payload, priority=DAILY_PRIORITY)
        except OutboxFull as exc:  # nothing recorded: tried again at a later minute
            log.warning("daily summary of %s not stored yet: %s", day, exc)
            return False
        if self._reported is not None:
            self._reported.add(day)
        if stored:
            log.info("daily summary of %s stored: %d visitors", day, summary["visitors"])
        return stored

    def summary(self, day: str, wall: float) -> dict[str, Any]:
        d = date.fromisoformat(day)
        start = datetime.combine(d, time(0), self.zone).timestamp()
        end = datetime.combine(d + timedelta(days=1), time(0), self.zone).timestamp()
        decisions = {v.value: 0 for v in Verdict}
        reasons = dict.fromkeys(REASONS, 0)
        versions: set[str] = set()
        alerts = 0
        seconds: list[float] = []
        tally = self.outbox.day_tally(day)
        for decision, why, secs, version in tally:
            decisions[decision] = decisions.get(decision, 0) + 1
            for reason in why:
                reasons[reason] = reasons.get(reason, 0) + 1
            alerts += any(r in ALERT_REASONS for r in why)
            if version:
                versions.add(version)
            if secs is not None:
                seconds.append(secs)
        site = self.config.site
        return {
            "schema": SCHEMA,
            "event_id": uuid7(wall),
            "at": round(wall, 3),
            "day": day,
            "timezone": self.config.uplink.timezone,
            "period_start": start,
            "period_end": end,
            "township": site.township,
            "site": site.site_id,
            "kiosk": site.kiosk_id,
            "policy_version": self.policy.version,
            "policy_versions": sorted(versions),
            "visitors": len(tally),
            "alerts": alerts,
            "decisions": decisions,
            "reasons": reasons,
            "seconds_per_visitor": round(sum(seconds) / len(seconds), 2) if seconds else None,
            "in_service_s": self.in_service_s(day),
        }
