"""`kiosk township …`: hands over to the township's own program, `township`, in this same process.

The township server is not part of the kiosk.  A kiosk's install does not contain it
(`scripts/install`), and no kiosk module imports it (the import-linter contract "The kiosk never
imports the township server").  `kiosk township ARGS` is kept for those who know that spelling:
it replaces this process with `python -m township ARGS` (`os.execve`).  Same process id, so the
exit status, SIGTERM from systemd and Ctrl-C all reach the township program as if it had been
started directly, and nothing of the kiosk stays loaded beside it.  Its usage lines still say
`kiosk township` (`TOWNSHIP_PROG`).  Called from Python with an explicit argv
(`kiosk.cli.main(["township", …])`), it must not replace the caller's process: it runs the
township program as a child instead, and returns its exit status.

Where the township code is not installed, this says so and exits 2 (a usage error: the wrong
machine), without starting anything.  Missing township *dependencies* are reported the same way
by the township program itself.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
from typing import Any

PROG_ENV = "TOWNSHIP_PROG"  # read by township/__main__.py: the name its usage lines give the program
NOT_INSTALLED = ("kiosk township: the township server is not installed here (a kiosk's install leaves it out); "
                 "on the township's server: pip install '.[township]' from a full checkout, then run `township`")


def cmd_township(args: argparse.Namespace) -> int:
    if not sys.executable or importlib.util.find_spec("township") is None:
        print(NOT_INSTALLED, file=sys.stderr)
        return 2
    # -P: no current directory on sys.path (a `township/` lying there must not run in our place)
    argv = [sys.executable, "-P", "-m", "township", *(["-v"] if args.verbose else []), *args.args]
    env = {**os.environ, PROG_ENV: "kiosk township"}
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        if not args.replace_process:  # a Python caller: it goes on after the township program ends
            return subprocess.run(argv, env=env, check=False).returncode
        os.execve(sys.executable, argv, env)
    except OSError as exc:  # execve only returns when it failed
        print(f"kiosk township: cannot start {sys.executable} -m township: {exc}", file=sys.stderr)
    return 2


def register(sub: Any) -> None:
    """Add `kiosk township ARGS…` to the `kiosk` command's subcommands: everything after it is the township's."""
    township = sub.add_parser("township", help="the reference township consumer and tools", add_help=False,
                              prefix_chars="\0")  # no options of its own: `-h`, `--db` … all go to `township`
    township.add_argument("args", nargs=argparse.REMAINDER)
    township.set_defaults(func=cmd_township)
