"""`PyzbarDecoder`: the kiosk's `QrDecoder` on zbar, fed the camera's Y plane without a copy into PIL.

zbar scans 8-bit grayscale natively, and the Pi camera's lores stream is YUV420 whose first
plane is exactly that, so the frame goes to zbar as raw bytes: no colour conversion, no image
object, a few milliseconds per VGA frame on a Pi 4.  Only QR symbols are searched, which is both
faster and stops a barcode on a parcel in view from being read as a code.

zbar reads dark modules on a light ground only; a phone in dark mode shows the opposite, so a
frame in which nothing was found is tried once more inverted (`invert=True`, the default).
zbar is also a C library that has crashed on odd images: run it in
`drivers.qr.isolated.IsolatedDecoder` where a crash must not take the kiosk down.

Text, as ISO/IEC 18004 says and as `ZxingDecoder` reads it, with care where zbar needs it.
zbar converts a symbol's bytes to UTF-8 itself: right by the ECI designators it knows (UTF-8,
ISO-8859-x, Shift_JIS) and for Kanji mode, wrong for an ECI it does not know (Windows-1251,
GB18030, …: it reports no designator) and for UTF-8 without an ECI, which it takes for Shift_JIS;
from the outside a Kanji-mode symbol and UTF-8 bytes misread as Shift_JIS look alike.  So the
text of a symbol that is not ASCII is read again, from that symbol's part of the frame, by
zxing-cpp, which knows the modes and every ECI.  Without zxing-cpp (or if it cannot read the
crop), zbar is asked once more with its binary option (`ZBAR_CFG_BINARY`, zbar >= 0.23.1): where
its conversion was a guess, bytes that are UTF-8 are taken as UTF-8 (what phones write), anything
else keeps zbar's conversion.  THP1 and HC1 texts are ASCII: none of this touches them.
"""

from __future__ import annotations

import ctypes
from typing import Any

import numpy as np

from kiosk.errors import KioskError

Y800: int = 808466521  # zbar's fourcc for 8-bit grayscale ("Y800")
CFG_BINARY: int = 4  # ZBAR_CFG_BINARY (zbar >= 0.23.1): return data without converting it to text

Location = tuple[tuple[int, int], ...]


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
            from pyzbar import wrapper
        except (ImportError, OSError) as exc:
            raise ZbarUnavailable(
                "QR decoding needs the zbar library: install it with `apt-get install libzbar0` "
                f"(and the `pyzbar` Python package) — {exc}"
            ) from exc
        self._zbar: Any = wrapper
        self._invert = invert
        try:
            import zxingcpp
        except ImportError:  # the text of non-ASCII symbols then rests on zbar alone (see the module doc)
            zxingcpp = None
        self._zxing: Any = zxingcpp

    def decode(self, y: np.ndarray) -> list[str]:
        """The texts of every QR code in the luminance image `y`, in zbar's order; [] if none."""
        if y.ndim != 2 or y.dtype != np.uint8:
            raise ValueError(f"expected a (H, W) uint8 luminance image, got {y.dtype} {y.shape}")
        height, width = y.shape
        if height == 0 or width == 0:
            return []
        y = np.ascontiguousarray(y)
        texts = self._texts(y)
        if not texts and self._invert:
            texts = self._texts(255 - y)
        return texts

    def _texts(self, y: np.ndarray) -> list[str]:
        height, width = y.shape
        pixels = y.tobytes()
        found = self._scan(pixels, width, height, binary=False)
        if all(data.isascii() for data, _ in found):
            return [data.decode("ascii") for data, _ in found]
        raw: dict[Location, bytes] | None = None
        texts = []
        for data, where in found:
            text = None if data.isascii() else self._zxing_text(y, where)
            if text is None:
                if raw is None:
                    raw = {place: unconverted for unconverted, place in self._scan(pixels, width, height, binary=True)}
                text = _text(data, raw.get(where))
            texts.append(text)
        return texts

    def _zxing_text(self, y: np.ndarray, where: Location) -> str | None:
        """The symbol at `where` read by zxing-cpp from a crop around it, or None if it cannot."""
        if self._zxing is None or not where:
            return None
        xs, ys = [x for x, _ in where], [y_ for _, y_ in where]
        margin = max(8, (max(xs) - min(xs)) // 4)
        crop = y[max(0, min(ys) - margin):max(ys) + margin + 1, max(0, min(xs) - margin):max(xs) + margin + 1]
        zxing = self._zxing
        found = [b for b in zxing.read_barcodes(np.ascontiguousarray(crop), formats=zxing.BarcodeFormat.QRCode,
                                                text_mode=zxing.TextMode.Plain) if b.valid]
        return found[0].text if len(found) == 1 else None

    def _scan(self, pixels: bytes, width: int, height: int, *, binary: bool) -> list[tuple[bytes, Location]]:
        """(data, corner points) of every QR symbol; `binary` asks zbar for the data unconverted ([] if it cannot)."""
        zbar = self._zbar
        scanner = zbar.zbar_image_scanner_create()
        if not scanner:
            raise MemoryError("zbar could not create an image scanner")
        try:
            zbar.zbar_image_scanner_set_config(scanner, zbar.ZBarSymbol.NONE, zbar.ZBarConfig.CFG_ENABLE, 0)
            zbar.zbar_image_scanner_set_config(scanner, zbar.ZBarSymbol.QRCODE, zbar.ZBarConfig.CFG_ENABLE, 1)
            if binary and zbar.zbar_image_scanner_set_config(scanner, zbar.ZBarSymbol.QRCODE, CFG_BINARY, 1) != 0:
                return []  # a zbar older than 0.23.1: no binary option, keep its conversion
            image = zbar.zbar_image_create()
            if not image:
                raise MemoryError("zbar could not create an image")
            try:
                zbar.zbar_image_set_format(image, Y800)
                zbar.zbar_image_set_size(image, width, height)
                zbar.zbar_image_set_data(image, ctypes.cast(pixels, ctypes.c_void_p), len(pixels), None)
                if zbar.zbar_scan_image(scanner, image) < 0:
                    raise ValueError("zbar refused the image format")
                return list(self._symbols(image))
            finally:
                zbar.zbar_image_destroy(image)
        finally:
            zbar.zbar_image_scanner_destroy(scanner)

    def _symbols(self, image: Any) -> Any:
        zbar = self._zbar
        symbol = zbar.zbar_image_first_symbol(image)
        while symbol:
            data = ctypes.string_at(zbar.zbar_symbol_get_data(symbol), zbar.zbar_symbol_get_data_length(symbol))
            where = tuple((zbar.zbar_symbol_get_loc_x(symbol, i), zbar.zbar_symbol_get_loc_y(symbol, i))
                          for i in range(zbar.zbar_symbol_get_loc_size(symbol)))
            yield data, where
            symbol = zbar.zbar_symbol_next(symbol)

    def close(self) -> None:
        """Nothing to release; present so the decoder can sit in a `with` block like devices do."""

    def __enter__(self) -> PyzbarDecoder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _text(converted: bytes, raw: bytes | None) -> str:
    """The text of one symbol from zbar's conversion and, where they differ, its unconverted bytes.

    Where zbar knew the character set both are the same UTF-8.  Where they differ zbar guessed:
    unconverted bytes that are UTF-8 were UTF-8 (zbar takes them for Shift_JIS); otherwise its
    conversion (Kanji mode, Shift_JIS or ISO-8859-1 bytes) stands.  latin-1 never fails, for the
    conversion of a zbar that gives something other than UTF-8.
    """
    if raw is not None and raw != converted:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            pass
    try:
        return converted.decode("utf-8")
    except UnicodeDecodeError:
        return converted.decode("latin-1")
