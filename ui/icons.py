"""Pictograms drawn from primitives, so they need no image files and scale to any screen.

A symbol carries the outcome to a visitor who reads neither language, or is too far away to
read at all: a tick for PASS, a no-entry disc for STOP, arrows for stepping, a warning triangle
for a fault, and two figures a metre apart for the queue.  Each takes the square it must fill.
"""

from __future__ import annotations

import pygame
from pygame import gfxdraw

from ui.theme import Colour


def square(rect: pygame.Rect, fill: float = 1.0) -> pygame.Rect:
    """The largest square inside `rect`, scaled by `fill` and centred."""
    side = max(1, round(min(rect.width, rect.height) * fill))
    out = pygame.Rect(0, 0, side, side)
    out.center = rect.center
    return out


def _disc(surface: pygame.Surface, centre: tuple[int, int], radius: int, colour: Colour) -> None:
    gfxdraw.filled_circle(surface, centre[0], centre[1], radius, colour)
    gfxdraw.aacircle(surface, centre[0], centre[1], radius, colour)


def _polygon(surface: pygame.Surface, points: list[tuple[float, float]], colour: Colour) -> None:
    pts = [(round(x), round(y)) for x, y in points]
    gfxdraw.filled_polygon(surface, pts, colour)
    gfxdraw.aapolygon(surface, pts, colour)


def _thick(surface: pygame.Surface, a: tuple[float, float], b: tuple[float, float], width: float,
           colour: Colour) -> None:
    """A line with round caps (pygame's own thick lines have ragged ends)."""
    pa, pb = pygame.Vector2(a), pygame.Vector2(b)
    if pa == pb:
        return
    n = (pb - pa).normalize().rotate(90) * (width / 2)
    _polygon(surface, [pa + n, pb + n, pb - n, pa - n], colour)
    for p in (pa, pb):
        _disc(surface, (round(p.x), round(p.y)), round(width / 2), colour)


def tick(surface: pygame.Surface, rect: pygame.Rect, disc: Colour, mark: Colour) -> None:
    """PASS: a tick in a disc."""
    box = square(rect)
    r = box.width / 2
    cx, cy = box.center
    _disc(surface, box.center, round(r), disc)
    w = r * 0.2
    _thick(surface, (cx - r * 0.45, cy + r * 0.02), (cx - r * 0.12, cy + r * 0.35), w, mark)
    _thick(surface, (cx - r * 0.12, cy + r * 0.35), (cx + r * 0.48, cy - r * 0.32), w, mark)


def no_entry(surface: pygame.Surface, rect: pygame.Rect, disc: Colour, bar: Colour) -> None:
    """STOP: the no-entry disc, understood without words."""
    box = square(rect)
    r = box.width / 2
    _disc(surface, box.center, round(r), disc)
    bar_rect = pygame.Rect(0, 0, round(r * 1.3), round(r * 0.34))
    bar_rect.center = box.center
    pygame.draw.rect(surface, bar, bar_rect, border_radius=max(1, round(r * 0.06)))


def arrow(surface: pygame.Surface, rect: pygame.Rect, colour: Colour, *, up: bool) -> None:
    """STEP_CLOSER (up: come forward) and STEP_BACK (down)."""
    box = square(rect, 0.9)
    x0, y0, w, h = box
    s = -1 if up else 1
    cx = x0 + w / 2
    tip = y0 + h / 2 + s * h / 2
    neck = y0 + h / 2 + s * h * 0.02
    tail = y0 + h / 2 - s * h / 2
    _polygon(surface, [(cx, tip), (x0, neck), (x0 + w * 0.3, neck), (x0 + w * 0.3, tail),
                       (x0 + w * 0.7, tail), (x0 + w * 0.7, neck), (x0 + w, neck)], colour)


def warning(surface: pygame.Surface, rect: pygame.Rect, colour: Colour, ink: Colour) -> None:
    """FAULT: a warning triangle."""
    box = square(rect)
    x0, y0, w, h = box
    top, base = y0 + h * 0.06, y0 + h * 0.92
    _polygon(surface, [(x0 + w / 2, top), (x0 + w, base), (x0, base)], colour)
    bar = pygame.Rect(0, 0, round(w * 0.1), round(h * 0.4))
    bar.midtop = (round(x0 + w / 2), round(y0 + h * 0.32))
    pygame.draw.rect(surface, ink, bar, border_radius=max(1, bar.width // 3))
    _disc(surface, (round(x0 + w / 2), round(y0 + h * 0.8)), round(w * 0.06), ink)


def person(surface: pygame.Surface, rect: pygame.Rect, colour: Colour) -> None:
    """A standing figure filling the height of `rect`."""
    h = rect.height
    cx = rect.centerx
    head_r = round(h * 0.11)
    _disc(surface, (cx, round(rect.top + head_r)), head_r, colour)
    body = pygame.Rect(0, 0, round(h * 0.3), round(h * 0.42))
    body.midtop = (cx, round(rect.top + head_r * 2 + h * 0.03))
    pygame.draw.rect(surface, colour, body, border_radius=round(h * 0.1))
    leg_w = h * 0.11
    for dx in (-1, 1):
        x = cx + dx * h * 0.075
        _thick(surface, (x, body.bottom - leg_w), (x, rect.bottom - leg_w / 2), leg_w, colour)


def _one_metre_geometry(rect: pygame.Rect) -> tuple[pygame.Rect, pygame.Rect, int, float, float, float]:
    w, h = rect.width, rect.height
    fig_h = min(h * 0.62, w * 0.55)
    fig_w = fig_h * 0.45
    top = rect.top + (h - fig_h) * 0.55
    left = pygame.Rect(round(rect.left + w * 0.05), round(top), round(fig_w), round(fig_h))
    right = pygame.Rect(round(rect.right - w * 0.05 - fig_w), round(top), round(fig_w), round(fig_h))
    y = round(top + fig_h * 0.45)
    a, b = left.right + w * 0.04, right.left - w * 0.04
    return left, right, y, a, b, h * 0.06


def one_metre_label(rect: pygame.Rect) -> pygame.Rect:
    """Where `one_metre` drawn in `rect` leaves room for the "1 m" label: above the arrow, between the figures."""
    _, _, y, a, b, head = _one_metre_geometry(rect)
    return pygame.Rect(round(a), round(rect.top), round(b - a), round(y - rect.top - head * 1.6))


def one_metre(surface: pygame.Surface, rect: pygame.Rect, near: Colour, far: Colour,
              line: Colour) -> pygame.Rect:
    """Two people with a one-metre gap between them; returns where the caller puts the "1 m" label."""
    w, h = rect.width, rect.height
    left, right, y, a, b, head = _one_metre_geometry(rect)
    top, fig_h = left.top, left.height
    person(surface, left, near)
    person(surface, right, far)
    stroke = max(2, round(h * 0.025))
    _thick(surface, (a + head, y), (b - head, y), stroke, line)
    _polygon(surface, [(a, y), (a + head * 1.4, y - head), (a + head * 1.4, y + head)], line)
    _polygon(surface, [(b, y), (b - head * 1.4, y - head), (b - head * 1.4, y + head)], line)
    floor = round(top + fig_h + h * 0.04)
    pygame.draw.rect(surface, line, (rect.left, floor, w, max(2, round(h * 0.02))))
    return one_metre_label(rect)


def hourglass(surface: pygame.Surface, rect: pygame.Rect, sand: Colour, frame: Colour) -> None:
    """COME_BACK: an hourglass, "wait a little", with most of the sand still to run."""
    box = square(rect)
    x0, y0, w, h = box
    rail = max(2, round(h * 0.07))
    cx, mid = x0 + w / 2, y0 + h / 2
    left, right = x0 + w * 0.2, x0 + w * 0.8
    top, bottom = y0 + rail, y0 + h - rail
    pygame.draw.rect(surface, frame, (round(x0 + w * 0.1), y0, round(w * 0.8), rail), border_radius=rail // 2)
    pygame.draw.rect(surface, frame, (round(x0 + w * 0.1), y0 + h - rail, round(w * 0.8), rail),
                     border_radius=rail // 2)
    glass = max(2, round(w * 0.035))
    for a, b in (((left, top), (cx - w * 0.04, mid)), ((right, top), (cx + w * 0.04, mid)),
                 ((cx - w * 0.04, mid), (left, bottom)), ((cx + w * 0.04, mid), (right, bottom))):
        _thick(surface, a, b, glass, frame)
    upper = 0.55  # fraction of the upper bulb still full
    y_sand = top + (mid - top) * (1 - upper)
    half = (right - left) / 2 * (mid - y_sand) / (mid - top) * 0.85
    _polygon(surface, [(cx - half, y_sand), (cx + half, y_sand), (cx, mid - h * 0.02)], sand)
    _polygon(surface, [(left + w * 0.08, bottom - h * 0.02), (right - w * 0.08, bottom - h * 0.02),
                       (cx, bottom - h * 0.16)], sand)
    _thick(surface, (cx, mid), (cx, bottom - h * 0.12), max(1, glass // 2), sand)


def wrench(surface: pygame.Surface, rect: pygame.Rect, colour: Colour) -> None:
    """MAINTENANCE: a spanner across the square, the usual sign for "out of service"."""
    box = square(rect)
    x0, y0, w, h = box
    a = pygame.Vector2(x0 + w * 0.28, y0 + h * 0.72)
    b = pygame.Vector2(x0 + w * 0.7, y0 + h * 0.3)
    _thick(surface, a, b, w * 0.14, colour)
    head_r = round(w * 0.17)
    _disc(surface, (round(b.x), round(b.y)), head_r, colour)
    _disc(surface, (round(a.x), round(a.y)), round(w * 0.11), colour)
    jaw = (b - a).normalize() * head_r * 0.9
    slot = pygame.Vector2(jaw.y, -jaw.x) * 0.35
    background = surface.get_at((x0 + 1, y0 + 1))[:3]
    _polygon(surface, [b + slot * 0.2, b + jaw * 1.2 + slot, b + jaw * 1.2 - slot, b - slot * 0.2], background)
