"""Colours and the frame every screen shares: status strip on top, one-metre band at the bottom.

Every size is derived from the surface, in `unit`s of 1 % of its short side, so the same code
lays out a 7-inch 800×480 panel and a 1920×1080 monitor, in landscape or portrait.
"""

from __future__ import annotations

from dataclasses import dataclass

import pygame

Colour = tuple[int, int, int]

# Outcome colours are the ones people already know from traffic lights and health codes;
# the one-metre band is floor-tape yellow and black.
INK: Colour = (246, 248, 250)
INK_SOFT: Colour = (196, 208, 222)
NAVY: Colour = (13, 30, 51)
NAVY_LIGHT: Colour = (30, 55, 86)
ACCENT: Colour = (0, 172, 220)
AMBER: Colour = (255, 184, 0)
GREEN: Colour = (18, 134, 62)
GREEN_INK: Colour = (214, 247, 224)
RED: Colour = (197, 28, 38)
RED_DEEP: Colour = (138, 14, 22)
RED_INK: Colour = (255, 222, 222)
SLATE: Colour = (42, 46, 54)
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
    def landscape(self) -> bool:
        return self.width >= self.height

    @classmethod
    def of(cls, size: tuple[int, int], *, companion: bool = False) -> Frame:
        """The frame for a surface of `size`; the band grows when a second person must step back."""
        width, height = size
        unit = min(width, height) / 100
        status_h = max(24, round(7 * unit))
        footer_h = round((22 if companion else 15) * unit * (1.15 if height > width else 1.0))
        pad = max(8, round(3.5 * unit))
        status = pygame.Rect(0, 0, width, status_h)
        footer = pygame.Rect(0, height - footer_h, width, footer_h)
        body = pygame.Rect(0, status_h, width, height - status_h - footer_h).inflate(-2 * pad, -2 * pad)
        return cls(width, height, unit, status, body, footer, pad)

    def px(self, units: float) -> int:
        """`units` per cent of the short side, in whole pixels (at least one)."""
        return max(1, round(units * self.unit))
