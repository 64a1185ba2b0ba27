"""Colours and the frame every screen shares: status strip on top, one-metre band at the bottom.

Every size is derived from the surface, in `unit`s of 1 % of its short side, so the same code
lays out a 7-inch 800×480 panel and a 1920×1080 monitor, in landscape or portrait.
"""

from __future__ import annotations

from dataclasses import dataclass

import pygame

Colour = tuple[int, int, int]

# Outcome colours are the ones people already know from traffic lights and health codes, and the
# outcomes differ in more than hue, because one man in twelve cannot tell this red from this green
# (under deuteranopia both turn olive): PASS is the one light screen (a light green band, solid,
# dark words), STOP a dark red band under diagonal hazard stripes with white words, the manual
# check dark with amber.  Their lightness differs by more than 20 CIELAB L* under protanopia,
# deuteranopia and tritanopia alike (tests/ui/test_colour_vision.py), and each has its own icon.
# The one-metre band is floor-tape yellow and black.
INK: Colour = (246, 248, 250)
INK_SOFT: Colour = (196, 208, 222)
NAVY: Colour = (13, 30, 51)
NAVY_LIGHT: Colour = (30, 55, 86)
ACCENT: Colour = (0, 172, 220)
AMBER: Colour = (255, 184, 0)
PASS_BAND: Colour = (72, 200, 110)  # L* 72
PASS_INK: Colour = (4, 40, 18)
PASS_INK_SOFT: Colour = (14, 70, 36)
PASS_DISC: Colour = (10, 84, 40)
STOP_BAND: Colour = (178, 24, 34)  # L* 37, with stripes of STOP_STRIPE (L* 25)
STOP_STRIPE: Colour = (122, 12, 22)
STOP_PANEL: Colour = (92, 6, 14)  # under the words, so the stripes never run behind text
STOP_INK: Colour = (255, 226, 226)
STOP_RULE: Colour = (190, 70, 78)
SLATE: Colour = (34, 38, 46)
STRIP: Colour = (6, 10, 16)
STRIP_INK: Colour = (186, 196, 208)
ONLINE: Colour = (60, 200, 110)
OFFLINE: Colour = (235, 70, 70)
TAPE: Colour = (255, 205, 0)
TAPE_INK: Colour = (22, 22, 22)
TAPE_SOFT: Colour = (70, 58, 10)
WARN_INK: Colour = (160, 20, 20)


@dataclass(frozen=True, slots=True)
class Frame:
    """Where the status strip, the screen's own body and the one-metre band go."""

    width: int
    height: int
    unit: float  # 1 % of the short side, in pixels
    status: pygame.Rect
    body: pygame.Rect  # already inset by `pad`
    footer: pygame.Rect
    pad: int

    @property
    def size(self) -> tuple[int, int]:
        return self.width, self.height

    @property
    def landscape(self) -> bool:
        return self.width >= self.height

    @classmethod
    def of(cls, size: tuple[int, int]) -> Frame:
        """The frame for a surface of `size` (the same whether or not a second person must step back)."""
        width, height = size
        unit = min(width, height) / 100
        status_h = max(24, round(5 * unit))
        footer_h = round(footer_units(size) * unit)
        pad = max(8, round(3 * unit))
        status = pygame.Rect(0, 0, width, status_h)
        footer = pygame.Rect(0, height - footer_h, width, footer_h)
        body = pygame.Rect(0, status_h, width, height - status_h - footer_h).inflate(-2 * pad, -2 * pad)
        return cls(width, height, unit, status, body, footer, pad)

    def px(self, units: float) -> int:
        """`units` per cent of the short side, in whole pixels (at least one)."""
        return max(1, round(units * self.unit))


def one_row_footer(size: tuple[int, int]) -> bool:
    """Wide enough for the one-metre band's two languages side by side at a legible size."""
    return size[0] >= 1.3 * size[1]


def footer_units(size: tuple[int, int]) -> float:
    """The one-metre band's height in units: its words must be legible from 1 m (`ui.legibility`).

    A legible Chinese line needs about 7.7 units with its leading, an English one 7.
    """
    return 12.0 if one_row_footer(size) else 19.0
