"""`kiosk run`: the kiosk itself (what kiosk.service starts), or `--simulated` the demo on emulated hardware.

Without `--config` and `--simulated` it reads `/etc/kiosk/kiosk.toml`.  An unusable configuration
is listed problem by problem and exits 1, so systemd's start limit ends in the maintenance screen.

`--simulated --config FILE` honours FILE (`[uplink]`, `storage.data_dir`, the policy …) on emulated
hardware; without `--config` the demo keeps its data in a temporary folder and publishes nothing
(`kiosk.simulation.demo`).  It runs until Ctrl-C (or `--loops`), then exits 0; a data folder
another kiosk holds is refused with exit 1.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from kiosk.cli.loading import DEFAULT_CONFIG, load


def cmd_run(args: argparse.Namespace) -> int:
    path = args.config or (None if args.simulated else DEFAULT_CONFIG)
    config = load(path, exit_code=1, listed=True)
    if args.simulated:
        from kiosk.errors import StartupError
        from kiosk.simulation import run_demo

        try:
            return run_demo(config, headless=args.headless, loops=args.loops, honour_config=path is not None)
        except StartupError as exc:
            print(f"kiosk run --simulated: {exc}", file=sys.stderr)
            return 1
    from kiosk.service.app import run_kiosk

    return run_kiosk(config)


def register(sub: Any) -> None:
    """Add `kiosk run` to the `kiosk` command's subcommands."""
    run = sub.add_parser("run", help="run the kiosk")
    run.add_argument("--config", help=f"configuration file (default {DEFAULT_CONFIG} unless --simulated)")
    run.add_argument("--simulated", action="store_true", help="emulated hardware, built-in demo scenario (with "
                     "--config: that file's uplink and data folder; Ctrl-C to stop)")
    run.add_argument("--headless", action="store_true", help="no window (with --simulated)")
    run.add_argument("--loops", type=int, default=0, help="demo loops, 0 = forever (with --simulated)")
    run.set_defaults(func=cmd_run)
