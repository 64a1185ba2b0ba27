"""`ZxingDecoder`: the kiosk's `QrDecoder` on zxing-cpp, reading the camera's Y plane in place.

zxing-cpp takes a (H, W) uint8 numpy array through the buffer protocol, strides included, so
the lores Y plane (a view whose rows are wider than the image) is read without a copy.  On this
project's graded set of phone photographs it reads more frames than zbar, and it is about ten
times faster on a VGA frame (see `bench/decode_speed.py`, `bench/decode_read_rate.py`), so it is
the kiosk's default decoder; zbar (`PyzbarDecoder`) stays as the design's baseline.

Only QR symbols are searched (a parcel's barcode is not a health code), and inverted (light on
dark) codes are tried by the library itself.  The text is zxing-cpp's own decoding of the symbol
as ISO/IEC 18004 says: ECI designators name the character set of what follows them (UTF-8,
ISO-8859-x, Shift_JIS, GB18030, Windows-125x, …), Kanji mode is Shift_JIS, and byte-mode data
without an ECI is read as UTF-8 when it is UTF-8 (as phones write it) and by zxing-cpp's guess
(Shift_JIS or ISO-8859-1) otherwise.  THP1 and HC1 texts are ASCII and unaffected.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kiosk.errors import KioskError


class ZxingUnavailable(KioskError, ImportError):
    """The zxing-cpp Python package is not installed (an `ImportError` too, to fall back on)."""


class ZxingDecoder:
    """Finds QR codes in a (H, W) uint8 image with zxing-cpp and returns their texts.

    `try_invert` retries light-on-dark codes (dark-mode apps); `try_downscale` also scans a
    reduced copy, which finds codes whose modules are large or noisy.  Both are zxing-cpp's
    defaults and cost little when a code is found on the first pass.
    """

    def __init__(self, *, try_invert: bool = True, try_downscale: bool = True) -> None:
        try:
            import zxingcpp
        except ImportError as exc:
            raise ZxingUnavailable(f"QR decoding with zxing needs the zxing-cpp package (pip install zxing-cpp): {exc}"
                                   ) from exc
        self._read: Any = zxingcpp.read_barcodes
        self._formats = zxingcpp.BarcodeFormat.QRCode
        self._text_mode = zxingcpp.TextMode.Plain  # the content as text per its ECI, without symbology decoration
        self._try_invert = try_invert
        self._try_downscale = try_downscale

    def decode(self, y: np.ndarray) -> list[str]:
        """The texts of every QR code in the luminance image `y`; [] if none."""
        if y.ndim != 2 or y.dtype != np.uint8:
            raise ValueError(f"expected a (H, W) uint8 luminance image, got {y.dtype} {y.shape}")
        if y.shape[0] == 0 or y.shape[1] == 0:
            return []
        if y.strides[1] != 1:  # zxing needs unit pixel stride; a row stride wider than the row is fine
            y = np.ascontiguousarray(y)
        found = self._read(y, formats=self._formats, try_rotate=True, try_downscale=self._try_downscale,
                           try_invert=self._try_invert, text_mode=self._text_mode)
        return [barcode.text for barcode in found if barcode.valid]

    def close(self) -> None:
        """Nothing to release; present so that every decoder can be closed alike."""

    def __enter__(self) -> ZxingDecoder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
