"""Still images as the luminance frames the kiosk decodes: for tests, the CLI and image folders."""

from __future__ import annotations

import os
import warnings
from typing import IO

import numpy as np
from PIL import Image

#: The most pixels an image may have to be decoded: a 48-megapixel phone photo, with room.  Checked on the
#: header, before any pixel is decoded: a 13000x13000 PNG of a few hundred kB would take 700 MB to decode.
MAX_PIXELS = 60_000_000

#: What image files start with (the formats Pillow reads that a phone or a screenshot tool writes).
MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM", b"RIFF", b"II*\x00", b"MM\x00*",
         b"P5", b"P6")


class ImageTooLarge(ValueError):
    """More pixels than any QR photo needs: refused before decoding."""


def looks_like_an_image(head: bytes) -> bool:
    """Whether these first bytes are those of an image file (PNG, JPEG, GIF, BMP, WebP, TIFF, PGM/PPM)."""
    return head.startswith(MAGIC)


def load_gray(path: str | os.PathLike[str] | IO[bytes]) -> np.ndarray:
    """Read an image file as a (H, W) uint8 array, as the camera's Y plane would be.

    Transparent pixels are laid on white first: a QR code saved with transparent light modules
    would otherwise become black on black after dropping the alpha channel, and unreadable.
    `ImageTooLarge` (a ValueError) for an image of more than MAX_PIXELS, before decoding it.
    """
    with warnings.catch_warnings():  # Pillow's own bomb warning: the size check below says it in our words
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            opened = Image.open(path)
        except Image.DecompressionBombError:
            raise ImageTooLarge(f"image too large (over {2 * (Image.MAX_IMAGE_PIXELS or 0)} pixels; "
                                f"at most {MAX_PIXELS})") from None
    with opened as image:
        width, height = image.size
        if width * height > MAX_PIXELS:
            raise ImageTooLarge(f"image too large ({width}x{height} pixels; at most {MAX_PIXELS})")
        if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
            rgba = image.convert("RGBA")
            image = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
        return np.array(image.convert("L"), dtype=np.uint8)
