"""Synthetic thermal images for the screening's tests: a room, and faces painted into it."""

from __future__ import annotations

import numpy as np

from kiosk.ports import ThermalFrame


def room(temp_c: float = 24.0) -> np.ndarray:
    """An empty room: every pixel at `temp_c`."""
    return np.full((24, 32), temp_c)


def frame_of(px: np.ndarray, room_c: float = 24.0) -> ThermalFrame:
    """`px` as the driver delivers it; the die runs about 8 °C above the room."""
    return ThermalFrame(px, room_c + 8.0, 0.0)


def paint_face(px: np.ndarray, col: int, width: int, temp: float, top: int = 4) -> None:
    """A face `width` pixels wide from column `col`: a forehead band at `temp`, the rest 1 °C cooler."""
    px[top:top + 10, col:col + width] = temp - 1.0
    px[top + 1:top + 4, col + 1:col + width - 1] = temp
