"""Fixtures of the checkpoint's tests: the time-line rig (tests/checkpoint/rig.py), and the whole kiosk on
emulated hardware (`simulated`, tests/loop/rig.py) for the rules that need the real pipeline."""

from __future__ import annotations

import pytest

from tests.checkpoint.rig import Rig
from tests.loop.rig import simulated

__all__ = ["rig", "simulated"]


@pytest.fixture
def rig() -> Rig:
    """A checkpoint with default policy and configuration on a time line starting at t = 100 s."""
    return Rig()
