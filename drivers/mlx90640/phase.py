"""Locking onto the array's own timing: when did the last subpage land, and how long is a period?

The MLX90640 measures on its own oscillator, which is a few percent off nominal and not
synchronised with the host: a driver that sleeps for the nominal period drifts off the
data-ready moment and either polls many times or reads late.  `PhaseTracker` estimates both
from what the driver's status polls see:

* a poll that finds data-ready clear, followed by one that finds it set, *brackets* the moment;
* brackets many subpages apart pin the period down finely (a scalar Kalman step), so the
  prediction stays within a fraction of a millisecond over minutes;
* the driver wakes just after the predicted moment (`GUARD_S` plus the uncertainty), so one
  status read usually finds it set; every few subpages (at most `PROBE_EVERY`) it wakes a
  little early on purpose, to bracket the moment again.

All times are the injected clock's `monotonic()`; nothing here touches the bus.
"""

from __future__ import annotations

import math

PROBE_EVERY = 16  # at most this many subpages between deliberate early wake-ups that re-measure the phase
GUARD_S = 0.0005  # wake this long after the predicted data-ready (plus the phase's uncertainty)


class PhaseTracker:
    """The estimated data-ready phase and period of one array running at a nominal `period` (s)."""

    def __init__(self, period: float) -> None:
        self.period = period  # nominal subpage period of the configured rate
        self.unlock()
        self.measured = period  # the array's measured subpage period (its oscillator is not exact)
        self._var = (0.03 * period) ** 2

    def set_period(self, period: float) -> None:
        """A new nominal rate (the driver slowed down for a slow bus): start the period estimate again."""
        self.period = period
        self.measured = period
        self._var = (0.03 * period) ** 2

    @property
    def locked(self) -> bool:
        """The moment of a data-ready is known (the driver may poll finely around the next one)."""
        return self._r is not None

    def unlock(self) -> None:
        """Forget the phase (after an error, an overrun, a reconfiguration): poll until data-ready."""
        self._r: float | None = None  # estimated moment of the last data-ready
        self._r_err = 0.0  # half-width of the bracket that moment was measured with
        self._anchor: tuple[float, float] | None = None  # (moment, half-width) of the last bracket
        self._since_probe = 0
        self._probe_every = 1
        self._lead = self.fine_step()

    def fine_step(self) -> float:
        """The poll interval near a predicted data-ready."""
        return min(max(self.period / 100, 0.0005), 0.01)

    def track(self, lo: float | None, hi: float) -> float:
        """Update the estimate from one wait, and return when to wake for the next subpage.

        Data-ready came after `lo` (the start of the last poll that found it clear, if any) and
        no later than `hi` (the end of the poll that found it set).
        """
        p = self.measured
        if lo is not None:  # a bracket: the data-ready moment, measured
            r, err = (lo + hi) / 2, (hi - lo) / 2
            if self._anchor is not None:
                t0, err0 = self._anchor
                n = round((r - t0) / p)
                if n >= 1 and abs((r - t0) / n - self.period) < 0.1 * self.period:
                    # a scalar Kalman step: measurements far apart pin the period down finely
                    var = ((err + err0) / n) ** 2 / 3
                    self._var += (1e-4 * self.period) ** 2
                    gain = self._var / (self._var + var)
                    self.measured = p + gain * ((r - t0) / n - p)
                    self._var *= 1 - gain
            self._anchor = (r, err)
            self._r, self._r_err = r, err
            self._since_probe = 0
            self._probe_every = min(2 * self._probe_every, PROBE_EVERY)
            self._lead = self.fine_step()
        else:  # set at the first poll: it came at or before `hi`, which says little
            if self._r is None:
                self._r, self._r_err = hi, 0.0
            else:
                n = max(1, int((hi - self._r) / p + 0.1))
                self._r = min(self._r + n * p, hi)
            self._since_probe += 1
            if self._since_probe > self._probe_every:  # a probe that was not early enough
                self._lead = min(2 * self._lead, self.period / 4)
        due = self._r + self.measured
        if self._since_probe + 1 >= self._probe_every:
            due -= self._lead  # wake early on purpose: the next wait brackets the data-ready
        else:
            due += GUARD_S + self._r_err + 2 * self._since_probe * math.sqrt(self._var)
        return due
