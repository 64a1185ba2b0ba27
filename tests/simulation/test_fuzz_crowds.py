"""The crowd fuzzer's own checks (`tests/simulation/fuzz_crowds.py`): its scenarios load, and what
must hold for everybody is caught when it does not."""

from __future__ import annotations

import json
from pathlib import Path

from kiosk.simulation import load_scenario
from tests.simulation.fuzz_crowds import broken, scenario


def test_its_scenarios_are_valid_version_2_files_and_repeat_by_seed(tmp_path: Path) -> None:
    raw = scenario(7, 0.3)
    assert raw == scenario(7, 0.3) and raw["version"] == 2 and len(raw["visitors"]) == 24
    path = tmp_path / "s.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    assert len(load_scenario(path).visitors) == 24


def test_it_catches_a_fever_passed_a_temperature_not_theirs_and_a_visitor_left_undecided() -> None:
    raw = {"visitors": [
        {"id": "a", "forehead_c": 38.4, "code": {"colour": "G"}},
        {"id": "b", "forehead_c": 36.5, "code": {"colour": "G"}},
        {"id": "c", "forehead_c": 36.5, "code": {"colour": "G"}},
    ]}
    lines = [
        {"visitor": "a", "decision": "PASS", "reasons": [], "temperature_c": 36.5},
        {"visitor": "b", "decision": "PASS", "reasons": [], "temperature_c": 38.4},
        {"visitor": "c", "decision": "LEFT", "reasons": [], "temperature_c": None},
    ]
    found = " | ".join(broken(raw, lines))
    assert "a PASS with a fever" in found and "a reported 36.5" in found
    assert "b reported 38.4" in found and "c left undecided" in found
    assert broken(raw, [{"visitor": "b", "decision": "PASS", "reasons": [], "temperature_c": 36.6}]) == []
