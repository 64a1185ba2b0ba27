"""The live thermal inset: a (24, 32) array of °C as a small false-colour picture.

It reassures the visitor that the kiosk sees them and where to stand; it is not a measurement
display, so the colours are stretched over whatever range the frame holds (with a floor, so that
an empty scene of uniform wall does not turn into noise).
"""

from __future__ import annotations

import numpy as np
import pygame

# An "inferno"-like ramp: cold is dark, warm is bright, readable by the colour-blind as brightness.
_STOPS = np.array([
    (0.00, 0, 0, 4),
    (0.20, 40, 11, 84),
    (0.40, 101, 21, 110),
    (0.60, 187, 55, 84),
    (0.75, 237, 105, 37),
    (0.90, 251, 180, 26),
    (1.00, 252, 255, 164),
], dtype=np.float64)
_LUT = np.stack(
    [np.interp(np.linspace(0.0, 1.0, 256), _STOPS[:, 0], _STOPS[:, c]) for c in (1, 2, 3)], axis=1,
).astype(np.uint8)
_NO_DATA = (90, 90, 90)
MIN_SPAN_C = 4.0


def colourise(pixels: np.ndarray) -> np.ndarray:
    """(H, W) °C -> (H, W, 3) uint8; NaN pixels grey."""
    data = np.asarray(pixels, dtype=np.float64)
    valid = np.isfinite(data)
    rgb = np.empty((*data.shape, 3), dtype=np.uint8)
    rgb[...] = _NO_DATA
    if valid.any():
        lo, hi = float(data[valid].min()), float(data[valid].max())
        if hi - lo < MIN_SPAN_C:
            mid = (hi + lo) / 2
            lo, hi = mid - MIN_SPAN_C / 2, mid + MIN_SPAN_C / 2
        index = np.clip((data - lo) / (hi - lo) * 255.0, 0, 255)
        rgb[valid] = _LUT[index[valid].astype(np.uint8)]
    return rgb


def inset_surface(pixels: np.ndarray, size: tuple[int, int]) -> pygame.Surface:
    """The thermal frame coloured and smoothly scaled to `size` (width, height)."""
    rgb = colourise(pixels)
    small = pygame.surfarray.make_surface(np.ascontiguousarray(rgb.transpose(1, 0, 2)))
    return pygame.transform.smoothscale(small, size)  # make_surface gives 24/32-bit, as smoothscale needs
