"""What the feed's tests build again and again: a feed over a real outbox, and typed entries to store in it."""

from __future__ import annotations

from pathlib import Path

from kiosk.checkpoint import Decision, Verdict, VisitorOutcome
from kiosk.clock import VirtualClock
from kiosk.clocksync import ClockSync
from kiosk.config import KioskConfig
from kiosk.feed import EntryEvent, Feed
from kiosk.outbox import Limits, Outbox

DAY = 86_400.0


def feed_over(tmp_path: Path, clock: VirtualClock, *, clock_sync: ClockSync | None = None,
              limits: Limits | None = None, config: KioskConfig | None = None) -> Feed:
    """A feed over a new outbox in `tmp_path` (retention: a week), without an uplink."""
    outbox = Outbox(tmp_path / "o.sqlite", clock=clock, limits=limits or Limits(retention_s=7 * DAY))
    return Feed.build(config or KioskConfig(), clock, outbox, clock_sync=clock_sync)


def entry(event_id: str, wall: float, decision: str = "PASS", reasons: tuple[str, ...] = (), *,
          alert: bool = False, policy_version: str = "p", seconds: float = 3.0) -> tuple[EntryEvent, VisitorOutcome]:
    """An entry decided at `wall` (and the outcome it records, `seconds` after the visitor arrived)."""
    verdict = Verdict(decision)
    event = EntryEvent(event_id=event_id, at=wall, township="t", site="s", kiosk="k", decision=decision,
                       reasons=reasons, temperature_c=36.5, code=None, policy_version=policy_version,
                       mode="risk-areas", alert=alert)
    outcome = VisitorOutcome(Decision(verdict, reasons), 36.5, 36.5, None, started_at=0.0, decided_at=seconds)
    return event, outcome
