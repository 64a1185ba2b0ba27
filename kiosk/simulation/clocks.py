"""The kiosk's wall clock as a scenario sets it (`site.clock`): wrong until network time steps it.

A Pi has no real-time clock: after a power cut it boots at the last saved time, hours off, and
its wall clock jumps to the truth when NTP first answers.  `SteppingClock` is a `VirtualClock`
whose wall time runs `offset_s` away from the truth until the monotonic moment `sync_at`, then
is the truth; `true_wall()` is the truth itself (the visitors' phones make their codes in true
time).  `SteppingClockSync` is the kiosk's `ClockSync` for it: unsynchronised until the step.
The decision path sees only the clock and the sync flag, never the scenario.
"""

from __future__ import annotations

from kiosk.clock import VirtualClock


class SteppingClock(VirtualClock):
    """A virtual clock whose wall time is `offset_s` off until `sync_at` (monotonic; None: never)."""

    def __init__(self, *, wall_start: float, offset_s: float = 0.0, sync_after_s: float | None = None,
                 monotonic_start: float = 1000.0) -> None:
        super().__init__(wall_start=wall_start, monotonic_start=monotonic_start)
        self.offset_s = float(offset_s)
        self.sync_at = None if sync_after_s is None else monotonic_start + float(sync_after_s)

    @property
    def synced(self) -> bool:
        return self.offset_s == 0.0 or (self.sync_at is not None and self.monotonic() >= self.sync_at)

    def true_wall(self) -> float:
        return super().wall()

    def wall(self) -> float:
        return self.true_wall() + (0.0 if self.synced else self.offset_s)


class SteppingClockSync:
    """`kiosk.clocksync.ClockSync` of a `SteppingClock`: synchronised once network time stepped it."""

    def __init__(self, clock: SteppingClock) -> None:
        self._clock = clock

    def synchronized(self) -> bool:
        return self._clock.sync_at is not None and self._clock.monotonic() >= self._clock.sync_at

    def source(self) -> str:
        return "simulated"
