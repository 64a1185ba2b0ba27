"""No accepted configuration takes more than 0.5 °C off a reading, in any room: measured on the emulator.

Each bound alone used to be allowed, and they added up: offset −1.5, emissivity 0.99, ambient
compensation 0.05 °C/°C up to a 34 °C room read a 39.5 °C forehead as 37.85 °C at 24 °C and
37.38 °C at 36 °C — a PASS with the threshold at 37.5.  Now the thermal settings share one budget
(`ThermalConfig.lowering_c`, at most 0.5 °C), the compensation is clamped at the working range's
edges, and the threshold may add at most 0.2 °C (`policy.fever_c` ≤ 37.5): a 38.0 °C forehead is
stopped under every configuration the kiosk accepts.

The readings are the real pipeline's: the register-level MLX90640 emulator, the real driver,
`Screening` (`kiosk.simulation.screening_trial.measure_person`, a person standing still).
"""

from __future__ import annotations

import pytest

from kiosk.config import (
    FEVER_C_MAX,
    FEVER_C_NOTICE,
    THERMAL_LOWERING_LIMIT_C,
    ConfigProblems,
    ThermalConfig,
    parse_config,
)
from kiosk.simulation.screening_trial import measure_person

FOREHEAD_C = 39.5
NOISE_C = 0.04  # the emulator's reading of a still forehead wanders this much around the truth

REVIEWED = {"calibration_offset_c": -1.5, "emissivity": 0.99, "ambient_coefficient": 0.05, "ambient_max_c": 34.0,
            "distance_coefficient_c_per_m": 0.0}

# Accepted configurations that spend the whole budget, each in its own way.
WORST_ACCEPTED = {
    "negative offset": {"calibration_offset_c": -0.49},
    "emissivity and offset": {"emissivity": 0.99, "calibration_offset_c": -0.1, "distance_coefficient_c_per_m": 0.0},
    "ambient compensation": {"ambient_coefficient": 0.05, "ambient_max_c": 34.0, "distance_coefficient_c_per_m": 0.0},
    "both coefficients": {"distance_coefficient_c_per_m": 0.5, "min_distance_m": 0.3, "ambient_coefficient": 0.04,
                          "ambient_max_c": 34.0},
}


def test_the_reviewed_combination_is_refused_and_says_what_adds_up() -> None:
    with pytest.raises(ConfigProblems) as err:
        parse_config({"thermal": REVIEWED})
    text = " ".join(err.value.problems)
    assert "calibration_offset_c" in text and "must be at least -0.5" in text
    partial = {**REVIEWED, "calibration_offset_c": -0.3}  # within its own bound, but not with the others
    with pytest.raises(ConfigProblems) as err:
        parse_config({"thermal": partial})
    (problem,) = err.value.problems
    assert "together these settings can take up to 1.18 °C off a reading" in problem
    for part in ("calibration_offset_c 0.30", "emissivity 0.38", "ambient_coefficient 0.50"):
        assert part in problem
    assert problem.startswith("<config> thermal.ambient_coefficient：这些设置合起来最多会从读数中减去 1.18 °C")


@pytest.mark.parametrize("name", WORST_ACCEPTED)
def test_the_worst_accepted_configurations_spend_at_most_the_budget(name: str) -> None:
    thermal = parse_config({"thermal": WORST_ACCEPTED[name]}).thermal
    assert sum(thermal.lowering_c().values()) <= THERMAL_LOWERING_LIMIT_C


@pytest.mark.parametrize("name", WORST_ACCEPTED)
@pytest.mark.parametrize("room_c", [15.0, 24.0, 34.0, 36.0])
@pytest.mark.parametrize("distance_m", [0.3, 0.5])
def test_no_accepted_configuration_takes_more_than_half_a_degree_in_any_room(name: str, room_c: float,
                                                                              distance_m: float) -> None:
    """Beyond `ambient_max_c` (36 °C here) the compensation no longer grows: it is clamped at the edge."""
    thermal = parse_config({"thermal": WORST_ACCEPTED[name]}).thermal
    reading = measure_person(forehead_c=FOREHEAD_C, distance_m=distance_m, ambient_c=room_c, seed=3,
                             thermal=thermal.model_copy(update={"min_distance_m": min(0.25, thermal.min_distance_m)}))
    assert reading is not None
    lowered = FOREHEAD_C - reading.temperature_c
    assert lowered <= THERMAL_LOWERING_LIMIT_C + NOISE_C, f"{name}: {reading.temperature_c} at {room_c} °C"


def test_the_two_budgets_stop_a_forehead_of_38() -> None:
    """0.5 °C the thermal settings, 0.2 °C the threshold: 38.0 °C reads at least 37.5 °C, the highest threshold."""
    assert round(FEVER_C_NOTICE + THERMAL_LOWERING_LIMIT_C + (FEVER_C_MAX - FEVER_C_NOTICE), 6) == 38.0
    thermal = parse_config({"thermal": WORST_ACCEPTED["ambient compensation"]}).thermal
    reading = measure_person(forehead_c=38.0 + NOISE_C, distance_m=0.5, ambient_c=34.0, seed=3, thermal=thermal)
    assert reading is not None and reading.temperature_c >= FEVER_C_MAX


def test_the_compensation_is_clamped_at_the_working_range_s_edges() -> None:
    from kiosk.screening.thermal import Screening

    thermal = ThermalConfig(ambient_coefficient=0.04, ambient_max_c=34.0, distance_coefficient_c_per_m=0.5,
                            min_distance_m=0.4)
    screening = Screening(thermal)
    edge = screening.compensation_c(0.4, 34.0)
    assert edge == pytest.approx(-0.05 - 0.4)
    assert screening.compensation_c(0.2, 45.0) == pytest.approx(edge)  # nearer and warmer: no more taken off
    assert screening.compensation_c(0.9, 10.0) == pytest.approx(0.2 + 0.56)  # adding back is not clamped


@pytest.mark.parametrize(("key", "value", "says"), [
    ("drift_warn_c", 3.0, "drift beyond 0.8 °C is a fault"),
    ("drift_warn_c", 0.81, "drift beyond 0.8 °C is a fault"),
    ("drift_baseline_c", 34.0, "healthy visitors' median reads 36.0–37.0 °C"),
    ("drift_baseline_c", 38.0, "healthy visitors' median reads 36.0–37.0 °C"),
])
def test_drift_cannot_be_silenced(key: str, value: float, says: str) -> None:
    with pytest.raises(ConfigProblems) as err:
        parse_config({"thermal": {key: value}})
    assert says in err.value.problems[0]
