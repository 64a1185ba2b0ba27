"""The photographed phone: each effect does what its physics says, frames are reproducible, grades grade."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from drivers.camera.grades import GRADES, graded_frames
from drivers.camera.photo import Glare, Shot, photograph, render_shot
from drivers.qr.images import load_gray
from drivers.qr.pyzbar_decoder import PyzbarDecoder
from drivers.qr.zxing_decoder import ZxingDecoder
from tests.paths import SHARED

TEXT = "THP1:" + "PHOTO0123456789ABCDEFGHIJ" * 11
VECTORS = SHARED / "health-pass" / "vectors" / "png"


def test_a_clean_shot_decodes_and_a_seed_reproduces_a_frame(zxing: ZxingDecoder) -> None:
    clean = render_shot(TEXT, Shot())
    assert clean.dtype == np.uint8 and clean.shape == (480, 640)
    assert zxing.decode(clean) == [TEXT] == PyzbarDecoder().decode(clean)
    noisy = Shot(noise_sigma=5, moire_amp=0.2)
    assert np.array_equal(render_shot(TEXT, noisy, seed=3), render_shot(TEXT, noisy, seed=3))
    assert not np.array_equal(render_shot(TEXT, noisy, seed=3), render_shot(TEXT, noisy, seed=4))


def test_glare_adds_light_and_clips_where_it_falls() -> None:
    base = render_shot(TEXT, Shot()).astype(int)
    lit = render_shot(TEXT, Shot(glares=(Glare(u=0.5, v=0.5, radius=0.15, strength=250),))).astype(int)
    h, w = base.shape
    centre = (slice(h // 2 - 5, h // 2 + 5), slice(w // 2 - 5, w // 2 + 5))
    assert (lit >= base).all()
    assert (lit[centre] >= 250).mean() > 0.9  # the modules under the spot are washed out
    assert np.array_equal(lit[:, :60], base[:, :60])  # the room beside the phone is untouched


def test_a_thumb_covers_the_side_of_the_screen_in_skin_tone() -> None:
    base = render_shot(TEXT, Shot())
    thumb = render_shot(TEXT, Shot(thumb_reach=0.2, thumb_side=1, thumb_v=0.6))
    changed = np.argwhere(np.abs(thumb.astype(int) - base.astype(int)) > 20)
    assert len(changed) > 500
    assert changed[:, 1].min() > 640 * 0.5  # from the right edge only
    rows, cols = changed[:, 0], changed[:, 1]
    assert 100 < np.median(thumb[rows, cols]) < 170


def test_moire_bands_modulate_the_screen_not_the_room() -> None:
    base = render_shot(TEXT, Shot()).astype(int)
    banded = render_shot(TEXT, Shot(moire_amp=0.3, moire_period_px=10)).astype(int)
    assert np.array_equal(banded[:, :40], base[:, :40])
    assert np.abs(banded - base)[100:380, 250:390].mean() > 5


def test_dim_screens_and_underexposure_squeeze_the_contrast() -> None:
    bright = render_shot(TEXT, Shot())
    dim = render_shot(TEXT, Shot(brightness=0.4, exposure=0.6))
    assert np.percentile(dim, 99) < 0.35 * np.percentile(bright, 99)


@pytest.mark.parametrize("axis", ["tilt_deg", "pitch_deg"])
def test_a_40_degree_tilt_foreshortens_the_phone(axis: str) -> None:
    flat = render_shot(TEXT, Shot()) > 150
    tilted = render_shot(TEXT, replace(Shot(), **{axis: 40.0})) > 150
    along = 1 if axis == "tilt_deg" else 0
    extent = lambda m: np.ptp(np.nonzero(m.any(axis=1 - along))[0])  # noqa: E731
    assert extent(tilted) < 0.9 * extent(flat)


def test_motion_blur_softens_edges() -> None:
    sharp = render_shot(TEXT, Shot()).astype(float)
    moved = render_shot(TEXT, Shot(motion_px=4, motion_deg=0)).astype(float)
    assert np.abs(np.diff(moved, axis=1)).mean() < 0.9 * np.abs(np.diff(sharp, axis=1)).mean()


def test_graded_frames_are_reproducible_and_get_harder(zxing: ZxingDecoder) -> None:
    a = next(graded_frames(3, 1, seed=7))
    b = next(graded_frames(3, 1, seed=7))
    assert a.text == b.text and a.shot == b.shot and np.array_equal(a.y, b.y)
    assert len(GRADES) == 5
    rates = [sum(zxing.decode(f.y) == [f.text] for f in graded_frames(g, 6, seed=2)) for g in (1, 5)]
    assert rates[0] == 6  # easy: every frame
    assert rates[1] < rates[0]  # very hard: not every frame
    shots = [f.shot for f in graded_frames(5, 6, seed=2)]
    assert all(30 <= np.hypot(s.tilt_deg, s.pitch_deg) <= 40 for s in shots)


def test_zxing_reads_more_moderate_frames_than_zbar(zxing: ZxingDecoder) -> None:
    """The small version of `bench/decode_read_rate.py`: grade 3, eight frames."""
    zbar = PyzbarDecoder(invert=False)
    frames = list(graded_frames(3, 8, seed=1))
    read = {name: sum(d.decode(f.y) == [f.text] for f in frames) for name, d in (("zbar", zbar), ("zxing", zxing))}
    assert read["zxing"] >= 7 and read["zxing"] > read["zbar"], read


@pytest.mark.skipif(not VECTORS.is_dir(), reason="shared health-pass vectors not checked out")
def test_photographed_shared_vectors_still_decode(zxing: ZxingDecoder) -> None:
    picture = load_gray(VECTORS / "green.png")
    text = zxing.decode(picture)
    frame = photograph(picture, Shot(scale=0.8, tilt_deg=20, rotate_deg=10, brightness=0.7, blur_px=0.5,
                                     noise_sigma=3, glares=(Glare(0.2, 0.2, 0.1, 60),)), seed=1)
    assert frame.shape == (480, 640)
    assert zxing.decode(frame) == text
