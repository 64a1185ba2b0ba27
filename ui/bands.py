"""The two bands every screen shares: the status strip on top and the one-metre band below.

The one-metre band is on every screen, whatever the visitor at the front is doing, because it
speaks to the queue behind them.  It looks like the floor tape it refers to, and its words are
legible from where the queue stands (`ui.legibility`).

The status strip is public, so it says only what a visitor may see: the site, the time and, when
anything needs staff (`StatusStrip.needs_staff`: offline, a backlog of events, the clock not
synchronised, a part down, a warning), one small amber symbol meaning "staff: look at the staff
view".  The details — link, queue counts, clock, warnings — are for staff and are in the staff
view (`Screen.STAFF`, opened by a long touch, `ui.display`), never on the public screen.
"""

from __future__ import annotations

import time
from dataclasses import replace

import pygame

from kiosk.ports import StatusStrip
from ui import icons
from ui.canvas import Canvas
from ui.text import Drawn, Line
from ui.theme import (
    AMBER,
    INK,
    STRIP,
    TAPE,
    TAPE_INK,
    TAPE_SOFT,
    WARN_INK,
    Colour,
    one_row_footer,
)

_ELLIPSIS = "…"


def draw_footer(canvas: Canvas, rect: pygame.Rect, *, companion: bool) -> list[Drawn]:
    """The one-metre band; with a second person in view it asks them to step back instead.

    The request names the line itself, so it takes the band's place rather than adding to it:
    the band keeps its height (nothing on the screen jumps when a second person appears) and
    says one thing at a time, at a size the queue can read.
    """
    surface, frame = canvas.surface, canvas.frame
    surface.fill(TAPE, rect)
    stripe_h = max(4, frame.px(1.2))
    _hazard_stripes(surface, pygame.Rect(rect.left, rect.top, rect.width, stripe_h))
    text = pygame.Rect(rect.left, rect.top + stripe_h, rect.width, rect.height - stripe_h)
    text = text.inflate(-2 * frame.pad, -max(4, frame.px(1.2)))
    if companion:
        lines = canvas.pair("footer.companion", colour=WARN_INK, second_colour=WARN_INK, second=0.85)
    else:
        lines = canvas.pair("footer.one_metre", colour=TAPE_INK, second_colour=TAPE_SOFT, second=0.85)
    if one_row_footer(frame.size):
        return _side_by_side(canvas, text, lines, frame.px(8))
    return canvas.text.draw(surface, text, lines, max_px=frame.px(8))


def _side_by_side(canvas: Canvas, rect: pygame.Rect, lines: list[Line], max_px: int) -> list[Drawn]:
    """One message, its languages side by side on one row, centred as a pair."""
    if len(lines) < 2:
        return canvas.text.draw(canvas.surface, rect, lines, max_px=max_px)
    fonts = canvas.text.fonts
    widths = [fonts.width(line.text, line.floor, bold=line.bold) for line in lines[:2]]
    gap = canvas.frame.pad * 2
    share = widths[0] / sum(widths)
    left = pygame.Rect(rect.left, rect.top, round((rect.width - gap) * share), rect.height)
    right = pygame.Rect(left.right + gap, rect.top, rect.right - left.right - gap, rect.height)
    first, second = replace(lines[0], gap=0.0, scale=1.0), replace(lines[1], gap=0.0, scale=1.0)
    return (canvas.text.draw(canvas.surface, left, [first], max_px=max_px, align="right")
            + canvas.text.draw(canvas.surface, right, [second], max_px=round(max_px * 0.85), align="left"))


def _hazard_stripes(surface: pygame.Surface, rect: pygame.Rect) -> None:
    """Black diagonal stripes on yellow, like the tape on the floor."""
    hazard_stripes(surface, rect, TAPE, TAPE_INK, rect.height)


def hazard_stripes(surface: pygame.Surface, rect: pygame.Rect, ground: Colour, stripe: Colour, width: int) -> None:
    """Diagonal stripes (rising to the right, 45°) of `stripe` on `ground`, each `width` wide, filling `rect`."""
    surface.fill(ground, rect)
    step = width * 2
    clip = surface.get_clip()
    surface.set_clip(rect.clip(clip) if clip else rect)
    h = rect.height
    # Stripes are anchored to the surface, not the rectangle: adjacent striped areas line up.
    start = rect.left - h - ((rect.left - h + rect.bottom) % step)
    for x in range(start, rect.right + step, step):
        pygame.draw.polygon(surface, stripe, [(x, rect.bottom), (x + h, rect.top), (x + h + width, rect.top),
                                              (x + width, rect.bottom)])
    surface.set_clip(clip)


def draw_status(canvas: Canvas, rect: pygame.Rect, status: StatusStrip) -> list[Drawn]:
    """Site name on the left, the time on the right, and the staff symbol beside it when needed."""
    surface, words, fonts = canvas.surface, canvas.words, canvas.text.fonts
    surface.fill(STRIP, rect)
    clock = (time.strftime("%H:%M", time.localtime(status.wall_time)) if status.wall_time > 0
             else words.first.text("status.no_time"))
    pad = canvas.frame.pad
    size = max(canvas.floor(status.site_name or "H", "status.site"), round(rect.height * 0.5))
    baseline = round(rect.centery + size * 0.36)
    drawn: list[Drawn] = []
    x = rect.right - pad - fonts.width(clock, size)
    ink = fonts.font(size).render_to(surface, (round(x), baseline), clock, fgcolor=INK)
    drawn.append(Drawn("status.time", clock, ink, size))
    if status.needs_staff:
        side = round(rect.height * 0.72)
        badge = pygame.Rect(0, 0, side, side)
        badge.midright = (round(x - size * 0.8), rect.centery)
        pygame.draw.rect(surface, AMBER, badge, border_radius=max(2, side // 5))
        icons.wrench(surface, badge.inflate(-side // 4, -side // 4), STRIP)
        drawn.append(Drawn("status.staff", "", badge))
        x = badge.left
    room = x - rect.left - 2 * pad
    site = _ellipsize(canvas, status.site_name, size, room)
    if site:
        ink = fonts.font(size, bold=True).render_to(surface, (rect.left + pad, baseline), site, fgcolor=INK)
        drawn.append(Drawn("status.site", site, ink, size, True))
    return drawn


def _ellipsize(canvas: Canvas, text: str, size: int, room: float) -> str:
    """`text`, cut with an ellipsis to fit `room`: a long site name must not push out the time."""
    fonts = canvas.text.fonts
    if fonts.width(text, size, bold=True) <= room:
        return text
    while text and fonts.width(text + _ELLIPSIS, size, bold=True) > room:
        text = text[:-1]
    return text.rstrip() + _ELLIPSIS if text else ""
