"""What a site shows on its attract screen besides the steps: the privacy notice and its place code.

These do not change from one visitor to the next, so they are not part of `ScreenView` (which the
loop builds many times a second): the composition root hands them to the renderer once, from
the configuration.  The notices require both at every entrance: what is recorded, for how long
and who receives it; and the site's place code, which visitors also scan with their own phones.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import pygame

WHITE = (255, 255, 255)
BLACK = (0, 0, 0)
QUIET_ZONE = 4  # modules of white around a QR code, as ISO/IEC 18004 asks


@dataclass(frozen=True, slots=True)
class SiteNotice:
    """The site-specific part of the attract screen.

    `recipient` is who receives the records ("the township health office"), bilingual like the
    other site settings ("镇卫生院 the township health centre"); `place_code` is the text of the
    site's place code (empty: no code is shown).
    """

    retention_days: float = 7
    recipient: str = "街道防疫办 the township epidemic office"
    place_code: str = ""


@lru_cache(maxsize=4)
def _matrix(text: str) -> tuple[tuple[bool, ...], ...]:
    import segno

    code = segno.make_qr(text, error="m")
    return tuple(tuple(bool(v) for v in row) for row in code.matrix_iter(scale=1, border=QUIET_ZONE))


def qr_surface(text: str, side: int) -> pygame.Surface:
    """`text` as a QR code (with its quiet zone) in a square of at most `side` pixels.

    Modules are whole pixels (no smoothing), because a phone camera decodes crisp edges best;
    the square is as large as a whole number of pixels per module allows.
    """
    rows = _matrix(text)
    n = len(rows)
    module = max(1, side // n)
    surface = pygame.Surface((n * module, n * module))
    surface.fill(WHITE)
    for y, row in enumerate(rows):
        for x, dark in enumerate(row):
            if dark:
                surface.fill(BLACK, (x * module, y * module, module, module))
    return surface
