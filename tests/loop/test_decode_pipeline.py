"""The loop's camera worker (`kiosk.loop.workers.CameraWorker`) with real decoders, in real time.

What the kiosk relies on: frames keep coming; a busy decoder makes the worker skip frames, never
queue them (the next frame read is the newest the camera has); the loop's one-slot mailbox keeps
only the latest result; a decoder that raises, or an isolated one killed mid-stream, costs the
frames in flight and not the stream; and the same phone is still one sighting once a fresh child
reads it again.

Real time on a shared machine: every wait is bounded and on a condition (a result arrived, the
decoder restarted), never a fixed sleep followed by a count, so load makes the test slower, not red.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator

import numpy as np
import pytest

from drivers.camera.simulated import PhoneView, SimulatedCamera
from drivers.qr.isolated import IsolatedDecoder
from drivers.qr.zxing_decoder import ZxingDecoder
from kiosk.checkpoint.sightings import CodesInView
from kiosk.clock import RealClock
from kiosk.loop.workers import CameraResult, CameraWorker, Inbox

TEXT = "THP1:PIPELINE-" + "Z" * 150
FPS = 30.0
PATIENCE_S = 60.0  # a bound on every wait: only reached when something is really wrong


class HeldUpPhone:
    def phones_in_view(self, t_monotonic: float) -> list[PhoneView]:
        return [PhoneView(TEXT, tilt_deg=10, rotate_deg=5, brightness=0.8)]


class CountingCamera(SimulatedCamera):
    """The simulated camera, counting the frames the worker actually read."""

    reads = 0

    def read_frame(self):  # type: ignore[no-untyped-def]
        frame = super().read_frame()
        self.reads += 1
        return frame


class GatedDecoder:
    """A real decoder that waits for the test to open a gate: a decode that takes as long as we say."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.started = threading.Event()
        self.inner = ZxingDecoder()

    def decode(self, y: np.ndarray) -> list[str]:
        self.started.set()
        assert self.gate.wait(PATIENCE_S)
        return self.inner.decode(y)


class Exploding:
    """A decoder with a bug on every other frame (a native library's assertion, say)."""

    def __init__(self) -> None:
        self.calls = 0
        self.inner = ZxingDecoder()

    def decode(self, y: np.ndarray) -> list[str]:
        self.calls += 1
        if self.calls % 2:
            raise RuntimeError("zbar: assertion failed")
        return self.inner.decode(y)


class Rig:
    """A started `CameraWorker` (scanning at full rate) and its mailbox, as the loop holds them."""

    def __init__(self, decoder: object) -> None:
        self.clock = RealClock()
        self.camera = CountingCamera(HeldUpPhone(), self.clock, fps=FPS)
        self.wake = threading.Event()
        self.mailbox: Inbox[CameraResult] = Inbox(1, self.wake, name="camera")
        self.worker = CameraWorker(self.camera, decoder, self.clock, self.mailbox, idle_fps=FPS)  # type: ignore[arg-type]
        self.worker.idle = False  # someone is at the kiosk: scan at the camera's rate
        self.worker.start()

    def take(self, timeout_s: float = PATIENCE_S) -> list[CameraResult]:
        """What the mailbox holds once something arrived (at most `timeout_s`)."""
        self.wake.wait(timeout_s)
        self.wake.clear()
        return self.mailbox.take_all()

    def collect_until(self, done: Callable[[list[CameraResult]], bool]) -> list[CameraResult]:
        """Every result taken, as the loop takes them, until `done(results)` (bounded)."""
        results: list[CameraResult] = []
        deadline = time.monotonic() + PATIENCE_S
        while not done(results):
            assert time.monotonic() < deadline, f"gave up after {len(results)} results"
            results += self.take(1.0)
        return results

    def close(self) -> None:
        self.worker.stop(5.0)
        self.camera.close()


@pytest.fixture
def rig() -> Iterator[Callable[[object], Rig]]:
    made: list[Rig] = []

    def make(decoder: object) -> Rig:
        made.append(Rig(decoder))
        return made[-1]

    yield make
    for r in made:
        r.close()


def test_a_busy_decoder_skips_frames_and_the_next_one_is_the_newest(rig: Callable[[object], Rig]) -> None:
    decoder = GatedDecoder()
    r = rig(decoder)
    assert decoder.started.wait(PATIENCE_S)
    held_from = time.monotonic()
    while time.monotonic() - held_from < 10 / FPS:  # ten frame periods pass while the decode is held
        assert r.take(0.05) == []  # nothing arrives while the worker is busy ...
    assert r.camera.reads == 1  # ... and it read no other frame: skip, never queue
    opened_at = r.clock.monotonic()
    decoder.gate.set()
    first = r.collect_until(lambda rs: len(rs) >= 1)[0]
    assert first.frame is not None and first.frame.taken_at < opened_at and first.texts == (TEXT,)
    later = r.collect_until(lambda rs: len(rs) >= 1)[0]
    assert later.frame is not None and later.frame.taken_at >= opened_at - 1 / FPS  # the newest, not a backlog


def test_the_mailbox_keeps_only_the_latest_result(rig: Callable[[object], Rig]) -> None:
    r = rig(ZxingDecoder())
    assert r.take() != []
    assert r.wake.wait(PATIENCE_S)  # the loop is busy elsewhere: results pile up in one slot
    deadline = time.monotonic() + PATIENCE_S
    while r.mailbox.dropped < 3:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    kept = r.mailbox.take_all()
    assert len(kept) == 1 and kept[0].texts == (TEXT,)
    following = r.collect_until(lambda rs: len(rs) >= 1)
    assert following[0].frame.taken_at > kept[0].frame.taken_at  # type: ignore[union-attr]


def test_a_decoder_that_raises_costs_that_frame_and_the_worker_goes_on(rig: Callable[[object], Rig]) -> None:
    decoder = Exploding()
    r = rig(decoder)
    results = r.collect_until(lambda rs: sum(x.texts == (TEXT,) for x in rs) >= 3 and decoder.calls >= 6)
    assert all(x.error is None and x.frame is not None for x in results)  # a decoder bug is not a camera fault
    assert decoder.calls >= 6  # half of them raised: the thread lived through each
    assert r.worker.alive


def test_a_killed_decoder_costs_frames_not_the_stream(rig: Callable[[object], Rig]) -> None:
    decoder = IsolatedDecoder("pyzbar", timeout_s=1.0)
    try:
        r = rig(decoder)
        view = CodesInView(hold_s=PATIENCE_S)  # longer than any restart, however loaded the machine
        sightings = []

        def see(results: list[CameraResult]) -> None:
            for x in results:
                if x.texts:  # what the loop feeds the sightings: frames that read something
                    sightings.append(view.update(x.texts, x.frame.taken_at))  # type: ignore[union-attr]

        before = r.collect_until(lambda rs: sum(x.texts == (TEXT,) for x in rs) >= 3 and decoder.pid is not None)
        see(before)
        failed, pid = decoder.failed_frames, decoder.pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        killed_at = r.clock.monotonic()
        after = r.collect_until(lambda rs: any(x.texts == (TEXT,) and x.frame.taken_at > killed_at  # type: ignore[union-attr]
                                               for x in rs) and decoder.restarts >= 1)
        see(after)
    finally:
        decoder.close()
    assert decoder.failed_frames > failed, "the frame in flight when the child died is a failed frame"
    assert decoder.restarts >= 1 and decoder.pid != pid
    stamps = [x.frame.taken_at for x in before + after]  # type: ignore[union-attr]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)  # frames in order, none twice
    new = [s.new for s in sightings if s.new]
    assert new == [(TEXT,)]  # one phone, one sighting, through the restart
