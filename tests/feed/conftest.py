"""Fixtures of the feed's tests: the simulated kiosk (tests/loop/rig.py) and the township's configuration
signing key.  The real-broker fixtures (`broker`, `make_broker`, `subscribe`) come to every test from
`tests.mosquitto`, a plugin of the root conftest."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.loop.rig import simulated

__all__ = ["key", "simulated"]


@pytest.fixture
def key() -> Ed25519PrivateKey:
    """The township's configuration signing key (a new one per test)."""
    return Ed25519PrivateKey.generate()
