"""The staff view: what the public status strip no longer shows.

A member of staff opens it on the kiosk by a long touch (`ui.display.PygameDisplay`), and
`kiosk screens` writes it.  It lists the link to the township, the events waiting to upload, the
clock, the thermometer and the camera, decisions the outbox could not store, the calibration
drift and every warning (a warning the catalogue does not know is shown as its key: staff may
report it).  Each line carries a mark of shape as well as colour: a disc when well, a triangle
when not.  It is read at the screen (0.5 m, `ui.legibility.NEAR`), so it can hold all of this.
"""

from __future__ import annotations

import math

import pygame

from kiosk.ports import BACKLOG_EVENTS, ScreenView, StatusStrip
from ui import icons
from ui.canvas import Canvas
from ui.text import Drawn, Line
from ui.theme import AMBER, INK, INK_SOFT, ONLINE

STAFF_VIEW_S = 30  # the display closes the staff view after this long (ui.display)
ROW_GAP = 0.2  # between items, in units of their size: each item has its mark, the rows need little air


def staff_items(status: StatusStrip) -> list[tuple[str, dict[str, object], bool]]:
    """(catalogue key, parameters, well) for each line of the staff view, problems first."""
    items: list[tuple[str, dict[str, object], bool]] = [
        ("staff.online" if status.online else "staff.offline", {}, status.online),
        ("staff.clock_synced" if status.clock_synced else "staff.clock_unsynced", {}, status.clock_synced),
        ("staff.sensor_ok" if status.sensor_ok else "staff.sensor_fault", {}, status.sensor_ok),
        ("staff.camera_ok" if status.camera_ok else "staff.camera_fault", {}, status.camera_ok),
        ("staff.buffered", {"count": status.buffered_events},
         status.buffered_events == 0 or (status.online and status.buffered_events < BACKLOG_EVENTS)),
    ]
    if status.store_failures:
        items.append(("staff.store_failures", {"count": status.store_failures}, False))
    if status.drift_c is not None:
        items.append(("staff.drift", {"drift": f"{status.drift_c:+.1f}"}, True))
    for warning in status.warnings:
        key = warning if warning.startswith("staff.") else f"staff.{warning}"
        if key == "staff.warning_clock" and not status.clock_synced:
            continue  # already said by the clock line
        items.append((key, {}, False))
    return sorted(items, key=lambda item: item[2])  # stable: problems first, in their order


def draw_staff(canvas: Canvas, view: ScreenView) -> list[Drawn]:
    frame, surface, words = canvas.frame, canvas.surface, canvas.words
    body = frame.body
    status = view.status
    head = canvas.pair("staff.title", nowrap=True, second_colour=INK_SOFT)
    head_h = math.ceil(canvas.text.floor_height(head, body.width) * 1.15)
    drawn = canvas.text.draw(surface, pygame.Rect(body.left, body.top, body.width, head_h), head,
                             max_px=frame.px(8), align="left")
    hint = canvas.lines("staff.hint", words.texts("staff.hint", seconds=STAFF_VIEW_S), scale=1.0, bold=False,
                        colour=INK_SOFT)
    hint_h = round(canvas.text.floor_height(hint, body.width) * 1.1)
    drawn += canvas.text.draw(surface, pygame.Rect(body.left, body.bottom - hint_h, body.width, hint_h), hint,
                              max_px=frame.px(4), align="left", valign="bottom")
    area = pygame.Rect(body.left, body.top + head_h, body.width, body.height - head_h - hint_h - frame.pad)
    cells: list[tuple[list[Line], bool]] = []
    for key, params, well in staff_items(status):
        known = key in words.first.strings  # an unknown warning is shown as it is, never dropped
        texts = words.texts(key, **params) if known else (key.removeprefix("staff."),)
        cells.append((canvas.lines(key, texts, bold=True, colour=INK if well else AMBER, second=0.85,
                                   second_colour=INK_SOFT if well else AMBER), well))
    columns = 2 if frame.landscape and len(cells) > 4 else 1
    mark = frame.px(4)
    per = -(-len(cells) // columns)
    width = (area.width - (columns - 1) * frame.pad) // columns
    rects = [pygame.Rect(area.left + i * (width + frame.pad) + mark + frame.pad // 2, area.top,
                         width - mark - frame.pad // 2, area.height) for i in range(columns)]
    groups = [cells[i * per:(i + 1) * per] for i in range(columns)]
    max_px = frame.px(6)
    size = min(canvas.text.table_fit(rect, [[c] for c, _ in group], (1.0,), max_px=max_px, row_gap=ROW_GAP)[1]
               for rect, group in zip(rects, groups, strict=True) if group)
    for rect, group in zip(rects, groups, strict=True):
        if not group:
            continue
        items = canvas.text.draw_table(surface, rect, [[c] for c, _ in group], (1.0,), max_px=size, valign="top",
                                       row_gap=ROW_GAP)
        for (_, well), first in zip(group, _first_of_each(items, group), strict=True):
            centre = (rect.left - mark // 2 - frame.pad // 2, first.rect.centery)
            box = pygame.Rect(0, 0, mark, mark)
            box.center = centre
            if well:
                pygame.draw.circle(surface, ONLINE, centre, mark // 2 - 1)
            else:
                icons.warning(surface, box, AMBER, (0, 0, 0))
        drawn += items
    return drawn


def _first_of_each(drawn: list[Drawn], group: list[tuple[list[Line], bool]]) -> list[Drawn]:
    """The first paragraph drawn for each item of `group` (items are drawn in order, each its lines)."""
    out: list[Drawn] = []
    i = 0
    for lines, _ in group:
        out.append(drawn[i])
        i += len(lines)
    return out
