"""One drawing function per `Screen`: each turns a `ScreenView` into pixels and decides nothing.

A screen function gets the `Canvas` and the view, draws the body between the status strip and
the one-metre band, and returns what it drew (`Drawn`: key, text, ink rectangle) so tests can
check that every reason is on screen and inside it.  `draw_screen` adds the two shared bands.

Layouts are proportions of the body, landscape (symbol left, words right) or portrait (symbol
above words); `Typesetter` finds the largest text that fits.  Outcome screens fill the body
with their colour, because from three metres the colour is read before any word.
"""

from __future__ import annotations

from collections.abc import Callable

import pygame

from kiosk.ports import Screen, ScreenView
from ui import icons
from ui.bands import draw_footer, draw_status
from ui.canvas import Canvas
from ui.catalog import BilingualCatalog
from ui.site import SiteNotice, qr_surface
from ui.text import Align, Drawn, Line, Typesetter
from ui.theme import (
    ACCENT,
    AMBER,
    GREEN,
    GREEN_INK,
    INK,
    INK_SOFT,
    NAVY,
    NAVY_LIGHT,
    RED,
    RED_DEEP,
    RED_INK,
    SLATE,
    Colour,
    Frame,
)
from ui.thermal import inset_surface

ScreenFunction = Callable[[Canvas, ScreenView], list[Drawn]]

# Reasons a second measurement may clear, so the STOP screen offers one.  Presentation only: which
# reasons exist, and whether the kiosk accepts a re-measure, is the core's business.
_REMEASURABLE = frozenset({"fever", "sensor_fault"})


def _celsius(canvas: Canvas, value: float, uncertainty: float | None = None) -> str:
    if uncertainty is not None and uncertainty > 0:
        return canvas.words.first.text("unit.celsius_uncertain", value=f"{value:.1f}",
                                       uncertainty=f"{uncertainty:.1f}")
    return canvas.words.first.text("unit.celsius", value=f"{value:.1f}")


def _split(canvas: Canvas, rect: pygame.Rect, share: float) -> tuple[pygame.Rect, pygame.Rect]:
    """(symbol, words): side by side in landscape, stacked in portrait; `share` is the symbol's part."""
    gap = canvas.frame.pad
    if canvas.frame.landscape:
        side = min(rect.height, round(rect.width * share))
        return (pygame.Rect(rect.left, rect.top, side, rect.height),
                pygame.Rect(rect.left + side + gap, rect.top, rect.width - side - gap, rect.height))
    side = min(rect.width, round(rect.height * share))
    return (pygame.Rect(rect.left, rect.top, rect.width, side),
            pygame.Rect(rect.left, rect.top + side + gap, rect.width, rect.height - side - gap))


def _beside(canvas: Canvas) -> Align:
    """Words beside a symbol line up with it on the left; words under a symbol are centred under it."""
    return "left" if canvas.frame.landscape else "center"


def _title_px(frame: Frame) -> int:
    return frame.px(17)


# ------------------------------------------------------------------------------------ waiting


def draw_attract(canvas: Canvas, view: ScreenView) -> list[Drawn]:
    """Idle: what to do (mask first), the one-metre picture, the place code, and what is recorded.

    The privacy notice runs across the bottom of the body, under everything else, where it is
    read by whoever looks for it and does not compete with the steps.
    """
    frame, body = canvas.frame, canvas.frame.body
    privacy_h = frame.px(11 if frame.landscape else 14)
    top = pygame.Rect(body.left, body.top, body.width, body.height - privacy_h - frame.pad)
    fine = pygame.Rect(body.left, top.bottom + frame.pad, body.width, privacy_h)
    code = canvas.site.place_code.strip()
    qr: pygame.Rect | None = None
    if frame.landscape:  # words on the left, read first; the pictures on the right
        words = pygame.Rect(top.left, top.top, round(top.width * (0.5 if code else 0.6)), top.height)
        picture = pygame.Rect(words.right + frame.pad, top.top, top.right - words.right - frame.pad, top.height)
        if code:
            half = (picture.width - frame.pad) // 2
            qr = pygame.Rect(picture.right - half, picture.top, half, picture.height)
            picture.width = half
    else:
        picture, words = _split(canvas, top, 0.3)
        if code:
            qr = pygame.Rect(0, 0, min(picture.height, round(picture.width * 0.45)), picture.height)
            qr.topright = picture.topright
            picture.width = qr.left - frame.pad - picture.left
    lines = canvas.pair("attract.title", nowrap=True)
    lines += canvas.pair("attract.step_mask", scale=0.6, colour=AMBER, second_colour=AMBER, gap=0.55)
    lines += canvas.pair("attract.step_stand", scale=0.6, gap=0.35)
    lines += canvas.pair("attract.step_code", scale=0.6, gap=0.35)
    drawn = canvas.text.draw(canvas.surface, words, lines, max_px=frame.px(12), align="left")
    notice = canvas.site
    texts = canvas.words.texts_quoting("attract.privacy", recipient=notice.recipient,
                                       days=f"{notice.retention_days:g}")
    privacy = canvas.lines("attract.privacy", texts, second=0.85, bold=False, colour=INK_SOFT)
    drawn += canvas.text.draw(canvas.surface, fine, privacy, max_px=frame.px(3.6), align="left",
                              valign="bottom")
    if qr is not None:
        drawn += _place_code(canvas, qr, code)
    return drawn + _one_metre_picture(canvas, picture)


def _place_code(canvas: Canvas, rect: pygame.Rect, text: str) -> list[Drawn]:
    """The site's place code on white, with what it is for under it."""
    label_h = round(rect.height * 0.24)
    code_rect = pygame.Rect(rect.left, rect.top, rect.width, rect.height - label_h)
    image = qr_surface(text, min(code_rect.width, code_rect.height))
    at = image.get_rect(center=code_rect.center)
    canvas.surface.blit(image, at)
    label = pygame.Rect(rect.left, at.bottom + canvas.frame.pad // 2, rect.width,
                        rect.bottom - at.bottom - canvas.frame.pad // 2)
    lines = canvas.pair("attract.place_code", second=0.8, bold=False)
    return canvas.text.draw(canvas.surface, label, lines, max_px=canvas.frame.px(4), valign="top")


def _one_metre_picture(canvas: Canvas, rect: pygame.Rect, far: Colour = INK_SOFT) -> list[Drawn]:
    label = icons.one_metre(canvas.surface, rect, INK, far, AMBER)
    lines = canvas.pair("pictogram.one_metre", second=0.75, second_bold=True, colour=AMBER,
                        second_colour=AMBER, nowrap=True)
    return canvas.text.draw(canvas.surface, label, lines, max_px=canvas.frame.px(8), valign="bottom")


def _prompt(canvas: Canvas, title: str, hint: str,
            symbol: Callable[[pygame.Rect], list[Drawn]]) -> list[Drawn]:
    """A request to the visitor: a symbol, then the request large and the detail smaller."""
    icon_rect, words = _split(canvas, canvas.frame.body, 0.32)
    drawn = symbol(icon_rect)
    lines = canvas.pair(title) + canvas.pair(hint, scale=0.55, bold=False, colour=INK_SOFT, gap=0.5)
    return drawn + canvas.text.draw(canvas.surface, words, lines, max_px=_title_px(canvas.frame),
                                    align=_beside(canvas))


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
    return _prompt(canvas, "one_at_a_time.title", "one_at_a_time.hint",
                   lambda rect: _one_metre_picture(canvas, rect, far=NAVY_LIGHT))


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
        drawn += canvas.text.draw(surface, label, [Line(canvas.words.joined("thermal.label"),
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
    return drawn + canvas.text.draw(surface, words, lines, max_px=_title_px(frame), align="left")


def draw_measuring(canvas: Canvas, view: ScreenView) -> list[Drawn]:
    lines = canvas.pair("measuring.title") + canvas.pair("measuring.hint", scale=0.5, bold=False,
                                                          colour=INK_SOFT, gap=0.5)
    return _measuring(canvas, view, lines)


def draw_remeasuring(canvas: Canvas, view: ScreenView) -> list[Drawn]:
    lines = canvas.pair("remeasuring.title")
    if view.temperature_c is not None:
        lines += canvas.pair("remeasuring.reading", scale=0.5, colour=AMBER, second_colour=AMBER, gap=0.5,
                             temperature=_celsius(canvas, view.temperature_c, view.uncertainty_c))
    lines += canvas.pair("remeasuring.hint", scale=0.5, bold=False, colour=INK_SOFT, gap=0.5)
    return _measuring(canvas, view, lines)


# ----------------------------------------------------------------------------------- outcomes


def draw_pass(canvas: Canvas, view: ScreenView) -> list[Drawn]:
    """Green, a tick, PASS in both languages and the temperature."""
    icon_rect, words = _split(canvas, canvas.frame.body, 0.36)
    icons.tick(canvas.surface, icons.square(icon_rect, 0.85), GREEN_INK, GREEN)
    lines = canvas.pair("pass.title", second=0.7, second_bold=True, second_colour=GREEN_INK, nowrap=True)
    if view.temperature_c is not None:
        lines.append(Line(_celsius(canvas, view.temperature_c), "unit.celsius", 0.5, True, INK, 0.4))
    lines += canvas.pair("pass.hint", scale=0.4, bold=False, colour=GREEN_INK, second_colour=GREEN_INK,
                         gap=0.5)
    return canvas.text.draw(canvas.surface, words, lines, max_px=canvas.frame.px(24), align=_beside(canvas))


def draw_stop(canvas: Canvas, view: ScreenView) -> list[Drawn]:
    """Red, the no-entry sign, every reason in plain words, and what to do next."""
    frame, body, surface = canvas.frame, canvas.frame.body, canvas.surface
    if frame.landscape:
        head = pygame.Rect(body.left, body.top, round(body.width * (0.34 if len(view.reasons) < 5 else 0.28)),
                           body.height)
        rest = pygame.Rect(head.right + frame.pad, body.top, body.right - head.right - frame.pad, body.height)
        icon_rect = pygame.Rect(head.left, head.top, head.width, round(head.height * 0.42))
        title = pygame.Rect(head.left, icon_rect.bottom + frame.pad, head.width,
                            head.bottom - icon_rect.bottom - frame.pad)
    else:
        head = pygame.Rect(body.left, body.top, body.width, round(body.height * 0.24))
        rest = pygame.Rect(body.left, head.bottom + frame.pad, body.width,
                           body.bottom - head.bottom - frame.pad)
        icon_rect = pygame.Rect(head.left, head.top, round(head.width * 0.34), head.height)
        title = pygame.Rect(icon_rect.right + frame.pad, head.top, head.right - icon_rect.right - frame.pad,
                            head.height)
    icons.no_entry(surface, icons.square(icon_rect, 0.9), INK, RED)
    lines = canvas.pair("stop.title", second=0.62, second_bold=True, second_colour=RED_INK, nowrap=True)
    if view.temperature_c is not None:
        lines.append(Line(_celsius(canvas, view.temperature_c), "unit.celsius", 0.45, True, INK, 0.35))
    drawn = canvas.text.draw(surface, title, lines, max_px=_title_px(frame),
                             align="center" if frame.landscape else "left")

    next_h = round(rest.height * (0.36 if len(view.reasons) <= 6 else 0.3))  # many reasons: more room for them
    reasons = pygame.Rect(rest.left, rest.top, rest.width, rest.height - next_h - frame.pad)
    box = pygame.Rect(rest.left, reasons.bottom + frame.pad, rest.width, next_h)
    drawn += _draw_reasons(canvas, reasons, view.reasons)
    pygame.draw.rect(surface, RED_DEEP, box, border_radius=frame.px(2))
    drawn += canvas.text.draw(surface, box.inflate(-2 * frame.pad, -frame.pad), _next_steps(canvas, view),
                              max_px=frame.px(7), align="left")
    return drawn


def _draw_reasons(canvas: Canvas, rect: pygame.Rect, codes: tuple[str, ...]) -> list[Drawn]:
    """Every reason, at one size, in whichever arrangement lets that size be largest.

    Few reasons read best as a table (Chinese | English per row); many fit larger as a grid of
    cells with the English under the Chinese.
    """
    def cell(code: str) -> list[Line]:
        first, *others = canvas.words.reasons(code)
        key = f"reason.{code}"
        # A reason shrinks rather than breaks: half a reason on the next row reads as a second one.
        return [Line(first, key, 1.0, True, INK, nowrap=True),
                *(Line(t, key, 0.78, False, RED_INK, 0.06, nowrap=True) for t in others)]

    cells = [cell(code) for code in codes]
    arrangements: list[tuple[list[list[list[Line]]], tuple[float, ...]]] = []
    if canvas.words.second is not None:
        arrangements.append(([[c[:1], c[1:]] for c in cells], (0.42, 0.58)))
    arrangements.append(([[c] for c in cells], (1.0,)))
    if len(cells) > 3:
        arrangements.append(([cells[i:i + 2] for i in range(0, len(cells), 2)], (0.5, 0.5)))
    max_px = canvas.frame.px(8.5)
    rows, columns = max(arrangements, key=lambda a: canvas.text.table_base(rect, a[0], a[1], max_px=max_px))
    return canvas.text.draw_table(canvas.surface, rect, rows, columns, max_px=max_px, rule=(214, 86, 92))


def _next_steps(canvas: Canvas, view: ScreenView) -> list[Line]:
    words = canvas.words
    if view.staff_spot.strip():
        texts = words.texts_quoting("stop.next_staff", staff_spot=view.staff_spot)
        lines = canvas.lines("stop.next_staff", texts, second_colour=RED_INK)
    else:
        lines = canvas.pair("stop.next_staff_nearby", second_colour=RED_INK)
    if _REMEASURABLE & set(view.reasons):
        lines += canvas.pair("stop.next_remeasure", scale=0.8, bold=False, second_colour=RED_INK, gap=0.4)
    return lines


def draw_fault(canvas: Canvas, view: ScreenView) -> list[Drawn]:
    """The kiosk cannot measure: a person must check, and the visitor waits for them."""
    icon_rect, words = _split(canvas, canvas.frame.body, 0.32)
    icons.warning(canvas.surface, icons.square(icon_rect, 0.8), AMBER, SLATE)
    lines = canvas.pair("fault.title", colour=AMBER, second_colour=AMBER, nowrap=True)
    lines += canvas.pair("fault.hint", scale=0.5, gap=0.5)
    lines += canvas.pair("fault.staff", scale=0.5, gap=0.3)
    if view.staff_spot.strip():
        texts = canvas.words.texts_quoting("fault.staff_spot", staff_spot=view.staff_spot)
        lines += canvas.lines("fault.staff_spot", texts, scale=0.5, bold=False, gap=0.3)
    return canvas.text.draw(canvas.surface, words, lines, max_px=_title_px(canvas.frame),
                            align=_beside(canvas))


def draw_come_back(canvas: Canvas, view: ScreenView) -> list[Drawn]:
    """A cold arrival: the forehead is too cool to read; nothing is wrong, come back in a while."""
    icon_rect, words = _split(canvas, canvas.frame.body, 0.3)
    icons.hourglass(canvas.surface, icons.square(icon_rect, 0.75), AMBER, INK)
    lines = canvas.pair("come_back.title", colour=AMBER, second_colour=AMBER)
    lines += canvas.pair("come_back.hint", scale=0.5, bold=False, colour=INK_SOFT, gap=0.5)
    lines += canvas.pair("come_back.wait", scale=0.5, gap=0.35)
    lines += canvas.pair("come_back.code", scale=0.45, bold=False, colour=INK_SOFT, gap=0.35)
    return canvas.text.draw(canvas.surface, words, lines, max_px=_title_px(canvas.frame),
                            align=_beside(canvas))


def draw_maintenance(canvas: Canvas, view: ScreenView) -> list[Drawn]:
    """The kiosk cannot run: what is wrong (already in the site's words), and where to get checked."""
    icon_rect, words = _split(canvas, canvas.frame.body, 0.28)
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
    return canvas.text.draw(canvas.surface, words, lines, max_px=_title_px(canvas.frame),
                            align=_beside(canvas))


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
}

BACKGROUNDS: dict[Screen, Colour] = {screen: NAVY for screen in Screen} | {
    Screen.PASS: GREEN,
    Screen.STOP: RED,
    Screen.FAULT: SLATE,
    Screen.MAINTENANCE: SLATE,
}


def draw_screen(surface: pygame.Surface, view: ScreenView, *, typesetter: Typesetter,
                words: BilingualCatalog, site: SiteNotice | None = None) -> list[Drawn]:
    """Draw the whole frame for `view` onto `surface`; returns every paragraph drawn."""
    frame = Frame.of(surface.get_size(), companion=view.companion)
    canvas = Canvas(surface, frame, typesetter, words, site if site is not None else SiteNotice())
    surface.fill(BACKGROUNDS.get(view.screen, NAVY))
    drawn = draw_status(canvas, frame.status, view.status)
    drawn += SCREENS.get(view.screen, draw_fault)(canvas, view)  # a screen newer than ui/: still a screen
    drawn += draw_footer(canvas, frame.footer, companion=view.companion)
    return drawn
