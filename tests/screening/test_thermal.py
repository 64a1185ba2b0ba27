"""Screening on emulated hardware: accuracy, no flattening, honest uncertainty, refusals, drift."""

from __future__ import annotations

import numpy as np
import pytest

from kiosk.config import ThermalConfig
from kiosk.screening.drift import DriftTracker
from kiosk.screening.face import FACE_WIDTH_M, find_faces
from kiosk.screening.thermal import Placement, Reading, Screening
from kiosk.simulation import measure_person
from tests.screening.rig import frame_of, paint_face, room


@pytest.mark.parametrize("distance", [0.3, 0.5, 0.8, 1.0, 1.2])
@pytest.mark.parametrize("ambient", [10.0, 24.0, 32.0])
def test_reading_tracks_the_forehead_at_every_distance_and_ambient(distance: float, ambient: float) -> None:
    errors = []
    for seed in range(3):
        reading = measure_person(forehead_c=37.0, distance_m=distance, ambient_c=ambient, seed=seed)
        assert reading is not None
        errors.append(reading.temperature_c - 37.0)
        assert reading.distance_m == pytest.approx(distance, rel=0.12)
        assert abs(reading.temperature_c - 37.0) <= reading.uncertainty_c  # the ± is honest
    assert max(abs(e) for e in errors) < 0.15


def test_no_flattening_slope_is_one_from_35_to_41() -> None:
    truth = np.arange(35.0, 41.01, 1.0)
    read = [measure_person(forehead_c=float(t), distance_m=0.6, seed=i).temperature_c for i, t in enumerate(truth)]
    slope, _offset = np.polyfit(truth, read, 1)
    assert slope == pytest.approx(1.0, abs=0.02)
    assert max(abs(np.array(read) - truth)) < 0.12


def test_high_readings_are_never_clamped_and_implausible_ones_never_published() -> None:
    hot = measure_person(forehead_c=42.5, distance_m=0.5, seed=1)
    assert hot is not None and hot.temperature_c == pytest.approx(42.5, abs=0.15) and hot.plausible
    # 44 °C skin does not exist: a hot object, not a temperature — no reading at all
    assert measure_person(forehead_c=44.5, distance_m=0.5, seed=1, max_frames=24) is None
    cold = measure_person(forehead_c=32.0, distance_m=0.5, seed=1)
    assert cold is not None and cold.cold and not cold.plausible


def test_uncertainty_grows_with_noise_distance_and_a_room_outside_the_range() -> None:
    near = measure_person(forehead_c=36.8, distance_m=0.5, seed=2)
    far = measure_person(forehead_c=36.8, distance_m=1.2, seed=2)
    noisy = measure_person(forehead_c=36.8, distance_m=0.5, seed=2, netd_k=0.6)
    cold_room = measure_person(forehead_c=36.8, distance_m=0.5, ambient_c=8.0, seed=2)
    assert near is not None and far is not None and noisy is not None and cold_room is not None
    assert 0.15 <= near.uncertainty_c <= 0.3
    assert far.uncertainty_c > near.uncertainty_c
    assert noisy.uncertainty_c > near.uncertainty_c
    assert cold_room.uncertainty_c > near.uncertainty_c + 0.1


def test_reading_near_the_threshold_is_flagged() -> None:
    r = Reading(37.2, 0.22, 4, 0.05, 0.5, 24.0)
    assert r.near(37.3) and r.near(37.0) and not r.near(37.5) and not r.near(36.9)


def test_placements_nobody_far_close_crowded_ok(screening: Screening) -> None:
    s = screening
    empty = room()
    assert s.observe(frame_of(empty)).placement is Placement.NOBODY
    cases = [(10, Placement.OK), (4, Placement.TOO_FAR), (24, Placement.TOO_CLOSE)]
    for width, expected in cases:
        px = empty.copy()
        paint_face(px, 16 - width // 2, width, 36.5)
        s.tracker.reset()  # a different person each time (one leaping there would crowd the spot: who is hidden?)
        assert s.observe(frame_of(px)).placement is expected
    px = empty.copy()
    paint_face(px, 4, 9, 36.5)
    paint_face(px, 20, 9, 36.6)
    assert s.observe(frame_of(px)).placement is Placement.CROWDED


def test_warm_clothing_below_the_face_is_not_a_second_person() -> None:
    px = room(31.0)
    paint_face(px, 12, 8, 36.5, top=2)
    px[14:24, 8:24] = 35.0  # clothes as warm as skin in a warm room, separated by a cooler collar
    px[12:14, :] = 31.0
    faces = find_faces(px, 31.0, np.radians(55.0) / 32)
    assert len(faces) == 1


def test_unstable_window_is_refused_and_slides_on() -> None:
    s = Screening(ThermalConfig(), frames_per_reading=4)
    base = room()
    for temp in (36.0, 36.9, 36.1, 36.8):  # wandering by 0.9 °C: not a steady forehead
        px = base.copy()
        paint_face(px, 11, 10, temp)
        s.observe(frame_of(px))
    assert s.take_reading() is None and s.unstable_windows == 1
    for _ in range(3):
        px = base.copy()
        paint_face(px, 11, 10, 36.8)
        s.observe(frame_of(px))
    reading = s.take_reading()
    assert reading is not None and reading.temperature_c == pytest.approx(36.8, abs=0.02)


def test_reflected_room_correction_follows_the_physics() -> None:
    s = Screening(ThermalConfig(emissivity=0.98))
    assert s.reflected_correction(36.5, 32.0, 24.0) == pytest.approx(36.5, abs=1e-9)  # die 8 °C above room
    warmer_die = s.reflected_correction(36.5, 36.0, 24.0)  # driver assumed Tr 28, the room is 24
    assert 0.05 < warmer_die - 36.5 < 0.15


def test_drift_tracker_running_median() -> None:
    d = DriftTracker(baseline_c=36.5, window=20, min_visitors=10, warn_c=0.4)
    for t in [36.4, 36.6, 36.5] * 3:
        d.add(t)
    assert d.drift_c is None and not d.drifting  # nine people say nothing yet
    d.add(36.5)
    assert d.drift_c == pytest.approx(0.0, abs=0.05)
    assert not d.add(33.0) and not d.add(44.0)  # cold arrivals and impossible readings do not count
    for _ in range(20):
        d.add(36.0)  # the sensor has drifted 0.5 °C low
    assert d.drift_c == pytest.approx(-0.5) and d.drifting
    report = d.report()
    assert report.visitors == 20 and report.drifting and report.median_c == pytest.approx(36.0)
    for _ in range(3):
        d.add(39.5)  # a few fevers do not look like drift
    assert d.drift_c == pytest.approx(-0.5)


def test_environment_warnings_carry_catalogue_keys(screening: Screening) -> None:
    s = screening
    s.observe(frame_of(room(12.0), room_c=12.0))
    assert s.environment_warnings() == ("warning_ambient",) and s.cold_room
    s2 = Screening(ThermalConfig())
    s2.observe(frame_of(room()))
    assert s2.environment_warnings() == ()
    for _ in range(20):
        s2.drift.add(37.2)
    assert s2.environment_warnings() == ("warning_drift",)


def test_face_width_constant_matches_the_scene() -> None:
    from drivers.mlx90640 import scene

    assert FACE_WIDTH_M == scene.FACE_WIDTH_M


def test_health_exposes_drift_room_and_calibration() -> None:
    from datetime import UTC, datetime

    s = Screening(ThermalConfig(calibration_offset_c=0.3, calibrated_at=datetime(2026, 11, 1, tzinfo=UTC)))
    s.observe(frame_of(room(22.0), room_c=22.0))
    for _ in range(15):
        s.drift.add(36.9)
    health = s.health()
    assert health["room_c"] == pytest.approx(22.0) and health["calibration_offset_c"] == 0.3
    assert health["calibrated_at"].startswith("2026-11-01") and health["drift_c"] == pytest.approx(0.4)
    assert health["drifting"] and health["warnings"] == ["warning_drift"] and health["drift_visitors"] == 15
