"""The legibility rule on the panel the site has: `display.short_side_mm`, near-square panels, `ui.panel`.

The rule is in millimetres (`ui.legibility`), so the pixels it takes follow the panel's short side.
Rendered for real (SDL's dummy driver) and measured as tests/ui/test_legibility.py measures: the
ink height of "国" or "H" in the face and size each paragraph was drawn in.
"""

from __future__ import annotations

import itertools

import pygame
import pytest

from ui.display import ScreenRenderer, render_frame
from ui.fonts import Fonts
from ui.legibility import Legibility, distance_for, glyph_height
from ui.panel import EVERY_REASON, TESTED, shortfalls
from ui.samples import NOTICE, gallery
from ui.text import Drawn

GALLERY = gallery()
# Near-square panels (4:3, 5:4, square; 3:4 upright), each over its short side in mm: every screen but
# the STOP listing all twelve reasons at once keeps the rule (README.md, "The screen …").
NEAR_SQUARE = [((1024, 768), 115.0), ((1024, 768), 86.0), ((800, 600), 86.0), ((1280, 1024), 86.0),
               ((720, 720), 86.0), ((768, 1024), 86.0)]
ROOMY_MM = 115.0  # from here a 4:3 panel keeps it for the every-reason STOP too
HYPERPIXEL = ((800, 480), 52.0)  # Pimoroni HyperPixel 4.0: 480 px over 52 mm, 9.2 px/mm
HYPERPIXEL_SQUARE = ((720, 720), 72.0)  # HyperPixel 4.0 Square: 10 px/mm, a 72 mm screen


@pytest.fixture(scope="module")
def fonts() -> Fonts:
    return ScreenRenderer(site=NOTICE).fonts


def _too_small(renderer: ScreenRenderer, drawn: list[Drawn], rule: Legibility) -> list[str]:
    found = []
    for d in drawn:
        if not d.text.strip():
            continue
        need = rule.min_height(d.text, distance_for(d.key))
        height = glyph_height(renderer.fonts, d.size, d.text, bold=d.bold)
        if height < need:
            found.append(f"{d.key} {d.text!r}: {height} px < {need} px")
    return found


def _laid_out(drawn: list[Drawn], size: tuple[int, int]) -> None:
    """Inside the surface and no two paragraphs on top of each other."""
    screen = pygame.Rect((0, 0), size)
    for d in drawn:
        assert screen.contains(d.rect), (d, size)
    for a, b in itertools.combinations(drawn, 2):
        assert not a.rect.colliderect(b.rect), (a, b)


def test_the_rule_follows_the_panel() -> None:
    """The same 800×480 needs 28 px ideographs over 86 mm, 47 px over the HyperPixel's 52 mm."""
    assert Legibility.of((800, 480)).min_height("请止步") == Legibility.of((800, 480), 86.0).min_height("请止步") == 28
    small = Legibility.of(*HYPERPIXEL)
    assert small.min_height("请止步") == 47 and small.min_height("STOP") == 33
    square = Legibility.of(*HYPERPIXEL_SQUARE)
    assert square.min_height("请止步") == 50 and square.min_height("STOP") == 35
    assert Legibility.of((1024, 768), 115.0).min_height("请止步") == 34


def test_the_renderer_sizes_text_for_the_panel_it_is_given(fonts: Fonts) -> None:
    """1366×768 over 75 mm: drawn for that panel every screen but the every-reason STOP keeps the rule;
    drawn as if for the default 86 mm, the one-metre band alone falls short on every screen."""
    size, mm = (1366, 768), 75.0
    rule = Legibility.of(size, mm)
    fitted = ScreenRenderer(fonts=fonts, site=NOTICE, short_side_mm=mm)
    default = ScreenRenderer(fonts=fonts, site=NOTICE)

    def short(renderer: ScreenRenderer) -> list[str]:
        drawn = {name: render_frame(view, size, renderer=renderer)[1] for name, view in GALLERY.items()}
        return [name for name, d in drawn.items() if _too_small(renderer, d, rule)]

    assert short(fitted) == [EVERY_REASON]
    assert set(short(default)) == set(GALLERY)


@pytest.mark.parametrize(("size", "mm"), NEAR_SQUARE, ids=[f"{w}x{h}-{mm:g}mm" for (w, h), mm in NEAR_SQUARE])
@pytest.mark.parametrize("name", list(GALLERY), ids=str)
def test_near_square_panels_keep_the_rule(fonts: Fonts, name: str, size: tuple[int, int], mm: float) -> None:
    renderer = ScreenRenderer(fonts=fonts, site=NOTICE, short_side_mm=mm)
    drawn = render_frame(GALLERY[name], size, renderer=renderer)[1]
    assert drawn
    _laid_out(drawn, size)
    too_small = _too_small(renderer, drawn, Legibility.of(size, mm))
    if name == EVERY_REASON and mm < ROOMY_MM:
        assert all(line.startswith("reason.") for line in too_small), too_small  # documented: its reasons only
    else:
        assert too_small == []


def test_shortfalls_says_nothing_for_a_panel_that_keeps_the_rule() -> None:
    assert shortfalls((800, 480)) == shortfalls((800, 480), 86.0) == ()
    assert shortfalls((1024, 768), 115.0) == ()
    assert shortfalls((1920, 1080), 300.0) == ()  # a 24" monitor: the tested size, every pixel larger
    assert {(800, 480), (480, 800), (1920, 1080)} <= TESTED


def test_shortfalls_names_the_every_reason_stop_on_a_4_3_panel_of_the_default_size() -> None:
    found = shortfalls((1024, 768), 86.0)
    assert [f.screen for f in found] == [EVERY_REASON]
    assert found[0].key.startswith("reason.") and found[0].mm < found[0].need_mm == 3.5


@pytest.mark.parametrize(("size", "mm"), [HYPERPIXEL, HYPERPIXEL_SQUARE], ids=["hyperpixel-4", "hyperpixel-4-square"])
def test_shortfalls_on_a_small_panel_are_real_and_say_by_how_much(fonts: Fonts, size: tuple[int, int],
                                                                  mm: float) -> None:
    """A 4" panel is too small for the rule: most screens fall short, and each shortfall reported is
    one a renderer for that panel really draws (measured here, not taken from `ui.panel`)."""
    found = shortfalls(size, mm)
    assert len(found) >= len(GALLERY) // 2
    assert len({f.screen for f in found}) == len(found)  # the worst of each screen, once
    renderer = ScreenRenderer(fonts=fonts, site=NOTICE, short_side_mm=mm)
    rule = Legibility.of(size, mm)
    for f in found:
        assert 0 < f.mm < f.need_mm and f.need_mm in (3.5, 5.0, 1.8, 2.5), f
        drawn = render_frame(GALLERY[f.screen], size, renderer=renderer)[1]
        assert any(d.key == f.key and d.text == f.text for d in drawn), f
        assert _too_small(renderer, drawn, rule), f
    assert shortfalls(size, mm, place_code=False)  # without the place code's QR it is no better
