"""`kiosk config check FILE`: is this configuration one the kiosk would start with?

Exit 0 and one summary line when it is; 1 and every problem, one per line with its line number,
when it is not (the listed form of `kiosk.cli.loading.report`).
"""

from __future__ import annotations

import argparse
from typing import Any

from kiosk.cli.loading import load


def cmd_config_check(args: argparse.Namespace) -> int:
    cfg = load(args.file, exit_code=1, listed=True)
    print(f"{args.file}: OK (site {cfg.site.township}/{cfg.site.site_id}/{cfg.site.kiosk_id}, "
          f"policy {cfg.policy.version}, mode {cfg.policy.mode.value})")
    return 0


def register(sub: Any) -> None:
    """Add `kiosk config check` to the `kiosk` command's subcommands."""
    config = sub.add_parser("config", help="configuration files").add_subparsers(dest="action", required=True)
    check = config.add_parser("check", help="validate a configuration file")
    check.add_argument("file")
    check.set_defaults(func=cmd_config_check)
