"""What the kiosk shows, read off the checkpoint: the screen view, the status strip, the signal.

The loop (`kiosk.loop.runtime.Kiosk`) decides when to draw and copes with a display or GPIO that
fails; what is on the screen, and which light and sound go with it, is decided here, from the
checkpoint's outputs alone.
"""

from __future__ import annotations

from typing import Any

from kiosk.checkpoint.machine import Checkpoint
from kiosk.ports import Screen, ScreenView, Signal, StatusStrip

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


def view_of(cp: Checkpoint, *, thermal: Any, status: StatusStrip, staff_spot: str) -> ScreenView:
    """The screen for the checkpoint as it stands, with the last thermal image and a status strip."""
    return ScreenView(
        screen=cp.screen,
        temperature_c=cp.shown_temperature,
        reasons=cp.shown_reasons,
        progress=cp.progress,
        companion=cp.companion,
        thermal=thermal,
        status=status,
        staff_spot=staff_spot,
        uncertainty_c=getattr(cp, "shown_uncertainty", None),
    )


def status_strip(cp: Checkpoint, *, site_name: str, wall_time: float, online: bool,
                 buffered_events: int) -> StatusStrip:
    """The strip along the screen's edge: site, time, link, events waiting, and any warnings."""
    return StatusStrip(
        site_name=site_name,
        wall_time=wall_time,
        online=online,
        buffered_events=buffered_events,
        clock_synced=cp.clock_synced,
        warnings=(() if cp.clock_synced else ("warning_clock",)) + cp.warnings,
    )
