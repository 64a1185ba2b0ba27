"""Every screen at the kiosk's sizes: everything drawn lands inside its band, nothing overlaps,
the one-metre line is always there, PASS reads green and STOP red from across the room (and apart
by lightness and pattern too: tests/ui/test_colour_vision.py)."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pygame
import pytest

from kiosk.checkpoint.policy import REASONS
from kiosk.ports import Display, Screen, ScreenView, StatusStrip
from ui.display import PygameDisplay, ScreenRenderer, render_frame, save_png, shared_renderer
from ui.fonts import Fonts, find_cjk_font
from ui.text import Drawn
from ui.theme import ACCENT, Frame

SIZES = [(800, 480), (1920, 1080), (480, 800)]
SPOT = "服务台 the service desk"
STATUS = StatusStrip(site_name="演示站点 Demo site", wall_time=1_700_000_000.0, online=False,
                     buffered_events=12, clock_synced=False)


def _thermal() -> np.ndarray:
    yy, xx = np.mgrid[0:24, 0:32]
    frame = 22 + 14 * np.exp(-(((xx - 16) / 6) ** 2 + ((yy - 10) / 7) ** 2))
    frame[3, 5] = np.nan
    return frame


def _view(screen: Screen, **kw: object) -> ScreenView:
    """A busy example of each screen: every optional field filled."""
    defaults: dict[Screen, dict[str, object]] = {
        Screen.MEASURING: {"progress": 0.6, "thermal": _thermal()},
        Screen.REMEASURING: {"progress": 0.3, "thermal": _thermal(), "temperature_c": 37.4},
        Screen.PASS: {"temperature_c": 36.5},
        Screen.STOP: {"temperature_c": 37.9, "reasons": ("fever", "no_code"), "staff_spot": SPOT},
        Screen.FAULT: {"staff_spot": SPOT},
    }
    return ScreenView(screen, status=STATUS, **{**defaults.get(screen, {}), **kw})  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def renderer() -> ScreenRenderer:
    return shared_renderer()


def _texts(drawn: list[Drawn]) -> list[str]:
    return [d.text for d in drawn]


def _assert_laid_out(drawn: list[Drawn], size: tuple[int, int]) -> None:
    """Inside the surface, inside its own band, and no two paragraphs on top of each other."""
    frame = Frame.of(size)
    screen = pygame.Rect((0, 0), size)
    body = frame.body.inflate(2 * frame.pad, 2 * frame.pad)
    for d in drawn:
        assert d.rect.width > 0 and d.rect.height > 0, d
        assert screen.contains(d.rect), (d, size)
        band = {"footer": frame.footer, "status": frame.status}.get(d.key.split(".")[0], body)
        assert band.contains(d.rect), (d, band)
    for a, b in itertools.combinations(drawn, 2):
        assert not a.rect.colliderect(b.rect), (a, b)


Channels = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def _share(surface: pygame.Surface, test: Channels) -> float:
    """The fraction of (sampled) pixels whose colour passes `test`."""
    rgb = pygame.surfarray.pixels3d(surface)[::7, ::7].astype(int)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    return float(test(r, g, b).mean())


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("screen", list(Screen), ids=lambda s: s.value)
def test_every_screen_fits_and_shows_the_one_metre_line(renderer: ScreenRenderer, screen: Screen,
                                                        size: tuple[int, int]) -> None:
    surface, drawn = render_frame(_view(screen), size, renderer=renderer)
    assert surface.get_size() == size
    _assert_laid_out(drawn, size)
    for text in renderer.words.texts("footer.one_metre"):
        assert text in _texts(drawn)
    assert {d.key for d in drawn if d.key.startswith("status.")} == {"status.site", "status.time", "status.staff"}
    shared = {"footer", "status", "unit", "reason", "pictogram", "thermal"}
    body_keys = {d.key.split(".")[0] for d in drawn} - shared
    assert body_keys == {screen.value}  # the screen's own words, nobody else's


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_pass_is_green_and_stop_is_red(renderer: ScreenRenderer, size: tuple[int, int]) -> None:
    passed = render_frame(_view(Screen.PASS), size, renderer=renderer)[0]
    stopped = render_frame(_view(Screen.STOP, reasons=REASONS), size, renderer=renderer)[0]
    assert _share(passed, lambda r, g, b: (g > r + 60) & (g > b + 30)) > 0.5
    assert _share(stopped, lambda r, g, b: (r > g + 60) & (r > b + 60)) > 0.5
    assert _share(passed, lambda r, g, b: (r > g + 60) & (r > b + 60)) < 0.01


@pytest.mark.parametrize("companion", [False, True])
@pytest.mark.parametrize("size", [*SIZES, (1080, 1920), (1024, 600), (640, 480), (1280, 1024)],
                         ids=lambda s: f"{s[0]}x{s[1]}")
def test_stop_shows_all_ten_reasons_inside_the_screen(renderer: ScreenRenderer, size: tuple[int, int],
                                                      companion: bool) -> None:
    view = _view(Screen.STOP, reasons=REASONS, companion=companion)
    drawn = render_frame(view, size, renderer=renderer)[1]
    _assert_laid_out(drawn, size)
    for code in REASONS:
        for text in renderer.words.reasons(code):
            assert text in _texts(drawn), (code, text)
    # How large: tests/ui/test_legibility.py


def test_stop_says_what_to_do_next_in_each_language(renderer: ScreenRenderer) -> None:
    drawn = render_frame(_view(Screen.STOP, reasons=("fever",)), (800, 480), renderer=renderer)[1]
    texts = _texts(drawn)
    assert "请到服务台等候工作人员" in texts
    assert "Please wait for staff at the service desk" in texts
    assert "You may measure again in a minute" in texts
    code_only = render_frame(_view(Screen.STOP, reasons=("code_red",), staff_spot=""), (800, 480),
                             renderer=renderer)[1]
    assert "You may measure again in a minute" not in _texts(code_only)
    assert "Please wait to one side for staff" in _texts(code_only)
    both = _texts(render_frame(_view(Screen.STOP, reasons=("fever", "code_red")), (800, 480), renderer=renderer)[1])
    assert "You may measure again in a minute" not in both  # a second reading would not clear a red code


def test_unknown_reason_is_still_listed_in_words(renderer: ScreenRenderer) -> None:
    drawn = render_frame(_view(Screen.STOP, reasons=("moon_phase",)), (800, 480), renderer=renderer)[1]
    assert {"其他原因", "Other reason"} <= set(_texts(drawn))
    assert not any("moon_phase" in text for text in _texts(drawn))


def test_temperatures_are_shown(renderer: ScreenRenderer) -> None:
    assert "36.5\u00a0°C" in _texts(render_frame(_view(Screen.PASS), (800, 480), renderer=renderer)[1])
    remeasure = _texts(render_frame(_view(Screen.REMEASURING), (800, 480), renderer=renderer)[1])
    assert "First reading 37.4\u00a0°C" in remeasure


def test_companion_is_asked_to_step_back_in_the_band(renderer: ScreenRenderer) -> None:
    """The request names the line, so it takes the band's place; the band keeps its height."""
    for size in SIZES:
        drawn = render_frame(_view(Screen.MEASURING, companion=True), size, renderer=renderer)[1]
        _assert_laid_out(drawn, size)
        footer = {d.key for d in drawn if d.key.startswith("footer.")}
        assert footer == {"footer.companion"}
        assert {"后面的朋友请后退", "Next person: step back"} <= set(_texts(drawn))


def test_progress_and_thermal_inset_are_drawn(renderer: ScreenRenderer) -> None:
    def accent(view: ScreenView) -> int:
        surface = render_frame(view, (800, 480), renderer=renderer)[0]
        rgb = pygame.surfarray.pixels3d(surface)
        return int(np.all(rgb == ACCENT, axis=-1).sum())

    assert accent(_view(Screen.MEASURING, progress=0.9)) > 2 * accent(_view(Screen.MEASURING, progress=0.2))
    with_inset = render_frame(_view(Screen.MEASURING), (800, 480), renderer=renderer)
    without = render_frame(_view(Screen.MEASURING, thermal=None), (800, 480), renderer=renderer)
    assert "thermal.label" in {d.key for d in with_inset[1]}
    assert "thermal.label" not in {d.key for d in without[1]}
    corner = pygame.Rect(650, 300, 100, 60)  # inside the inset at 800x480

    def spread(surface: pygame.Surface) -> float:
        return float(pygame.surfarray.array3d(surface.subsurface(corner)).reshape(-1, 3).std(axis=0).max())

    assert spread(with_inset[0]) > 10
    assert spread(without[0]) == 0


def test_status_strip_cuts_long_names(renderer: ScreenRenderer) -> None:
    long_name = ("某某市某某区某某街道第一人民医院门诊大楼东侧入口（急诊、发热门诊、住院部方向）"
                 " East entrance of the outpatient building, towards emergency, fever clinic and wards")
    calm = StatusStrip(site_name=long_name, wall_time=0.0, online=True, buffered_events=0, clock_synced=True)
    drawn = render_frame(ScreenView(Screen.ATTRACT, status=calm), (800, 480), renderer=renderer)[1]
    keys = {d.key: d for d in drawn}
    assert "status.staff" not in keys  # nothing wrong: no symbol
    assert keys["status.time"].text == "--:--"
    assert keys["status.site"].text.endswith("…")
    _assert_laid_out(drawn, (800, 480))


@pytest.mark.skipif(not Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc").is_file(),
                    reason="fonts-wqy-microhei not installed")
def test_screens_fit_with_the_fallback_font() -> None:
    """WenQuanYi has other metrics than Noto: the layout must still fit, since it measures."""
    face = find_cjk_font(candidates=("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",), use_fontconfig=False)
    fallback = ScreenRenderer(fonts=Fonts(face))
    for screen in Screen:
        view = _view(screen, reasons=REASONS) if screen is Screen.STOP else _view(screen)
        _assert_laid_out(render_frame(view, (800, 480), renderer=fallback)[1], (800, 480))


def test_save_png(tmp_path: Path, renderer: ScreenRenderer) -> None:
    path = save_png(_view(Screen.PASS), (480, 800), tmp_path / "shots" / "pass.png", renderer=renderer)
    assert pygame.image.load(str(path)).get_size() == (480, 800)


def test_display_renders_and_reports_close(renderer: ScreenRenderer) -> None:
    with PygameDisplay(size=(640, 400), driver="dummy", renderer=renderer) as display:
        assert isinstance(display, Display)
        assert display.size == (640, 400)
        assert not pygame.mouse.get_visible()
        display.render(_view(Screen.ATTRACT))
        assert not display.closed
        assert "footer.one_metre" in {d.key for d in display.last_drawn}
        pygame.event.post(pygame.event.Event(pygame.QUIT))
        display.render(_view(Screen.MEASURING))
        assert display.closed
    assert not pygame.display.get_init()
    display.render(_view(Screen.PASS))  # a late frame after close is ignored, not an error


def test_steady_frame_is_fast(renderer: ScreenRenderer) -> None:
    """A redraw of an unchanged screen reuses the fit; generous bound, for slow shared runners."""
    view = _view(Screen.STOP, reasons=REASONS)
    surface = pygame.Surface((1920, 1080))
    renderer.draw(surface, view)
    start = time.perf_counter()
    for _ in range(5):
        renderer.draw(surface, view)
    assert (time.perf_counter() - start) / 5 < 0.25
