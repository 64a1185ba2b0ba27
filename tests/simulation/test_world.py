"""The simulated crowd (scenario format version 2): what the world shows the hardware, and the format."""

from __future__ import annotations

import math

import pytest

from kiosk.config import KioskConfig
from kiosk.errors import ConfigError
from kiosk.screening import find_faces
from kiosk.simulation import Scenario, SteppingClock, SteppingClockSync, World, scenario_clock
from kiosk.simulation.crowd import queue_place
from kiosk.simulation.scenario import SignedCode

PIXEL = math.radians(55.0) / 32


def crowd(**fields: object) -> Scenario:
    return Scenario.model_validate({"version": 2, "start": 1_765_900_000, **fields})


def world_of(scenario: Scenario) -> tuple[World, SteppingClock]:
    clock = scenario_clock(scenario)
    cfg = KioskConfig()

    def sign(code: SignedCode, sid: str, wall: float) -> str:
        return f"{sid}@{wall:.0f}"

    return World(scenario, clock, sign=sign, max_distance_m=cfg.thermal.max_distance_m,
                 fov_h_deg=cfg.thermal.fov_h_deg), clock


def test_the_queue_waits_in_the_sensors_view_off_axis_each_at_their_own_temperature() -> None:
    scenario = crowd(site={"ambient_c": 22.0, "queue_m": 1.4},
                     visitors=[{"id": f"v{i}", "arrive_s": 0.0, "forehead_c": c, "distance_m": 0.5}
                               for i, c in enumerate((36.4, 39.4, 36.8))])
    world, clock = world_of(scenario)
    clock.advance(0.5)  # the first steps up; the other two wait
    pixels, _, ambient = world.render(clock.monotonic())
    faces = find_faces(pixels, ambient, PIXEL)
    d, x = queue_place(0, 1.4)
    first_in_line = min(faces, key=lambda f: abs(f.distance_m - d) + abs(f.lateral_m(PIXEL) - x))
    assert first_in_line.lateral_m(PIXEL) == pytest.approx(x, abs=0.1) and x < -0.45  # beside the spot
    assert first_in_line.face_c == pytest.approx(39.4, abs=0.6)  # their own forehead, not a stand-in


def test_a_passer_crosses_the_whole_view_and_is_gone() -> None:
    scenario = crowd(site={"passers": [{"at_s": 1.0, "distance_m": 2.3, "forehead_c": 36.6,
                                        "direction": "right", "speed_m_s": 1.2}]})
    world, clock = world_of(scenario)
    seen = []
    for _ in range(30):
        clock.advance(0.25)
        faces = find_faces(*world.render(clock.monotonic())[::2], PIXEL)
        seen.append(faces[0].centre_col if faces else None)
    cols = [c for c in seen if c is not None]
    assert cols and cols == sorted(cols) and cols[-1] - cols[0] > 15  # left to right, across the view
    assert seen[-1] is None


def test_the_kiosk_clock_is_off_until_network_time_steps_it() -> None:
    scenario = crowd(site={"clock": {"offset_s": -10800, "sync_at_s": 5.0}})
    clock = scenario_clock(scenario)
    sync = SteppingClockSync(clock)
    assert clock.wall() == pytest.approx(clock.true_wall() - 10800) and not sync.synchronized()
    clock.advance(5.0)
    assert clock.wall() == pytest.approx(clock.true_wall()) and sync.synchronized()


def test_phones_show_a_screenshot_of_another_visitor_exactly() -> None:
    scenario = crowd(visitors=[
        {"id": "a", "arrive_s": 0.0, "forehead_c": 36.5, "code": {"colour": "G"}, "leaves_after_s": 2.0},
        {"id": "b", "arrive_s": 1.0, "forehead_c": 36.5, "code": {"same_as": "a"}, "eager": True},
    ])
    world, clock = world_of(scenario)
    shown: list[str] = []
    for _ in range(80):  # 10 s: a shows their code and walks off, b steps in and shows theirs
        clock.advance(0.125)
        shown.extend(p.text for p in world.phones_in_view(clock.monotonic()))
    a, b = (world._walkers[i] for i in (0, 1))
    assert b.phone_text is not None and b.phone_text == a.phone_text  # b holds up exactly a's text
    assert set(shown) == {a.phone_text}


@pytest.mark.parametrize(("data", "problem"), [
    ({"visitors": [{"id": "a", "arrive_s": 0, "forehead_c": 36.5, "eager": True}]}, "version-2"),
    ({"site": {"queue_m": 1.4}}, "version-2"),
    ({"visitors": [{"id": "a", "arrive_s": 0, "forehead_c": 36.5,
                    "expect": {"decision": "LEFT", "reasons": []}}]}, "version-2"),
])
def test_a_version_1_file_that_uses_crowd_fields_is_refused(data: dict, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        Scenario.model_validate(data)
    Scenario.model_validate({"version": 2, **data})  # fine, said so


def test_same_as_must_name_another_visitor(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from kiosk.simulation import load_scenario

    path = tmp_path / "bad.json"
    path.write_text('{"version": 2, "visitors": [{"id": "a", "arrive_s": 0, "forehead_c": 36.5,'
                    ' "code": {"same_as": "a"}}]}', encoding="utf-8")
    with pytest.raises(ConfigError):
        load_scenario(path)


def test_a_passer_by_after_the_last_visitor_is_drawn_and_idle_stretches_stop_for_passers() -> None:
    """S3: a passer-by counts for when the world is quiet and when it is finished: an idle stretch is
    never jumped over somebody crossing the view, and one who comes after the last visitor is drawn."""
    scenario = crowd(site={"ambient_c": 22.0, "passers": [
        {"at_s": 400.0, "distance_m": 2.3, "forehead_c": 36.6, "direction": "left", "speed_m_s": 1.2},
        {"at_s": 1000.0, "distance_m": 2.3, "forehead_c": 36.6, "direction": "right", "speed_m_s": 1.2}]},
        visitors=[{"id": "v2", "arrive_s": 700.0, "forehead_c": 36.5, "distance_m": 0.5, "code": None}])
    world, clock = world_of(scenario)
    t0 = clock.monotonic()
    assert world.quiet_until(t0 + 100.0) == pytest.approx(t0 + 400.0)  # the passer-by, not v2 at 700 s
    assert world.quiet_until(t0 + 401.0) is None  # crossing now
    clock.advance(800.0)
    world._walkers[0].state = "gone"  # the visitor is done with (as the kiosk would have seen to)
    assert not world.finished()  # the passer-by at 1000 s is still to come
    assert world.quiet_until(clock.monotonic()) == pytest.approx(t0 + 1000.0)


def test_leaving_visitors_walk_off_either_way() -> None:
    """S4: not everybody turns right into the building: some walk off past the queue, or back along it,
    crossing where the next one steps in (the simulator is never kinder than a real doorway)."""
    from kiosk.simulation.crowd import EXITS, exit_for

    exits = {exit_for(f"v{i:02d}") for i in range(40)}
    assert exits == set(EXITS)
    assert any(x < 0 for _, x in exits) and any(x > 0 for _, x in exits)  # both sides of the kiosk
