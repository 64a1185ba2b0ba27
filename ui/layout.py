"""Layout helpers the screen modules share: symbol beside or above the words, temperatures, title size."""

from __future__ import annotations

import pygame

from ui.canvas import Canvas
from ui.text import Align
from ui.theme import Frame


def celsius(canvas: Canvas, value: float, uncertainty: float | None = None) -> str:
    if uncertainty is not None and uncertainty > 0:
        return canvas.words.first.text("unit.celsius_uncertain", value=f"{value:.1f}",
                                       uncertainty=f"{uncertainty:.1f}")
    return canvas.words.first.text("unit.celsius", value=f"{value:.1f}")


NEAR_SQUARE = 1.25  # a landscape frame narrower than this (4:3 is 1.33, a square panel 1.0) ...
NEAR_SQUARE_SYMBOL = 0.6  # ... gives its symbol this much of its usual share, and the words the rest


def split(canvas: Canvas, rect: pygame.Rect, share: float, *, fixed: bool = False) -> tuple[pygame.Rect, pygame.Rect]:
    """(symbol, words): side by side in landscape, stacked in portrait; `share` is the symbol's part.

    On a near-square panel the words beside a symbol would wrap into more rows than fit at a legible
    size: the symbol gets less (unless `fixed`: a picture with words of its own, the one-metre picture).
    """
    gap = canvas.frame.pad
    frame = canvas.frame
    if not fixed and frame.landscape and frame.width < NEAR_SQUARE * frame.height:
        share *= NEAR_SQUARE_SYMBOL
    if canvas.frame.landscape:
        side = min(rect.height, round(rect.width * share))
        return (pygame.Rect(rect.left, rect.top, side, rect.height),
                pygame.Rect(rect.left + side + gap, rect.top, rect.width - side - gap, rect.height))
    side = min(rect.width, round(rect.height * share))
    return (pygame.Rect(rect.left, rect.top, rect.width, side),
            pygame.Rect(rect.left, rect.top + side + gap, rect.width, rect.height - side - gap))


def beside(canvas: Canvas) -> Align:
    """Words beside a symbol line up with it on the left; words under a symbol are centred under it."""
    return "left" if canvas.frame.landscape else "center"


def title_px(frame: Frame) -> int:
    return frame.px(17)
