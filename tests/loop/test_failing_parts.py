"""Review: the kiosk loop (kiosk.loop.runtime) on emulated hardware, with one collaborator misbehaving.

Everything is the real pipeline (emulated MLX90640 registers → driver → screening; rendered phone →
zbar → THP1 verifier; checkpoint; SQLite outbox) except the one part named in each test, which
fails the way a real device or library can.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from kiosk.ports import Screen
from tests.loop.rig import SimulatedKiosk


class _FlakyVerifier:
    """A verifier that raises on its first call (a library bug on one odd code), then works."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.calls = 0

    def verify(self, text: str, at: float):
        self.calls += 1
        if self.calls == 1:
            raise ValueError("unforeseen input")
        return self.inner.verify(text, at)


class _FlakyCamera:
    """A camera whose driver raises something other than CameraError once (e.g. a KeyError from a
    missing stream in picamera2's request, a ValueError from a malformed buffer)."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.calls = 0

    def next_frame_at(self) -> float:
        return self.inner.next_frame_at()

    def read_frame(self):
        self.calls += 1
        if self.calls == 3:
            raise ValueError("buffer of unexpected size")
        return self.inner.read_frame()

    def close(self) -> None:
        self.inner.close()


class _FlakySignals:
    """Buzzer/lights whose GPIO write fails once (lgpio raises on a transient error)."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.failed = False

    def show(self, signal, now: float) -> None:
        if not self.failed:
            self.failed = True
            raise OSError(5, "Input/output error")
        self.inner.show(signal, now)

    def update(self, now: float) -> None:
        self.inner.update(now)

    def close(self) -> None:
        self.inner.close()


@pytest.mark.parametrize("part", ["verifier", "camera", "signals"])
def test_a_failing_part_does_not_stop_the_kiosk(simulated: Callable[..., SimulatedKiosk], part: str) -> None:
    sim = simulated()
    kiosk = sim.kiosk
    if part == "verifier":
        kiosk.apply_policy(kiosk.policy.policy, _FlakyVerifier(kiosk.verifier))
    elif part == "camera":
        kiosk.camera = _FlakyCamera(kiosk.camera)
    else:
        kiosk.presenter.signals = _FlakySignals(kiosk.signals)
    sim.play()  # must not raise
    assert [r.decision for r in sim.world.records()] == ["PASS"]


def test_no_pass_is_shown_for_an_entry_that_could_not_be_stored(simulated: Callable[..., SimulatedKiosk]) -> None:
    """runtime.py promises "an entry that was shown was stored".  With the outbox unusable (here:
    closed, as after a failed disk), `_record` counts the failure and shows PASS all the same."""
    sim = simulated()
    sim.feed.outbox.close()
    sim.play()
    assert sim.kiosk.store_failures == 1  # the decision was made and could not be stored ...
    assert Screen.PASS not in [v.screen for v in sim.views]  # ... yet it was shown as PASS
