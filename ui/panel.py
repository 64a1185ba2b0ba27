"""Does every screen keep the legibility rule on this panel?  Rendered, not estimated.

`shortfalls(size, short_side_mm)` draws every screen of `ui.samples.gallery` (the busiest each
can be: a STOP with every reason, the staff view with every problem) off-screen at `size` for a
panel whose short side spans `short_side_mm`, and measures each paragraph's character height as
drawn against the rule (`ui.legibility`).  `kiosk config check` warns with what it finds, so a
site learns before installing that its panel is too small for some screen, and by how much.

The sizes the test suite proves at the default 86 mm (`TESTED`) need no rendering: a panel of one
of those sizes with a short side at least that long only makes every pixel larger.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from ui.legibility import (
    CHINESE_MM_AT_1M,
    LATIN_MM_AT_1M,
    PANEL_SHORT_SIDE_MM,
    Legibility,
    distance_for,
    has_cjk,
)

# Every screen keeps the rule at these sizes over PANEL_SHORT_SIDE_MM (tests/ui/test_legibility.py).
TESTED = frozenset({(800, 480), (480, 800), (1024, 600), (600, 1024), (1280, 800), (800, 1280), (1366, 768),
                    (1920, 1080), (1080, 1920)})
# On 4:3, 5:4, square and 3:4 panels over 86 mm and up every screen keeps the rule too, all but the
# STOP listing all twelve reasons at once (a real STOP rarely has more than four): its reasons need a
# larger panel (a 4:3 one from about 100 mm; README.md, "The screen, the buzzer and the voice";
# tests/ui/test_panel.py).
EVERY_REASON = "stop-every-reason"


@dataclass(frozen=True, slots=True)
class Shortfall:
    """A paragraph drawn smaller than the rule: on which screen, what, and how tall as seen from where it is read."""

    screen: str  # the gallery's name ("stop-every-reason", "attract")
    key: str  # the catalogue key ("reason.fever")
    text: str
    mm: float  # its character height on the panel, in millimetres
    need_mm: float  # what the rule asks where it is read from (5 / 3.5 mm at 1 m, half at the screen)


def shortfalls(size: tuple[int, int], short_side_mm: float = PANEL_SHORT_SIDE_MM, *,
               place_code: bool = True) -> tuple[Shortfall, ...]:
    """What falls short of the rule on this panel, the worst of each screen first (empty: every screen keeps it)."""
    if tuple(size) in TESTED and short_side_mm >= PANEL_SHORT_SIDE_MM:
        return ()
    return _rendered(tuple(size), round(short_side_mm, 1), place_code)  # type: ignore[arg-type]


@lru_cache(maxsize=16)
def _rendered(size: tuple[int, int], short_side_mm: float, place_code: bool) -> tuple[Shortfall, ...]:
    from ui.display import ScreenRenderer, render_frame
    from ui.legibility import glyph_height
    from ui.samples import NOTICE, gallery
    from ui.site import SiteNotice

    site = NOTICE if place_code else SiteNotice(retention_days=NOTICE.retention_days, recipient=NOTICE.recipient)
    renderer = ScreenRenderer(site=site, short_side_mm=short_side_mm)
    rule = Legibility.of(size, short_side_mm)
    found: list[Shortfall] = []
    for name, view in gallery().items():
        worst: Shortfall | None = None
        for drawn in render_frame(view, size, renderer=renderer)[1]:
            if not drawn.text.strip() or drawn.size <= 0:
                continue
            distance = distance_for(drawn.key)
            need = rule.min_height(drawn.text, distance)
            height = glyph_height(renderer.fonts, drawn.size, drawn.text, bold=drawn.bold)
            if height < need:
                mm = height / rule.px_per_mm
                need_mm = (CHINESE_MM_AT_1M if has_cjk(drawn.text) else LATIN_MM_AT_1M) * distance
                if worst is None or mm / need_mm < worst.mm / worst.need_mm:
                    worst = Shortfall(name, drawn.key, drawn.text, round(mm, 1), round(need_mm, 1))
        if worst is not None:
            found.append(worst)
    return tuple(found)

