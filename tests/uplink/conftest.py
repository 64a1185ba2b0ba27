"""Rigs the uplink tests share: a real mosquitto, an outbox, and uplinks wired to them.

`broker`, `make_broker` and `subscribe` are the real-broker fixtures of `tests.mosquitto` (a plugin
of the root conftest).  `outbox` is an outbox file on the test's temp dir;
`connect(b, **kw)` makes an `MqttUplink` publishing it (or `outbox=`) to broker `b` as kiosk-1
would, with a short back-off so that reconnects fit in a test.  Both are closed after the test,
the uplinks first; a test that closes them itself (`with connect(b) as up:`) loses nothing.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk.outbox import Outbox
from kiosk.uplink import MqttUplink
from tests.feed.township_stub import ReceiptingConsumer
from tests.mosquitto import Broker

__all__ = ["FAST_BACKOFF", "PREFIX"]

PREFIX = "demo-township/demo-site/kiosk-1"
FAST_BACKOFF = (0.05, 0.4)


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[Outbox]:
    """The kiosk's outbox (`o.sqlite` in the test's temp dir)."""
    with Outbox(tmp_path / "o.sqlite") as ob:
        yield ob


@pytest.fixture
def connect(outbox: Outbox) -> Iterator[Callable[..., MqttUplink]]:
    """`connect(b, *, outbox=None, **MqttUplink_keywords)`: an uplink of `outbox` to broker `b`.

    Unless given: client id `kiosk-1`, topic prefix `PREFIX`, back-off `FAST_BACKOFF`, a seeded
    random source.  Nothing connects before the test polls.
    """
    made: list[MqttUplink] = []

    def make(b: Broker, *, outbox: Outbox = outbox, **kw: Any) -> MqttUplink:
        options: dict[str, Any] = {"client_id": "kiosk-1", "topic_prefix": PREFIX, "backoff_s": FAST_BACKOFF,
                                   "rng": random.Random(7)}
        options.update(kw)
        up = MqttUplink(outbox, host=b.host, port=b.port, **options)
        made.append(up)
        return up

    try:
        yield make
    finally:
        for up in made:
            up.close()


@pytest.fixture
def township(tmp_path: Path) -> Iterator[Callable[..., ReceiptingConsumer]]:
    """`township(b, *, client_id, receipts)`: a township that stores (`township.sqlite` in the test's temp dir)
    and receipts what kiosk-1 publishes to broker `b` (tests/feed/township_stub.py), stopped after the test."""
    made: list[ReceiptingConsumer] = []

    def make(b: Broker, *, client_id: str = "township", receipts: bool = True) -> ReceiptingConsumer:
        c = ReceiptingConsumer(b.host, b.port, tmp_path / "township.sqlite", client_id=client_id,
                               topic_filter=f"{PREFIX}/#", levels=len(PREFIX.split("/")), receipts=receipts)
        c.start()
        made.append(c)
        return c

    yield make
    for c in made:
        c.stop()
