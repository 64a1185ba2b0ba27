"""Decision latency on cooperative visitors: this kiosk beside the kiosk of another git revision.

    .venv/bin/python bench/decision_latency.py [--baseline main] [SCENARIO ...]

Plays every scenario of tests/scenarios/ (versions 1 and 2; or the files named) headless through
the whole pipeline (`kiosk.simulation.simulate`) and prints, over *cooperative* visitors, the
PASS latency p50/p99 and the fever-STOP p99 (`latency_s`: from the moment the code is fully in
view and the visitor in range to the decision shown).  A visitor is cooperative when they show a
code the simulator signs on arrival and nothing else: not `eager`, no `leaves_after_s`, no
`code_after_s`, no `same_as` or raw text, no companion, no unplugged sensor, no cold arrival.
Percentiles are nearest-rank.

The same is measured, in a subprocess, on the code of `--baseline` (a git revision exported with
`git archive` into a temporary directory; the repository is not touched), over the files that
revision can read (version 2 files are refused by a kiosk that predates them): both are printed,
and the version-1 files, which both read, side by side.  `--baseline ""` skips it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "tests" / "scenarios"


def _cooperative(visitor: dict) -> bool:
    code = visitor.get("code")
    return (isinstance(code, dict) and "colour" in code and not visitor.get("eager")
            and visitor.get("leaves_after_s") is None and not visitor.get("code_after_s")
            and not visitor.get("companion") and visitor.get("sensor") is None
            and visitor.get("arrive_cold_c") is None)


def measure(paths: list[Path]) -> dict:
    """{file: [{visitor, decision, reasons, latency_s, cooperative, version}]} with this checkout's kiosk."""
    from kiosk.errors import ConfigError
    from kiosk.simulation import load_scenario, simulate

    out: dict[str, list] = {}
    for path in paths:
        raw = json.loads(path.read_text(encoding="utf-8"))
        try:
            scenario = load_scenario(path)
        except ConfigError:
            continue  # a format this revision cannot read
        byid = {v["id"]: v for v in raw["visitors"]}
        result = simulate(scenario)
        out[path.name] = [{"visitor": r.visitor, "decision": r.decision, "reasons": list(r.reasons),
                           "latency_s": r.latency_s, "cooperative": _cooperative(byid[r.visitor]),
                           "version": raw.get("version", 1)} for r in result.records]
    return out


def _rank(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def summary(runs: dict, files: set[str] | None = None) -> dict:
    rows = [r for name, rs in runs.items() if files is None or name in files for r in rs if r["cooperative"]]
    passed = [r["latency_s"] for r in rows if r["decision"] == "PASS" and r["latency_s"] is not None]
    fever = [r["latency_s"] for r in rows if r["decision"] == "STOP" and "fever" in r["reasons"]
             and r["latency_s"] is not None]
    return {"files": len([n for n in runs if files is None or n in files]), "pass_n": len(passed),
            "pass_p50": _rank(passed, 0.5), "pass_p99": _rank(passed, 0.99), "pass_max": max(passed, default=None),
            "fever_n": len(fever), "fever_p99": _rank(fever, 0.99)}


def _fmt(s: dict) -> str:
    def f(x: float | None) -> str:
        return "  -  " if x is None else f"{x:5.2f}"
    return (f"{s['files']:3d} files  PASS n={s['pass_n']:3d} p50 {f(s['pass_p50'])} s  p99 {f(s['pass_p99'])} s  "
            f"max {f(s['pass_max'])} s   fever STOP n={s['fever_n']:2d} p99 {f(s['fever_p99'])} s")


def baseline(revision: str, paths: list[Path]) -> dict | None:
    """`measure` run on the code of `revision`, exported (read-only) into a temporary directory."""
    with tempfile.TemporaryDirectory(prefix="latency-baseline-") as tmp:
        archive = Path(tmp) / "src.tar"
        try:
            subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", "-o", str(archive), revision,
                            "kiosk", "drivers"], check=True, capture_output=True)
        except (OSError, subprocess.CalledProcessError) as exc:
            print(f"baseline {revision!r} not measured: {exc}", file=sys.stderr)
            return None
        with tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="data")
        env = {**os.environ, "PYTHONPATH": tmp}
        done = subprocess.run([sys.executable, __file__, "--measure", *map(str, paths)], env=env, cwd=tmp,
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            print(f"baseline {revision!r} failed:\n{done.stderr[-2000:]}", file=sys.stderr)
            return None
        return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="*", type=Path)
    parser.add_argument("--baseline", default="main", help="git revision to compare with ('' for none)")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)  # the subprocess's mode
    args = parser.parse_args()
    paths = args.scenarios or sorted(SCENARIOS.glob("*.json"))
    if args.measure:
        import logging

        logging.disable(logging.WARNING)
        print(json.dumps(measure(paths)))
        return 0
    sys.path.insert(0, str(ROOT))
    import logging

    logging.disable(logging.WARNING)
    now = measure(paths)
    v1 = {name for name, rows in now.items() if rows and rows[0]["version"] == 1}
    print("cooperative visitors: a code on arrival, and nothing else (see the module's doc)")
    print(f"this kiosk, all:   {_fmt(summary(now))}")
    print(f"this kiosk, v1:    {_fmt(summary(now, v1))}")
    print(f"this kiosk, v2:    {_fmt(summary(now, set(now) - v1))}")
    if args.baseline:
        before = baseline(args.baseline, paths)
        if before is not None:
            print(f"{args.baseline}, all it reads: {_fmt(summary(before))}")
            print(f"{args.baseline}, v1:    {_fmt(summary(before, v1))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
