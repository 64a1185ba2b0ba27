"""Setting text into rectangles: wrap, shrink until it fits, draw, and report where it went.

Screens run from 800×480 to 1920×1080, landscape or portrait, and a STOP may list ten reasons,
so no size can be fixed in advance.  A block of paragraphs is set at the largest base size
(searched by bisection) at which every line fits the rectangle's width and the block fits its
height.  Chinese may break after any character, English only at spaces; closing punctuation
stays with the character before it.

Every draw returns `Drawn(key, text, rect)` with the rectangle of the ink actually drawn: that is
how tests prove that nothing spills off the screen and that the one-metre line is always shown.

Fits are memoised by (paragraphs, rectangle size): a kiosk redraws the same screen many times a
second, and only the first frame of a screen pays for the search.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

import pygame

from ui.fonts import Fonts

Colour = tuple[int, int, int]
Align = Literal["left", "center", "right"]

LEADING = 1.24  # line box height, in units of the font size
BASELINE = 0.96  # baseline below the top of the line box (CJK ink reaches ~0.88 em up, Latin 0.25 down)

_CLOSING = frozenset("，。、；：！？）」』】》〉…")
_OPENING = frozenset("（「『【《〈")
UNBROKEN_COST = 0.2  # how much smaller a block may get to avoid breaking a paragraph
_GUTTER = 0.015  # between table columns, as a fraction of the table width


@dataclass(frozen=True, slots=True)
class Line:
    """A paragraph to set.  `scale` and `gap` are relative to the block's base size."""

    text: str
    key: str = ""
    scale: float = 1.0
    bold: bool = False
    colour: Colour = (255, 255, 255)
    gap: float = 0.0  # space above the paragraph
    nowrap: bool = False  # a title shrinks rather than breaks
    floor: int = 1  # never set smaller than this many pixels while the block fits (`ui.legibility`)
    leading: float = 0.0  # line box height in units of the size; 0: `LEADING`


@dataclass(frozen=True, slots=True)
class Drawn:
    """One paragraph as drawn: its catalogue key, its text, the rectangle of its ink and its font size.

    `size` is the smallest pixel size any row of it was set in (0: not text): what the legibility
    tests turn into a character height.
    """

    key: str
    text: str
    rect: pygame.Rect
    size: int = 0
    bold: bool = False


@dataclass(frozen=True, slots=True)
class _Row:
    text: str
    paragraph: int
    size: int
    top: float  # of the line box, relative to the block
    width: float


@dataclass(frozen=True, slots=True)
class _Setting:
    base: int
    rows: tuple[_Row, ...]
    height: float
    fits: bool
    floors: bool = True


def _is_wide(ch: str) -> bool:
    """CJK ideographs, kana, hangul and full-width forms: a line may break after any of them."""
    return ch >= "\u2e80"


def tokens(text: str) -> list[str]:
    """`text` cut at its break opportunities; joining the pieces gives `text` back."""
    out: list[str] = []
    cur = ""
    for ch in text:
        if ch.isspace() and ch != "\u00a0":
            out.append(cur + ch)
            cur = ""
        elif ch in _CLOSING:
            if cur or not out:
                out.append(cur + ch)
            else:
                out[-1] += ch
            cur = ""
        elif ch in _OPENING:  # stays with the character after it
            if cur and not _is_opening_run(cur):
                out.append(cur)
                cur = ""
            cur += ch
        elif _is_wide(ch):
            if cur and not _is_opening_run(cur):
                out.append(cur)
                cur = ""
            out.append(cur + ch)
            cur = ""
        else:
            cur += ch
    if cur:
        out.append(cur)
    return out


def _is_opening_run(piece: str) -> bool:
    return all(c in _OPENING for c in piece)


class Typesetter:
    """Wraps, fits and draws `Line`s with one `Fonts`."""

    def __init__(self, fonts: Fonts) -> None:
        self.fonts = fonts
        self._settings: OrderedDict[tuple[object, ...], _Setting] = OrderedDict()

    # ----------------------------------------------------------------------------- measuring

    def wrap(self, text: str, size: int, width: float, *, bold: bool = False) -> list[tuple[str, float]]:
        """Rows of `text` no wider than `width` (a single glyph wider than that still gets a row)."""
        measure = self.fonts.width
        rows: list[tuple[str, float]] = []
        cur, cur_w = "", 0.0
        for token in tokens(text):
            stripped = token.rstrip()
            if cur and cur_w + measure(stripped, size, bold=bold) > width:
                rows.append((cur.rstrip(), measure(cur.rstrip(), size, bold=bold)))
                cur, cur_w = "", 0.0
            if not cur and measure(stripped, size, bold=bold) > width:  # one word wider than the line
                for ch in token:
                    ch_w = measure(ch, size, bold=bold)
                    if cur and cur_w + ch_w > width:
                        rows.append((cur.rstrip(), measure(cur.rstrip(), size, bold=bold)))
                        cur, cur_w = "", 0.0
                    cur, cur_w = cur + ch, cur_w + ch_w
                continue
            cur, cur_w = cur + token, cur_w + measure(token, size, bold=bold)
        if cur.strip() or not rows:
            rows.append((cur.rstrip(), measure(cur.rstrip(), size, bold=bold)))
        return rows

    def _set_at(self, lines: Sequence[Line], base: int, width: float, height: float,
                floors: bool = True) -> _Setting:
        rows: list[_Row] = []
        y = 0.0
        fits = True
        for i, line in enumerate(lines):
            size = max(1, round(base * line.scale), line.floor if floors else 1)
            if i:
                y += line.gap * base
            wrapped = self.wrap(line.text, size, width, bold=line.bold)
            if line.nowrap and len(wrapped) > 1:
                wrapped = [(line.text, self.fonts.width(line.text, size, bold=line.bold))]
            for text, w in wrapped:
                fits = fits and w <= width
                rows.append(_Row(text, i, size, y, w))
                y += size * (line.leading or LEADING)
        return _Setting(base, tuple(rows), y, fits and y <= height, floors)

    def fit(self, lines: Sequence[Line], width: float, height: float, *, max_px: int,
            min_px: int = 8) -> _Setting:
        """The setting at the largest base size in [min_px, max_px] that fits (min_px if none does).

        Each line keeps at least its `floor`; only when the block cannot fit even at `min_px` with
        its floors are they given up (text smaller than legible, rather than text off the screen or
        over other text: the legibility tests keep the screens at their sizes from ever needing it).
        Unbroken paragraphs are preferred while they cost less than `UNBROKEN_COST` of the size:
        a hint whose last word dangles on a row of its own reads worse than a slightly smaller one.
        """
        key = (tuple(lines), round(width), round(height), max_px, min_px)
        setting = self._settings.get(key)
        if setting is not None:
            self._settings.move_to_end(key)
            return setting
        best = self._search(lines, width, height, max_px, min_px)
        if not best.fits:
            loose = self._search(lines, width, height, max_px, min_px, floors=False)
            best = loose if loose.fits else best
        if len(best.rows) > len(lines):
            unbroken = [replace(line, nowrap=True) for line in lines]
            trial = self._search(unbroken, width, height, max_px, min_px, floors=best.floors)
            if trial.fits and trial.base >= best.base * (1 - UNBROKEN_COST):
                best = trial
        self._settings[key] = best
        if len(self._settings) > 512:
            self._settings.popitem(last=False)
        return best

    def floor_height(self, lines: Sequence[Line], width: float, *, min_px: int = 8) -> float:
        """The height `lines` take at `width` set at `min_px` with every line at its floor: the least a
        legible block needs (`fit` with the same `min_px` then keeps the floors in that height)."""
        key = ("floor", tuple(lines), round(width, 3), min_px)
        setting = self._settings.get(key)
        if setting is None:
            setting = self._settings[key] = self._set_at(lines, min_px, width, float("inf"))
            if len(self._settings) > 512:
                self._settings.popitem(last=False)
        return setting.height

    def _search(self, lines: Sequence[Line], width: float, height: float, max_px: int,
                min_px: int, floors: bool = True) -> _Setting:
        lo, hi = min_px, max(min_px, max_px)
        best = self._set_at(lines, lo, width, height, floors)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            trial = self._set_at(lines, mid, width, height, floors)
            if trial.fits:
                lo, best = mid, trial
            else:
                hi = mid - 1
        return best if best.base == lo else self._set_at(lines, lo, width, height, floors)

    # ------------------------------------------------------------------------------- drawing

    def draw(self, surface: pygame.Surface, rect: pygame.Rect, lines: Sequence[Line], *, max_px: int,
             min_px: int = 8, align: Align = "center", valign: Literal["top", "center", "bottom"] = "center",
             ) -> list[Drawn]:
        """Fit `lines` into `rect` and draw them; one `Drawn` per paragraph."""
        if not lines or rect.width <= 0 or rect.height <= 0:
            return []
        setting = self.fit(lines, rect.width, rect.height, max_px=max_px, min_px=min_px)
        slack = max(0.0, rect.height - setting.height)
        top = rect.top + {"top": 0.0, "center": slack / 2, "bottom": slack}[valign]
        return self._draw_setting(surface, rect, lines, setting, top, align)

    def _draw_setting(self, surface: pygame.Surface, rect: pygame.Rect, lines: Sequence[Line],
                      setting: _Setting, top: float, align: Align) -> list[Drawn]:
        inks: dict[int, pygame.Rect] = {}
        sizes: dict[int, int] = {}
        for row in setting.rows:
            if not row.text:
                continue
            sizes[row.paragraph] = min(sizes.get(row.paragraph, row.size), row.size)
            line = lines[row.paragraph]
            if align == "left":
                x = rect.left
            elif align == "right":
                x = rect.right - row.width
            else:
                x = rect.left + (rect.width - row.width) / 2
            font = self.fonts.font(row.size, bold=line.bold)
            ink = font.render_to(surface, (round(x), round(top + row.top + row.size * BASELINE)),
                                 row.text, fgcolor=line.colour)
            inks[row.paragraph] = inks[row.paragraph].union(ink) if row.paragraph in inks else ink
        return [Drawn(lines[i].key, lines[i].text, ink, sizes[i], lines[i].bold) for i, ink in sorted(inks.items())]

    def table_fit(self, rect: pygame.Rect, rows: Sequence[Sequence[Sequence[Line]]],
                  columns: Sequence[float], *, max_px: int, min_px: int = 8,
                  row_gap: float = 0.45) -> tuple[bool, int]:
        """(fits at the lines' floors, base size): the largest base at which the table fits `rect`.

        Tried with the floors first, then without (as `fit` does).  Lets a screen try several
        arrangements of the same content and keep the most legible: compare the tuples.
        """
        key = ("table", tuple(tuple(tuple(c) for c in r) for r in rows), rect.size, tuple(columns),
               max_px, min_px, row_gap)
        cached = self._settings.get(key)
        if cached is not None:
            self._settings.move_to_end(key)
            return cached.floors, cached.base
        result = (False, min_px)
        for floors in (True, False):
            lo, hi = min_px, max(min_px, max_px)
            if not self._table_fits(rows, columns, rect, lo, row_gap, floors):
                continue
            while lo < hi:
                mid = (lo + hi + 1) // 2
                lo, hi = (mid, hi) if self._table_fits(rows, columns, rect, mid, row_gap, floors) else (lo, mid - 1)
            result = (floors, lo)
            break
        self._settings[key] = _Setting(result[1], (), 0.0, True, result[0])
        if len(self._settings) > 512:
            self._settings.popitem(last=False)
        return result

    def table_base(self, rect: pygame.Rect, rows: Sequence[Sequence[Sequence[Line]]],
                   columns: Sequence[float], *, max_px: int, min_px: int = 8, row_gap: float = 0.45) -> int:
        """The largest base size at which the table fits `rect` (`min_px` if none does)."""
        return self.table_fit(rect, rows, columns, max_px=max_px, min_px=min_px, row_gap=row_gap)[1]

    def _table_fits(self, rows: Sequence[Sequence[Sequence[Line]]], columns: Sequence[float], rect: pygame.Rect,
                    base: int, row_gap: float, floors: bool) -> bool:
        table, height = self._set_table(rows, columns, rect.width, base, row_gap, floors)
        return height <= rect.height and all(s.fits for cells in table for s in cells)

    @staticmethod
    def _gap(rows: Sequence[Sequence[Sequence[Line]]], base: int, row_gap: float, floors: bool) -> float:
        """Space between rows: a share of the size the first lines are really set in."""
        first = max((max(round(base * c[0].scale), c[0].floor if floors else 1) for r in rows for c in r if c),
                    default=base)
        return row_gap * first

    def _set_table(self, rows: Sequence[Sequence[Sequence[Line]]], columns: Sequence[float], width: float,
                   base: int, row_gap: float, floors: bool = True) -> tuple[list[list[_Setting]], float]:
        widths = [width * c - width * _GUTTER for c in columns]
        table = [[self._set_at(cell, base, w, float("inf"), floors) for cell, w in zip(row, widths, strict=False)]
                 for row in rows]
        gap = self._gap(rows, base, row_gap, floors)
        height = sum(max(s.height for s in cells) for cells in table) + gap * (len(rows) - 1)
        return table, height

    def draw_table(self, surface: pygame.Surface, rect: pygame.Rect, rows: Sequence[Sequence[Sequence[Line]]],
                   columns: Sequence[float], *, max_px: int, min_px: int = 8, row_gap: float = 0.45,
                   rule: Colour | None = None, column_rules: bool = False,
                   valign: Literal["top", "center"] = "center") -> list[Drawn]:
        """Rows of cells (each cell a block of `Line`s) at one common size, vertically centred.

        `columns` are fractions of the width, left to right.  Used for the reasons of a STOP, where
        one size for all reasons keeps any of them from looking less important.  `rule` draws a
        line between rows, and with `column_rules` between columns too (a grid of separate items).
        """
        if not rows:
            return []
        floors, base = self.table_fit(rect, rows, columns, max_px=max_px, min_px=min_px, row_gap=row_gap)
        table, height = self._set_table(rows, columns, rect.width, base, row_gap, floors)
        gap = self._gap(rows, base, row_gap, floors)
        drawn: list[Drawn] = []
        y = rect.top + (max(0.0, rect.height - height) / 2 if valign == "center" else 0.0)
        top = y
        for r, (row, cells) in enumerate(zip(rows, table, strict=True)):
            row_h = max(s.height for s in cells)
            if rule is not None and r:
                rule_y = round(y - gap / 2)
                pygame.draw.line(surface, rule, (rect.left, rule_y), (rect.right, rule_y), max(1, round(gap / 6)))
            x = float(rect.left)
            for cell, setting, col in zip(row, cells, columns, strict=False):
                cell_rect = pygame.Rect(round(x), round(y), round(rect.width * (col - _GUTTER)), round(row_h))
                drawn += self._draw_setting(surface, cell_rect, cell, setting, y, "left")
                x += rect.width * col
            y += row_h + gap
        if rule is not None and column_rules:
            x = float(rect.left)
            for col in columns[:-1]:
                x += rect.width * col
                rule_x = round(x - rect.width * _GUTTER / 2)
                pygame.draw.line(surface, rule, (rule_x, round(top)), (rule_x, round(top + height)),
                                 max(1, round(gap / 6)))
        return drawn
