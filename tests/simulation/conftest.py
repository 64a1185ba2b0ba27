"""Fixtures of the simulation's tests: the simulated kiosk rig (tests/loop/rig.py)."""

from __future__ import annotations

from tests.loop.rig import simulated

__all__ = ["simulated"]
