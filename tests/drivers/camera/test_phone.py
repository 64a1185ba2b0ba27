"""The phone renderer must produce frames a real QR decoder (zbar) reads, as a camera would."""

from __future__ import annotations

import numpy as np
import pytest
from pyzbar import pyzbar

from drivers.camera.phone import qr_module_px, qr_modules, render_phone, room_background

_BASE45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


def thp1_like(n: int = 294, seed: int = 1) -> str:
    """A THP1-shaped code text (prefix + base45 payload) of the length the platform issues."""
    rng = np.random.default_rng(seed)
    return "THP1:" + "".join(rng.choice(list(_BASE45), size=n))


def decode(y: np.ndarray) -> list[str]:
    h, w = y.shape
    return [s.data.decode("ascii") for s in pyzbar.decode((y.tobytes(), w, h))]


TEXT = thp1_like()


def test_a_thp1_code_is_version_10_and_gets_three_pixels_per_module_by_default() -> None:
    assert qr_modules(TEXT).shape == (57, 57)  # version 10 at level M
    assert qr_module_px(TEXT) >= 3.0


@pytest.mark.parametrize(
    ("tilt", "rotate", "brightness"),
    [(0, 0, 1.0), (15, 0, 1.0), (0, 15, 1.0), (15, 15, 0.6), (-15, -15, 0.6), (0, 0, 0.6)],
)
def test_rendered_phone_decodes(tilt: float, rotate: float, brightness: float) -> None:
    y = render_phone(TEXT, tilt_deg=tilt, rotate_deg=rotate, brightness=brightness)
    assert y.dtype == np.uint8 and y.shape == (480, 640)
    assert decode(y) == [TEXT]


def test_noise_and_slight_defocus_still_decode() -> None:
    y = render_phone(TEXT, tilt_deg=10, brightness=0.8, blur_px=0.7, noise_sigma=3.0,
                     rng=np.random.default_rng(5))
    assert decode(y) == [TEXT]


def test_a_phone_too_far_away_does_not_decode() -> None:
    """Realism both ways: at 40 % of the frame height the modules are ~1.4 px."""
    assert decode(render_phone(TEXT, phone_height_frac=0.4)) == []


def test_empty_room_decodes_to_nothing_and_is_cached_read_only() -> None:
    room = room_background((640, 480), 0)
    assert decode(np.ascontiguousarray(room)) == []
    assert room_background((640, 480), 0) is room
    assert not room.flags.writeable
    assert 15 < room.mean() < 90  # dim


def test_module_matrix_is_cached_per_text_and_read_only() -> None:
    m = qr_modules(TEXT)
    assert qr_modules(TEXT) is m
    with pytest.raises(ValueError):
        m[0, 0] = False


def test_render_is_deterministic_and_honours_frame_size() -> None:
    a = render_phone("THP1:SHORT", frame_size=(320, 240), noise_sigma=2.0)
    b = render_phone("THP1:SHORT", frame_size=(320, 240), noise_sigma=2.0)
    assert a.shape == (240, 320)
    assert np.array_equal(a, b)
    assert decode(a) == ["THP1:SHORT"]


def test_brightness_dims_the_screen_not_the_room() -> None:
    bright, dim = render_phone(TEXT), render_phone(TEXT, brightness=0.5)
    centre = (slice(200, 280), slice(280, 360))
    assert dim[centre].mean() < 0.65 * bright[centre].mean()
    assert np.array_equal(dim[:, :20], bright[:, :20])  # the wall at the left edge
