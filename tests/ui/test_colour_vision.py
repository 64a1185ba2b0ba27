"""PASS, STOP and the manual check told apart without hue: as a colour-blind visitor sees them.

The simulation is Machado, Oliveira & Fernandes (2009), "A physiologically-based model for
simulation of color vision deficiency", IEEE TVCG 15(6): the published 3×3 matrices for
protanopia, deuteranopia and tritanopia at severity 1.0, applied to linear RGB (sRGB decoded,
simulated, clipped).  The matrices below are the paper's table; they were checked against
colour-science's `matrix_cvd_Machado2009` (identical to six decimals).  Lightness is CIELAB L*
(D65) of the simulated pixel, from its relative luminance.

What is compared is the screens as the real renderer draws them (`render_frame`), over the
verdict band: everything between the status strip and the one-metre band.
"""

from __future__ import annotations

import numpy as np
import pygame
import pytest

from kiosk.checkpoint.policy import REASONS
from kiosk.ports import Screen
from ui.display import ScreenRenderer, render_frame
from ui.samples import NOTICE, sample
from ui.theme import Frame

SIZES = [(800, 480), (1920, 1080), (480, 800)]

MACHADO_2009 = {
    "normal": np.eye(3),
    "protanopia": np.array([[0.152286, 1.052583, -0.204868],
                            [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968],
                              [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
    "tritanopia": np.array([[1.255528, -0.076749, -0.178779],
                            [-0.078411, 0.930809, 0.147602],
                            [0.004733, 0.691367, 0.303900]]),
}
MIN_LIGHTNESS_GAP = 20.0  # CIELAB L*: an unmistakable light/dark difference


def _linear(srgb: np.ndarray) -> np.ndarray:
    c = srgb / 255.0
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def lightness(rgb: np.ndarray, vision: str) -> np.ndarray:
    """CIELAB L* of each sRGB pixel (…, 3) as seen with `vision`."""
    simulated = np.clip(_linear(rgb.astype(float)) @ MACHADO_2009[vision].T, 0.0, 1.0)
    y = simulated @ np.array([0.2126, 0.7152, 0.0722])
    f = np.where(y > (6 / 29) ** 3, np.cbrt(y), y / (3 * (6 / 29) ** 2) + 4 / 29)
    return 116 * f - 16


def test_the_simulation_reproduces_the_olive_problem() -> None:
    """The old colours, (18, 134, 62) green and (197, 28, 38) red, are one lightness to a deuteranope:
    the reason for this file.  (And the simulation is not a no-op: the red darkens for a protanope.)"""
    old = np.array([[18, 134, 62], [197, 28, 38]])
    green, red = lightness(old, "deuteranopia")
    assert abs(green - red) < 1.0
    assert lightness(old, "protanopia")[1] < lightness(old, "normal")[1] - 5


@pytest.fixture(scope="module")
def renderer() -> ScreenRenderer:
    return ScreenRenderer(site=NOTICE)


def _band(surface: pygame.Surface) -> np.ndarray:
    """The verdict band's pixels, (H, W, 3)."""
    frame = Frame.of(surface.get_size())
    rgb = pygame.surfarray.array3d(surface).transpose(1, 0, 2)
    return rgb[frame.status.bottom:frame.footer.top]


def _mean_lightness(surface: pygame.Surface, vision: str) -> float:
    return float(lightness(_band(surface)[::3, ::3], vision).mean())


@pytest.mark.parametrize("vision", list(MACHADO_2009))
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_pass_stop_and_manual_check_differ_in_lightness(renderer: ScreenRenderer, size: tuple[int, int],
                                                        vision: str) -> None:
    screens = {
        "pass": sample(Screen.PASS),
        "stop": sample(Screen.STOP),
        "stop, every reason": sample(Screen.STOP, reasons=REASONS),
        "manual check": sample(Screen.FAULT),
    }
    light = {name: _mean_lightness(render_frame(view, size, renderer=renderer)[0], vision)
             for name, view in screens.items()}
    for other in ("stop", "stop, every reason", "manual check"):
        assert light["pass"] - light[other] >= MIN_LIGHTNESS_GAP, (vision, light)


def _row_lightness(surface: pygame.Surface, y: int, vision: str) -> np.ndarray:
    rgb = pygame.surfarray.array3d(surface).transpose(1, 0, 2)
    return lightness(rgb[y], vision)


@pytest.mark.parametrize("vision", list(MACHADO_2009))
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_stop_is_striped_and_pass_is_solid(renderer: ScreenRenderer, size: tuple[int, int], vision: str) -> None:
    """In the margin above the body (nothing but the band's ground): PASS is one colour; STOP has
    diagonal stripes of two lightnesses at least 10 L* apart, the same row pattern shifted
    sideways as it goes down (diagonal, not vertical), with a period of a few per cent of the screen."""
    frame = Frame.of(size)
    y0, d = frame.status.bottom + 1, max(2, frame.pad // 3)
    passed = render_frame(sample(Screen.PASS), size, renderer=renderer)[0]
    for y in (y0, y0 + d):
        assert np.ptp(_row_lightness(passed, y, vision)) < 0.5
    stopped = render_frame(sample(Screen.STOP, reasons=REASONS), size, renderer=renderer)[0]
    upper, lower = _row_lightness(stopped, y0, vision), _row_lightness(stopped, y0 + d, vision)
    assert np.ptp(upper) >= 10
    dark = upper < upper.min() + np.ptp(upper) / 2
    assert 0.3 < dark.mean() < 0.7  # about half and half
    runs = np.flatnonzero(np.diff(dark.astype(int)))  # where a stripe starts or ends
    period = np.diff(runs[::2]).mean()
    assert frame.unit * 3 < period < frame.unit * 12, period
    shifted = (float(np.abs(lower[d:] - upper[:-d]).mean()), float(np.abs(lower[:-d] - upper[d:]).mean()))
    assert min(shifted) < 1.0  # one row is the other moved by d pixels: 45° stripes
    assert float(np.abs(lower - upper).mean()) > 2.0  # …and not the same row: not vertical bars
