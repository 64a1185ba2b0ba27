"""A camera that films a scripted scene: phones held up to the lens, or an empty room.

The simulator (and tests) describe *what is in front of the lens* at any moment through a
`Scene`; this source turns that into `GrayFrame`s on the camera's frame grid, so the kiosk's
decoder sees pixels, not answers.  It never reads the scene's meaning, only its phones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from kiosk.errors import CameraError
from kiosk.ports import Clock, GrayFrame

from .pacing import FrameGrid
from .phone import DEFAULT_PHONE_HEIGHT_FRAC, PHONE_ASPECT, draw_phone, room_background

_NOISE_BANK = 4  # distinct noise fields cycled through; enough that frames are not identical


@dataclass(frozen=True, slots=True)
class PhoneView:
    """One phone as the camera sees it.

    `scale` is distance-ish: 1.0 is a phone held at reading distance (it fills 90 % of the
    frame height), 0.5 is twice as far.  `brightness` scales its screen, `blur_px` defocuses it.
    """

    text: str
    tilt_deg: float = 0.0
    rotate_deg: float = 0.0
    brightness: float = 1.0
    scale: float = 1.0
    blur_px: float = 0.0


class Scene(Protocol):
    """What is in front of the lens at a given time."""

    def phones_in_view(self, t_monotonic: float) -> Sequence[PhoneView]: ...


class SimulatedCamera:
    """A `FrameSource` rendering `scene` at `fps` on `clock`.

    Several phones in view are placed side by side, each shrunk to its share of the width.
    `faulty = True` makes `read_frame` fail as an unplugged camera does (after the frame
    period, like a capture timeout, so that a loop retrying on a virtual clock still advances).
    """

    def __init__(self, scene: Scene, clock: Clock, *, fps: float = 8.0,
                 frame_size: tuple[int, int] = (640, 480), seed: int = 0,
                 noise_sigma: float = 1.5) -> None:
        self._scene = scene
        self._grid = FrameGrid(clock, fps)
        self._size = (int(frame_size[0]), int(frame_size[1]))
        self._seed = seed
        self._noise_sigma = noise_sigma
        self._noise: list[np.ndarray] | None = None
        self._empty: list[np.ndarray] = []
        self.faulty = False
        self._closed = False

    def next_frame_at(self) -> float:
        return self._grid.next_frame_at()

    def read_frame(self) -> GrayFrame:
        if self._closed:
            raise CameraError("camera is closed")
        taken_at = self._grid.wait()
        if self.faulty:
            raise CameraError("camera unplugged: no frame")
        phones = list(self._scene.phones_in_view(taken_at))
        slot = self._grid.frame_index % _NOISE_BANK
        y = self._render(phones, slot) if phones else self._empty_room(slot)
        return GrayFrame(y=y, taken_at=taken_at)

    def close(self) -> None:
        self._closed = True

    def __enter__(self) -> SimulatedCamera:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------------------------------

    def _noise_field(self, slot: int) -> np.ndarray | None:
        """Seeded sensor noise, made once: drawing 300 k normals per frame would dominate."""
        if self._noise_sigma <= 0:
            return None
        if self._noise is None:
            rng = np.random.default_rng(self._seed)
            w, h = self._size
            self._noise = [rng.normal(0.0, self._noise_sigma, (h, w)).astype(np.float32)
                           for _ in range(_NOISE_BANK)]
        return self._noise[slot]

    def _empty_room(self, slot: int) -> np.ndarray:
        """The commonest frame, so made once per noise slot and shared (read-only)."""
        if not self._empty:
            base = room_background(self._size, self._seed)
            for i in range(_NOISE_BANK):
                noise = self._noise_field(i)
                frame = base if noise is None else _quantise(base + noise)
                frame.flags.writeable = False
                self._empty.append(frame)
        return self._empty[slot]

    def _render(self, phones: list[PhoneView], slot: int) -> np.ndarray:
        w, h = self._size
        canvas = room_background(self._size, self._seed).astype(np.float32)
        share = w / len(phones)
        fit = 0.85 * share / PHONE_ASPECT  # the tallest phone that fits its share, with room to tilt
        for i, phone in enumerate(phones):
            draw_phone(canvas, phone.text, center=((i + 0.5) * share, h / 2),
                       height_px=min(DEFAULT_PHONE_HEIGHT_FRAC * h * phone.scale, fit),
                       tilt_deg=phone.tilt_deg, rotate_deg=phone.rotate_deg,
                       brightness=phone.brightness, blur_px=phone.blur_px)
        noise = self._noise_field(slot)
        return _quantise(canvas if noise is None else canvas + noise)


def _quantise(canvas: np.ndarray) -> np.ndarray:
    return np.clip(canvas + 0.5, 0, 255).astype(np.uint8)
