"""The command line's one way to read the kiosk's configuration, and to end a command early.

Every command that needs a configuration loads it here, once, and hands the `KioskConfig` to
the service functions it calls: they never read the file themselves (provisioning and the
maintenance diagnosis, whose job is to judge the files, are the exception).

An unusable file is reported here too, in one of the two forms the commands have always printed
(scripts and technicians read them, so their shape stays as it was); each problem is one line,
Chinese then English, with the file, line and key (`kiosk.config_problems`):

* listed — `FILE: 配置文件有误 / invalid configuration`, then one indented line per problem:
  `config check` and `run`, where the file itself is the subject and the technician fixes it
  line by line;
* one line — `FILE: problem; problem`: the tools whose subject is something else (a scenario,
  raw sensor words, the outbox, screenshots, a calibration), for which the file is an input.

`load_ready` adds what `kiosk run` needs beyond a valid file (`kiosk.service.readiness`).

Then `CommandFailed` carries the command's exit code to `kiosk.cli.parser.main`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.errors import ConfigError

if TYPE_CHECKING:  # pydantic loads when a command reads a configuration, not for `kiosk --help`
    from kiosk.config import KioskConfig

DEFAULT_CONFIG = "/etc/kiosk/kiosk.toml"  # where scripts/install and provisioning put it
INVALID = "配置文件有误 / invalid configuration"
NOT_READY = "设备无法按此配置运行 / the kiosk cannot run with this configuration"


class CommandFailed(Exception):
    """End the running command with `code`; what went wrong has already been printed.

    Control flow of the command line, not one of the kiosk's errors: hence not a `KioskError`.
    """

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def read_config(path: str | Path | None) -> KioskConfig:
    """The configuration in `path`, or the built-in defaults when there is none; `ConfigError` if unusable."""
    from kiosk.config import KioskConfig, load_config

    return load_config(path) if path else KioskConfig()


def report(error: ConfigError, *, listed: bool = False) -> None:
    """Print an unusable configuration (or scenario) on stderr, in one of the two forms above."""
    if not listed:
        print(f"{error.source}: " + "; ".join(error.problems), file=sys.stderr)
        return
    print(f"{error.source}: {INVALID}", file=sys.stderr)
    for problem in error.problems:
        print(f"  {problem}", file=sys.stderr)


def load_ready(path: str | Path, *, exit_code: int = 1, simulated: bool = False) -> KioskConfig:
    """The configuration in `path` if `kiosk run` can run with it; else every problem listed (and
    warnings) and `CommandFailed(exit_code)`.  Warnings alone are printed and the config returned."""
    from kiosk.service.readiness import judge_file

    verdict = judge_file(path, simulated=simulated)
    if verdict.config is None:
        print(f"{verdict.source}: {INVALID}", file=sys.stderr)
    elif verdict.problems:
        print(f"{verdict.source}: {NOT_READY}", file=sys.stderr)
    for problem in verdict.problems:
        print(f"  {problem.text()}", file=sys.stderr)
    for warning in verdict.warnings:
        print(f"  注意 / warning: {warning.text()}", file=sys.stderr)
    if not verdict.ok:
        raise CommandFailed(exit_code)
    assert verdict.config is not None
    return verdict.config


def load(path: str | Path | None, *, exit_code: int = 2, listed: bool = False) -> KioskConfig:
    """`read_config(path)`, or the problems printed (`report`) and `CommandFailed(exit_code)` raised."""
    try:
        return read_config(path)
    except ConfigError as exc:
        report(exc, listed=listed)
        raise CommandFailed(exit_code) from None
