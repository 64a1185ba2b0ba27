"""`kiosk run`: the kiosk itself (what kiosk.service starts), or `--simulated` the demo on emulated hardware.

Without `--config` and `--simulated` it reads `/etc/kiosk/kiosk.toml`.  A configuration the kiosk
cannot run with — invalid, or missing what `kiosk run` needs (`kiosk config check` says the
same) — is listed problem by problem and exits 1, so systemd's start limit ends in the
maintenance screen.  A driver library the configuration needs but this machine lacks is one
clear line and exit 1 too.

`--simulated --config FILE` honours FILE (`[uplink]`, `storage.data_dir`, the policy …) on emulated
hardware; without `--config` the demo keeps its data in a temporary folder and publishes nothing
(`kiosk.simulation.demo`).  It runs until Ctrl-C (or `--loops`), then exits 0; a data folder
another kiosk holds is refused with exit 1.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from kiosk.cli.loading import DEFAULT_CONFIG, load, load_ready


def loops(text: str) -> int:
    """`--loops`: a whole number, 0 or more (0 = forever)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 (forever) or more, not {value}")
    return value


def cmd_run(args: argparse.Namespace) -> int:
    if args.simulated:
        config = load(args.config, exit_code=1, listed=True)
        from kiosk.errors import StartupError
        from kiosk.simulation import run_demo

        try:
            return run_demo(config, headless=args.headless, loops=args.loops, honour_config=args.config is not None)
        except StartupError as exc:
            print(f"kiosk run --simulated: {exc}", file=sys.stderr)
            return 1
    config = load_ready(args.config or DEFAULT_CONFIG, exit_code=1)
    from kiosk.service.app import run_kiosk

    try:
        return run_kiosk(config)
    except ImportError as exc:  # e.g. thermal.backend = "adafruit" without Blinka installed
        print(f"kiosk run: 缺少所需的库 {exc.name or exc} / a library the configuration needs is not installed: "
              f"{exc.name or exc}", file=sys.stderr)
        return 1


def register(sub: Any) -> None:
    """Add `kiosk run` to the `kiosk` command's subcommands."""
    run = sub.add_parser("run", help="run the kiosk")
    run.add_argument("--config", help=f"configuration file (default {DEFAULT_CONFIG} unless --simulated)")
    run.add_argument("--simulated", action="store_true", help="emulated hardware, built-in demo scenario (with "
                     "--config: that file's uplink and data folder; Ctrl-C to stop)")
    run.add_argument("--headless", action="store_true", help="no window (with --simulated)")
    run.add_argument("--loops", type=loops, default=0, help="demo loops, 0 = forever (with --simulated)")
    run.set_defaults(func=cmd_run)
