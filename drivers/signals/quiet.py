"""Quiet hours: at night a kiosk in a residential lobby must not beep at every visitor.

The lights go on showing every signal (a guard across the hall still sees them); only the
buzzer is changed: `off` silences it, `short` keeps one short beep for the signals that need
someone's attention (STOP and FAULT) and drops the others (PASS, ATTENTION).  The rule is read
from the site's configuration (`signals.quiet_from`, `quiet_until`, `quiet_buzzer`) and decided
when a signal starts, so a pattern is never cut off half-way when the hour turns.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

from kiosk.ports import Signal

from .patterns import Pattern, Step

SHORT_BEEP_S = 0.05
NEEDS_ATTENTION = frozenset({Signal.STOP, Signal.FAULT})

BuzzerRule = Literal["off", "short"]


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    value = int(hours) * 60 + int(minutes)
    if not (0 <= int(hours) < 24 and 0 <= int(minutes) < 60):
        raise ValueError(f"not a time of day: {hhmm!r}")
    return value


@dataclass(frozen=True, slots=True)
class QuietHours:
    """From `start` to `end` (minutes after local midnight; may wrap past midnight)."""

    start: int
    end: int
    buzzer: BuzzerRule = "short"

    @classmethod
    def parse(cls, start: str, end: str, buzzer: BuzzerRule = "short") -> QuietHours | None:
        """From the configuration's "HH:MM" strings; None when no quiet hours are set."""
        if not start and not end:
            return None
        if not start or not end:
            raise ValueError("quiet hours need both a start and an end")
        quiet = cls(_minutes(start), _minutes(end), buzzer)
        if quiet.start == quiet.end:
            raise ValueError("quiet hours must start and end at different times")
        return quiet

    def contains(self, wall: float) -> bool:
        """Is the local time at epoch `wall` within the quiet hours?"""
        local = time.localtime(wall)
        minute = local.tm_hour * 60 + local.tm_min
        if self.start < self.end:
            return self.start <= minute < self.end
        return minute >= self.start or minute < self.end  # e.g. 22:00 → 07:00

    def pattern(self, signal: Signal, pattern: Pattern) -> Pattern:
        """`pattern` as played in quiet hours: the same lights, a quieter buzzer."""
        keep = self.buzzer == "short" and signal in NEEDS_ATTENTION
        return quieted(pattern, keep_first_beep=keep)


def quieted(pattern: Pattern, *, keep_first_beep: bool) -> Pattern:
    """The pattern with its buzzer off, or reduced to one `SHORT_BEEP_S` beep at its first beep."""
    first = next((s.at for s in pattern.steps if s.buzzer), None) if keep_first_beep else None
    steps: list[Step] = []
    for step in pattern.steps:
        buzzer = step.buzzer if step.buzzer is None else (step.at == first)
        steps.append(step._replace(buzzer=buzzer))
    if first is not None:
        end = first + SHORT_BEEP_S
        later = [s for s in steps if s.at > first]
        if not any(abs(s.at - end) < 1e-9 for s in later):
            if later and later[0].at < end:  # a step inside the short beep already ends it
                end = later[0].at
            else:
                before = [s for s in steps if s.at <= end][-1]
                steps.append(Step(end, False, before.green, before.red))
        steps.sort(key=lambda s: s.at)
    return Pattern(tuple(steps), loop_from=pattern.loop_from, period=pattern.period)
