"""`kiosk calibrate`: measure a reference at the marked spot and store the site's offset.

The measuring and the careful edit of the configuration file are `kiosk.service.calibration`;
this is the command around them: which sensor (the real one, or `--simulated` the emulated kiosk
with a reference it reads `--simulated-bias` °C off), what is printed (one JSON object), and the
exit codes: 0 stored (or measured, with `--dry-run`), 1 the sensor, the measurement or the store
failed (an implausible offset is refused), 2 the configuration, the reference or the sensor
backend cannot be used — including a configuration this user cannot write (`sudo`), which is
found out before anything is measured, not after.

`--simulated` measures the emulator, not this kiosk's sensor: its offset means nothing for the
real one, so it never writes unless `--write` is given too (tests, demos), and then with the real
date, never the simulation's.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kiosk.cli.loading import DEFAULT_CONFIG, load
from kiosk.service.calibration import READINGS, REFERENCE_MAX_C, REFERENCE_MIN_C

ADAFRUIT_NEEDS = "adafruit-blinka adafruit-circuitpython-mlx90640"


def _say(zh: str, en: str) -> None:
    print(f"kiosk calibrate: {zh} / {en}", file=sys.stderr)


def _open_sensor(config: Any, args: argparse.Namespace) -> tuple[Any, Any] | int:
    """(sensor, clock), or the exit code after saying why there is none."""
    from kiosk.errors import SensorError, StartupError
    from kiosk.service.calibration import simulated_reference

    try:
        if args.simulated:
            return simulated_reference(config, reference_c=args.reference, bias_c=args.simulated_bias,
                                       distance_m=args.distance, ambient_c=args.ambient, seed=args.seed)
        from kiosk.clock import RealClock
        from kiosk.service.app import build_sensor

        clock = RealClock()
        return build_sensor(config, clock), clock
    except StartupError:  # thermal.backend = "emulated" on a real kiosk
        _say("配置中 thermal.backend = \"emulated\" 是模拟器：请设为 \"smbus2\"，或用 --simulated 演示",
             "thermal.backend = \"emulated\" is the emulator: set \"smbus2\" in the configuration, "
             "or use --simulated for a demo")
        return 2
    except ImportError as exc:
        backend = config.thermal.backend
        needs = ADAFRUIT_NEEDS if backend == "adafruit" else "smbus2"
        _say(f"thermal.backend = \"{backend}\" 需要的库在本机无法加载（{exc.name}）：在树莓派上 pip install {needs}",
             f"thermal.backend = \"{backend}\" needs a library that cannot be loaded here ({exc.name}): "
             f"on the Pi, pip install {needs}")
        return 2
    except (SensorError, OSError, ValueError, RuntimeError) as exc:
        _say(f"无法打开热成像传感器（{exc}）", f"cannot open the thermal sensor: {exc}")
        return 1


def _exists(path: Path) -> bool:
    """Whether `path` is there; a path this user may not even look at counts as there (reading it says why)."""
    try:
        return path.exists()
    except OSError:
        return True


def _writable(path: Path) -> str | None:
    """Why the offset could not be stored in `path` (a new file beside it, then a rename), or None.

    Tried for real (a temporary file created and removed), so a read-only mount is found too.
    """
    import tempfile

    try:
        fd, tmp = tempfile.mkstemp(prefix=".kiosk-calibrate-", suffix=".probe", dir=path.parent)
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    os.close(fd)
    os.unlink(tmp)
    return None


def cmd_calibrate(args: argparse.Namespace) -> int:
    from kiosk.errors import ConfigError
    from kiosk.service.calibration import CalibrationError, measure_reference, store_offset

    if not REFERENCE_MIN_C <= args.reference <= REFERENCE_MAX_C:
        celsius = (args.reference - 32) * 5 / 9
        fahrenheit = REFERENCE_MIN_C <= celsius <= REFERENCE_MAX_C  # 98.6: a thermometer set to °F
        _say(f"参考温度 {args.reference} °C 不合理：应在 {REFERENCE_MIN_C}–{REFERENCE_MAX_C} °C 之间（黑体设定值，"
             "或参考体温计的读数）" + (f"；这是华氏度吗？{args.reference} °F = {celsius:.1f} °C" if fahrenheit else ""),
             f"a reference of {args.reference} °C is implausible: it must be {REFERENCE_MIN_C}–{REFERENCE_MAX_C} °C "
             "(the blackbody's setting, or the reference thermometer's reading)"
             + (f"; °F? {args.reference} °F is {celsius:.1f} °C: give --reference {celsius:.1f}" if fahrenheit else ""))
        return 2
    path = Path(args.config)
    config = load(path if _exists(path) or not args.simulated else None, exit_code=2)
    writes = not (args.dry_run or (args.simulated and not args.write))
    why = _writable(path) if writes else None
    if why is not None:
        _say(f"无法写入 {path.parent}（{why}），测量之前先说明：请用 sudo 运行，或加 --dry-run 只测量",
             f"cannot write into {path.parent} ({why}), said before measuring: run it with sudo, "
             "or add --dry-run to measure only")
        return 2
    opened = _open_sensor(config, args)
    if isinstance(opened, int):
        return opened
    sensor, clock = opened
    try:
        result = measure_reference(sensor, clock, config.thermal, args.reference, readings=args.readings)
    except CalibrationError as exc:
        _say(f"校准失败：{exc.zh}", f"calibration failed: {exc.en}")
        return 1
    finally:
        sensor.close()
    if args.dry_run or (args.simulated and not args.write):
        print(json.dumps({**result.to_dict(), "written": False}, ensure_ascii=False))
        return 0
    try:
        store_offset(path, result.offset_c, datetime.now(UTC))
    except CalibrationError as exc:
        _say(f"无法保存偏差到 {path}：{exc.zh}", f"cannot store the offset in {path}: {exc.en}")
        return 1
    except ConfigError as exc:  # the file as it is now (changed since it was read) would not validate
        _say(f"无法保存偏差到 {path}：配置文件有误", f"cannot store the offset in {path}: invalid configuration")
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        _say(f"无法保存偏差到 {path}（{reason}）", f"cannot store the offset in {path}: {reason}")
        return 1
    print(json.dumps({**result.to_dict(), "config": str(path), "written": True}, ensure_ascii=False))
    return 0


def _readings(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 3 <= value <= 50:
        raise argparse.ArgumentTypeError(f"take 3 to 50 readings, not {value}")
    return value


def _within(lo: float, hi: float) -> Any:
    """An argparse type: a number in [lo, hi] (NaN and infinities are not)."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"must be {lo} to {hi}, not {text}")
        return value

    return parse


def _temperature(text: str) -> float:
    """`--reference`: a number in °C; "36,9" (a decimal comma) is told how to write it."""
    try:
        return float(text)
    except ValueError:
        if re.fullmatch(r"\s*\d+,\d+\s*", text):
            raise argparse.ArgumentTypeError(f"{text!r}: 请用小数点 / write a decimal point: "
                                             f"--reference {text.strip().replace(',', '.')}") from None
        raise argparse.ArgumentTypeError(f"{text!r} is not a temperature in °C, e.g. 36.9") from None


def register(sub: Any) -> None:
    """Add `kiosk calibrate` to the `kiosk` command's subcommands."""
    cal = sub.add_parser("calibrate", help="measure a reference at the marked spot and store the offset")
    cal.add_argument("--reference", type=_temperature, required=True,
                     help=f"the reference's temperature, °C ({REFERENCE_MIN_C}–{REFERENCE_MAX_C}: the blackbody's "
                          "setting, or the reference thermometer's reading)")
    cal.add_argument("--config", default=DEFAULT_CONFIG, help="configuration file to update (its owner, group "
                     "and mode are kept)")
    cal.add_argument("--readings", type=_readings, default=READINGS, help=f"readings to take (default {READINGS})")
    cal.add_argument("--dry-run", action="store_true", help="measure and print, do not write the file")
    cal.add_argument("--simulated", action="store_true",
                     help="emulated sensor and reference (tests, demos); measures only, unless --write")
    cal.add_argument("--write", action="store_true",
                     help="with --simulated: write the emulator's offset into --config anyway (with today's date)")
    cal.add_argument("--simulated-bias", type=_within(-10.0, 10.0), default=0.0,
                     help="with --simulated: how far the emulated kiosk reads off, °C")
    cal.add_argument("--distance", type=_within(0.2, 2.0), default=0.5, help="with --simulated: reference distance, m")
    cal.add_argument("--ambient", type=_within(0.0, 40.0), default=24.0, help="with --simulated: room temperature, °C")
    cal.add_argument("--seed", type=int, default=0, help="with --simulated: emulator seed")
    cal.set_defaults(func=cmd_calibrate)
