"""Fixtures of the feed's tests: real brokers (tests/mosquitto.py), the simulated kiosk (tests/loop/rig.py),
and the township's configuration signing key."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.loop.rig import simulated
from tests.mosquitto import broker, make_broker, subscribe

__all__ = ["broker", "key", "make_broker", "simulated", "subscribe"]


@pytest.fixture
def key() -> Ed25519PrivateKey:
    """The township's configuration signing key (a new one per test)."""
    return Ed25519PrivateKey.generate()
