"""The readings of one visitor, and what they come to: re-measure, measure again, or a verdict.

Every reading taken of the visitor (a `TakenReading`: value as shown, ±, when, of which track)
is kept in order and carried into the event, so staff and the township see what the verdict
rests on.  The rules, pure functions of that list and the threshold T:

* one reading: at or above T (when the policy re-measures), or with a band holding T, is
  re-measured — after the re-measure pause if it showed a fever, at once if it only came near;
  a first reading may be a one-frame *look* (a still, tracked person: `frames` 1): a look near T
  is measured again at once (never a pause, never "a fever shown": one frame reads a little high),
  and the reading after it is the first the rules below judge — the look stays in the list, and
  counts against a lower reading that disagrees with it;
* two readings that *disagree* (|a − b| > the sum of their uncertainties) are never settled by the
  lower one: a fever read first and then a much lower value (a turned head, a cold hand on the
  forehead, not a cold arrival) is measured a third time; the verdict then rests on the highest
  reading, so a fever that was read and never reproduced within its uncertainty is a STOP `fever`
  for staff to check by hand — `fever` because it is the only reason in the vocabulary that says
  what staff must check, and an alert because the notices want a fever reading reported at once;
* readings that agree: the last one decides, except that a fever shown first and a re-measure
  below T whose band still holds T cannot rule the fever out (STOP `fever` on the first reading);
* a fever is *established* (what a visitor who walks off is recorded with, `LEFT` `fever`) once
  the verdict on the readings so far would be a fever after a re-measure (or at once when the
  policy does not re-measure).

Pure logic: no clock, no state.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TakenReading:
    """One reading of one visitor, as shown and judged (°C, one decimal)."""

    c: float
    uncertainty_c: float
    at: float  # Clock.monotonic() when it was taken
    track: int | None = None  # the person it was taken of
    raw_c: float | None = None  # the per-frame face value it rests on (uncompensated)
    centre_col: float | None = None  # where the face was in the view
    distance_m: float | None = None
    frames: int = 0  # frames averaged (1: a one-frame look; 0: not known)
    stretch: int = 0  # the unbroken stretch of the visit it was taken in (`kiosk.checkpoint.visit.Visit.stretch`)

    def near(self, threshold_c: float) -> bool:
        """The threshold lies inside this reading's band."""
        return abs(self.c - threshold_c) < self.uncertainty_c

    def disagrees(self, other: TakenReading) -> bool:
        """The two readings cannot both be right: they differ by more than both uncertainties."""
        return abs(self.c - other.c) > self.uncertainty_c + other.uncertainty_c + 1e-9


class Next(enum.Enum):
    DONE = "done"  # a verdict can be given on the readings
    REMEASURE = "remeasure"  # measure again after the re-measure pause (a fever was shown)
    AGAIN = "again"  # measure again at once (a band holding the threshold, or two readings disagreeing)


MAX_READINGS = 3  # the first, the re-measure, and once more when those two disagree (a leading look aside)


def _disagree(readings: Sequence[TakenReading]) -> bool:
    return any(a.disagrees(b) for i, a in enumerate(readings) for b in readings[i + 1:])


def _near_look(readings: Sequence[TakenReading], threshold_c: float) -> bool:
    return bool(readings) and readings[0].frames == 1 and readings[0].near(threshold_c)


def _core(readings: Sequence[TakenReading], threshold_c: float) -> tuple[Sequence[TakenReading], bool]:
    """The readings the rules judge, and whether a leading look near the threshold was set aside."""
    if len(readings) > 1 and _near_look(readings, threshold_c):
        return readings[1:], True
    return readings, False


def next_step(readings: Sequence[TakenReading], threshold_c: float, *, remeasure: bool) -> Next:
    """What to do after the last reading of `readings` (at least one)."""
    if len(readings) == 1 and _near_look(readings, threshold_c):
        return Next.AGAIN  # a look near the threshold: measured again at once
    core, after_look = _core(readings, threshold_c)
    first, last = core[0], core[-1]
    if len(core) == 1:
        if first.c >= threshold_c and remeasure:
            return Next.REMEASURE
        if first.near(threshold_c) and not after_look:  # after a near look, this is the re-measure: it decides
            return Next.AGAIN
        if after_look and last.c < readings[0].c and _disagree(readings):
            return Next.AGAIN  # lower than the look, and disagreeing with it: once more
        return Next.DONE
    if len(core) < MAX_READINGS and last.c < max(r.c for r in readings[:-1]) and _disagree(readings):
        return Next.AGAIN  # a lower reading that disagrees is never the verdict: once more
    return Next.DONE


def judged(readings: Sequence[TakenReading], threshold_c: float) -> TakenReading | None:
    """The reading the verdict rests on (None: no readings)."""
    if not readings:
        return None
    if _disagree(readings):
        return max(readings, key=lambda r: r.c)  # never settled by a lower reading that disagrees
    core, _ = _core(readings, threshold_c)
    first, last = core[0], core[-1]
    if first.c >= threshold_c and last.c < threshold_c and last.near(threshold_c):
        return first  # the re-measure cannot rule the fever out
    return last


def fever_established(readings: Sequence[TakenReading], threshold_c: float, *, remeasure: bool,
                      remeasure_failed: bool = False) -> bool:
    """A fever the visitor would be stopped for: read, and re-measured (if the policy re-measures),
    or read and its re-measure failed (came out cold, not a temperature)."""
    if not readings or max(r.c for r in readings) < threshold_c:
        return False
    if not remeasure or remeasure_failed:
        return True
    core, _ = _core(readings, threshold_c)
    if len(core) < 2 and not _disagree(readings):
        return False
    verdict = judged(readings, threshold_c)
    return verdict is not None and verdict.c >= threshold_c
