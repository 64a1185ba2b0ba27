"""What the kiosk shows, and showing it: the screen view, the status strip, the signal, the voice.

What is on the screen, and which light and sound go with it, is decided here from the
checkpoint's outputs and the kiosk's `KioskStatus` alone (`view_of`, `status_strip`,
`SCREEN_SIGNALS`).  `Presenter` puts it out: it redraws when the view changes and at a steady
rate, sounds the signal and speaks the prompt when the screen changes, and copes with a display
or GPIO that fails, so that neither can stop the loop (`kiosk.loop.runtime.Kiosk`) deciding and
storing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from kiosk.checkpoint import Checkpoint
from kiosk.loop.collaborators import Voice, guarded
from kiosk.ports import Display, KioskStatus, Screen, ScreenView, Signal, Signals, StatusStrip

log = logging.getLogger(__name__)

SCREEN_SIGNALS = {
    Screen.PASS: Signal.PASS,
    Screen.STOP: Signal.STOP,
    Screen.FAULT: Signal.FAULT,
    Screen.STEP_CLOSER: Signal.ATTENTION,
    Screen.STEP_BACK: Signal.ATTENTION,
    Screen.ONE_AT_A_TIME: Signal.ATTENTION,
    Screen.HOLD_STILL: Signal.ATTENTION,
    Screen.ONE_CODE: Signal.ATTENTION,
    Screen.COME_BACK: Signal.ATTENTION,
    Screen.ATTRACT: Signal.IDLE,
}


class NullDisplay:
    """No screen (headless simulation): the view is still computed and can be read."""

    def render(self, view: ScreenView) -> None:
        pass

    def close(self) -> None:
        pass


# Reasons that are the kiosk's own failing, not anything known against the visitor: a STOP for
# these alone is a manual check (amber, the FAULT signal), never the visitor's red STOP.
KIOSK_FAULTS = frozenset({"sensor_fault", "clock_unsynced", "unrecorded"})


def shown_screen(screen: Screen, reasons: tuple[str, ...]) -> Screen:
    """The screen for a checkpoint screen and its reasons: a STOP whose only reasons are the kiosk's
    own faults (`KIOSK_FAULTS`) is shown as FAULT, the manual check."""
    if screen is Screen.STOP and reasons and KIOSK_FAULTS.issuperset(reasons):
        return Screen.FAULT
    return screen


def view_of(cp: Checkpoint, *, thermal: np.ndarray | None, status: StatusStrip, staff_spot: str) -> ScreenView:
    """The screen for the checkpoint as it stands, with the last thermal image and a status strip."""
    reasons = cp.shown_reasons
    return ScreenView(
        screen=shown_screen(cp.screen, reasons),
        temperature_c=cp.shown_temperature,
        reasons=reasons,
        progress=cp.progress,
        companion=cp.companion,
        thermal=thermal,
        status=status,
        staff_spot=staff_spot,
        uncertainty_c=cp.shown_uncertainty,
    )


def status_strip(status: KioskStatus, *, site_name: str, wall_time: float, online: bool,
                 buffered_events: int) -> StatusStrip:
    """The strip along the screen's edge (site, time, a staff symbol) and the staff view's details."""
    return StatusStrip(
        site_name=site_name,
        wall_time=wall_time,
        online=online,
        buffered_events=buffered_events,
        clock_synced=status.clock_synced,
        warnings=status.warnings,
        sensor_ok=status.sensor_ok,
        camera_ok=status.camera_ok,
        store_failures=status.store_failures,
        drift_c=status.drift_c,
    )


class Presenter:
    """Draws the view and sounds its signal; a display, GPIO or voice that fails is logged, never raised.

    The screen is redrawn when the view changes and at least every `interval`; `steady` (the
    threaded loop) keeps the redraws on a fixed grid, the frame rate.  `due` is when the next
    redraw is due: the loop sleeps until then at the latest.
    """

    def __init__(self, display: Display, signals: Signals, voice: Voice | None = None, *, interval: float,
                 on_drawn: Callable[[], None] = lambda: None) -> None:
        self.display = display
        self.signals = signals
        self.voice = voice
        self.interval = interval
        self.on_drawn = on_drawn  # after each frame drawn (the watchdog's "ui" progress)
        self.on_view: list[Callable[[ScreenView], None]] = []
        self.view = ScreenView(Screen.ATTRACT)
        self.due = -1e9  # compared exactly as the loop sleeps on it (float-safe)
        self.frames_drawn = 0
        self._display_failures = 0
        self._signal_failures = 0

    def present(self, view: ScreenView, now: float, *, status: Callable[[], StatusStrip], steady: bool) -> None:
        """Show `view` if it changed or a redraw is due (its strip from `status`); signal a new screen."""
        changed = view.screen is not self.view.screen
        if view != self.view or now >= self.due:
            view = replace(view, status=status())
            self.view = view
            try:
                self.display.render(view)
                self._display_failures = 0
                self.frames_drawn += 1
                self.on_drawn()
            except Exception:  # keep deciding and storing; the watchdog (issue 7) restarts a dead UI
                if self._display_failures == 0:
                    log.exception("display failed")
                self._display_failures += 1
            if not steady:
                self.due = now + self.interval
            elif now >= self.due:  # a steady frame rate: the next frame on the grid, or now
                self.due += self.interval
                if self.due <= now:
                    self.due = now + self.interval
            for callback in self.on_view:
                guarded(callback, view)
        try:
            if changed:
                self.signals.show(SCREEN_SIGNALS.get(view.screen, Signal.IDLE), now)
                if self.voice is not None:
                    guarded(self.voice.say, view.screen)
            self.signals.update(now)
            self._signal_failures = 0
        except Exception:  # a GPIO error must not stop the checkpoint; the screen still speaks
            if self._signal_failures == 0:
                log.exception("signals failed")
            self._signal_failures += 1

