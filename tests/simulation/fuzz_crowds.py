"""Random version-2 crowds, played through the whole kiosk, checked against what must always hold.

    .venv/bin/python -m tests.simulation.fuzz_crowds FIRST [LAST] [--far 0.3] [--keep DIR]

Each seed makes a scenario of 24 visitors (eager step-ins, phones raised late, walk-offs, copied
codes, passers-by, a wall clock hours off that later steps; a share `--far` of them stand
0.95–1.2 m away and are asked to step closer) and plays it headless.  The expected decisions of a
random crowd are not known, so what is checked is what must hold for everybody:

* no PASS with a fever, with a code that is not green, or on a copy of a code that passed;
* every reported temperature is the visitor's own (within 0.6 °C);
* a febrile visitor stopped with a temperature is stopped for `fever`;
* nobody who did not walk off is left undecided.

One line per seed (`ok`, or `BAD` and what broke); exit 1 if any seed broke.  `--keep DIR` writes the
scenarios there (replay one with `kiosk simulate DIR/fuzz-SEED.json --headless`).  Not collected by
pytest (it takes about ten seconds a seed): run it after changing tracking or the checkpoint.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import sys
import tempfile
from pathlib import Path


def scenario(seed: int, far: float) -> dict:
    r = random.Random(seed)
    visitors: list[dict] = []
    t = 0.0
    for i in range(24):
        t += r.choice([0.5, 1.0, 2.0, 4.0, 8.0, 15.0])
        fever = r.random() < 0.25
        v: dict = {"id": f"v{i:02d}", "arrive_s": round(t, 1),
                   "forehead_c": round(r.uniform(38.0, 39.6) if fever else r.uniform(35.9, 36.9), 1),
                   "distance_m": round(r.uniform(0.95, 1.2) if r.random() < far else r.uniform(0.3, 0.8), 2)}
        kind = r.random()
        if kind < 0.55:
            v["code"] = {"colour": "G", "trip": ["430626"], "nat_h": 10}
        elif kind < 0.65:
            v["code"] = {"colour": r.choice(["Y", "R"])}
        elif kind < 0.75:
            v["code"] = None
        elif kind < 0.85 and i > 0:
            v["code"] = {"same_as": f"v{r.randrange(i):02d}"}
        else:
            v["code"] = {"colour": "G"}
        if r.random() < 0.4:
            v["eager"] = True
        if r.random() < 0.2:
            v["code_after_s"] = round(r.uniform(0.5, 6), 1)
        if r.random() < 0.15:
            v["leaves_after_s"] = round(r.uniform(0.3, 8), 1)
        v["expect"] = {"decision": "PASS", "reasons": []}  # unknown for a random crowd: not compared
        visitors.append(v)
    ids = {v["id"]: v for v in visitors}
    for v in visitors:  # a copy of a visitor who showed no code, or a copy of a copy: a plain green code
        c = v.get("code")
        if isinstance(c, dict) and "same_as" in c and not isinstance(ids[c["same_as"]].get("code"), dict):
            v["code"] = {"colour": "G"}
        if isinstance(c, dict) and "same_as" in c and "same_as" in (ids[c["same_as"]].get("code") or {}):
            v["code"] = {"colour": "G"}
    site: dict = {"ambient_c": round(r.uniform(18, 29), 1), "mode": "risk-areas", "risk_areas": ["440104"],
                  "queue_m": round(r.uniform(1.2, 2.5), 2),
                  "passers": [{"at_s": round(r.uniform(0, t), 1), "distance_m": round(r.uniform(1.8, 3.0), 1),
                               "forehead_c": 36.5, "direction": r.choice(["left", "right"]),
                               "speed_m_s": round(r.uniform(0.8, 1.6), 1)} for _ in range(r.randrange(0, 6))]}
    if r.random() < 0.3:
        site["clock"] = {"offset_s": -10800, "sync_at_s": round(r.uniform(5, t), 1)}
    return {"name": f"fuzz {seed}", "version": 2, "start": 1764050000, "site": site, "visitors": visitors}


def broken(raw: dict, lines: list[dict]) -> list[str]:
    """What must hold for everybody, and does not."""
    vis = {v["id"]: v for v in raw["visitors"]}
    out = {line["visitor"]: line for line in lines}
    bad = []
    for line in lines:
        v = vis[line["visitor"]]
        c, t = v.get("code"), line["temperature_c"]
        if t is not None and abs(t - v["forehead_c"]) > 0.6:
            bad.append(f"{line['visitor']} reported {t} °C, own {v['forehead_c']}")
        if line["decision"] == "PASS":
            if v["forehead_c"] >= 37.3:
                bad.append(f"{line['visitor']} PASS with a fever of {v['forehead_c']}")
            if isinstance(c, dict) and "same_as" in c:
                if out.get(c["same_as"], {}).get("decision") == "PASS":
                    bad.append(f"{line['visitor']} PASS on {c['same_as']}'s passed code")
                if (vis[c["same_as"]].get("code") or {}).get("colour") != "G":
                    bad.append(f"{line['visitor']} PASS on a copied code that is not green")
            elif not (isinstance(c, dict) and c.get("colour") == "G"):
                bad.append(f"{line['visitor']} PASS with code {c}")
            if t is None:
                bad.append(f"{line['visitor']} PASS without a temperature")
        if v["forehead_c"] >= 38.0 and line["decision"] == "STOP" and "fever" not in line["reasons"] and t is not None:
            bad.append(f"{line['visitor']} febrile, stopped without `fever`: {line['reasons']} at {t}")
        if line["decision"] in (None, "LEFT") and v.get("leaves_after_s") is None:
            bad.append(f"{line['visitor']} left undecided")
    return bad


def main(argv: list[str] | None = None) -> int:
    from kiosk.simulation import load_scenario, simulate

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("first", type=int)
    ap.add_argument("last", type=int, nargs="?")
    ap.add_argument("--far", type=float, default=0.3, help="share of visitors standing 0.95-1.2 m away")
    ap.add_argument("--keep", type=Path, help="write the scenarios here")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    folder = args.keep or Path(tempfile.mkdtemp(prefix="fuzz-crowds-"))
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        ap.error(f"--keep {folder}: cannot write there ({exc.strerror})")
    failed = 0
    for seed in range(args.first, (args.last if args.last is not None else args.first) + 1):
        raw = scenario(seed, args.far)
        path = folder / f"fuzz-{seed}.json"
        path.write_text(json.dumps(raw), encoding="utf-8")
        lines = [r.to_dict() for r in simulate(load_scenario(path)).records]
        bad = broken(raw, lines)
        failed += bool(bad)
        print(seed, "BAD" if bad else "ok", len(lines), "; ".join(bad[:5]), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
