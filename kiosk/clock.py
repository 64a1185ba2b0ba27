"""Real and virtual clocks (see `kiosk.ports.Clock`)."""

from __future__ import annotations

import time


class RealClock:
    """The system's clocks.  Wall time comes from `time.time()`; timers use `time.monotonic()`."""

    def monotonic(self) -> float:
        return time.monotonic()

    def wall(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    def sleep_until(self, deadline: float) -> None:
        self.sleep(deadline - time.monotonic())


class VirtualClock:
    """A clock that only moves when somebody sleeps on it.

    Used by tests and headless simulations: sleeping costs no real time, so a scenario runs as
    fast as the CPU allows while every component sees consistent, deterministic time.  The
    emulated I²C bus sleeps on it for each transfer, so bus time is accounted for too.
    """

    def __init__(self, *, wall_start: float = 1_764_000_000.0, monotonic_start: float = 1000.0) -> None:
        self._mono = float(monotonic_start)
        self._wall_offset = float(wall_start) - float(monotonic_start)

    def monotonic(self) -> float:
        return self._mono

    def wall(self) -> float:
        return self._mono + self._wall_offset

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._mono += seconds

    def sleep_until(self, deadline: float) -> None:
        if deadline > self._mono:
            self._mono = deadline

    def advance(self, seconds: float) -> None:
        """Alias of `sleep` for readability in tests."""
        self.sleep(seconds)
