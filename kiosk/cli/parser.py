"""The `kiosk` command: its parser, and running the command chosen.

Each command family registers itself from its own module (`register(sub)`), and each imports the
heavy parts it needs only when it runs, so `kiosk code verify` does not pay for pygame and
`kiosk config check` works on a machine with no camera library at all.
Exit codes: 0 success, 1 a negative answer (invalid config, failed expectations), 2 usage.
"""

from __future__ import annotations

import argparse
import logging
import sys

from kiosk.cli import calibrate, code, config, field, outbox, run, screens, simulate, thermal, township
from kiosk.cli.loading import CommandFailed

# In the order `kiosk --help` lists them (as it always has).
FAMILIES = (config, code, thermal, simulate, outbox, calibrate, run, township, field, screens)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kiosk", description="Entry-checkpoint kiosk")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", required=True)
    for family in FAMILIES:
        family.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run `kiosk ARGV` and return its exit code.

    With `argv` None (the console script, `python -m kiosk.cli`) the command line is `sys.argv`, and
    `kiosk township …` replaces this process with the township program; with an explicit `argv` (a
    Python caller) it runs it as a child process and returns its exit status.
    """
    args = build_parser().parse_args(argv)
    args.replace_process = argv is None
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args))
    except CommandFailed as exc:
        return exc.code


if __name__ == "__main__":
    sys.exit(main())
