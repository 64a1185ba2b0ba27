"""The rig every CLI test shares: `kiosk ARGS` run as a user runs it, a real subprocess."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

import pytest

from tests.paths import ROOT

#: A bare environment: what the command needs must come from its own install, not from the test run.
ENV = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "SDL_VIDEODRIVER": "dummy"}

KioskCli = Callable[..., "subprocess.CompletedProcess[str]"]


@pytest.fixture(scope="session")
def kiosk_cli() -> KioskCli:
    """`kiosk_cli(*args, stdin=None, timeout=300)`: `python -m kiosk.cli ARGS` in the checkout."""

    def run(*args: str, stdin: str | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "kiosk.cli", *args], input=stdin, capture_output=True,
                              text=True, cwd=ROOT, timeout=timeout, env=ENV)

    return run
