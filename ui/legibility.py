"""How large a character must be to be read where the reader stands: the rule every screen is held to.

The rule, as a visual angle at the reading distance (so it holds for any panel):

* Chinese, the first language: an ideograph at least 5 mm tall at 1 m (17 arcmin), above the
  16 arcmin that ISO 9241-303 asks as a minimum for reading.
* Latin letters, the second language: a capital at least 3.5 mm tall at 1 m (12 arcmin).  Latin
  capitals are far simpler shapes than ideographs, and bilingual signage in Chinese and Japanese
  practice sets the Latin line at about two thirds of the ideograph height; 12 arcmin is still
  2.4 times the 5 arcmin letter a normal eye resolves.
* A paragraph with any Chinese in it is held to the Chinese rule, one without to the Latin rule
  (so "37.9 °C" is held to 3.5 mm, and "1 米" to 5 mm).

Reading distances: 1 m (`DISTANT`) for everything a visitor reads from the floor mark —
titles, requests, reasons, what to do next, the one-metre band.  0.5 m (`NEAR`) for what is read
by stepping up to the screen: the privacy notice, the place-code caption, the thermal inset's
label, the status strip and the staff view.

The panel: the rule is in millimetres, so the pixels it takes depend on how large the pixels are.
`display.short_side_mm` says it: the active area's short side (the Raspberry Pi 7" Touch Display's
480 px span 86 mm, 5.58 px/mm; a HyperPixel 4.0's 480 px only 52 mm, 9.2 px/mm).  Left unset it is
86 mm, the official 7" panel: conservative for every monitor at least that size, but not for the
smaller 4"–5" panels, which must say their size.  So at 800×480 over 86 mm an ideograph must be
≥ 28 px and a capital ≥ 20 px; over 52 mm, ≥ 47 px and ≥ 33 px; at 1920×1080 over 86 mm, ≥ 63 px.
Whether every screen keeps the rule on a given panel is found by rendering them (`ui.panel`).

Screens do not check this after the fact: `Canvas` gives every `Line` a floor (`Line.floor`, the
smallest font size whose glyphs reach the height), and the typesetter never sets a line smaller
while the block still fits at its floors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from ui.fonts import Fonts

PANEL_SHORT_SIDE_MM = 86.0  # Raspberry Pi 7" Touch Display: 800×480 px over 155 × 86 mm (the default panel)
CHINESE_MM_AT_1M = 5.0  # ideograph height
LATIN_MM_AT_1M = 3.5  # capital height
DISTANT = 1.0  # metres: read from the floor mark
NEAR = 0.5  # metres: read by stepping up to the screen

# Keys (by their prefix) read up close; everything else is read from the floor mark.
NEAR_KEYS = ("attract.privacy", "attract.place_code", "thermal.", "status.", "staff.", "maintenance.detail")

CJK_SAMPLE = "国"  # a full-height ideograph: its ink is what "character height" means for Chinese
LATIN_SAMPLE = "H"  # a capital without overshoot: cap height


def is_cjk(ch: str) -> bool:
    """Ideographs, kana, hangul and full-width forms (the text is held to the Chinese rule)."""
    return "\u2e80" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" or "\uff00" <= ch <= "\uffef"


def has_cjk(text: str) -> bool:
    return any(is_cjk(ch) for ch in text)


def distance_for(key: str) -> float:
    """How far away the paragraph with catalogue key `key` is read from."""
    return NEAR if key.startswith(NEAR_KEYS) else DISTANT


@dataclass(frozen=True, slots=True)
class Legibility:
    """The rule applied to one surface size: minimum glyph heights in pixels."""

    px_per_mm: float

    @classmethod
    def of(cls, size: tuple[int, int], short_side_mm: float = PANEL_SHORT_SIDE_MM) -> Legibility:
        """The rule on a panel of `size` pixels whose short side spans `short_side_mm`."""
        return cls(min(size) / short_side_mm)

    def min_height(self, text: str, distance: float = DISTANT) -> int:
        """The smallest ink height, in pixels, that `text`'s script may have at `distance` metres."""
        mm = (CHINESE_MM_AT_1M if has_cjk(text) else LATIN_MM_AT_1M) * distance
        return math.ceil(mm * self.px_per_mm - 0.05)  # 27.95 px is 28 px, 19.53 px is 20 px

    def floor(self, fonts: Fonts, text: str, distance: float = DISTANT, *, bold: bool = False) -> int:
        """The smallest font size at which `text`'s characters reach `min_height`."""
        sample = CJK_SAMPLE if has_cjk(text) else LATIN_SAMPLE
        return size_for_height(fonts, sample, self.min_height(text, distance), bold)


def glyph_height(fonts: Fonts, size: int, text: str, *, bold: bool = False) -> int:
    """The ink height of `text`'s script sample ("国" or "H") at `size`: the measured character height."""
    sample = CJK_SAMPLE if has_cjk(text) else LATIN_SAMPLE
    return _ink_height(fonts, sample, size, bold)


def size_for_height(fonts: Fonts, sample: str, height: int, bold: bool = False) -> int:
    """The smallest font size at which `sample`'s ink is at least `height` pixels tall."""
    size = max(1, round(height / 0.9))
    while _ink_height(fonts, sample, size, bold) < height:
        size += 1
    while size > 1 and _ink_height(fonts, sample, size - 1, bold) >= height:
        size -= 1
    return size


@lru_cache(maxsize=4096)
def _ink_height(fonts: Fonts, sample: str, size: int, bold: bool) -> int:
    return int(fonts.font(size, bold=bold).get_rect(sample).height)
