"""Frame timing for the sources that have no sensor of their own to pace them.

A camera delivers frames on a fixed grid (t0 + k / fps) into a buffer.  A reader that calls late
gets the newest completed frame at once (older ones are dropped: skip while busy, never queue);
a reader that calls early waits for the next one to complete.  Everything goes through
`kiosk.ports.Clock`, so a simulated or file source runs in real time on a Pi and instantly on a
`VirtualClock`.
"""

from __future__ import annotations

import math

from kiosk.ports import Clock

_EPS = 1e-9  # a time within a nanosecond of a grid point counts as on it


class FrameGrid:
    """Times t0 + k/fps, k = 1, 2, …, counted from when the source was started."""

    def __init__(self, clock: Clock, fps: float) -> None:
        if not fps > 0:
            raise ValueError(f"fps must be positive, not {fps!r}")
        self._clock = clock
        self._t0 = clock.monotonic()
        self._period = 1.0 / fps
        self._last = 0  # index of the last frame handed out; the first exposure ends at t0 + period
        self.frame_index = 0

    @property
    def period(self) -> float:
        return self._period

    def _next_index(self) -> int:
        since = (self._clock.monotonic() - self._t0) / self._period
        return max(self._last + 1, math.floor(since + _EPS))

    def next_frame_at(self) -> float:
        """When the next frame completes (Clock.monotonic)."""
        return self._t0 + self._next_index() * self._period

    def wait(self) -> float:
        """Return the newest completed frame's time, sleeping until one completes if none is new.

        Frames completed before the newest one were never read: they are skipped.
        """
        k = self._next_index()
        due = self._t0 + k * self._period
        self._clock.sleep_until(due)
        self._last = k
        self.frame_index = k
        return due
