"""`kiosk simulate SCENARIO`: play a visitor scenario through the real pipeline, one JSON line per visitor.

The scenario format is `shared/scenarios/SPEC.md`.  Exit 0 when every visitor was decided as the
scenario expects (and, with `--broker`, the whole feed was delivered: the broker took it, and the
township receipted it unless it sends no receipts), 1 otherwise, 2 when the scenario, the
configuration, `--broker` or `--data` cannot be used.

`--data DIR` keeps every piece of the kiosk's state in DIR (its outbox above all): a later run
with the same DIR first hands the broker what was left pending (a killed run's events), then
plays its scenario from where the kiosk's clock stopped (`kiosk.simulation.runner`); days are
reported once over.  Without it, a temporary folder, removed at the end (the run's days are all
reported at its end).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from kiosk.cli.loading import load, report


def cmd_simulate(args: argparse.Namespace) -> int:
    from kiosk.errors import ConfigError, StartupError
    from kiosk.simulation.runner import simulate
    from kiosk.simulation.scenario import load_scenario

    if args.out and (Path(args.out).is_dir() or not Path(args.out).resolve().parent.is_dir()):
        print(f"kiosk simulate: 无法写入 {args.out}（文件夹不存在，或它本身是文件夹）/ cannot write {args.out}: "
              "its directory does not exist, or it is one", file=sys.stderr)
        return 2
    try:
        scenario = load_scenario(args.scenario)
    except ConfigError as exc:
        report(exc)
        return 2
    config = load(args.config, exit_code=2)
    started = time.perf_counter()
    try:
        result = simulate(scenario, config, backend=args.backend, headless=args.headless, broker=args.broker,
                          drain_timeout_s=args.drain_timeout, data_dir=args.data, resume=args.data is not None)
    except ConfigError as exc:  # the scenario's site policy, judged by the kiosk's configuration rules
        report(ConfigError(args.scenario, exc.problems))
        return 2
    except (ValueError, StartupError) as exc:  # a malformed --broker, an unusable --data
        print(str(exc), file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - started
    lines = [r.to_dict() for r in result.records]
    if args.out:
        try:
            with open(args.out, "w", encoding="utf-8") as out:
                for line in lines:
                    out.write(json.dumps(line, ensure_ascii=False) + "\n")
        except OSError as exc:
            print(f"kiosk simulate: 无法写入 {args.out}（{exc.strerror}）/ cannot write {args.out}: {exc.strerror}",
                  file=sys.stderr)
            return 2
    else:
        for line in lines:
            sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
    failures = result.mismatches()
    as_expected = len(lines) - (len(failures) - (1 if result.undecided else 0))
    print(f"{scenario.name or args.scenario}: {len(lines) + len(result.undecided)} visitors, {as_expected} as "
          f"expected, {result.simulated_s:.0f} s simulated in {elapsed:.1f} s", file=sys.stderr)
    if args.data:
        played = datetime.fromtimestamp(result.start, ZoneInfo(config.uplink.timezone)).isoformat()
        print(f"data: {args.data} (played from {played})", file=sys.stderr)
    if result.feed is not None:
        print("feed: " + ", ".join(f"{k} {v}" for k, v in result.feed.items()), file=sys.stderr)
        if result.feed["unreceipted"] and result.feed["receipts"] != "present":
            kept = f"kept in {args.data}" if args.data else "in a temporary folder (use --data to keep them)"
            print(f"feed: no receipt from the township (it sends none, or is away): {result.feed['unreceipted']} "
                  f"events the broker took are {kept} until one comes", file=sys.stderr)
    for failure in failures:
        print(f"  MISMATCH {failure}", file=sys.stderr)
    if result.feed is not None and (result.feed["pending"] or
                                    (result.feed["unreceipted"] and result.feed["receipts"] == "present")):
        return 1  # the broker (or the township, which receipts) did not take the whole feed within --drain-timeout
    return 1 if failures else 0


def register(sub: Any) -> None:
    """Add `kiosk simulate` to the `kiosk` command's subcommands."""
    sim = sub.add_parser("simulate", help="play a visitor scenario through the real pipeline")
    sim.add_argument("scenario")
    sim.add_argument("--headless", action="store_true", help="no window; virtual time, as fast as possible")
    sim.add_argument("--out", help="write one JSON line per visitor here (default: stdout)")
    sim.add_argument("--config", help="kiosk configuration to start from (default: built-in defaults)")
    sim.add_argument("--backend", choices=("native", "adafruit"), default="native",
                     help="thermal driver reading the emulated registers")
    sim.add_argument("--broker", help="publish the run's whole feed to mqtt://HOST:PORT (outbox and uplink)")
    sim.add_argument("--drain-timeout", type=float, default=30.0, help="with --broker: seconds to wait at the end "
                     "for the outbox to empty (default 30)")
    sim.add_argument("--data", metavar="DIR", help="keep the kiosk's state (outbox …) in DIR; a later run with the "
                     "same DIR first delivers what was left pending (default: a temporary folder)")
    sim.set_defaults(func=cmd_simulate)
