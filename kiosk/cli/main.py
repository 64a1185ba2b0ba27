"""The `kiosk` command.

Each subcommand imports what it needs when it runs, so `kiosk code verify` does not pay for
pygame and `kiosk config check` works on a machine with no camera library at all.
Exit codes: 0 success, 1 a negative answer (invalid config, failed expectations), 2 usage.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

DEFAULT_CONFIG = "/etc/kiosk/kiosk.toml"


def _print_json(obj: object) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")


# ------------------------------------------------------------------------------------ config
def cmd_config_check(args: argparse.Namespace) -> int:
    from kiosk.config import load_config
    from kiosk.errors import ConfigError

    try:
        cfg = load_config(args.file)
    except ConfigError as exc:
        print(f"{exc.source}: invalid configuration", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    print(f"{args.file}: OK (site {cfg.site.township}/{cfg.site.site_id}/{cfg.site.kiosk_id}, "
          f"policy {cfg.policy.version}, mode {cfg.policy.mode.value})")
    return 0


# ------------------------------------------------------------------------------------ thermal
def cmd_thermal_convert(args: argparse.Namespace) -> int:
    import math

    from drivers.mlx90640.calibration import convert_words
    from kiosk.config import KioskConfig, load_config
    from kiosk.errors import ConfigError

    try:
        config = load_config(args.config) if args.config else KioskConfig()
        eeprom = json.loads(Path(args.eeprom).read_text())
        frame = json.loads(Path(args.frame).read_text())
        ram, control, subpage = frame["ram"], int(frame["control"]), int(frame["subpage"])
    except ConfigError as exc:
        print(f"{exc.source}: " + "; ".join(exc.problems), file=sys.stderr)
        return 2
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"cannot read the words: {exc}", file=sys.stderr)
        return 2
    if len(eeprom) != 832 or len(ram) != 832 or subpage not in (0, 1):
        print("expected 832 EEPROM words, 832 RAM words and subpage 0 or 1", file=sys.stderr)
        return 2
    emissivity = args.emissivity if args.emissivity is not None else config.thermal.emissivity
    try:
        conversion = convert_words(eeprom, ram, control, subpage, emissivity=emissivity, tr=args.tr)
    except (ValueError, OSError) as exc:  # a corrupt EEPROM is a clear fault
        print(f"cannot convert: {exc}", file=sys.stderr)
        return 1
    values = [None if not math.isfinite(v) else round(float(v), 4) for v in conversion.pixels.ravel()]
    _print_json(values)
    return 0


# ------------------------------------------------------------------------------------ simulate
def cmd_simulate(args: argparse.Namespace) -> int:
    from kiosk.config import KioskConfig, load_config
    from kiosk.errors import ConfigError
    from kiosk.simulation.runner import simulate
    from kiosk.simulation.scenario import load_scenario

    try:
        scenario = load_scenario(args.scenario)
        config = load_config(args.config) if args.config else KioskConfig()
    except ConfigError as exc:
        print(f"{exc.source}: " + "; ".join(exc.problems), file=sys.stderr)
        return 2
    started = time.perf_counter()
    try:
        result = simulate(scenario, config, backend=args.backend, headless=args.headless, broker=args.broker,
                          drain_timeout_s=args.drain_timeout)
    except ValueError as exc:  # a malformed --broker
        print(str(exc), file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - started
    lines = [r.to_dict() for r in result.records]
    if args.out:
        with open(args.out, "w", encoding="utf-8") as out:
            for line in lines:
                out.write(json.dumps(line, ensure_ascii=False) + "\n")
    else:
        for line in lines:
            _print_json(line)
    failures = result.mismatches()
    print(f"{scenario.name or args.scenario}: {len(lines)} visitors, {len(lines) - len(failures)} as expected, "
          f"{result.simulated_s:.0f} s simulated in {elapsed:.1f} s", file=sys.stderr)
    if result.feed is not None:
        print("feed: " + ", ".join(f"{k} {v}" for k, v in result.feed.items()), file=sys.stderr)
    for failure in failures:
        print(f"  MISMATCH {failure}", file=sys.stderr)
    if result.feed is not None and result.feed["pending"]:
        return 1  # the broker did not take the whole feed within --drain-timeout
    return 1 if failures else 0


# ------------------------------------------------------------------------------------ run
def cmd_run(args: argparse.Namespace) -> int:
    from kiosk.config import KioskConfig, load_config
    from kiosk.errors import ConfigError

    try:
        config = load_config(args.config) if args.config else KioskConfig()
    except ConfigError as exc:
        print(f"{exc.source}: invalid configuration", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    if args.simulated:
        from kiosk.simulation.runner import run_demo

        return run_demo(config, headless=args.headless, loops=args.loops)
    from kiosk.service.app import run_kiosk

    return run_kiosk(config)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kiosk", description="Entry-checkpoint kiosk")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", required=True)

    config = sub.add_parser("config", help="configuration files").add_subparsers(dest="action", required=True)
    check = config.add_parser("check", help="validate a configuration file")
    check.add_argument("file")
    check.set_defaults(func=cmd_config_check)

    code = sub.add_parser("code", help="health codes").add_subparsers(dest="action", required=True)
    from kiosk.cli import code as cli_code

    cli_code.add_parser(code)  # `kiosk code verify`: one code or a batch (kiosk/cli/code.py)

    thermal = sub.add_parser("thermal", help="the thermal array").add_subparsers(dest="action", required=True)
    convert = thermal.add_parser("convert", help="raw MLX90640 words to temperatures (JSON list of 768, °C)")
    convert.add_argument("--eeprom", required=True, help="JSON list of the 832 words at 0x2400")
    convert.add_argument("--frame", required=True,
                         help='JSON {"ram": [832 words at 0x0400], "control": <0x800D>, "subpage": 0|1}')
    convert.add_argument("--emissivity", type=float, help="default: thermal.emissivity of the configuration")
    convert.add_argument("--tr", type=float, help="reflected temperature, °C (default: Ta - 8)")
    convert.add_argument("--config", help="configuration to take the emissivity from")
    convert.set_defaults(func=cmd_thermal_convert)

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
    sim.set_defaults(func=cmd_simulate)

    from kiosk.cli.outbox import register as register_outbox

    register_outbox(sub)

    from kiosk.service.calibration import add_parser as add_calibrate

    add_calibrate(sub)

    run = sub.add_parser("run", help="run the kiosk")
    run.add_argument("--config", help=f"configuration file (default {DEFAULT_CONFIG} unless --simulated)")
    run.add_argument("--simulated", action="store_true", help="emulated hardware, built-in demo scenario")
    run.add_argument("--headless", action="store_true", help="no window (with --simulated)")
    run.add_argument("--loops", type=int, default=0, help="demo loops, 0 = forever (with --simulated)")
    run.set_defaults(func=cmd_run)

    from township.cli import register as register_township

    register_township(sub)

    from kiosk.cli.field import register as register_field

    register_field(sub)

    from kiosk.cli.screens import add_parser as register_screens

    register_screens(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.command == "run" and not args.simulated and not args.config:
        args.config = DEFAULT_CONFIG
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
