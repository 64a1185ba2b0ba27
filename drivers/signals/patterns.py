"""What the buzzer and the two lights do for each `Signal`, as timelines.

A pattern is data, not a thread: a list of steps `(t_offset, buzzer, green, red)` read at
whatever time the kiosk loop asks about.  That is what makes the signals deterministic on a
virtual clock, and what lets a site change a pattern without touching driver code.

A channel given as `None` is not the pattern's to drive: ATTENTION only beeps, and whatever the
lights were showing goes on underneath it.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

from kiosk.ports import Signal

_EPS = 1e-9  # a time within a nanosecond of a step counts as reaching it (float sums of ticks)


class Step(NamedTuple):
    """From `at` seconds after the pattern starts, these outputs hold (None: not driven)."""

    at: float
    buzzer: bool | None
    green: bool | None
    red: bool | None


class Outputs(NamedTuple):
    buzzer: bool | None
    green: bool | None
    red: bool | None


@dataclass(frozen=True)
class Pattern:
    """Steps in time order, the first at 0.

    A pattern with `period` repeats, from `loop_from` on, every `period` seconds, for as long
    as it is shown; one without is over at its last step, and its last step's outputs stay.
    """

    steps: tuple[Step, ...]
    loop_from: float = 0.0
    period: float | None = None

    def __post_init__(self) -> None:
        times = [s.at for s in self.steps]
        if not times or times[0] != 0.0 or times != sorted(times):
            raise ValueError("steps must start at 0 and be in time order")
        if self.period is not None and not (
                self.period > 0 and self.loop_from in times and self.loop_from + self.period > times[-1]):
            raise ValueError("a repeating pattern loops from one of its steps, over a period that "
                             "covers the rest")

    @property
    def is_overlay(self) -> bool:
        """True when it leaves some output to whatever pattern runs underneath."""
        return any(None in s[1:] for s in self.steps)

    def _fold(self, elapsed: float) -> float:
        if self.period is None or elapsed < self.loop_from:
            return elapsed
        return self.loop_from + (elapsed - self.loop_from) % self.period

    def outputs_at(self, elapsed: float) -> Outputs:
        """The outputs `elapsed` seconds after the start."""
        t = self._fold(max(0.0, elapsed) + _EPS)
        i = bisect.bisect_right([s.at for s in self.steps], t) - 1
        return Outputs(*self.steps[max(i, 0)][1:])

    def is_over(self, elapsed: float) -> bool:
        return self.period is None and elapsed + _EPS >= self.steps[-1].at

    def next_step_after(self, elapsed: float) -> float | None:
        """Elapsed time of the next step after `elapsed`, None when nothing changes any more."""
        elapsed = max(0.0, elapsed)
        t = self._fold(elapsed + _EPS)
        later = [s.at for s in self.steps if s.at > t]
        if later:
            return elapsed + _EPS + (later[0] - t)
        if self.period is None:
            return None
        return elapsed + _EPS + (self.loop_from + self.period - t)  # round again to loop_from


def _beeps(count: int, on: float, off: float, green: bool, red: bool) -> list[Step]:
    steps = []
    for i in range(count):
        steps += [Step(i * (on + off), True, green, red), Step(i * (on + off) + on, False, green, red)]
    return steps


#: The kiosk's signals.  PASS: green for 2 s and one short beep.  STOP: red and three beeps,
#: red until the next signal or 5 s.  FAULT: a long beep, then red blinking at 1 Hz for as long
#: as the fault is shown.  ATTENTION: one short beep, the lights unchanged.  IDLE: all off.
DEFAULT_PATTERNS: Mapping[Signal, Pattern] = {
    Signal.IDLE: Pattern((Step(0.0, False, False, False),)),
    Signal.PASS: Pattern((*_beeps(1, 0.1, 0.0, green=True, red=False),
                          Step(2.0, False, False, False))),
    Signal.STOP: Pattern((*_beeps(3, 0.2, 0.2, green=False, red=True),
                          Step(5.0, False, False, False))),
    Signal.FAULT: Pattern((Step(0.0, True, False, True), Step(0.5, True, False, False),
                           Step(1.0, False, False, True), Step(1.5, False, False, False)),
                          loop_from=1.0, period=1.0),
    Signal.ATTENTION: Pattern((Step(0.0, True, None, None), Step(0.1, False, None, None))),
}
