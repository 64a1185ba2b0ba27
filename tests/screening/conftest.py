"""Fixtures of the screening's tests: a screener with the default thermal configuration."""

from __future__ import annotations

import pytest

from kiosk.config import ThermalConfig
from kiosk.screening import Screening


@pytest.fixture
def screening() -> Screening:
    """A `Screening` of the default `ThermalConfig`, four frames per reading, nothing seen yet."""
    return Screening(ThermalConfig())
