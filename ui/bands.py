"""The two bands every screen shares: the status strip on top and the one-metre band below.

The one-metre band is on every screen, whatever the visitor at the front is doing, because it
speaks to the queue behind them.  It looks like the floor tape it refers to.

The status strip is for staff: site, time, whether events reach the township, how many wait in
the outbox, a warning when the clock is not synchronised (stamps, and code freshness checks,
are then not to be trusted), and the thermal helpers' warnings (`StatusStrip.warnings`: catalogue
keys such as `warning_ambient`, `warning_drift`, `warning_clock`; a key the catalogue lacks is shown
as it is, never dropped).  It is small: a visitor need not read it.
"""

from __future__ import annotations

import time
from dataclasses import replace

import pygame

from kiosk.ports import StatusStrip
from ui.canvas import Canvas
from ui.text import Drawn
from ui.theme import (
    AMBER,
    INK,
    OFFLINE,
    ONLINE,
    STRIP,
    STRIP_INK,
    TAPE,
    TAPE_INK,
    TAPE_SOFT,
    WARN_INK,
    Colour,
)

_ELLIPSIS = "…"


def draw_footer(canvas: Canvas, rect: pygame.Rect, *, companion: bool) -> list[Drawn]:
    """The one-metre band; with a second person in view it first asks them to step back."""
    surface, frame = canvas.surface, canvas.frame
    surface.fill(TAPE, rect)
    stripe_h = max(4, frame.px(1.6))
    _hazard_stripes(surface, pygame.Rect(rect.left, rect.top, rect.width, stripe_h))
    text = pygame.Rect(rect.left, rect.top + stripe_h, rect.width, rect.height - stripe_h)
    text = text.inflate(-2 * frame.pad, -max(4, frame.px(1.2)))
    one_metre = canvas.pair("footer.one_metre", colour=TAPE_INK, second_colour=TAPE_SOFT)
    if not companion:
        return canvas.text.draw(surface, text, one_metre, max_px=frame.px(7.5))
    request = canvas.pair("footer.companion", colour=WARN_INK, second_colour=WARN_INK)
    if frame.landscape:  # side by side: each message keeps a legible size
        half = text.width // 2
        left = pygame.Rect(text.left, text.top, half - frame.pad, text.height)
        right = pygame.Rect(text.left + half + frame.pad, text.top, text.width - half - frame.pad,
                            text.height)
        pygame.draw.line(surface, TAPE_INK, (text.left + half, text.top), (text.left + half, text.bottom),
                         max(1, frame.px(0.4)))
        return (canvas.text.draw(surface, left, request, max_px=frame.px(7.5))
                + canvas.text.draw(surface, right, one_metre, max_px=frame.px(7.5)))
    one_metre[0] = replace(one_metre[0], gap=0.3)
    return canvas.text.draw(surface, text, request + one_metre, max_px=frame.px(7.5))


def _hazard_stripes(surface: pygame.Surface, rect: pygame.Rect) -> None:
    """Black diagonal stripes on yellow, like the tape on the floor."""
    surface.fill(TAPE, rect)
    step = rect.height * 2
    clip = surface.get_clip()
    surface.set_clip(rect)
    for x in range(rect.left - rect.height, rect.right + rect.height, step):
        h = rect.height
        pygame.draw.polygon(surface, TAPE_INK, [(x, rect.bottom), (x + h, rect.top), (x + 2 * h, rect.top),
                                                (x + h, rect.bottom)])
    surface.set_clip(clip)


def draw_status(canvas: Canvas, rect: pygame.Rect, status: StatusStrip) -> list[Drawn]:
    """Site name on the left; time, link, outbox and clock warning on the right."""
    surface, words, fonts = canvas.surface, canvas.words, canvas.text.fonts
    surface.fill(STRIP, rect)
    clock = (time.strftime("%H:%M", time.localtime(status.wall_time)) if status.wall_time > 0
             else words.first.text("status.no_time"))
    link = "status.online" if status.online else "status.offline"
    # Right to left: the time sits in the corner where people look for it.
    pad = canvas.frame.pad
    room = (rect.width - 2 * pad) * 0.72
    for both in (True, False):  # a narrow screen drops the second language before the text gets tiny

        def say(key: str, sep: str = " ", both: bool = both, **params: object) -> str:
            return words.joined(key, sep, **params) if both else words.first.text(key, **params)

        items: list[tuple[str, str, Colour, Colour | None]] = [
            ("status.time", clock, INK, None),
            (link, say(link), STRIP_INK, ONLINE if status.online else OFFLINE),
        ]
        if status.buffered_events > 0:
            items.append(("status.buffered", say("status.buffered", " · ", count=status.buffered_events),
                          STRIP_INK, None))
        if not status.clock_synced:
            items.append(("status.clock_unsynced", say("status.clock_unsynced"), AMBER, AMBER))
        for warning in status.warnings:
            key = warning if warning.startswith("status.") else f"status.{warning}"
            if key == "status.warning_clock" and not status.clock_synced:
                continue  # already said by the clock item
            known = key in words.first.strings
            items.append((key, say(key) if known else warning, AMBER, AMBER))  # unknown: shown verbatim
        size = _fit_items(canvas, items, round(rect.height * 0.5), room)
        if size >= rect.height * 0.38:
            break

    baseline = round(rect.centery + size * 0.36)
    drawn: list[Drawn] = []
    x = rect.right - pad
    for key, text, colour, dot in items:
        x -= fonts.width(text, size)
        ink = fonts.font(size).render_to(surface, (round(x), baseline), text, fgcolor=colour)
        drawn.append(Drawn(key, text, ink))
        if dot is not None:
            r = max(2, round(size * 0.28))
            x -= size * 0.9
            pygame.draw.circle(surface, dot, (round(x + r), rect.centery), r)
        x -= size * 1.2

    room = x - rect.left - pad
    site = _ellipsize(canvas, status.site_name, size, room)
    if site:
        ink = fonts.font(size, bold=True).render_to(surface, (rect.left + pad, baseline), site, fgcolor=INK)
        drawn.append(Drawn("status.site", site, ink))
    return drawn


def _fit_items(canvas: Canvas, items: list[tuple[str, str, Colour, Colour | None]], size: int,
               room: float) -> int:
    """The largest size (down to 8 px) at which the right-hand items fit in `room`."""
    fonts = canvas.text.fonts

    def width(size: int) -> float:
        return sum(fonts.width(text, size) + (size * 0.9 if dot else 0) + size * 1.2
                   for _, text, _, dot in items)

    while size > 8 and width(size) > room:
        size -= 1
    return size


def _ellipsize(canvas: Canvas, text: str, size: int, room: float) -> str:
    """`text`, cut with an ellipsis to fit `room`: a long site name must not push out the time."""
    fonts = canvas.text.fonts
    if fonts.width(text, size, bold=True) <= room:
        return text
    while text and fonts.width(text + _ELLIPSIS, size, bold=True) > room:
        text = text[:-1]
    return text.rstrip() + _ELLIPSIS if text else ""
