"""One drawing function per `Screen`: each turns a `ScreenView` into pixels and decides nothing.

A screen function gets the `Canvas` and the view, draws the body between the status strip and
the one-metre band, and returns what it drew (`Drawn`: key, text, ink rectangle) so tests can
check that every reason is on screen and inside it.  `draw_screen` adds the two shared bands.

Layouts are proportions of the body, landscape (symbol left, words right) or portrait (symbol
above words); `Typesetter` finds the largest text that fits, never below the legibility floor
(`ui.legibility`).  The outcome screens (`ui.outcomes`) fill the body with their colour and
pattern, because from three metres they are read before any word; the staff view is `ui.staff`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pygame

from kiosk.ports import Screen, ScreenView
from ui import icons
from ui.attract import draw_attract, one_metre_picture
from ui.bands import draw_footer, draw_status
from ui.canvas import Canvas
from ui.catalog import BilingualCatalog
from ui.layout import NEAR_SQUARE, beside, celsius, split, title_px
from ui.legibility import PANEL_SHORT_SIDE_MM
from ui.outcomes import draw_fault, draw_pass, draw_stop
from ui.site import SiteNotice
from ui.staff import draw_staff
from ui.text import Drawn, Line, Typesetter
from ui.theme import (
    ACCENT,
    AMBER,
    INK,
    INK_SOFT,
    NAVY,
    NAVY_LIGHT,
    PASS_BAND,
    SLATE,
    STOP_BAND,
    Colour,
    Frame,
)
from ui.thermal import inset_surface

ScreenFunction = Callable[[Canvas, ScreenView], list[Drawn]]

# ------------------------------------------------------------------------------------ waiting


def _prompt(canvas: Canvas, title: str, hint: str,
            symbol: Callable[[pygame.Rect], list[Drawn]], *, picture: float = 0.0) -> list[Drawn]:
    """A request to the visitor: a symbol, then the request large and the detail smaller.

    `picture`: the symbol is a picture with a label of its own, given this share whatever the panel.
    """
    icon_rect, words = split(canvas, canvas.frame.body, picture or 0.32, fixed=bool(picture))
    drawn = symbol(icon_rect)
    lines = canvas.pair(title) + canvas.pair(hint, scale=0.55, bold=False, colour=INK_SOFT, gap=0.5)
    return drawn + canvas.text.draw(canvas.surface, words, lines, max_px=title_px(canvas.frame),
                                    align=beside(canvas))


def draw_step_closer(canvas: Canvas, view: ScreenView) -> list[Drawn]:
    def symbol(rect: pygame.Rect) -> list[Drawn]:
        icons.arrow(canvas.surface, icons.square(rect, 0.8), AMBER, up=True)
        return []

    return _prompt(canvas, "step_closer.title", "step_closer.hint", symbol)


def draw_step_back(canvas: Canvas, view: ScreenView) -> list[Drawn]:
    def symbol(rect: pygame.Rect) -> list[Drawn]:
        icons.arrow(canvas.surface, icons.square(rect, 0.8), AMBER, up=False)
        return []

    return _prompt(canvas, "step_back.title", "step_back.hint", symbol)


def draw_one_at_a_time(canvas: Canvas, view: ScreenView) -> list[Drawn]:
    frame = canvas.frame
    near_square = max(frame.width, frame.height) < NEAR_SQUARE * min(frame.width, frame.height) * 1.1
    # the picture's "1 米 / 1 m" needs room on a near-square panel (either way up): a larger share
    return _prompt(canvas, "one_at_a_time.title", "one_at_a_time.hint",
                   lambda rect: one_metre_picture(canvas, rect, far=NAVY_LIGHT), picture=0.42 if near_square else 0.32)


def draw_hold_still(canvas: Canvas, view: ScreenView) -> list[Drawn]:
    def symbol(rect: pygame.Rect) -> list[Drawn]:
        icons.person(canvas.surface, icons.square(rect, 0.8), AMBER)
        return []

    return _prompt(canvas, "hold_still.title", "hold_still.hint", symbol)


def draw_one_code(canvas: Canvas, view: ScreenView) -> list[Drawn]:
    def symbol(rect: pygame.Rect) -> list[Drawn]:
        icons.warning(canvas.surface, icons.square(rect, 0.8), AMBER, INK)
        return []

    return _prompt(canvas, "one_code.title", "one_code.hint", symbol)


# ---------------------------------------------------------------------------------- measuring


def _measuring(canvas: Canvas, view: ScreenView, lines: list[Line]) -> list[Drawn]:
    """Words, a progress bar, and the thermal inset in the bottom-right corner."""
    frame, body, surface = canvas.frame, canvas.frame.body, canvas.surface
    bar_h = frame.px(5)
    inset_w = round(body.width * (0.26 if frame.landscape else 0.42))
    inset = pygame.Rect(0, 0, inset_w, round(inset_w * 0.75))
    inset.bottomright = body.bottomright
    drawn: list[Drawn] = []
    if view.thermal is not None:
        label_h = frame.px(5)
        surface.blit(inset_surface(view.thermal, inset.size), inset)
        pygame.draw.rect(surface, INK_SOFT, inset.inflate(4, 4), width=2, border_radius=4)
        label = pygame.Rect(inset.left, inset.top - label_h - 2, inset.width, label_h)
        drawn += canvas.text.draw(surface, label, [canvas.line(canvas.words.joined("thermal.label"),
                                  "thermal.label", colour=INK_SOFT)], max_px=frame.px(3.2),
                                  align="left", valign="bottom")
    if frame.landscape:
        column = pygame.Rect(body.left, body.top, body.width - inset.width - 2 * frame.pad, body.height)
        bar = pygame.Rect(column.left, body.bottom - bar_h, column.width, bar_h)
        words = pygame.Rect(column.left, column.top, column.width, bar.top - column.top - frame.pad)
    else:
        bar = pygame.Rect(body.left, inset.top - frame.px(5) - 2 * frame.pad - bar_h, body.width, bar_h)
        words = pygame.Rect(body.left, body.top, body.width, bar.top - body.top - frame.pad)
    progress = min(1.0, max(0.0, view.progress))
    radius = bar_h // 2
    pygame.draw.rect(surface, NAVY_LIGHT, bar, border_radius=radius)
    if progress > 0:
        filled = pygame.Rect(bar.left, bar.top, max(bar_h, round(bar.width * progress)), bar_h)
        pygame.draw.rect(surface, ACCENT, filled, border_radius=radius)
    return drawn + canvas.text.draw(surface, words, lines, max_px=title_px(frame), align="left")


def draw_measuring(canvas: Canvas, view: ScreenView) -> list[Drawn]:
    lines = canvas.pair("measuring.title") + canvas.pair("measuring.hint", scale=0.5, bold=False,
                                                          colour=INK_SOFT, gap=0.5)
    return _measuring(canvas, view, lines)


def draw_remeasuring(canvas: Canvas, view: ScreenView) -> list[Drawn]:
    lines = canvas.pair("remeasuring.title")
    if view.temperature_c is not None:
        lines += canvas.pair("remeasuring.reading", scale=0.5, colour=AMBER, second_colour=AMBER, gap=0.5,
                             temperature=celsius(canvas, view.temperature_c, view.uncertainty_c))
    lines += canvas.pair("remeasuring.hint", scale=0.5, bold=False, colour=INK_SOFT, gap=0.5)
    return _measuring(canvas, view, lines)


def draw_come_back(canvas: Canvas, view: ScreenView) -> list[Drawn]:
    """A cold arrival: the forehead is too cool to read; nothing is wrong, come back in a while."""
    lines = canvas.pair("come_back.title", colour=AMBER, second_colour=AMBER)
    lines += canvas.pair("come_back.hint", scale=0.5, bold=False, colour=INK_SOFT, gap=0.5)
    lines += canvas.pair("come_back.code", scale=0.5, gap=0.4)
    icon_rect, words = split(canvas, canvas.frame.body, 0.3)
    if canvas.text.floor_height(lines, words.width) > words.height:  # a small panel: the words, not the picture
        words, icon_rect = canvas.frame.body, None
    if icon_rect is not None:
        icons.hourglass(canvas.surface, icons.square(icon_rect, 0.75), AMBER, INK)
    return canvas.text.draw(canvas.surface, words, lines, max_px=title_px(canvas.frame),
                            align=beside(canvas) if icon_rect is not None else "center")


def draw_maintenance(canvas: Canvas, view: ScreenView) -> list[Drawn]:
    """The kiosk cannot run: what is wrong (already in the site's words), and where to get checked."""
    icon_rect, words = split(canvas, canvas.frame.body, 0.28)
    icons.wrench(canvas.surface, icons.square(icon_rect, 0.7), INK_SOFT)
    lines = canvas.pair("maintenance.title", colour=AMBER, second_colour=AMBER, nowrap=True)
    if view.detail.strip():
        # One paragraph per line of the detail (the caller writes Chinese, newline, English).
        texts = tuple(line.strip() for line in view.detail.splitlines() if line.strip())
        lines += canvas.lines("maintenance.detail", texts, scale=0.42, bold=False, colour=INK,
                              second_colour=INK_SOFT, gap=0.5)
    if view.staff_spot.strip():
        texts = canvas.words.texts_quoting("maintenance.staff_spot", staff_spot=view.staff_spot)
        lines += canvas.lines("maintenance.staff_spot", texts, scale=0.5, gap=0.5)
    else:
        lines += canvas.pair("maintenance.staff", scale=0.5, gap=0.5)
    return canvas.text.draw(canvas.surface, words, lines, max_px=title_px(canvas.frame),
                            align=beside(canvas))


# ------------------------------------------------------------------------------------ dispatch

SCREENS: dict[Screen, ScreenFunction] = {
    Screen.ATTRACT: draw_attract,
    Screen.STEP_CLOSER: draw_step_closer,
    Screen.STEP_BACK: draw_step_back,
    Screen.ONE_AT_A_TIME: draw_one_at_a_time,
    Screen.HOLD_STILL: draw_hold_still,
    Screen.ONE_CODE: draw_one_code,
    Screen.MEASURING: draw_measuring,
    Screen.REMEASURING: draw_remeasuring,
    Screen.PASS: draw_pass,
    Screen.STOP: draw_stop,
    Screen.FAULT: draw_fault,
    Screen.COME_BACK: draw_come_back,
    Screen.MAINTENANCE: draw_maintenance,
    Screen.STAFF: draw_staff,
}

BACKGROUNDS: dict[Screen, Colour] = {screen: NAVY for screen in Screen} | {
    Screen.PASS: PASS_BAND,
    Screen.STOP: STOP_BAND,
    Screen.FAULT: SLATE,
    Screen.MAINTENANCE: SLATE,
    Screen.STAFF: SLATE,
}


def draw_screen(surface: pygame.Surface, view: ScreenView, *, typesetter: Typesetter,
                words: BilingualCatalog, site: SiteNotice | None = None,
                short_side_mm: float = PANEL_SHORT_SIDE_MM) -> list[Drawn]:
    """Draw the whole frame for `view` onto `surface`; returns every paragraph drawn.

    `short_side_mm`: the panel's short side (`display.short_side_mm`), for the legibility rule.
    """
    frame = Frame.of(surface.get_size())
    canvas = Canvas(surface, frame, typesetter, words, site if site is not None else SiteNotice(), short_side_mm)
    draw = SCREENS.get(view.screen)
    if draw is None:  # a screen newer than ui/: still a screen, the manual check (the kiosk cannot say more)
        view = replace(view, screen=Screen.FAULT)
        draw = draw_fault
    surface.fill(BACKGROUNDS.get(view.screen, NAVY))
    drawn = draw_status(canvas, frame.status, view.status)
    drawn += draw(canvas, view)
    drawn += draw_footer(canvas, frame.footer, companion=view.companion)
    return drawn
