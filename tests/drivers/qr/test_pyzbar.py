"""zbar on frames the kiosk would see: rendered QR codes in numpy arrays, none, several."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import segno
from PIL import Image

from drivers.qr.images import load_gray
from drivers.qr.pyzbar_decoder import PyzbarDecoder
from kiosk.ports import QrDecoder

THP1_LIKE = "THP1:NCFT90W10FFWTWGSLKC 4R69J8OM.DF*MHFCV7B0XK3 CX*9F69WY0ZDD.XEFN0"


def render(text: str, *, scale: int = 4, **options: object) -> np.ndarray:
    """A QR code as the camera's Y plane: dark modules 0, light 255, with the quiet zone."""
    dark = np.array(list(segno.make_qr(text, **options).matrix_iter(scale=scale, border=4)), dtype=bool)
    return np.where(dark, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def decoder() -> PyzbarDecoder:
    return PyzbarDecoder()


def test_is_a_qr_decoder(decoder: PyzbarDecoder) -> None:
    assert isinstance(decoder, QrDecoder)


def test_reads_one_code(decoder: PyzbarDecoder) -> None:
    assert decoder.decode(render(THP1_LIKE)) == [THP1_LIKE]


def test_reads_utf8_text(decoder: PyzbarDecoder) -> None:
    text = "站点 https://example.invalid/?a=1"
    assert decoder.decode(render(text, mode="byte", encoding="utf-8")) == [text]  # zbar alone reads 遶咏せ
    assert decoder.decode(render(text, mode="byte", encoding="utf-8", eci=True)) == [text]


def test_empty_frame_gives_nothing(decoder: PyzbarDecoder) -> None:
    assert decoder.decode(np.full((480, 640), 255, np.uint8)) == []
    assert decoder.decode(np.zeros((480, 640), np.uint8)) == []
    assert decoder.decode(np.zeros((0, 0), np.uint8)) == []


def test_two_codes_in_one_frame_give_two_texts(decoder: PyzbarDecoder) -> None:
    left, right = render("THP1:FIRST"), render("THP1:SECOND-CODE")
    height = max(left.shape[0], right.shape[0])
    frame = np.full((height + 40, left.shape[1] + right.shape[1] + 60), 255, np.uint8)
    frame[20:20 + left.shape[0], 20:20 + left.shape[1]] = left
    frame[20:20 + right.shape[0], 40 + left.shape[1]:40 + left.shape[1] + right.shape[1]] = right
    assert sorted(decoder.decode(frame)) == ["THP1:FIRST", "THP1:SECOND-CODE"]


def test_reads_a_view_without_copying_first(decoder: PyzbarDecoder) -> None:
    """A crop or a strided Y plane (non-contiguous) is read as the pixels it shows."""
    code = render(THP1_LIKE)
    padded = np.full((code.shape[0], code.shape[1] * 2), 255, np.uint8)
    padded[:, ::2] = code
    padded[:, 1::2] = code
    assert decoder.decode(padded[:, ::2]) == [THP1_LIKE]


def ean8(digits: str, *, module: int = 3, height: int = 120) -> np.ndarray:
    """An EAN-8 barcode (the kind on a parcel) as a luminance image."""
    left = ["0001101", "0011001", "0010011", "0111101", "0100011",
            "0110001", "0101111", "0111011", "0110111", "0001011"]
    right = ["".join("1" if bit == "0" else "0" for bit in code) for code in left]
    bits = "101" + "".join(left[int(d)] for d in digits[:4]) + "01010"
    bits += "".join(right[int(d)] for d in digits[4:]) + "101"
    row = np.repeat(np.array([0 if bit == "1" else 255 for bit in bits], np.uint8), module)
    row = np.concatenate([np.full(12 * module, 255, np.uint8), row, np.full(12 * module, 255, np.uint8)])
    return np.tile(row, (height, 1))


def test_ignores_other_symbologies(decoder: PyzbarDecoder) -> None:
    """Only QR is searched: a barcode in view is not a health code."""
    from pyzbar import pyzbar

    barcode = ean8("96385074")
    h, w = barcode.shape
    assert [s.data for s in pyzbar.decode((barcode.tobytes(), w, h))] == [b"96385074"]  # zbar can read it
    assert decoder.decode(barcode) == []


@pytest.mark.parametrize("bad", [np.zeros((10, 10, 3), np.uint8), np.zeros((10, 10), np.float32)])
def test_refuses_what_is_not_a_luminance_image(decoder: PyzbarDecoder, bad: np.ndarray) -> None:
    with pytest.raises(ValueError, match="uint8"):
        decoder.decode(bad)


def test_load_gray_reads_any_mode_as_luminance(tmp_path: Path, decoder: PyzbarDecoder) -> None:
    segno.make_qr(THP1_LIKE).save(tmp_path / "code.png", scale=4)
    rgb = Image.open(tmp_path / "code.png").convert("RGB")
    rgb.save(tmp_path / "code-rgb.png")
    for name in ("code.png", "code-rgb.png"):
        y = load_gray(tmp_path / name)
        assert y.dtype == np.uint8 and y.ndim == 2
        assert decoder.decode(y) == [THP1_LIKE]


def test_load_gray_lays_transparency_on_white(tmp_path: Path, decoder: PyzbarDecoder) -> None:
    segno.make_qr(THP1_LIKE).save(tmp_path / "clear.png", scale=4, light=None)
    assert Image.open(tmp_path / "clear.png").info.get("transparency") is not None or \
        Image.open(tmp_path / "clear.png").mode in ("RGBA", "LA", "PA")
    y = load_gray(tmp_path / "clear.png")
    assert y.max() == 255
    assert decoder.decode(y) == [THP1_LIKE]
