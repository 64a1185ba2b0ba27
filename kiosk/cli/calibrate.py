"""`kiosk calibrate`: measure a reference at the marked spot and store the site's offset.

The measuring and the careful edit of the configuration file are `kiosk.service.calibration`;
this is the command around them: which sensor (the real one, or `--simulated` the emulated kiosk
with a reference it reads `--simulated-bias` °C off), what is printed (one JSON object), and the
exit codes: 0 stored (or measured, with `--dry-run`), 1 the sensor, the measurement or the store
failed, 2 the configuration cannot be used.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kiosk.cli.loading import DEFAULT_CONFIG, load
from kiosk.service.calibration import READINGS


def cmd_calibrate(args: argparse.Namespace) -> int:
    from kiosk.errors import ConfigError, SensorError
    from kiosk.service.calibration import CalibrationError, measure_reference, simulated_reference, store_offset

    path = Path(args.config)
    config = load(path if path.exists() or not args.simulated else None, exit_code=2)
    try:
        if args.simulated:
            sensor, clock = simulated_reference(config, reference_c=args.reference, bias_c=args.simulated_bias,
                                                distance_m=args.distance, ambient_c=args.ambient, seed=args.seed)
        else:
            from kiosk.clock import RealClock
            from kiosk.service.app import build_sensor

            clock = RealClock()
            sensor = build_sensor(config, clock)
    except (SensorError, OSError, ValueError) as exc:
        print(f"cannot open the thermal sensor: {exc}", file=sys.stderr)
        return 1
    try:
        result = measure_reference(sensor, clock, config.thermal, args.reference, readings=args.readings)
    except CalibrationError as exc:
        print(f"calibration failed: {exc}", file=sys.stderr)
        return 1
    finally:
        sensor.close()
    if args.dry_run:
        print(json.dumps(result.to_dict(), ensure_ascii=False))
        return 0
    try:
        store_offset(path, result.offset_c, datetime.fromtimestamp(clock.wall(), UTC)
                     if args.simulated else datetime.now(UTC))
    except (OSError, ConfigError) as exc:
        print(f"cannot store the offset in {path}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({**result.to_dict(), "config": str(path)}, ensure_ascii=False))
    return 0


def register(sub: Any) -> None:
    """Add `kiosk calibrate` to the `kiosk` command's subcommands."""
    cal = sub.add_parser("calibrate", help="measure a reference at the marked spot and store the offset")
    cal.add_argument("--reference", type=float, required=True,
                     help="the reference's temperature, °C (blackbody setting, or the reference thermometer)")
    cal.add_argument("--config", default=DEFAULT_CONFIG, help="configuration file to update")
    cal.add_argument("--readings", type=int, default=READINGS, help=f"readings to take (default {READINGS})")
    cal.add_argument("--dry-run", action="store_true", help="measure and print, do not write the file")
    cal.add_argument("--simulated", action="store_true", help="emulated sensor and reference (for tests, demos)")
    cal.add_argument("--simulated-bias", type=float, default=0.0,
                     help="with --simulated: how far the emulated kiosk reads off, °C")
    cal.add_argument("--distance", type=float, default=0.5, help="with --simulated: reference distance, m")
    cal.add_argument("--ambient", type=float, default=24.0, help="with --simulated: room temperature, °C")
    cal.add_argument("--seed", type=int, default=0, help="with --simulated: emulator seed")
    cal.set_defaults(func=cmd_calibrate)
