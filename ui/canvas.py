"""What a screen function draws with: the surface, its frame, the typesetter and the words."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pygame

from ui.catalog import BilingualCatalog
from ui.legibility import PANEL_SHORT_SIDE_MM, Legibility, distance_for
from ui.site import SiteNotice
from ui.text import Line, Typesetter
from ui.theme import INK, INK_SOFT, Colour, Frame

# The second language is set smaller and lighter under the first, the usual order on Chinese signage.
SECOND_SCALE = 0.62


@dataclass(frozen=True, slots=True)
class Canvas:
    surface: pygame.Surface
    frame: Frame
    text: Typesetter
    words: BilingualCatalog
    site: SiteNotice = SiteNotice()  # noqa: RUF009 (frozen, immutable)
    short_side_mm: float = PANEL_SHORT_SIDE_MM  # the panel's, so the rule is kept in millimetres

    @property
    def legibility(self) -> Legibility:
        return Legibility.of((self.frame.width, self.frame.height), self.short_side_mm)

    def floor(self, text: str, key: str, *, bold: bool = False) -> int:
        """The smallest font size `text` may be set in: legible from where paragraphs with `key` are read."""
        return self.legibility.floor(self.text.fonts, text, distance_for(key), bold=bold)

    def line(self, text: str, key: str, scale: float = 1.0, bold: bool = False, colour: Colour = INK,
             gap: float = 0.0, nowrap: bool = False) -> Line:
        """A paragraph with its legibility floor."""
        return Line(text, key, scale, bold, colour, gap, nowrap, self.floor(text, key, bold=bold))

    def lines(self, key: str, texts: Sequence[str], *, scale: float = 1.0, second: float = SECOND_SCALE,
              bold: bool = True, second_bold: bool = False, colour: Colour = INK,
              second_colour: Colour = INK_SOFT, gap: float = 0.0, nowrap: bool = False) -> list[Line]:
        """The same message in each language, first language first and larger."""
        out = [self.line(texts[0], key, scale, bold, colour, gap, nowrap)]
        out += [self.line(t, key, scale * second, second_bold, second_colour, 0.08 * scale, nowrap)
                for t in texts[1:]]
        return out

    def pair(self, key: str, *, scale: float = 1.0, second: float = SECOND_SCALE, bold: bool = True,
             second_bold: bool = False, colour: Colour = INK, second_colour: Colour = INK_SOFT,
             gap: float = 0.0, nowrap: bool = False, **params: object) -> list[Line]:
        """`lines` for a catalogue key with the same parameters in every language."""
        return self.lines(key, self.words.texts(key, **params), scale=scale, second=second, bold=bold,
                          second_bold=second_bold, colour=colour, second_colour=second_colour, gap=gap,
                          nowrap=nowrap)
