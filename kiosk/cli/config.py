"""`kiosk config check FILE`: is this configuration one the kiosk would run with, and run right?

Exit 0 and one summary line when it is (warnings, if any, above it); 1 and every problem, one per
line with its line number and key, Chinese then English, when it is not (the listed form of
`kiosk.cli.loading.report`).  Beyond the file's own schema it checks what `kiosk run` needs
(`kiosk.service.readiness`): `[site]` set, the trust list named, present, readable and naming an
issuer, real hardware backends, TLS toward a broker on the network, the certificate files.  A file
it names in /etc/kiosk is also looked for beside FILE, so a technician can check the boot
partition's folder on a laptop.  `--simulated` checks a configuration for `kiosk run --simulated`
and `kiosk simulate`, which need only a valid file.
"""

from __future__ import annotations

import argparse
from typing import Any

from kiosk.cli.loading import load_ready


def cmd_config_check(args: argparse.Namespace) -> int:
    cfg = load_ready(args.file, exit_code=1, simulated=args.simulated)
    print(f"{args.file}: OK (site {cfg.site.township}/{cfg.site.site_id}/{cfg.site.kiosk_id}, "
          f"policy {cfg.policy.version}, mode {cfg.policy.mode.value})")
    return 0


def register(sub: Any) -> None:
    """Add `kiosk config check` to the `kiosk` command's subcommands."""
    config = sub.add_parser("config", help="configuration files").add_subparsers(dest="action", required=True)
    check = config.add_parser("check", help="validate a configuration file, and check what `kiosk run` needs")
    check.add_argument("file")
    check.add_argument("--simulated", action="store_true",
                       help="only the file itself: for `kiosk run --simulated` and `kiosk simulate`")
    check.set_defaults(func=cmd_config_check)
