"""The outcome screens: PASS, STOP and the manual check (FAULT).

Outcomes are read from across the room before any word, so each differs from the others in
lightness and pattern as well as hue and symbol — a colour-blind visitor must not depend on the
red/green difference alone:

* PASS: the only light screen — a solid light-green band, a tick, dark words.
* STOP: a dark red band under diagonal hazard stripes, the no-entry sign, white words on solid
  dark panels (the stripes never run behind text), every reason in plain words.
* Manual check (FAULT): the kiosk's own fault, not the visitor's — dark, solid, framed in amber,
  the warning triangle, "人工复核 / Manual check" and where to wait for staff.

Every word here is held to the legibility rule (`ui.legibility`); the STOP with many reasons
switches to a compact head and a grid of reasons rather than let any reason get small.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import pygame

from kiosk.ports import ScreenView
from ui import icons
from ui.bands import hazard_stripes
from ui.canvas import Canvas
from ui.layout import beside, celsius, split, title_px
from ui.text import Drawn, Line
from ui.theme import (
    AMBER,
    INK,
    PASS_DISC,
    PASS_INK,
    PASS_INK_SOFT,
    STOP_BAND,
    STOP_INK,
    STOP_PANEL,
    STOP_RULE,
    STOP_STRIPE,
)

# Reasons a second measurement may clear, so a STOP for these alone offers one.  Presentation only:
# which reasons exist, and whether the kiosk accepts a re-measure, is the core's business.
REMEASURABLE = frozenset({"fever", "sensor_fault"})


def band(canvas: Canvas) -> pygame.Rect:
    """The verdict band: everything between the status strip and the one-metre band."""
    frame = canvas.frame
    return pygame.Rect(0, frame.status.bottom, frame.width, frame.footer.top - frame.status.bottom)


# ---------------------------------------------------------------------------------------- PASS


def draw_pass(canvas: Canvas, view: ScreenView) -> list[Drawn]:
    """Light green, solid, a tick, PASS in both languages and the temperature."""
    icon_rect, words = split(canvas, canvas.frame.body, 0.36)
    icons.tick(canvas.surface, icons.square(icon_rect, 0.85), PASS_DISC, INK)
    lines = canvas.pair("pass.title", second=0.7, colour=PASS_INK, second_bold=True, second_colour=PASS_INK,
                        nowrap=True)
    if view.temperature_c is not None:
        lines.append(canvas.line(celsius(canvas, view.temperature_c), "unit.celsius", 0.5, True, PASS_INK, 0.4))
    lines += canvas.pair("pass.hint", scale=0.4, bold=False, colour=PASS_INK_SOFT, second_colour=PASS_INK_SOFT,
                         gap=0.5)
    return canvas.text.draw(canvas.surface, words, lines, max_px=canvas.frame.px(24), align=beside(canvas))


# ---------------------------------------------------------------------------------------- STOP


@dataclass(frozen=True, slots=True)
class _Plan:
    """Where a STOP's parts go, and whether its words fit there at a legible size."""

    head: pygame.Rect
    compact: bool  # head is one row: small sign, title on one line
    reasons: pygame.Rect
    next: pygame.Rect
    panel: pygame.Rect
    table: tuple[list[list[list[Line]]], tuple[float, ...]]
    fits: bool


def draw_stop(canvas: Canvas, view: ScreenView) -> list[Drawn]:
    """Dark red under hazard stripes, the no-entry sign, every reason in plain words, what to do next."""
    frame, surface = canvas.frame, canvas.surface
    hazard_stripes(surface, band(canvas), STOP_BAND, STOP_STRIPE, frame.px(3.5))
    cells = _reason_cells(canvas, view.reasons)
    next_lines = _next_steps(canvas, view)
    plans = [_plan(canvas, cells, next_lines, compact=False), _plan(canvas, cells, next_lines, compact=True)]
    plan = next((p for p in plans if p.fits), plans[-1])
    drawn = _draw_head(canvas, view, plan)
    radius = frame.px(2)
    pygame.draw.rect(surface, STOP_PANEL, plan.panel, border_radius=radius)
    if cells:
        rows, columns = plan.table
        drawn += canvas.text.draw_table(surface, plan.reasons, rows, columns, max_px=frame.px(8.5),
                                        row_gap=0.3, rule=STOP_RULE, column_rules=len(set(columns)) == 1)
        y = (plan.reasons.bottom + plan.next.top) // 2
        pygame.draw.line(surface, STOP_RULE, (plan.panel.left + radius, y), (plan.panel.right - radius, y),
                         max(2, frame.px(0.5)))
    return drawn + canvas.text.draw(surface, plan.next, next_lines, max_px=frame.px(7), align="left")


def _reason_cells(canvas: Canvas, codes: tuple[str, ...]) -> list[list[Line]]:
    """One cell per reason: its words in each language.  Two codes in the same words (two reasons
    this kiosk does not know yet, both "other reason") are listed once."""
    cells: list[list[Line]] = []
    seen: set[tuple[str, ...]] = set()
    for code in codes:
        texts = canvas.words.reasons(code)
        if texts in seen:
            continue
        seen.add(texts)
        first, *others = texts
        key = f"reason.{code}"
        # A reason shrinks rather than breaks: half a reason on the next row reads as a second one.
        cells.append([_tight(canvas.line(first, key, 1.0, True, INK, nowrap=True)),
                      *(_tight(canvas.line(t, key, 0.8, False, STOP_INK, 0.04, nowrap=True)) for t in others)])
    return cells


def _tight(line: Line) -> Line:
    """A reason is one short line: it needs less leading than running text, and twelve of them must fit."""
    return replace(line, leading=1.1)


def _arrangements(canvas: Canvas, cells: list[list[Line]]) -> list[tuple[list[list[list[Line]]], tuple[float, ...]]]:
    """Ways to set the reasons: Chinese | English per row, or a grid of cells with English under Chinese."""
    out: list[tuple[list[list[list[Line]]], tuple[float, ...]]] = []
    if canvas.words.second is not None:
        out.append(([[c[:1], c[1:]] for c in cells], (0.42, 0.58)))
    out.append(([[c] for c in cells], (1.0,)))
    for n in (2, 3, 4):
        if len(cells) > n:
            out.append(([cells[i:i + n] for i in range(0, len(cells), n)], (1.0 / n,) * n))
    return out


def _plan(canvas: Canvas, cells: list[list[Line]], next_lines: list[Line], *, compact: bool) -> _Plan:
    frame, body, gap = canvas.frame, canvas.frame.body, canvas.frame.pad
    many = len(cells) >= 5
    if compact:
        head_h = math.ceil(canvas.text.floor_height([_title_line(canvas)], body.width) * 1.05)
        head = pygame.Rect(body.left, body.top, body.width, head_h)
        panel = pygame.Rect(body.left, head.bottom + gap // 2, body.width, body.bottom - head.bottom - gap // 2)
    elif frame.landscape:
        head = pygame.Rect(body.left, body.top, round(body.width * (0.28 if many else 0.3)), body.height)
        panel = pygame.Rect(head.right + gap, body.top, body.right - head.right - gap, body.height)
    else:
        head = pygame.Rect(body.left, body.top, body.width, round(body.height * 0.24))
        panel = pygame.Rect(body.left, head.bottom + gap, body.width, body.bottom - head.bottom - gap)
    inner = panel.inflate(-gap, -gap)
    need = canvas.text.floor_height(next_lines, inner.width)
    next_h = math.ceil(max(need, 0 if compact else inner.height * (0.3 if many else 0.36)) if cells else inner.height)
    next_rect = pygame.Rect(inner.left, inner.bottom - next_h, inner.width, next_h)
    reasons = pygame.Rect(inner.left, inner.top, inner.width, max(0, next_rect.top - gap - inner.top))
    options = _arrangements(canvas, cells)
    max_px = frame.px(8.5)
    scored = [(canvas.text.table_fit(reasons, rows, cols, max_px=max_px, row_gap=0.3), (rows, cols))
              for rows, cols in options] if cells else [((True, 0), ([], (1.0,)))]
    (fits, _), table = max(scored, key=lambda s: s[0])
    fits = fits and next_h >= need and reasons.height >= 0
    return _Plan(head, compact, reasons, next_rect, panel, table, fits)


def _title_line(canvas: Canvas) -> Line:
    """The compact head's title: both languages on one line."""
    return canvas.line(canvas.words.joined("stop.title", "  "), "stop.title", 1.0, True, INK, nowrap=True)


def _draw_head(canvas: Canvas, view: ScreenView, plan: _Plan) -> list[Drawn]:
    frame, surface, head = canvas.frame, canvas.surface, plan.head
    temperature = (None if view.temperature_c is None
                   else canvas.line(celsius(canvas, view.temperature_c), "unit.celsius", 0.45, True, INK, 0.35))
    if plan.compact:
        icon = icons.square(pygame.Rect(head.left, head.top, head.height, head.height), 0.95)
        icons.no_entry(surface, icon, INK, STOP_BAND)
        words = pygame.Rect(icon.right + frame.pad, head.top, head.right - icon.right - frame.pad, head.height)
        drawn: list[Drawn] = []
        if temperature is not None:
            temperature = Line(temperature.text, temperature.key, 1.0, True, INK, 0.0, True, temperature.floor)
            width = canvas.text.fonts.width(temperature.text, temperature.floor, bold=True) * 1.1
            right = pygame.Rect(words.right - round(width), words.top, round(width), words.height)
            drawn += canvas.text.draw(surface, right, [temperature], max_px=temperature.floor, align="right")
            words.width -= right.width + frame.pad
        return drawn + canvas.text.draw(surface, words, [_title_line(canvas)], max_px=frame.px(12), align="left")
    if frame.landscape:
        icon_rect = pygame.Rect(head.left, head.top, head.width, round(head.height * 0.42))
        title = pygame.Rect(head.left, icon_rect.bottom + frame.pad, head.width,
                            head.bottom - icon_rect.bottom - frame.pad)
    else:
        icon_rect = pygame.Rect(head.left, head.top, round(head.width * 0.34), head.height)
        title = pygame.Rect(icon_rect.right + frame.pad, head.top, head.right - icon_rect.right - frame.pad,
                            head.height)
    icons.no_entry(surface, icons.square(icon_rect, 0.9), INK, STOP_BAND)
    lines = canvas.pair("stop.title", second=0.62, second_bold=True, second_colour=STOP_INK, nowrap=True)
    if temperature is not None:
        lines.append(temperature)
    return canvas.text.draw(surface, title, lines, max_px=title_px(frame),
                            align="center" if frame.landscape else "left")


def _next_steps(canvas: Canvas, view: ScreenView) -> list[Line]:
    words = canvas.words
    if view.staff_spot.strip():
        texts = words.texts_quoting("stop.next_staff", staff_spot=view.staff_spot)
        lines = canvas.lines("stop.next_staff", texts, second_colour=STOP_INK, second=0.8)
    else:
        lines = canvas.pair("stop.next_staff_nearby", second_colour=STOP_INK, second=0.8)
    if view.reasons and REMEASURABLE.issuperset(view.reasons):
        lines += canvas.pair("stop.next_remeasure", scale=0.8, bold=False, second_colour=STOP_INK, gap=0.4)
    return lines


# ------------------------------------------------------------------------------- manual check


def draw_fault(canvas: Canvas, view: ScreenView) -> list[Drawn]:
    """The kiosk's own fault (its thermometer, its clock, a record it could not store): not the
    visitor's.  A person checks them by hand — "人工复核 / Manual check" — and they wait for staff."""
    frame, surface = canvas.frame, canvas.surface
    edge = max(3, frame.px(1.4))
    pygame.draw.rect(surface, AMBER, band(canvas).inflate(-frame.pad, -frame.pad), width=edge,
                     border_radius=frame.px(2))
    body = frame.body.inflate(-2 * edge, -2 * edge)
    icon_rect, words = split(canvas, body, 0.3)
    icons.warning(surface, icons.square(icon_rect, 0.8), AMBER, STOP_PANEL)
    lines = canvas.pair("fault.title", colour=AMBER, second_colour=AMBER, second_bold=True, nowrap=True)
    if view.staff_spot.strip():
        texts = canvas.words.texts_quoting("fault.staff_spot", staff_spot=view.staff_spot)
        lines += canvas.lines("fault.staff_spot", texts, scale=0.55, gap=0.5)
    else:
        lines += canvas.pair("fault.staff", scale=0.55, gap=0.5)
    lines += canvas.pair("fault.hint", scale=0.45, bold=False, gap=0.4)
    return canvas.text.draw(surface, words, lines, max_px=title_px(frame), align=beside(canvas))

