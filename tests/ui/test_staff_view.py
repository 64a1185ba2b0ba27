"""The public screen keeps operator details to itself: one small symbol for staff, the details in
the staff view, which a long touch opens on the kiosk (and which a visitor's screen always closes)."""

from __future__ import annotations

import numpy as np
import pygame
import pytest

from kiosk.loop.presentation import status_strip
from kiosk.ports import BACKLOG_EVENTS, KioskStatus, Screen, ScreenView, StatusStrip
from ui.display import LONG_PRESS_S, PygameDisplay, ScreenRenderer, render_frame
from ui.samples import NOTICE, gallery, sample
from ui.staff import STAFF_VIEW_S
from ui.theme import AMBER, Frame

SIZES = [(800, 480), (1920, 1080), (480, 800)]
BUSY = StatusStrip(site_name="演示站点 Demo site", wall_time=1_764_040_000.0, online=False, buffered_events=240,
                   clock_synced=False, warnings=("warning_ambient", "warning_drift", "lens_fogged"),
                   sensor_ok=False, camera_ok=False, store_failures=2, drift_c=-0.6)
CALM = StatusStrip(site_name="演示站点 Demo site", wall_time=1_764_040_000.0, online=True)


@pytest.fixture(scope="module")
def renderer() -> ScreenRenderer:
    return ScreenRenderer(site=NOTICE)


def _amber_in(surface: pygame.Surface, rect: pygame.Rect) -> int:
    rgb = pygame.surfarray.array3d(surface.subsurface(rect)).astype(int)
    return int((np.abs(rgb - np.array(AMBER)).sum(axis=-1) < 30).sum())


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("screen", [s for s in Screen if s is not Screen.STAFF], ids=lambda s: s.value)
def test_public_strip_shows_site_time_and_one_symbol_only(renderer: ScreenRenderer, screen: Screen,
                                                          size: tuple[int, int]) -> None:
    """With everything wrong at once, a visitor's screen shows no count, no warning, no link state."""
    surface, drawn = render_frame(sample(screen, status=BUSY), size, renderer=renderer)
    strip = Frame.of(size).status
    on_strip = {d.key: d.text for d in drawn if strip.colliderect(d.rect)}
    assert set(on_strip) == {"status.site", "status.time", "status.staff"}
    assert on_strip["status.staff"] == ""  # a symbol, not words
    texts = " ".join(d.text for d in drawn)
    for detail in ("240", "待上传", "Waiting", "queued", "离线", "Offline", "offline", "环境温度", "Room temperature",
                   "lens_fogged", "漂移", "drift", "摄像头故障", "Camera", "未能存储"):
        assert detail not in texts, detail
    assert not any(d.key.startswith("staff.") for d in drawn)
    symbol = next(d.rect for d in drawn if d.key == "status.staff")
    assert _amber_in(surface, symbol) > symbol.width * symbol.height * 0.3


@pytest.mark.parametrize(("status", "shown"), [
    (CALM, False),
    (StatusStrip(online=True, buffered_events=3), False),  # a few events awaiting their receipt: normal
    (StatusStrip(online=True, buffered_events=BACKLOG_EVENTS), True),  # receipts are not coming back
    (StatusStrip(online=False), True),
    (StatusStrip(online=True, clock_synced=False), True),
    (StatusStrip(online=True, warnings=("warning_ambient",)), True),
    (StatusStrip(online=True, sensor_ok=False), True),
    (StatusStrip(online=True, camera_ok=False), True),
    (StatusStrip(online=True, store_failures=1), True),
])
def test_the_staff_symbol_appears_when_anything_needs_staff(renderer: ScreenRenderer, status: StatusStrip,
                                                            shown: bool) -> None:
    surface, drawn = render_frame(ScreenView(Screen.ATTRACT, status=status), (800, 480), renderer=renderer)
    assert status.needs_staff is shown
    assert ("status.staff" in {d.key for d in drawn}) is shown
    assert (_amber_in(surface, Frame.of((800, 480)).status) > 50) is shown


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_staff_view_has_the_details(renderer: ScreenRenderer, size: tuple[int, int]) -> None:
    drawn = render_frame(ScreenView(Screen.STAFF, status=BUSY), size, renderer=renderer)[1]
    texts = {d.text for d in drawn}
    for expected in ("网络：离线", "Network: offline", "待上传：240 条", "Waiting to upload: 240",
                     "时钟未同步：健康码无法核验", "No time sync: codes cannot be checked", "测温故障", "Sensor fault",
                     "摄像头故障", "Camera fault", "未能存储的记录：2 条，请人工登记", "环境温度超出范围",
                     "测温校准漂移", "Thermal calibration drift: -0.6 °C", "lens_fogged"):
        assert expected in texts, expected
    calm = {d.text for d in render_frame(ScreenView(Screen.STAFF, status=CALM), size, renderer=renderer)[1]}
    assert {"网络：在线", "时钟：已同步", "测温：正常", "摄像头：正常", "待上传：0 条"} <= calm


def test_the_loop_hands_the_strip_every_detail_the_staff_view_shows() -> None:
    kiosk = KioskStatus(sensor_ok=False, camera_ok=False, clock_synced=False, drift_c=0.4,
                        warnings=("warning_clock", "warning_drift"), store_failures=3)
    strip = status_strip(kiosk, site_name="S", wall_time=5.0, online=True, buffered_events=7)
    assert strip == StatusStrip(site_name="S", wall_time=5.0, online=True, buffered_events=7, clock_synced=False,
                                warnings=("warning_clock", "warning_drift"), sensor_ok=False, camera_ok=False,
                                store_failures=3, drift_c=0.4)
    assert strip.needs_staff


def test_kiosk_screens_writes_the_staff_view() -> None:
    views = gallery()
    assert views["staff"].screen is Screen.STAFF
    assert views["staff-every-problem"].status.needs_staff and not views["staff-all-well"].status.needs_staff


class _Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def _touch(kind: int) -> pygame.event.Event:
    return pygame.event.Event(kind, x=0.5, y=0.5, touch_id=1, finger_id=0, dx=0.0, dy=0.0, pressure=1.0)


def _body_keys(display: PygameDisplay) -> set[str]:
    return {d.key.split(".")[0] for d in display.last_drawn} - {"status", "footer"}


def test_a_long_touch_opens_the_staff_view_and_a_visitor_closes_it(renderer: ScreenRenderer) -> None:
    clock = _Clock()
    idle = ScreenView(Screen.ATTRACT, status=BUSY)
    with PygameDisplay(size=(800, 480), driver="dummy", renderer=renderer, clock=clock) as display:
        pygame.event.post(_touch(pygame.FINGERDOWN))
        display.render(idle)
        assert "attract" in _body_keys(display)  # a touch is not yet a long touch
        clock.t += LONG_PRESS_S + 0.1
        display.render(idle)  # still held: it opens now, so staff see it worked
        assert _body_keys(display) == {"staff"} and display.staff_view_open
        pygame.event.post(_touch(pygame.FINGERUP))
        clock.t += 1.0
        display.render(idle)
        assert _body_keys(display) == {"staff"}  # letting go of the long touch does not close it
        display.render(ScreenView(Screen.MEASURING, status=BUSY))  # a visitor steps up
        assert "measuring" in _body_keys(display) and not display.staff_view_open
        display.render(idle)
        assert "attract" in _body_keys(display)  # and it stays closed
        assert display.take_taps() == [(400, 240)]  # the touch still counts once as a tap


def test_the_staff_view_closes_on_a_tap_and_by_itself(renderer: ScreenRenderer) -> None:
    clock = _Clock()
    idle = ScreenView(Screen.FAULT, status=BUSY, staff_spot="服务台 the service desk")
    with PygameDisplay(size=(480, 800), driver="dummy", renderer=renderer, clock=clock) as display:
        for kind in (pygame.FINGERDOWN, pygame.FINGERUP):  # a short touch opens nothing
            pygame.event.post(_touch(kind))
            display.render(idle)
        assert "fault" in _body_keys(display)
        pygame.event.post(_touch(pygame.FINGERDOWN))
        display.render(idle)
        clock.t += LONG_PRESS_S
        pygame.event.post(_touch(pygame.FINGERUP))
        display.render(idle)
        assert _body_keys(display) == {"staff"}  # opened over the manual check, for the staff who came
        for kind in (pygame.FINGERDOWN, pygame.FINGERUP):  # a short touch closes it
            pygame.event.post(_touch(kind))
            display.render(idle)
        assert "fault" in _body_keys(display)
        pygame.event.post(_touch(pygame.FINGERDOWN))
        display.render(idle)
        clock.t += LONG_PRESS_S
        display.render(idle)
        assert _body_keys(display) == {"staff"}
        clock.t += STAFF_VIEW_S
        display.render(idle)
        assert "fault" in _body_keys(display)  # forgotten open: it closes by itself
