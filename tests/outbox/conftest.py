"""Rigs the outbox tests share: outboxes on the test's temp dir, on a virtual clock, and a way to fill them."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk.clock import VirtualClock
from kiosk.outbox import Outbox

WALL = 1_764_000_000.0  # 2025-11-24, a synchronised wall clock


@pytest.fixture
def clock() -> VirtualClock:
    """The wall clock of the test's outboxes (`advance` it to age rows)."""
    return VirtualClock(wall_start=WALL)


@pytest.fixture
def open_outbox(tmp_path: Path, clock: VirtualClock) -> Iterator[Callable[..., Outbox]]:
    """Open an outbox file in the test's temp dir (`o.sqlite` unless named) on `clock` unless given
    another; `Outbox` keywords (`limits`, …) pass through.  Every one is closed after the test."""
    opened: list[Outbox] = []

    def open_(name: str = "o.sqlite", **kw: Any) -> Outbox:
        kw.setdefault("clock", clock)
        ob = Outbox(tmp_path / name, **kw)
        opened.append(ob)
        return ob

    try:
        yield open_
    finally:
        for ob in opened:
            ob.close()


def _fill(ob: Outbox, stream: str, n: int, *, priority: int = 0, size: int = 100, **kw: Any) -> list[int]:
    """Append `n` events of `size` bytes to `stream`; their seqs, in order.  `kw` goes to `append`."""
    return [ob.append(stream, f"{stream}-{uuid.uuid4().hex}", b"x" * size, priority=priority, **kw)
            for _ in range(n)]


@pytest.fixture
def fill() -> Callable[..., list[int]]:
    """`fill(ob, stream, n, priority=0, size=100, **append_keywords)`: the seqs of `n` new events."""
    return _fill
