"""Scenarios the tests play, beyond the files in tests/scenarios/: one visitor, an empty room, the first few of
every-reason.json.  Plain functions and constants, imported wherever a test needs a scenario."""

from __future__ import annotations

import json
from pathlib import Path

from kiosk.simulation import Scenario, load_scenario
from tests.paths import SCENARIOS

EVERY_REASON = SCENARIOS / "every-reason.json"
EMPTY_ROOM = Scenario(name="empty room")


def one_green(arrive_s: float = 1.0) -> Scenario:
    """One healthy visitor with a green code, stepping up at `arrive_s`."""
    return Scenario.model_validate({
        "name": "one healthy visitor",
        "visitors": [{"id": "v01", "arrive_s": arrive_s, "forehead_c": 36.5, "distance_m": 0.5,
                      "code": {"colour": "G"}, "expect": {"decision": "PASS", "reasons": []}}],
    })


def first_visitors_file(path: Path, visitors: int = 5) -> Path:
    """The first visitors of every-reason.json (a pass, a fever, a yellow code, red+fever+star, a risk area,
    ...) written to `path`, for the command line."""
    data = json.loads(EVERY_REASON.read_text(encoding="utf-8"))
    data["visitors"] = data["visitors"][:visitors]
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def first_visitors(n: int, directory: Path) -> Scenario:
    """The first `n` visitors of every-reason.json, as a loaded scenario (its file kept in `directory`)."""
    return load_scenario(first_visitors_file(directory / f"first-{n}-visitors.json", n))
