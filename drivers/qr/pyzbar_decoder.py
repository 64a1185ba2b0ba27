"""`PyzbarDecoder`: the kiosk's `QrDecoder` on zbar, fed the camera's Y plane without a copy into PIL.

zbar scans 8-bit grayscale natively, and the Pi camera's lores stream is YUV420 whose first
plane is exactly that, so the frame goes to zbar as raw bytes: no colour conversion, no image
object, a few milliseconds per VGA frame on a Pi 4.  Only QR symbols are searched, which is both
faster and stops a barcode on a parcel in view from being read as a code.

zbar reads dark modules on a light ground only; a phone in dark mode shows the opposite, so a
frame in which nothing was found is tried once more inverted (`invert=True`, the default).
zbar is also a C library that has crashed on odd images: run it in
`drivers.qr.isolated.IsolatedDecoder` where a crash must not take the kiosk down.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kiosk.errors import KioskError


class ZbarUnavailable(KioskError, ImportError):
    """pyzbar or the zbar shared library it loads is not installed.

    An `ImportError` too, so a composition root that falls back to another decoder when a
    dependency is missing can catch it as one.
    """


class PyzbarDecoder:
    """Finds QR codes in a (H, W) uint8 image and returns their texts.

    `invert`: when nothing is found, look again at the negative (light-on-dark codes).  It
    doubles the cost of an empty frame, which is why the kiosk scans slowly while idle.
    """

    def __init__(self, *, invert: bool = True) -> None:
        # Imported here, not at module level: pyzbar loads libzbar when imported, and a machine
        # without it should fail with a message that says what to install, only if it needs zbar.
        try:
            from pyzbar import pyzbar
        except (ImportError, OSError) as exc:
            raise ZbarUnavailable(
                "QR decoding needs the zbar library: install it with `apt-get install libzbar0` "
                f"(and the `pyzbar` Python package) — {exc}"
            ) from exc
        self._decode: Any = pyzbar.decode
        self._symbols = [pyzbar.ZBarSymbol.QRCODE]
        self._invert = invert

    def decode(self, y: np.ndarray) -> list[str]:
        """The texts of every QR code in the luminance image `y`, in zbar's order; [] if none."""
        if y.ndim != 2 or y.dtype != np.uint8:
            raise ValueError(f"expected a (H, W) uint8 luminance image, got {y.dtype} {y.shape}")
        height, width = y.shape
        if height == 0 or width == 0:
            return []
        texts = self._scan(np.ascontiguousarray(y).tobytes(), width, height)
        if not texts and self._invert:
            texts = self._scan((255 - y).tobytes(), width, height)
        return texts

    def _scan(self, pixels: bytes, width: int, height: int) -> list[str]:
        return [_text(symbol.data) for symbol in self._decode((pixels, width, height), symbols=self._symbols)]

    def close(self) -> None:
        """Nothing to release; present so the decoder can sit in a `with` block like devices do."""

    def __enter__(self) -> PyzbarDecoder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _text(data: bytes) -> str:
    """QR bytes as text: THP1 and HC1 are ASCII, UTF-8 covers other codes; latin-1 never fails."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")
