"""The `kiosk` command line."""

from kiosk.cli.main import main

__all__ = ["main"]
