"""The main loop's heartbeat: how long since it last came round, and how often it was late.

The screen must never freeze.  Sensor reads and QR decoding run in worker threads (see
`kiosk.loop.workers`), so the main loop only waits for the next frame or message; a pass that comes
round much later than the frame interval means something blocked it (a driver call that should
have been in a thread, a disk that hangs the outbox, a render that takes seconds).

`LoopWatch.beat()` is called once per pass.  It measures on the process's own monotonic clock,
whatever clock the kiosk runs on, because a stall is real time lost even in a simulation.
`is_alive()` and `last_beat` may be read from any thread: a supervisor feeding systemd's
watchdog from another thread stops feeding when the loop stops beating.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable

log = logging.getLogger(__name__)

DEFAULT_STALL_S = 1.0
GAP_HISTORY = 4096


class LoopWatch:
    """Heartbeat of one loop: `beat` each pass, `is_alive` from anywhere."""

    def __init__(self, *, stall_s: float = DEFAULT_STALL_S, now: Callable[[], float] = time.monotonic) -> None:
        if stall_s <= 0:
            raise ValueError("stall_s must be positive")
        self.stall_s = float(stall_s)
        self._now = now
        self.last_beat = now()  # a loop that never beat at all is stalled after stall_s
        self.beats = 0
        self.stalls = 0  # passes that came later than stall_s after the previous one
        self.longest_gap = 0.0
        self.gaps: deque[float] = deque(maxlen=GAP_HISTORY)  # recent gaps between passes, s

    def beat(self) -> float:
        """Record one pass of the loop; returns the gap since the previous one (s)."""
        now = self._now()
        gap = now - self.last_beat
        self.last_beat = now
        if self.beats:  # the first gap is start-up, not a stall
            self.gaps.append(gap)
            self.longest_gap = max(self.longest_gap, gap)
            if gap > self.stall_s:
                self.stalls += 1
                log.warning("main loop stalled for %.0f ms (limit %.0f ms)", gap * 1000, self.stall_s * 1000)
        self.beats += 1
        return gap

    def stalled_for(self) -> float:
        """Seconds since the last pass (grows while the loop is stuck)."""
        return max(0.0, self._now() - self.last_beat)

    def is_alive(self) -> bool:
        """True while the loop came round within `stall_s`: what a watchdog feeder asks."""
        return self.stalled_for() <= self.stall_s
