"""Fixtures of the loop's tests: the simulated kiosk (tests/loop/rig.py)."""

from __future__ import annotations

from tests.loop.rig import simulated

__all__ = ["simulated"]
