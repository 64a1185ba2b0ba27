"""The idle screen: what to do (mask first), the one-metre picture, the place code, what is recorded.

Every step is legible from the floor mark and the privacy notice and the place-code caption from
the screen (`ui.legibility`); on a small panel that is more than fits, so the screen drops, in
this order, the one-metre picture (the band below says the same) and then the welcome line,
rather than let any step get small.  The privacy notice runs across the bottom of the body,
under everything else, where it is read by whoever looks for it.
"""

from __future__ import annotations

import math
from typing import Literal

import pygame

from kiosk.ports import ScreenView
from ui import icons
from ui.canvas import Canvas
from ui.site import qr_surface
from ui.text import Drawn, Line
from ui.theme import AMBER, INK, INK_SOFT, Colour


def _steps(canvas: Canvas, title: bool) -> list[Line]:
    lines = canvas.pair("attract.title", nowrap=True, second_colour=INK_SOFT) if title else []
    lines += canvas.pair("attract.step_mask", scale=0.6, colour=AMBER, second_colour=AMBER, gap=0.55 if title else 0)
    lines += canvas.pair("attract.step_stand", scale=0.6, gap=0.35)
    lines += canvas.pair("attract.step_code", scale=0.6, gap=0.35)
    return lines


def _caption(canvas: Canvas) -> list[Line]:
    return canvas.pair("attract.place_code", second=0.8, bold=False)


def _columns(canvas: Canvas, top: pygame.Rect, code: bool, picture: bool
             ) -> tuple[pygame.Rect, pygame.Rect | None, pygame.Rect | None]:
    """(words, picture, place code) rectangles of the area above the privacy notice."""
    frame, gap = canvas.frame, canvas.frame.pad
    if frame.landscape:  # words on the left, read first; the pictures on the right
        qr_w = round(min(top.height * 0.75, top.width * 0.24)) if code else 0
        pic_w = round(top.width * (0.22 if code else 0.36)) if picture else 0
        words_w = top.width - qr_w - pic_w - gap * ((qr_w > 0) + (pic_w > 0))
        words = pygame.Rect(top.left, top.top, words_w, top.height)
        pic = pygame.Rect(words.right + gap, top.top, pic_w, top.height) if picture else None
        qr = pygame.Rect(top.right - qr_w, top.top, qr_w, top.height) if code else None
        return words, pic, qr
    row_h = round(top.height * 0.3) if (picture or code) else 0
    words = pygame.Rect(top.left, top.top + row_h + (gap if row_h else 0), top.width,
                        top.height - row_h - (gap if row_h else 0))
    qr_w = (min(row_h, round(top.width * 0.45)) if picture else top.width) if code else 0
    qr = pygame.Rect(top.right - qr_w, top.top, qr_w, row_h) if code else None
    pic = (pygame.Rect(top.left, top.top, top.width - qr_w - (gap if code else 0), row_h)
           if picture else None)
    return words, pic, qr


def draw_attract(canvas: Canvas, view: ScreenView) -> list[Drawn]:
    frame, body, surface = canvas.frame, canvas.frame.body, canvas.surface
    notice = canvas.site
    texts = canvas.words.texts_quoting("attract.privacy", recipient=notice.recipient,
                                       days=f"{notice.retention_days:g}")
    privacy = canvas.lines("attract.privacy", texts, second=0.85, bold=False, colour=INK_SOFT)
    privacy_h = math.ceil(canvas.text.floor_height(privacy, body.width))
    fine = pygame.Rect(body.left, body.bottom - privacy_h, body.width, privacy_h)
    top = pygame.Rect(body.left, body.top, body.width, fine.top - frame.pad - body.top)
    code = canvas.site.place_code.strip()
    # What is given up, in order, when the steps would not be legible: the picture (the band below says
    # the same), the welcome line, and last the place code (visitors can scan the one at the door).
    options = [(True, True, True), (True, False, True), (False, False, True), (False, False, False)]
    for title, picture, with_code in options:
        words, pic, qr = _columns(canvas, top, bool(code) and with_code, picture)
        lines = _steps(canvas, title)
        fits = canvas.text.floor_height(lines, words.width) <= words.height and all(
            canvas.text.fonts.width(line.text, line.floor, bold=line.bold) <= words.width
            for line in lines if line.nowrap)  # (the others may wrap)
        if qr is not None:
            fits = fits and _caption_fits(canvas, qr)
        if pic is not None:
            fits = fits and _fits(canvas, _picture_label(canvas), icons.one_metre_label(pic))
        if fits:
            break
    drawn = canvas.text.draw(surface, words, lines, max_px=frame.px(12), align="left")
    drawn += canvas.text.draw(surface, fine, privacy, max_px=frame.px(3.6), align="left", valign="bottom")
    if qr is not None:
        drawn += _place_code(canvas, qr, code)
    if pic is not None:
        drawn += one_metre_picture(canvas, pic)
    return drawn


def _fits(canvas: Canvas, lines: list[Line], rect: pygame.Rect) -> bool:
    """`lines` fit `rect` with every line at its floor."""
    return canvas.text.floor_height(lines, rect.width) <= rect.height and all(
        canvas.text.fonts.width(line.text, line.floor, bold=line.bold) <= rect.width for line in lines)


def _picture_label(canvas: Canvas) -> list[Line]:
    return canvas.pair("pictogram.one_metre", second=0.75, second_bold=True, colour=AMBER,
                       second_colour=AMBER, nowrap=True)


def _qr_side(canvas: Canvas, rect: pygame.Rect) -> tuple[int, int]:
    """(side of the code, height of its caption): the code as large as leaves its caption legible."""
    caption_h = math.ceil(canvas.text.floor_height(_caption(canvas), rect.width))
    return max(0, min(rect.width, rect.height - caption_h - canvas.frame.pad // 2)), caption_h


def _caption_fits(canvas: Canvas, rect: pygame.Rect) -> bool:
    if rect.width >= 2 * rect.height:  # caption beside the code
        label = pygame.Rect(0, 0, rect.width - rect.height - canvas.frame.pad, rect.height)
        return _fits(canvas, _caption(canvas), label)
    side, _ = _qr_side(canvas, rect)
    return side >= rect.width * 0.6


def _place_code(canvas: Canvas, rect: pygame.Rect, text: str) -> list[Drawn]:
    """The site's place code on white, with what it is for under it (or, in a wide row, beside it)."""
    gap = canvas.frame.pad
    if rect.width >= 2 * rect.height:
        image = qr_surface(text, rect.height)
        at = image.get_rect(midright=rect.midright)
        label = pygame.Rect(rect.left, rect.top, at.left - gap - rect.left, rect.height)
        align: Literal["right", "center"] = "right"
    else:
        image = qr_surface(text, _qr_side(canvas, rect)[0])
        at = image.get_rect(midtop=(rect.centerx, rect.top))
        label = pygame.Rect(rect.left, at.bottom + gap // 2, rect.width, rect.bottom - at.bottom - gap // 2)
        align = "center"
    canvas.surface.blit(image, at)
    return canvas.text.draw(canvas.surface, label, _caption(canvas), max_px=canvas.frame.px(4),
                            valign="center" if align == "right" else "top", align=align)


def one_metre_picture(canvas: Canvas, rect: pygame.Rect, far: Colour = INK_SOFT) -> list[Drawn]:
    """Two people a metre apart, with "1 米 / 1 m" over the gap."""
    label = icons.one_metre(canvas.surface, rect, INK, far, AMBER)
    return canvas.text.draw(canvas.surface, label, _picture_label(canvas), max_px=canvas.frame.px(8),
                            valign="bottom")
