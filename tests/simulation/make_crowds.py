"""Writes the version-2 crowd scenarios of tests/scenarios/ (crowd-*.json): `python -m tests.simulation.make_crowds`.

Each file mixes cooperative visitors (drawn from a seeded generator) with hand-placed adversarial
ones — the cases of issue 12: a febrile visitor stepping in from the queue as the one measured turns
away, a passer-by crossing 2.3 m away as a visitor leaves, a code held up by somebody who walks off,
a screenshot handed back along the queue, a kiosk clock that is three hours slow and steps mid-visit.
Every expectation follows from what each visitor is and does, never from what a kiosk happened to do:

* a visitor decided normally: `fever` at or above the threshold, and the code's reasons;
* `leaves_after_s` well before anything can be decided (0–0.2 s, the phone not yet in view): LEFT [];
  long after a fever is confirmed, with no code shown: LEFT [fever]; a code shown, then walking off
  during the pause before a fever's re-measure (1 s: the fever not confirmed): LEFT with the code's
  alerts ([code_red] for a red code, [] for a green one);
* `code.same_as` a visitor who passed: `code_replayed`; while the clock is unsynchronised, a visitor
  with a code: `clock_unsynced` (and `fever`); a three-hour-old screenshot after the clock stepped: `code_invalid`.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from tests.paths import SCENARIOS

START = 1_764_050_000
GREEN = {"colour": "G"}


def _visitor(vid: str, at: float, forehead: float, distance: float, code: dict[str, Any] | None,
             decision: str, reasons: list[str], **extra: Any) -> dict[str, Any]:
    return {"id": vid, "arrive_s": round(at, 1), "forehead_c": forehead, "distance_m": distance, "code": code,
            "expect": {"decision": decision, "reasons": reasons}, **extra}


def _cooperative(rng: random.Random, vid: str, at: float, **extra: Any) -> dict[str, Any]:
    """A visitor who shows a code on arrival; sometimes febrile, sometimes with a code that stops them."""
    roll = rng.random()
    forehead = round(rng.uniform(35.9, 36.9), 1)
    code: dict[str, Any] = dict(GREEN)
    reasons: list[str] = []
    if roll < 0.08:
        forehead = round(rng.uniform(37.8, 39.2), 1)
        reasons.append("fever")
    elif roll < 0.13:
        code = {"colour": "Y"}
        reasons.append("code_yellow")
    elif roll < 0.16:
        code = {"colour": "G", "trip": ["440104"]}
        reasons.append("trip_risk_area")
    distance = round(rng.uniform(0.35, 0.8), 2)
    return _visitor(vid, at, forehead, distance, code, "STOP" if reasons else "PASS", reasons, **extra)


def _passers(rng: random.Random, until: float, every: float) -> list[dict[str, Any]]:
    out, t = [], rng.uniform(2, every)
    while t < until:
        out.append({"at_s": round(t, 1), "distance_m": round(rng.choice([2.0, 2.3, 2.6, 3.0]), 1),
                    "forehead_c": round(rng.uniform(36.2, 38.8), 1), "direction": rng.choice(["left", "right"]),
                    "speed_m_s": round(rng.uniform(0.9, 1.5), 1)})
        t += rng.uniform(every * 0.5, every * 1.5)
    return out


def swaps() -> dict[str, Any]:
    """Eager visitors stepping in from a queue 1.4 m away as the one before turns away."""
    rng = random.Random(12)
    vs = []
    t = 0.0
    for i in range(10):
        # A is measured, shows no code yet and turns away to look for it; B, febrile, steps straight in.
        a_temp = round(rng.uniform(36.1, 36.7), 1)
        b_temp = round(rng.uniform(38.4, 39.6), 1)
        vs.append(_visitor(f"s{i:02d}a", t, a_temp, round(rng.uniform(0.4, 0.6), 2), None, "LEFT", [],
                           code_after_s=30, leaves_after_s=round(rng.uniform(1.5, 3.0), 1)))
        vs.append(_visitor(f"s{i:02d}b", t + 0.5, b_temp, round(rng.uniform(0.4, 0.6), 2), dict(GREEN), "STOP",
                           ["fever"], eager=True))
        # ... and the other way round: a febrile one walks off, a healthy one steps in and passes.
        c_temp = round(rng.uniform(36.0, 36.8), 1)
        vs.append(_cooperative(rng, f"s{i:02d}c", t + 1.0, eager=True))
        vs[-1].update(forehead_c=c_temp, code=dict(GREEN), expect={"decision": "PASS", "reasons": []})
        t += rng.uniform(14, 18)
    passers = _passers(rng, t, 9.0)
    # a passer-by 2.3 m away crossing the view as visitors leave
    passers += [{"at_s": round(p["arrive_s"] + 4.0, 1), "distance_m": 2.3, "forehead_c": 36.6,
                 "direction": "right", "speed_m_s": 1.2} for p in vs[2::6]]
    return {"version": 2, "name": "crowd: swaps from the queue", "start": START,
            "site": {"ambient_c": 22.0, "mode": "risk-areas", "risk_areas": ["440104"], "queue_m": 1.4,
                     "passers": sorted(passers, key=lambda p: p["at_s"])},
            "visitors": vs}


def walkoffs() -> dict[str, Any]:
    """Visitors who walk off, raise their phone late, or hold up a code and leave it to the next."""
    rng = random.Random(7)
    vs = []
    t = 0.0
    for i in range(8):
        vs.append(_visitor(f"w{i:02d}a", t, round(rng.uniform(36.0, 36.8), 1), 0.5, dict(GREEN), "LEFT", [],
                           leaves_after_s=round(rng.uniform(0.0, 0.2), 1)))  # gone before the phone is up
        vs.append(_visitor(f"w{i:02d}b", t + 1, round(rng.uniform(37.9, 39.0), 1), 0.5, None, "LEFT", ["fever"],
                           eager=True, code_after_s=30, leaves_after_s=7.0))  # a fever confirmed, no code
        vs.append(_visitor(f"w{i:02d}c", t + 2, round(rng.uniform(36.0, 36.8), 1), round(rng.uniform(0.4, 0.7), 2),
                           dict(GREEN), "PASS", [], code_after_s=round(rng.uniform(1.0, 4.0), 1)))  # late phone
        # A code held up by somebody who then walks off while their fever is still to be re-measured
        # (not confirmed: LEFT with nothing established): the next visitor, who shows nothing, is not given it.
        vs.append(_visitor(f"w{i:02d}d", t + 3, 38.6, 0.5, dict(GREEN), "LEFT", [], leaves_after_s=1.0))
        vs.append(_visitor(f"w{i:02d}e", t + 4, round(rng.uniform(36.0, 36.8), 1), 0.5, None, "STOP", ["no_code"],
                           eager=True))
        if i % 2:  # a red code shown, the visitor gone before their fever is confirmed: an alert all the same
            vs.append(_visitor(f"w{i:02d}f", t + 5, 38.6, 0.5, {"colour": "R"}, "LEFT", ["code_red"],
                               leaves_after_s=1.0))
        t += rng.uniform(50, 55)
    return {"version": 2, "name": "crowd: walk-offs and late phones", "start": START + 3600,
            "site": {"ambient_c": 23.0, "queue_m": 1.6, "passers": _passers(rng, t, 12.0)},
            "visitors": vs}


def clock_and_replays() -> dict[str, Any]:
    """A kiosk three hours slow until network time steps it; screenshots handed back along the queue."""
    rng = random.Random(3)
    vs: list[dict[str, Any]] = []
    t = 0.0
    for i in range(5):  # before the step: every visitor with a code is STOP clock_unsynced
        febrile = i == 3
        vs.append(_visitor(f"k{i:02d}", t, 38.6 if febrile else round(rng.uniform(36.0, 36.8), 1), 0.5,
                           dict(GREEN), "STOP", ["fever", "clock_unsynced"] if febrile else ["clock_unsynced"]))
        t += rng.uniform(5, 7)
    # the step mid-visit: a three-hour-old screenshot, judged fresh on the slow clock, read while the
    # visitor stands too far; network time steps the clock before they have stepped closer
    vs.append(_visitor("k-step", t, 36.5, 1.1, {"colour": "G", "age_s": 10800}, "STOP", ["code_invalid"]))
    sync_at = t + 1.6
    t += 8
    for i in range(12):  # after the step
        v = _cooperative(rng, f"r{i:02d}", t, eager=bool(i % 3 == 1))
        vs.append(v)
        if i % 4 == 3 and vs[-2]["expect"]["decision"] == "PASS":  # the screenshot handed back along the queue
            passed = vs[-2]
            replay = _visitor(f"r{i:02d}x", t + 0.5, round(rng.uniform(36.0, 36.8), 1), 0.5,
                              {"same_as": passed["id"]}, "STOP", ["code_replayed"], eager=True)
            vs.append(replay)
        if i == 5:
            vs.append(_visitor("r-old", t + 0.7, 36.4, 0.5, {"colour": "G", "age_s": 10800}, "STOP",
                               ["code_invalid"]))  # the same kind of screenshot, on the corrected clock
        t += rng.uniform(5, 8)
    return {"version": 2, "name": "crowd: a clock that steps, screenshots handed back", "start": START + 7200,
            "site": {"ambient_c": 24.0, "queue_m": 1.5, "clock": {"offset_s": -10800, "sync_at_s": round(sync_at, 1)},
                     "passers": _passers(rng, t, 10.0)},
            "visitors": vs}


def rush(seed: int = 1, n: int = 80, ambient_c: float = 21.0, queue_m: float = 1.5, start: float = START + 10800,
         name: str = "crowd: a rush with passers-by") -> dict[str, Any]:
    """A busy door: mostly cooperative visitors, a few eager ones, passers-by behind."""
    rng = random.Random(seed)
    vs = []
    t = 0.0
    for i in range(n):
        vs.append(_cooperative(rng, f"u{i:02d}", t, **({"eager": True} if rng.random() < 0.2 else {})))
        t += rng.uniform(1.5, 5.0)
    return {"version": 2, "name": name, "start": start,
            "site": {"ambient_c": ambient_c, "mode": "risk-areas", "risk_areas": ["440104"], "queue_m": queue_m,
                     "passers": _passers(rng, t, 7.0)},
            "visitors": vs}


def evening() -> dict[str, Any]:
    """The same door on a warm evening (28 °C: clothing nearly as warm as skin), the queue farther back."""
    return rush(seed=5, n=80, ambient_c=28.0, queue_m=2.0, start=START + 14 * 3600,
                name="crowd: a warm evening")


FILES = {"crowd-swaps.json": swaps, "crowd-walkoffs.json": walkoffs, "crowd-clock.json": clock_and_replays,
         "crowd-rush.json": rush, "crowd-evening.json": evening}


def main(directory: Path = SCENARIOS) -> None:
    for name, make in FILES.items():
        (directory / name).write_text(json.dumps(make(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
