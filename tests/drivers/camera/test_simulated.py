"""The simulated camera: frames on the camera's grid, pixels of whatever the scene puts in view."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pytest
from pyzbar import pyzbar

from drivers.camera.simulated import PhoneView, SimulatedCamera
from kiosk.clock import VirtualClock
from kiosk.errors import CameraError
from kiosk.ports import FrameSource

CODE_A = "THP1:" + "NCFT90W10FFWTWGSLKC 4R69J8OM.DF*MHFCV7B0XK3 CX*9F69WY0ZDD" * 5
CODE_B = "THP1:" + "7BK+0TZ8OPQEHVCITAI$D:L69OC%TAOX5W6BL/ELVC*KEZAE2EC 1VECJ-C" * 5


def decode(y: np.ndarray) -> list[str]:
    h, w = y.shape
    return sorted(s.data.decode("ascii") for s in pyzbar.decode((y.tobytes(), w, h)))


@dataclass
class Timeline:
    """Phones in view from `start` (monotonic) on; an empty room before."""

    phones: Sequence[PhoneView]
    start: float = 0.0
    asked: list[float] | None = None

    def phones_in_view(self, t_monotonic: float) -> Sequence[PhoneView]:
        if self.asked is not None:
            self.asked.append(t_monotonic)
        return self.phones if t_monotonic >= self.start else []


def test_frames_arrive_on_the_fps_grid_of_the_virtual_clock() -> None:
    clock = VirtualClock(monotonic_start=1000.0)
    asked: list[float] = []
    cam = SimulatedCamera(Timeline([], asked=asked), clock, fps=8.0)
    assert isinstance(cam, FrameSource)
    assert cam.next_frame_at() == pytest.approx(1000.125)
    times = []
    for _ in range(4):
        due = cam.next_frame_at()
        frame = cam.read_frame()
        assert frame.taken_at == pytest.approx(due) == pytest.approx(clock.monotonic())
        times.append(frame.taken_at)
    assert times == pytest.approx([1000.125, 1000.25, 1000.375, 1000.5])
    assert asked == times  # the scene is asked about the moment of exposure


def test_a_late_reader_gets_the_newest_frame_and_skips_older_ones() -> None:
    clock = VirtualClock(monotonic_start=0.0)
    cam = SimulatedCamera(Timeline([]), clock, fps=10.0)
    cam.read_frame()
    clock.advance(0.23)  # now 0.33: the 0.2 frame was never read and is dropped
    assert cam.next_frame_at() == pytest.approx(0.3)
    assert cam.read_frame().taken_at == pytest.approx(0.3)
    assert clock.monotonic() == pytest.approx(0.33)  # buffered: no waiting
    assert cam.read_frame().taken_at == pytest.approx(0.4)  # nothing new yet: wait for the next one
    assert clock.monotonic() == pytest.approx(0.4)
    clock.advance(0.1)  # exactly on a grid point: that frame is complete now
    assert cam.read_frame().taken_at == pytest.approx(0.5)
    assert clock.monotonic() == pytest.approx(0.5)


def test_empty_room_decodes_to_nothing_and_costs_no_render() -> None:
    cam = SimulatedCamera(Timeline([]), VirtualClock(), seed=3)
    frames = [cam.read_frame().y for _ in range(5)]
    assert decode(frames[0]) == []
    assert frames[4] is frames[0]  # cached, cycling through a small bank of noise fields
    assert not frames[0].flags.writeable
    assert not np.array_equal(frames[0], frames[1])  # light sensor noise differs frame to frame


def test_noise_is_controlled_by_the_seed() -> None:
    a = SimulatedCamera(Timeline([]), VirtualClock(), seed=1).read_frame().y
    b = SimulatedCamera(Timeline([]), VirtualClock(), seed=1).read_frame().y
    c = SimulatedCamera(Timeline([]), VirtualClock(), seed=2).read_frame().y
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_a_phone_comes_into_view_and_its_code_decodes() -> None:
    clock = VirtualClock(monotonic_start=0.0)
    phone = PhoneView(CODE_A, tilt_deg=12, rotate_deg=-8, brightness=0.7)
    cam = SimulatedCamera(Timeline([phone], start=0.3), clock, fps=8.0)
    seen = [decode(cam.read_frame().y) for _ in range(4)]  # 0.125, 0.25, 0.375, 0.5
    assert seen == [[], [], [CODE_A], [CODE_A]]


def test_two_phones_side_by_side_give_two_codes() -> None:
    cam = SimulatedCamera(Timeline([PhoneView(CODE_A), PhoneView(CODE_B, rotate_deg=5)]),
                          VirtualClock())
    assert decode(cam.read_frame().y) == sorted([CODE_A, CODE_B])


def test_a_distant_phone_is_too_small_to_read() -> None:
    cam = SimulatedCamera(Timeline([PhoneView(CODE_A, scale=0.4)]), VirtualClock())
    y = cam.read_frame().y
    assert decode(y) == []
    assert y.std() > room_std(), "the phone is there, only too small"


def room_std() -> float:
    return float(SimulatedCamera(Timeline([]), VirtualClock()).read_frame().y.std())


def test_an_unplugged_camera_raises_after_a_frame_period_and_recovers() -> None:
    clock = VirtualClock(monotonic_start=0.0)
    cam = SimulatedCamera(Timeline([]), clock, fps=8.0)
    cam.faulty = True
    for k in (1, 2):
        with pytest.raises(CameraError):
            cam.read_frame()
        assert clock.monotonic() == pytest.approx(k * 0.125)  # a retry loop still advances time
    cam.faulty = False
    assert cam.read_frame().taken_at == pytest.approx(0.375)


def test_camera_error_is_an_oserror_too() -> None:
    cam = SimulatedCamera(Timeline([]), VirtualClock())
    cam.close()
    with pytest.raises(OSError):
        cam.read_frame()


def test_context_manager_closes() -> None:
    with SimulatedCamera(Timeline([]), VirtualClock()) as cam:
        cam.read_frame()
    with pytest.raises(CameraError):
        cam.read_frame()


def test_fps_must_be_positive() -> None:
    with pytest.raises(ValueError):
        SimulatedCamera(Timeline([]), VirtualClock(), fps=0)
