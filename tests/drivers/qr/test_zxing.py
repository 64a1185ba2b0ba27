"""zxing-cpp as the kiosk's second (and default) decoder: same answers as zbar, on the same frames."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import segno

from drivers.qr.images import load_gray
from drivers.qr.preprocess import PreprocessingDecoder, invert, stretch_contrast
from drivers.qr.pyzbar_decoder import PyzbarDecoder
from drivers.qr.zxing_decoder import ZxingDecoder, ZxingUnavailable
from kiosk.ports import QrDecoder
from tests.paths import SHARED

THP1_LIKE = "THP1:NCFT90W10FFWTWGSLKC 4R69J8OM.DF*MHFCV7B0XK3 CX*9F69WY0ZDD.XEFN0"
VECTORS = SHARED / "health-pass" / "vectors" / "png"


def render(text: str, *, scale: int = 4, **options: object) -> np.ndarray:
    dark = np.array(list(segno.make_qr(text, **options).matrix_iter(scale=scale, border=4)), dtype=bool)
    return np.where(dark, 0, 255).astype(np.uint8)


def test_is_a_qr_decoder(zxing: ZxingDecoder) -> None:
    assert isinstance(zxing, QrDecoder)


def test_reads_one_code(zxing: ZxingDecoder) -> None:
    assert zxing.decode(render(THP1_LIKE)) == [THP1_LIKE]


# Text as ISO/IEC 18004 says (issue 15): ECI designators name the character set, Kanji mode is
# Shift_JIS; byte-mode data without an ECI is UTF-8 when it is UTF-8 (as phones write it), else a guess.
TEXTS: dict[str, tuple[str, dict[str, object]]] = {
    "utf8-no-eci": ("站点 https://example.invalid/?a=1", {"mode": "byte", "encoding": "utf-8"}),
    "utf8-eci": ("站点 https://example.invalid/?a=1", {"mode": "byte", "encoding": "utf-8", "eci": True}),
    "shift-jis-bytes": ("日本語テキスト", {"mode": "byte", "encoding": "shift_jis"}),
    "shift-jis-eci": ("日本語テキスト", {"mode": "byte", "encoding": "shift_jis", "eci": True}),
    "kanji-mode": ("日本語", {"mode": "kanji"}),
    "latin1-no-eci": ("Grüße, café", {"mode": "byte", "encoding": "latin-1"}),
    "latin2-eci": ("Příliš žluťoučký kůň", {"mode": "byte", "encoding": "iso-8859-2", "eci": True}),
    "cp1251-eci": ("Привет, мир", {"mode": "byte", "encoding": "cp1251", "eci": True}),
    "gb18030-eci": ("健康码 绿码", {"mode": "byte", "encoding": "gb18030", "eci": True}),
    "ascii": (THP1_LIKE, {}),
}


@pytest.mark.parametrize(("text", "options"), TEXTS.values(), ids=TEXTS.keys())
def test_text_is_decoded_as_the_qr_standard_says_by_both_decoders(
        zxing: ZxingDecoder, text: str, options: dict[str, object]) -> None:
    frame = render(text, **options)
    assert zxing.decode(frame) == [text]
    assert PyzbarDecoder().decode(frame) == [text]  # zbar alone: 遶咏せ, Ïðèâåò, 翩艙鎢 for three of them
    assert PyzbarDecoder().decode(255 - frame) == [text]  # and on the inverted retry


def test_zbar_without_zxing_still_reads_utf8_and_keeps_its_own_conversions(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without zxing-cpp zbar's binary option arbitrates: UTF-8 bytes are UTF-8, Kanji mode stays Shift_JIS."""
    monkeypatch.setitem(sys.modules, "zxingcpp", None)
    zbar = PyzbarDecoder()
    for name in ("utf8-no-eci", "utf8-eci", "shift-jis-bytes", "shift-jis-eci", "kanji-mode", "latin1-no-eci",
                 "latin2-eci"):
        text, options = TEXTS[name]
        assert zbar.decode(render(text, **options)) == [text], name


def test_reads_the_y_plane_view_of_a_wider_buffer_in_place(zxing: ZxingDecoder) -> None:
    """The lores Y plane is a view whose rows are longer than the image (stride padding)."""
    code = render(THP1_LIKE)
    h, w = code.shape
    yuv = np.full((h * 3 // 2, -(-w // 64) * 64 + 64), 7, np.uint8)
    yuv[:h, :w] = code
    view = yuv[:h, :w]
    assert not view.flags.c_contiguous
    assert zxing.decode(view) == [THP1_LIKE]
    assert zxing.decode(np.repeat(code, 2, axis=1)[:, ::2]) == [THP1_LIKE]  # a column-strided view too


def test_reads_light_on_dark_codes(zxing: ZxingDecoder) -> None:
    assert zxing.decode(255 - render(THP1_LIKE)) == [THP1_LIKE]
    assert ZxingDecoder(try_invert=False).decode(255 - render(THP1_LIKE)) == []


def test_pyzbar_retries_inverted_codes() -> None:
    negative = 255 - render(THP1_LIKE)
    assert PyzbarDecoder(invert=False).decode(negative) == []
    assert PyzbarDecoder().decode(negative) == [THP1_LIKE]


def test_reports_every_code_in_view(zxing: ZxingDecoder) -> None:
    left, right = render("THP1:FIRST"), render("THP1:SECOND-CODE")
    height = max(left.shape[0], right.shape[0])
    frame = np.full((height + 40, left.shape[1] + right.shape[1] + 60), 255, np.uint8)
    frame[20:20 + left.shape[0], 20:20 + left.shape[1]] = left
    frame[20:20 + right.shape[0], 40 + left.shape[1]:40 + left.shape[1] + right.shape[1]] = right
    assert sorted(zxing.decode(frame)) == ["THP1:FIRST", "THP1:SECOND-CODE"]


def test_nothing_in_an_empty_frame_and_no_other_symbologies(zxing: ZxingDecoder) -> None:
    from tests.drivers.qr.test_pyzbar import ean8

    assert zxing.decode(np.full((480, 640), 60, np.uint8)) == []
    assert zxing.decode(np.zeros((0, 0), np.uint8)) == []
    assert zxing.decode(ean8("96385074")) == []


@pytest.mark.parametrize("bad", [np.zeros((10, 10, 3), np.uint8), np.zeros((10, 10), np.float32)])
def test_refuses_what_is_not_a_luminance_image(zxing: ZxingDecoder, bad: np.ndarray) -> None:
    with pytest.raises(ValueError, match="uint8"):
        zxing.decode(bad)


def test_without_zxing_the_constructor_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "zxingcpp", None)
    with pytest.raises(ZxingUnavailable, match="zxing-cpp"):
        ZxingDecoder()


@pytest.mark.skipif(not VECTORS.is_dir(), reason="shared health-pass vectors not checked out")
def test_both_decoders_read_the_same_text_from_every_shared_vector(zxing: ZxingDecoder) -> None:
    zbar = PyzbarDecoder()
    pictures = sorted(VECTORS.glob("*.png"))
    assert pictures
    for path in pictures:
        y = load_gray(path)
        texts = zxing.decode(y)
        assert len(texts) == 1 and texts == zbar.decode(y), path.name


def test_preprocessing_recovers_frames_that_plain_zbar_misses() -> None:
    """Graded frames (grade 3, seed 1, frames 7 and 9) that plain zbar misses and a clean-up pass reads."""
    from drivers.camera.grades import graded_frames

    frames = [f for f in graded_frames(3, 10, seed=1) if f.index in (7, 9)]
    for f in frames:
        assert PyzbarDecoder(invert=False).decode(f.y) == []
        cascade = PreprocessingDecoder(PyzbarDecoder(invert=False))
        assert cascade.decode(f.y) == [f.text]
        assert cascade.last_pass in ("stretch_sharpen", "upscale")
    cascade = PreprocessingDecoder(PyzbarDecoder(invert=False))
    assert cascade.decode(255 - render(THP1_LIKE)) == [THP1_LIKE] and cascade.last_pass == "invert"


def test_preprocessing_passes_keep_the_frame_shape_and_type() -> None:
    y = (np.arange(480 * 640) % 97 + 50).astype(np.uint8).reshape(480, 640)
    stretched = stretch_contrast(y)
    assert stretched.dtype == np.uint8 and stretched.shape == y.shape
    assert stretched.min() <= 5 and stretched.max() >= 250
    assert np.array_equal(invert(invert(y)), y)


def test_every_named_decoder_reads_a_code_and_unknown_names_are_refused() -> None:
    from drivers.qr.decoders import DECODER_KINDS, make_decoder

    for kind in DECODER_KINDS:
        assert make_decoder(kind).decode(render(THP1_LIKE)) == [THP1_LIKE], kind
    with pytest.raises(ValueError, match="unknown decoder"):
        make_decoder("zbar-9000")


def test_one_pass_per_frame_takes_turns() -> None:
    calls: list[str] = []

    def pass_named(name: str):  # type: ignore[no-untyped-def]
        def clean(y: np.ndarray) -> np.ndarray:
            calls.append(name)
            return y
        return name, clean

    cascade = PreprocessingDecoder(ZxingDecoder(), passes=[pass_named("a"), pass_named("b")], passes_per_frame=1)
    empty = np.full((60, 80), 90, np.uint8)
    for _ in range(3):
        assert cascade.decode(empty) == []
    assert calls == ["a", "b", "a"]
    assert cascade.decode(render(THP1_LIKE)) == [THP1_LIKE] and calls == ["a", "b", "a"]  # no pass needed
