"""Fixtures of the service's tests: a fresh PKI (tests/service/rig.py)."""

from __future__ import annotations

import pytest

from tests.service.rig import make_pki


@pytest.fixture
def pki() -> dict[str, bytes]:
    """A CA, a client certificate it signed and the client's key, PEM (`ca.crt`, `kiosk.crt`, `kiosk.key`, `ca.key`)."""
    return make_pki()
