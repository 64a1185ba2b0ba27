"""Buzzer and green/red lights on GPIO, through gpiozero, implementing `kiosk.ports.Signals`.

gpiozero's own `blink()` and `beep()` each start a background thread timed by the real clock.
Here the patterns (see `patterns.py`) are timelines that `update(now)` advances from the kiosk
loop instead: one thread, the kiosk's; deterministic on a virtual clock; and a new signal replaces
the old one at once, with nothing left running behind it.

The devices are created on the `pin_factory` given (gpiozero's `MockFactory` in tests), so no
code here knows whether it drives a Pi's header or a mock.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Mapping
from typing import Any

from gpiozero import LED, Buzzer, PinFactoryFallback

from kiosk.ports import Signal

from .patterns import DEFAULT_PATTERNS, Outputs, Pattern
from .quiet import QuietHours


class GpioSignals:
    """The kiosk's buzzer and lights.

    `show(signal, now)` starts a signal's pattern (the loop calls it when the screen changes).
    Showing the signal whose pattern is still running does not restart it, so a FAULT shown on
    every pass keeps blinking; one that has finished (a PASS after its 2 s) plays again, as a new
    event.  ATTENTION plays over whatever the lights show, which keep their own timeline.
    `update(now)` must be called often enough for the shortest step (0.1 s beeps);
    `next_change_at()` says when the next step is due, for a loop that sleeps.  `quiet` keeps the
    buzzer off and the lights as they are (a switch for staff); `quiet_hours` does so by the time of
    day, read from `wall()` (epoch seconds) when each signal starts (see `quiet.py`).
    """

    def __init__(self, *, buzzer_pin: Any, green_pin: Any, red_pin: Any, pin_factory: Any = None,
                 quiet: bool = False, buzzer_active_high: bool = True,
                 patterns: Mapping[Signal, Pattern] | None = None, quiet_hours: QuietHours | None = None,
                 wall: Callable[[], float] = time.time) -> None:
        self._patterns = {**DEFAULT_PATTERNS, **(patterns or {})}
        self.quiet_hours = quiet_hours
        self._wall = wall
        devices: list[Any] = []
        try:
            with warnings.catch_warnings():  # gpiozero's "falling back from lgpio …", one per library tried:
                warnings.simplefilter("ignore", PinFactoryFallback)  # the error that follows says what matters
                self._buzzer = Buzzer(buzzer_pin, active_high=buzzer_active_high, pin_factory=pin_factory)
                devices.append(self._buzzer)
                self._green = LED(green_pin, pin_factory=pin_factory)
                devices.append(self._green)
                self._red = LED(red_pin, pin_factory=pin_factory)
                devices.append(self._red)
        except Exception:
            for device in devices:
                device.close()
            raise
        self._devices = (self._buzzer, self._green, self._red)
        self._quiet = quiet
        self._closed = False
        self._base: tuple[Signal, Pattern, float] = (Signal.IDLE, self._patterns[Signal.IDLE], 0.0)
        self._overlay: tuple[Signal, Pattern, float] | None = None
        self._now = 0.0

    # ------------------------------------------------------------------------------------ state

    @property
    def signal(self) -> Signal:
        """The signal the lights are showing (ATTENTION aside, which only plays over them)."""
        return self._base[0]

    @property
    def quiet(self) -> bool:
        return self._quiet

    @quiet.setter
    def quiet(self, value: bool) -> None:
        self._quiet = bool(value)
        if not self._closed:
            self._apply()

    @property
    def closed(self) -> bool:
        return self._closed

    # -------------------------------------------------------------------------------- the port

    def show(self, signal: Signal, now: float) -> None:
        """Start `signal`'s pattern at `now`, replacing the running one (no-op once closed)."""
        if self._closed:
            return
        pattern = self._patterns[signal]
        running = self._overlay if pattern.is_overlay else self._base
        if running is not None and running[0] is signal and not running[1].is_over(now - running[2]):
            self.update(now)
            return
        if self.quiet_hours is not None and self.quiet_hours.contains(self._wall()):
            pattern = self.quiet_hours.pattern(signal, pattern)
        if pattern.is_overlay:
            self._overlay = (signal, pattern, now)
        else:
            self._base, self._overlay = (signal, pattern, now), None
        self.update(now)

    def update(self, now: float) -> None:
        """Set the outputs to what the running patterns say for `now`."""
        if self._closed:
            return
        self._now = now
        if self._overlay is not None and self._overlay[1].is_over(now - self._overlay[2]):
            self._overlay = None
        self._apply()

    def next_change_at(self) -> float | None:
        """When (on the `now` time line) a running pattern next changes an output; None: never."""
        times = []
        for running in (self._base, self._overlay):
            if running is not None:
                step = running[1].next_step_after(self._now - running[2])
                if step is not None:
                    times.append(running[2] + step)
        return min(times, default=None)

    def close(self) -> None:
        """Switch everything off and release the pins; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        try:
            for device in self._devices:
                device.off()
        finally:
            for device in reversed(self._devices):
                device.close()

    def __enter__(self) -> GpioSignals:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --------------------------------------------------------------------------------- private

    def _outputs(self) -> Outputs:
        _, pattern, start = self._base
        base = pattern.outputs_at(self._now - start)
        if self._overlay is None:
            return base
        over = self._overlay[1].outputs_at(self._now - self._overlay[2])
        return Outputs(*(b if o is None else o for b, o in zip(base, over, strict=True)))

    def _apply(self) -> None:
        buzzer, green, red = self._outputs()
        for device, on in ((self._buzzer, bool(buzzer) and not self._quiet),
                           (self._green, bool(green)), (self._red, bool(red))):
            if device.is_active == on:
                continue
            if on:
                device.on()
            else:
                device.off()
