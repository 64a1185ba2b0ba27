"""A STOP for the kiosk's own fault is a manual check, amber, with the FAULT signal: never the
visitor's red 请止步.  And screens, reasons and decisions newer than ui/ never crash a screen."""

from __future__ import annotations

import numpy as np
import pygame
import pytest

from kiosk.loop.presentation import KIOSK_FAULTS, SCREEN_SIGNALS, shown_screen, view_of
from kiosk.ports import Screen, ScreenView, Signal, StatusStrip
from kiosk.simulation import load_scenario
from tests.checkpoint.rig import GREEN, Rig
from tests.loop.rig import simulated  # noqa: F401  (the fixture)
from tests.paths import SCENARIOS
from ui.display import ScreenRenderer, render_frame
from ui.samples import NOTICE, sample
from ui.theme import AMBER, Frame

SPOT = "服务台 the service desk"


@pytest.fixture(scope="module")
def renderer() -> ScreenRenderer:
    return ScreenRenderer(site=NOTICE)


@pytest.mark.parametrize(("screen", "reasons", "shown"), [
    (Screen.STOP, ("sensor_fault",), Screen.FAULT),
    (Screen.STOP, ("clock_unsynced",), Screen.FAULT),  # nothing known against the visitor either
    (Screen.STOP, ("sensor_fault", "clock_unsynced"), Screen.FAULT),
    (Screen.STOP, ("sensor_fault", "fever"), Screen.STOP),  # a fever was shown: the visitor's STOP
    (Screen.STOP, ("code_red",), Screen.STOP),
    (Screen.STOP, ("moon_phase",), Screen.STOP),  # unknown: not known to be the kiosk's fault
    (Screen.STOP, (), Screen.STOP),
    (Screen.PASS, (), Screen.PASS),
    (Screen.FAULT, (), Screen.FAULT),
])
def test_which_stops_are_a_manual_check(screen: Screen, reasons: tuple[str, ...], shown: Screen) -> None:
    assert shown_screen(screen, reasons) is shown
    assert SCREEN_SIGNALS[Screen.FAULT] is Signal.FAULT and "sensor_fault" in KIOSK_FAULTS


def _amber_share(surface: pygame.Surface) -> float:
    frame = Frame.of(surface.get_size())
    rgb = pygame.surfarray.array3d(surface).transpose(1, 0, 2)[frame.status.bottom:frame.footer.top].astype(int)
    return float((np.abs(rgb - np.array(AMBER)).sum(axis=-1) < 40).mean())


def _red_share(surface: pygame.Surface) -> float:
    rgb = pygame.surfarray.array3d(surface).astype(int)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    return float(((r > 2 * g) & (r > b + 60)).mean())  # red, not amber


@pytest.mark.parametrize("size", [(800, 480), (1920, 1080), (480, 800)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_a_checkpoint_whose_sensor_dies_shows_the_manual_check(renderer: ScreenRenderer,
                                                               size: tuple[int, int]) -> None:
    """The real checkpoint decides STOP sensor_fault; what the visitor sees is amber 人工复核."""
    rig = Rig()
    rig.run(0.5, 36.5, code=GREEN, width=5)  # the visitor still too far to be read
    rig.run(3.0, frames=False, code=GREEN)  # the thermal array stops answering mid-measurement
    (outcome,) = rig.outcomes
    assert outcome.decision.reasons == ("sensor_fault",) and rig.cp.screen is Screen.STOP
    view = view_of(rig.cp, thermal=None, status=StatusStrip(online=True), staff_spot=SPOT)
    assert view.screen is Screen.FAULT and view.reasons == ("sensor_fault",)
    surface, drawn = render_frame(view, size, renderer=renderer)
    texts = {d.text for d in drawn}
    assert {"人工复核", "Manual check", "请到服务台等候工作人员", "Please wait for staff at the service desk"} <= texts
    assert not texts & {"请止步", "STOP", "请止步  STOP"}
    assert _amber_share(surface) > 0.04 and _red_share(surface) < 0.01
    stop = render_frame(sample(Screen.STOP, reasons=("sensor_fault", "fever")), size, renderer=renderer)[0]
    assert _red_share(stop) > 0.5 and _amber_share(stop) < 0.01


def test_without_a_staff_spot_the_manual_check_still_says_where_to_wait(renderer: ScreenRenderer) -> None:
    texts = {d.text for d in render_frame(sample(Screen.FAULT, staff_spot=""), (800, 480), renderer=renderer)[1]}
    assert {"人工复核", "请在旁边等候工作人员", "Please wait to one side for staff"} <= texts


def test_the_unplugged_sensor_scenario_shows_amber_with_the_fault_signal(simulated) -> None:  # noqa: F811
    """End to end: tests/scenarios/sensor-dropout.json on the emulated kiosk.  The visitor decided
    STOP sensor_fault sees the FAULT screen while the lights play the FAULT pattern; nobody sees a
    red STOP for the kiosk's fault alone."""
    sim = simulated(load_scenario(SCENARIOS / "sensor-dropout.json"))
    seen: list[tuple[ScreenView, Signal]] = []
    sim.kiosk.on_view.append(lambda view: seen.append((view, sim.kiosk.presenter.signals.signal)))
    sim.play(120.0)
    decided = {(r.decision, tuple(r.reasons)) for r in sim.world.records()}
    assert ("STOP", ("sensor_fault",)) in decided
    assert not [v for v, _ in seen if v.screen is Screen.STOP and set(v.reasons) <= KIOSK_FAULTS]
    manual = [(v, s) for v, s in seen if v.screen is Screen.FAULT and v.reasons == ("sensor_fault",)]
    assert manual and all(s is Signal.FAULT for _, s in manual[1:])


def test_a_screen_newer_than_ui_is_drawn_as_the_manual_check(renderer: ScreenRenderer) -> None:
    """A decision `LEFT` (or any screen ui/ does not know) never crashes the display: the kiosk can
    only say "wait for staff"."""
    view = ScreenView("left", status=StatusStrip(online=True), staff_spot=SPOT)  # type: ignore[arg-type]
    texts = {d.text for d in render_frame(view, (800, 480), renderer=renderer)[1]}
    assert "人工复核" in texts
    assert SCREEN_SIGNALS.get(view.screen, Signal.IDLE) is Signal.IDLE  # (the Presenter's default)


@pytest.mark.parametrize("size", [(800, 480), (480, 800)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_unknown_reasons_are_other_reason_in_words_listed_once(renderer: ScreenRenderer,
                                                               size: tuple[int, int]) -> None:
    view = sample(Screen.STOP, reasons=("fever", "moon_phase", "sun_spots"))
    drawn = render_frame(view, size, renderer=renderer)[1]
    texts = [d.text for d in drawn]
    assert texts.count("其他原因") == 1 and texts.count("Other reason") == 1
    assert {"体温过高", "Fever"} <= set(texts)
    assert not any(code in text for text in texts for code in ("moon_phase", "sun_spots", "（", "("))
