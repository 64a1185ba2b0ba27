"""Camera → worker → isolated decoder → sightings, in real time, with the decoder killed mid-stream.

What the kiosk relies on: frames keep coming, a busy decoder makes the loop skip frames (never
queue them), a killed decoder costs the frames in flight ("decode failed"), and the same phone
is still one sighting once a fresh child reads it again.
"""

from __future__ import annotations

import itertools
import os
import signal
import time

from drivers.camera.simulated import PhoneView, SimulatedCamera
from drivers.qr.isolated import IsolatedDecoder
from drivers.qr.worker import DecodeWorker
from kiosk.checkpoint.sightings import CodesInView
from kiosk.clock import RealClock

TEXT = "THP1:PIPELINE-" + "Z" * 150


class HeldUpPhone:
    def phones_in_view(self, t_monotonic: float) -> list[PhoneView]:
        return [PhoneView(TEXT, tilt_deg=10, rotate_deg=5, brightness=0.8)]


def test_a_killed_decoder_costs_frames_not_the_stream() -> None:
    clock = RealClock()
    camera = SimulatedCamera(HeldUpPhone(), clock, fps=30.0)
    decoder = IsolatedDecoder("pyzbar", timeout_s=1.0)
    worker = DecodeWorker(decoder, threaded=True)
    view = CodesInView(hold_s=3.0)  # longer than a restart, even on a loaded machine
    results, sightings, killed = [], [], False
    started = time.monotonic()
    try:
        while time.monotonic() - started < 4.0:
            frame = camera.read_frame()
            worker.submit(frame)  # False while busy: the frame is dropped
            for result in worker.poll():
                results.append(result)
                if result.ok:
                    sightings.append(view.update(result.texts, result.taken_at))
            if not killed and sum(r.ok for r in results) >= 3 and decoder.pid is not None:
                os.kill(decoder.pid, signal.SIGKILL)
                killed = True
    finally:
        worker.close()
        camera.close()
    assert killed
    failed = [r for r in results if not r.ok]
    assert failed, "the frame in flight when the child died must be reported as failed"
    after = [r for r in results if r.taken_at > failed[-1].taken_at]
    assert any(r.texts == (TEXT,) for r in after), "a fresh child reads the phone again"
    assert worker.skipped > 0  # 30 fps into a zbar decoder: frames were skipped, not queued
    assert all(b.taken_at > a.taken_at for a, b in itertools.pairwise(results))
    new = [s for s in sightings if s.new]
    assert [s.new for s in new] == [(TEXT,)]  # one phone, one sighting, through the restart
    assert decoder.restarts >= 1
