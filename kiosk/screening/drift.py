"""Calibration drift, seen through the people who walk past.

A kiosk cannot check itself against a blackbody every morning, but it measures hundreds of
people a day, and the median forehead of a crowd is remarkably steady.  If the running median
of recent visitors wanders away from the median the site had when it was calibrated, the
sensor (or its window, or its mounting) has drifted: the health report says so, and the
status strip shows a `calibration_drift` warning, long before a fever is missed.

Only plausible readings count (a fever or a cold arrival is one visitor, not the crowd), and
the median — not the mean — keeps a handful of febrile visitors from looking like drift.

Drift *down* beyond `fault_c` is not a warning any more but a fault (`faulty`): a sensor that
reads a crowd 0.8 °C low reads a 38.0 °C fever as 37.2 °C, below the threshold.  The checkpoint
then passes nobody (FAULT on screen, STOP `sensor_fault`) until a technician recalibrates (`reset`).
The bound is twice the warning, and never more than `DRIFT_FAULT_MAX_C`: past it the sensor hides
fevers whatever the warning was configured to.  Drift *up* stays a warning: it hides no fever (it
stops healthy visitors, whom staff see), and a day with many febrile visitors moves the median up
too — that must not shut the door to everybody.
"""

from __future__ import annotations

import statistics
from collections import deque
from dataclasses import dataclass

SKIN_RANGE_C = (34.0, 43.0)  # readings outside this are not measurements of skin
DRIFT_FAULT_MAX_C = 0.8  # drift this large is a fault, whatever the warning threshold


@dataclass(frozen=True, slots=True)
class DriftReport:
    """What the health report publishes about the thermal calibration."""

    visitors: int  # readings in the window
    median_c: float | None
    drift_c: float | None  # running median − baseline; None until enough visitors were seen
    drifting: bool
    faulty: bool = False  # beyond the fault bound: no PASS until recalibrated


class DriftTracker:
    """Running median of the last `window` visitors' readings against `baseline_c`.

    `add` each final reading; read `drift_c` / `drifting` / `report()`.  `drift_c` stays None
    until `min_visitors` readings are in: a median of three people says nothing.
    """

    def __init__(self, *, baseline_c: float = 36.5, window: int = 50, min_visitors: int = 15,
                 warn_c: float = 0.4) -> None:
        if not 1 <= min_visitors <= window:
            raise ValueError("min_visitors must be in 1..window")
        self.baseline_c = float(baseline_c)
        self.min_visitors = int(min_visitors)
        self.warn_c = float(warn_c)
        self.fault_c = max(self.warn_c, min(2 * self.warn_c, DRIFT_FAULT_MAX_C))
        self._readings: deque[float] = deque(maxlen=int(window))

    def add(self, temperature_c: float) -> bool:
        """Count one visitor's reading; False (and ignored) if it is not a plausible skin reading."""
        if not SKIN_RANGE_C[0] <= temperature_c <= SKIN_RANGE_C[1]:
            return False
        self._readings.append(float(temperature_c))
        return True

    @property
    def count(self) -> int:
        return len(self._readings)

    @property
    def median_c(self) -> float | None:
        return statistics.median(self._readings) if self._readings else None

    @property
    def drift_c(self) -> float | None:
        if len(self._readings) < self.min_visitors:
            return None
        return round(statistics.median(self._readings) - self.baseline_c, 3)

    @property
    def drifting(self) -> bool:
        drift = self.drift_c
        return drift is not None and abs(drift) >= self.warn_c

    @property
    def faulty(self) -> bool:
        """Drift down beyond `fault_c`: fevers read below the threshold (a staff check, a recalibration)."""
        drift = self.drift_c
        return drift is not None and drift <= -self.fault_c

    def report(self) -> DriftReport:
        return DriftReport(self.count, self.median_c, self.drift_c, self.drifting, self.faulty)

    def reset(self) -> None:
        """Forget the crowd (after a calibration: the old readings were made with the old offset)."""
        self._readings.clear()
