"""`kiosk thermal convert`: raw MLX90640 words (an EEPROM and one frame's RAM) to °C, offline.

For a technician with a dump from a misbehaving sensor, or anyone checking the conversion against
another implementation: the same maths as the driver, no device.  Prints a JSON list of 768
temperatures (null where the subpage has no value).  Exit 1 when the words cannot be converted
(a corrupt EEPROM), 2 when they cannot be read.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from kiosk.cli.loading import load


def cmd_thermal_convert(args: argparse.Namespace) -> int:
    from drivers.mlx90640 import convert_words

    config = load(args.config, exit_code=2)
    try:
        eeprom = json.loads(Path(args.eeprom).read_text(encoding="utf-8"))
        frame = json.loads(Path(args.frame).read_text(encoding="utf-8"))
        ram, control, subpage = frame["ram"], int(frame["control"]), int(frame["subpage"])
    except UnicodeDecodeError:
        print("cannot read the words: not UTF-8 JSON (save the files as UTF-8)", file=sys.stderr)
        return 2
    except (OSError, ValueError, KeyError, TypeError, RecursionError) as exc:
        print(f"cannot read the words: {exc}", file=sys.stderr)
        return 2
    if not (_words(eeprom) and _words(ram) and 0 <= control <= 0xFFFF) or subpage not in (0, 1):
        print("expected 832 EEPROM words, 832 RAM words (integers 0..65535), a control word and subpage 0 or 1",
              file=sys.stderr)
        return 2
    emissivity = args.emissivity if args.emissivity is not None else config.thermal.emissivity
    if not 0.1 <= emissivity <= 1.0:
        print(f"--emissivity must be 0.1 to 1.0, not {emissivity}", file=sys.stderr)
        return 2
    try:
        conversion = convert_words(eeprom, ram, control, subpage, emissivity=emissivity, tr=args.tr)
    except (ValueError, OSError, ArithmeticError) as exc:  # a corrupt EEPROM is a clear fault
        print(f"cannot convert: {exc}", file=sys.stderr)
        return 1
    values = [None if not math.isfinite(v) else round(float(v), 4) for v in conversion.pixels.ravel()]
    sys.stdout.write(json.dumps(values, ensure_ascii=False) + "\n")
    return 0


def _words(value: Any) -> bool:
    """832 integers that fit a 16-bit register (JSON numbers, not booleans)."""
    return isinstance(value, list) and len(value) == 832 and all(
        isinstance(w, int) and not isinstance(w, bool) and 0 <= w <= 0xFFFF for w in value)


def register(sub: Any) -> None:
    """Add `kiosk thermal convert` to the `kiosk` command's subcommands."""
    thermal = sub.add_parser("thermal", help="the thermal array").add_subparsers(dest="action", required=True)
    convert = thermal.add_parser("convert", help="raw MLX90640 words to temperatures (JSON list of 768, °C)")
    convert.add_argument("--eeprom", required=True, help="JSON list of the 832 words at 0x2400")
    convert.add_argument("--frame", required=True,
                         help='JSON {"ram": [832 words at 0x0400], "control": <0x800D>, "subpage": 0|1}')
    convert.add_argument("--emissivity", type=float, help="default: thermal.emissivity of the configuration")
    convert.add_argument("--tr", type=float, help="reflected temperature, °C (default: Ta - 8)")
    convert.add_argument("--config", help="configuration to take the emissivity from")
    convert.set_defaults(func=cmd_thermal_convert)
