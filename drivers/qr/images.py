"""Still images as the luminance frames the kiosk decodes: for tests, the CLI and image folders."""

from __future__ import annotations

import os

import numpy as np
from PIL import Image


def load_gray(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an image file as a (H, W) uint8 array, as the camera's Y plane would be.

    Transparent pixels are laid on white first: a QR code saved with transparent light modules
    would otherwise become black on black after dropping the alpha channel, and unreadable.
    """
    with Image.open(path) as image:
        if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
            rgba = image.convert("RGBA")
            image = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
        return np.array(image.convert("L"), dtype=np.uint8)
