"""The small interfaces through which the kiosk core meets hardware and time.

The core (`kiosk/`) never imports a driver: the composition root (`kiosk.service.app`) builds concrete
objects from `drivers/` and `ui/` and hands them in.  Every interface here has a real and an
emulated implementation side by side, so the whole checkpoint runs with no hardware.

Time is an interface too.  Everything that waits or stamps goes through a `Clock`, so that the
same code runs in real time on a Pi and on a virtual clock in tests and headless simulations.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np


# --------------------------------------------------------------------------------------------- time


@runtime_checkable
class Clock(Protocol):
    """Monotonic time for timers, wall time for stamps; both advance together.

    `RealClock` follows the system; `VirtualClock` jumps instantly to wherever it is asked to
    sleep, which is how a 40-visitor scenario runs in seconds through the same code path.
    """

    def monotonic(self) -> float:
        """Seconds on a clock that never jumps (timers, timeouts, rates)."""
        ...

    def wall(self) -> float:
        """Epoch seconds (code freshness, event stamps)."""
        ...

    def sleep(self, seconds: float) -> None:
        """Let `seconds` pass."""
        ...

    def sleep_until(self, deadline: float) -> None:
        """Let time pass until `monotonic()` reaches `deadline` (no-op if already past)."""
        ...


# ---------------------------------------------------------------------------------------- thermal


@dataclass(frozen=True, slots=True)
class ThermalFrame:
    """One 32×24 image of object temperatures, as the driver computed it.

    `pixels` is a (24, 32) float array in °C; NaN marks a pixel with no valid value (a flagged
    bad pixel the driver could not interpolate, or a subpage not yet read).
    """

    pixels: np.ndarray
    ambient_c: float
    taken_at: float  # Clock.monotonic() when the frame was complete
    subpage: int = -1  # the subpage that completed this frame, -1 when both were read together


@runtime_checkable
class ThermalSensor(Protocol):
    """A thermal array that delivers frames at its own refresh rate."""

    def next_frame_at(self) -> float:
        """When (Clock.monotonic) the next frame is expected; `read_frame` then blocks only briefly."""
        ...

    def read_frame(self) -> ThermalFrame:
        """Read the next frame. Raises `SensorError` on any bus fault or implausible data."""
        ...

    def close(self) -> None: ...


# ----------------------------------------------------------------------------------------- camera


@dataclass(frozen=True, slots=True)
class GrayFrame:
    """A luminance image (H, W) uint8: the Y plane on the Pi, no colour conversion."""

    y: np.ndarray
    taken_at: float


@runtime_checkable
class FrameSource(Protocol):
    """A camera, a video file, a folder of images or a rendered scene."""

    def next_frame_at(self) -> float: ...

    def read_frame(self) -> GrayFrame:
        """Raises `CameraError` when no frame can be had."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class QrDecoder(Protocol):
    """Finds QR codes in a luminance image and returns their texts (possibly none, possibly several)."""

    def decode(self, y: np.ndarray) -> list[str]: ...


# ---------------------------------------------------------------------------------------- signals


class Signal(enum.Enum):
    """What the buzzer and the light must say; the pattern for each lives in the signals driver."""

    IDLE = "idle"
    PASS = "pass"
    STOP = "stop"
    FAULT = "fault"
    ATTENTION = "attention"  # a prompt to the visitor (step closer, one at a time)


@runtime_checkable
class Signals(Protocol):
    """Buzzer and light.  Patterns are advanced by `update` from the kiosk loop: no thread per device."""

    def show(self, signal: Signal, now: float) -> None: ...

    def update(self, now: float) -> None: ...

    def close(self) -> None: ...


# ---------------------------------------------------------------------------------------- display


class Screen(enum.Enum):
    """Which screen the display shows; `ui/` maps each to a layout and catalogue strings."""

    ATTRACT = "attract"  # idle: one-metre line, masks, privacy notice
    STEP_CLOSER = "step_closer"
    STEP_BACK = "step_back"
    ONE_AT_A_TIME = "one_at_a_time"  # several people in view
    HOLD_STILL = "hold_still"  # readings keep wandering: stand still, facing the screen
    ONE_CODE = "one_code"  # several codes in view: show only your own
    MEASURING = "measuring"
    REMEASURING = "remeasuring"
    PASS = "pass"
    STOP = "stop"
    FAULT = "fault"  # sensor/camera fault: manual check, wait for staff
    COME_BACK = "come_back"  # cold arrival: wait a few minutes and come back (the code is remembered)
    MAINTENANCE = "maintenance"  # cannot run (bad config, crash loop, provisioning): says what is wrong
    STAFF = "staff"  # the staff view: the status strip's details; opened on the kiosk by a long touch (ui.display)


@dataclass(frozen=True, slots=True)
class KioskStatus:
    """The running kiosk as its loop sees it (`Kiosk.status()`), for whoever reports on it.

    The health report (`kiosk.feed.health`) and the status strip read this, never the loop's
    internals.  `warnings` are catalogue keys for the staff view, most urgent first: `warning_clock`
    while the wall clock is not synchronised, then the room or the calibration out of range.
    """

    sensor_ok: bool  # valid thermal frames are arriving
    camera_ok: bool  # the camera is not being retried after a failed read
    clock_synced: bool  # the wall clock can be trusted for code freshness (False refuses PASS)
    drift_c: float | None = None  # calibration drift seen through the crowd; None until enough visitors
    warnings: tuple[str, ...] = ()
    thermal_frames_dropped: int = 0  # frames the threaded loop fell too far behind to use
    store_failures: int = 0  # decisions the outbox could not store (each shown as FAULT)


# Events still waiting for the township's receipt while online: a few are normal after every entry,
# this many mean receipts are not coming back.
BACKLOG_EVENTS = 20


@dataclass(frozen=True, slots=True)
class StatusStrip:
    """The kiosk's state for the screen's edge and the staff view.

    The public strip shows only the site, the time and, when `needs_staff`, one small symbol; the
    details (link, backlog, clock, parts, warnings) are in the staff view (`Screen.STAFF`).
    """

    site_name: str = ""
    wall_time: float = 0.0
    online: bool = False
    buffered_events: int = 0
    clock_synced: bool = True
    warnings: tuple[str, ...] = ()  # catalogue keys (`staff.<key>`): environment out of range, calibration drift, ...
    sensor_ok: bool = True
    camera_ok: bool = True
    store_failures: int = 0  # decisions the outbox could not store since start
    drift_c: float | None = None

    @property
    def needs_staff(self) -> bool:
        """Something a member of staff should look at in the staff view."""
        return (not self.online or not self.clock_synced or bool(self.warnings) or not self.sensor_ok
                or not self.camera_ok or self.store_failures > 0 or self.buffered_events >= BACKLOG_EVENTS)


@dataclass(frozen=True, slots=True)
class ScreenView:
    """Everything a screen needs, and nothing it could decide from.

    `reasons` uses the scenario vocabulary (`fever`, `code_red`, …); `ui/` turns them into words.
    """

    screen: Screen
    temperature_c: float | None = None
    uncertainty_c: float | None = None  # ± of the reading, shown while re-measuring
    reasons: tuple[str, ...] = ()
    progress: float = 0.0  # 0..1 while measuring
    companion: bool = False  # a second person is in view: show the one-metre-line request
    thermal: np.ndarray | None = field(default=None, compare=False)  # live inset, (24, 32) °C
    status: StatusStrip = field(default_factory=StatusStrip)
    staff_spot: str = ""  # where a stopped visitor waits for staff
    detail: str = ""  # MAINTENANCE: what is wrong and what to do, already in the site's words


@runtime_checkable
class Display(Protocol):
    def render(self, view: ScreenView) -> None: ...

    def close(self) -> None: ...
