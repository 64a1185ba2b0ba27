"""Every screen of the gallery at the kiosk's sizes: laid out inside the screen, Chinese really drawn,
the place code scannable, the privacy notice and the status warnings in words; the CLI writes them."""

from __future__ import annotations

import itertools
import unicodedata
from pathlib import Path

import numpy as np
import pygame
import pytest

from drivers.qr.pyzbar_decoder import PyzbarDecoder
from kiosk.cli import main as kiosk_main
from kiosk.ports import Screen, ScreenView
from ui.display import PygameDisplay, ScreenRenderer, render_frame
from ui.fonts import Fonts
from ui.samples import MAINTENANCE_DETAIL, NOTICE, gallery, sample
from ui.site import SiteNotice
from ui.text import Drawn
from ui.theme import Frame

SIZES = [(800, 480), (1920, 1080), (480, 800)]
GALLERY = gallery()


@pytest.fixture(scope="module")
def renderer() -> ScreenRenderer:
    return ScreenRenderer(site=NOTICE)


def _is_cjk(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F") and not ch.isspace()


def _bitmap(fonts: Fonts, ch: str, bold: bool = False) -> bytes:
    surface = pygame.Surface((72, 72))
    surface.fill((0, 0, 0))
    fonts.font(48, bold=bold).render_to(surface, (8, 56), ch, fgcolor=(255, 255, 255))
    return (pygame.surfarray.array3d(surface)[..., 0] > 96).tobytes()


def _assert_laid_out(drawn: list[Drawn], size: tuple[int, int]) -> None:
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


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("name", list(GALLERY), ids=str)
def test_every_screen_fits_and_its_chinese_really_draws(renderer: ScreenRenderer, name: str,
                                                        size: tuple[int, int]) -> None:
    view = GALLERY[name]
    surface, drawn = render_frame(view, size, renderer=renderer)
    _assert_laid_out(drawn, size)
    texts = [d.text for d in drawn]
    band = renderer.words.texts("footer.companion" if view.companion else "footer.one_metre")
    assert set(band) <= set(texts)
    # Not tofu: every Chinese character on screen has its own glyph, unlike the missing-glyph box.
    fonts = renderer.fonts
    chars = sorted({ch for t in texts for ch in t if _is_cjk(ch)})
    assert len(chars) >= 8
    assert fonts.missing_glyphs("".join(chars)) == set()
    tofu = _bitmap(fonts, "\ue000")
    shapes = {_bitmap(fonts, ch) for ch in chars}
    assert tofu not in shapes and len(shapes) == len(chars)
    # …and it reached the screen: the largest Chinese paragraph has plenty of ink in its rectangle.
    biggest = max((d for d in drawn if any(_is_cjk(c) for c in d.text)), key=lambda d: d.rect.height)
    crop = pygame.surfarray.array3d(surface.subsurface(biggest.rect)).astype(int)
    background = crop[0, 0]
    assert (np.abs(crop - background).sum(axis=-1) > 60).mean() > 0.08


@pytest.mark.parametrize("size", [*SIZES, (1080, 1920), (1024, 600)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_place_code_on_the_attract_screen_scans(renderer: ScreenRenderer, size: tuple[int, int]) -> None:
    surface, drawn = render_frame(sample(Screen.ATTRACT), size, renderer=renderer)
    gray = pygame.surfarray.array3d(surface).transpose(1, 0, 2).mean(axis=2).astype(np.uint8)
    assert PyzbarDecoder().decode(gray) == [NOTICE.place_code]
    assert {"attract.place_code", "attract.privacy"} <= {d.key for d in drawn}


def test_no_place_code_no_qr(renderer: ScreenRenderer) -> None:
    plain = ScreenRenderer(fonts=renderer.fonts, site=SiteNotice(place_code=""))
    surface, drawn = render_frame(sample(Screen.ATTRACT), (800, 480), renderer=plain)
    gray = pygame.surfarray.array3d(surface).transpose(1, 0, 2).mean(axis=2).astype(np.uint8)
    assert PyzbarDecoder().decode(gray) == []
    assert "attract.place_code" not in {d.key for d in drawn}


def test_privacy_notice_says_what_how_long_and_who(renderer: ScreenRenderer) -> None:
    site = SiteNotice(retention_days=14, recipient="镇卫生院 the town health centre", place_code="x")
    custom = ScreenRenderer(fonts=renderer.fonts, site=site)
    texts = [d.text for d in render_frame(sample(Screen.ATTRACT), (800, 480), renderer=custom)[1]
             if d.key == "attract.privacy"]
    zh, en = texts
    assert "保存14天" in zh and "镇卫生院" in zh and "体温" in zh and "隐去部分的姓名" in zh and "the town" not in zh
    assert "Kept 14 days" in en and "the town health centre" in en and "masked name" in en


def test_remeasuring_shows_the_reading_and_its_uncertainty(renderer: ScreenRenderer) -> None:
    texts = [d.text for d in render_frame(sample(Screen.REMEASURING), (800, 480), renderer=renderer)[1]]
    assert "上次读数 37.4\u00a0±\u00a00.3\u00a0°C" in texts
    assert "First reading 37.4\u00a0±\u00a00.3\u00a0°C" in texts
    plain = sample(Screen.REMEASURING, uncertainty_c=None)
    assert "First reading 37.4\u00a0°C" in [d.text for d in render_frame(plain, (800, 480), renderer=renderer)[1]]


def test_come_back_and_maintenance_say_what_to_do(renderer: ScreenRenderer) -> None:
    come_back = {d.text for d in render_frame(sample(Screen.COME_BACK), (800, 480), renderer=renderer)[1]}
    assert {"请过几分钟再来", "Please come back in a few minutes"} <= come_back
    assert "Code checked: no need to scan it again" in come_back
    drawn = render_frame(sample(Screen.MAINTENANCE), (800, 480), renderer=renderer)[1]
    texts = {d.text for d in drawn}
    zh, en = MAINTENANCE_DETAIL.splitlines()
    assert {"暂停使用", "Out of service", zh, en} <= texts
    assert "Please ask staff at the service desk for a manual check" in texts
    bare = render_frame(ScreenView(Screen.MAINTENANCE), (800, 480), renderer=renderer)[1]
    assert "Please ask staff for a manual check" in {d.text for d in bare}


@pytest.mark.parametrize(("reasons", "remeasure"), [(("fever",), True), (("sensor_fault", "fever"), True),
                                                    (("code_red", "trip_star"), False), (("no_code",), False),
                                                    (("fever", "no_code"), False)])
def test_every_stop_says_what_next(renderer: ScreenRenderer, reasons: tuple[str, ...], remeasure: bool) -> None:
    texts = {d.text for d in render_frame(sample(Screen.STOP, reasons=reasons), (800, 480), renderer=renderer)[1]}
    assert "Please wait for staff at the service desk" in texts and "请到服务台等候工作人员" in texts
    assert ("You may measure again in a minute" in texts) is remeasure
    for code in reasons:
        assert set(renderer.words.reasons(code)) <= texts


def test_kiosk_screens_writes_every_screen(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert kiosk_main(["screens", "--out", str(tmp_path), "--size", "800x480", "--size", "480x800"]) == 0
    written = {p.name for p in tmp_path.glob("*.png")}
    for screen in Screen:
        assert {f"{screen.value}-800x480.png", f"{screen.value}-480x800.png"} <= written
    assert len([n for n in written if n.startswith("stop-")]) >= 2 * 5  # STOP's variants
    # the manual check (the FAULT screen) and the staff view, which a visitor never sees, are there too
    assert {"fault-800x480.png", "manual-check-no-staff-spot-480x800.png", "staff-800x480.png",
            "staff-every-problem-480x800.png"} <= written
    image = pygame.image.load(str(tmp_path / "stop-800x480.png"))
    assert image.get_size() == (800, 480)
    assert "screens written" in capsys.readouterr().out


def test_headless_display_takes_the_given_size_and_counts_a_touch_once(renderer: ScreenRenderer) -> None:
    with PygameDisplay(size=(800, 480), fullscreen=True, driver="dummy", renderer=renderer) as display:
        assert display.size == (800, 480)  # not the dummy driver's 1024×768 "full screen"
        assert not pygame.event.get_grab() and not pygame.mouse.get_visible()
        pygame.event.post(pygame.event.Event(pygame.FINGERDOWN, x=0.5, y=0.25, touch_id=1, finger_id=0,
                                             dx=0.0, dy=0.0, pressure=1.0))
        pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=(400, 120), button=1, touch=True))
        pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=(10, 20), button=1, touch=False))
        display.render(sample(Screen.ATTRACT))
        assert display.take_taps() == [(400, 120), (10, 20)]  # the touch once, the real click once
        assert display.take_taps() == []


def test_no_cjk_font_is_a_clear_start_up_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A machine without fonts-noto-cjk: the kiosk refuses to start and says what to install."""
    import ui.fonts
    from kiosk.config import parse_config
    from kiosk.service.app import build_display
    from ui.fonts import FontNotFoundError, find_cjk_font

    def nothing(**_: object) -> None:
        return find_cjk_font(candidates=(tmp_path / "none.ttc",), use_fontconfig=False)

    monkeypatch.setattr(ui.fonts, "find_cjk_font", nothing)
    with pytest.raises(FontNotFoundError, match="sudo apt install fonts-noto-cjk") as info:
        build_display(parse_config({"display": {"driver": "dummy", "width": 800, "height": 480}}))
    assert isinstance(info.value, OSError)  # what run_kiosk reports as "cannot start: …" and exits 1
