"""Rigs the driver tests share."""

from __future__ import annotations

import pytest

from drivers.qr.zxing_decoder import ZxingDecoder


@pytest.fixture(scope="session")
def zxing() -> ZxingDecoder:
    """The kiosk's default QR decoder, made once (it holds no state between frames)."""
    return ZxingDecoder()
