"""The decode worker: one frame at a time, skip while busy, results by poll; inline or threaded."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from drivers.camera.phone import render_phone
from drivers.qr.worker import DecodeResult, DecodeWorker
from drivers.qr.zxing_decoder import ZxingDecoder
from kiosk.ports import GrayFrame

TEXT = "THP1:WORKER-" + "Q" * 100
CODE = render_phone(TEXT)
EMPTY = np.full((480, 640), 60, np.uint8)


class GatedDecoder:
    """A real decoder that waits for the test to open a gate: a decode that takes as long as we say."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.started = threading.Event()
        self.inner = ZxingDecoder()
        self.closed = False

    def decode(self, y: np.ndarray) -> list[str]:
        self.started.set()
        assert self.gate.wait(10.0)
        return self.inner.decode(y)

    def close(self) -> None:
        self.closed = True


class Exploding:
    def decode(self, y: np.ndarray) -> list[str]:
        if y.mean() < 100:
            raise RuntimeError("zbar: assertion failed")
        return []


def test_inline_worker_decodes_on_submit_deterministically() -> None:
    worker = DecodeWorker(ZxingDecoder())
    assert worker.poll() == []
    assert worker.submit(GrayFrame(CODE, 1.0)) and not worker.busy
    assert worker.submit(GrayFrame(EMPTY, 1.125))
    results = worker.poll()
    assert [(r.taken_at, r.texts, r.ok) for r in results] == [(1.0, (TEXT,), True), (1.125, (), True)]
    assert worker.poll() == [] and worker.skipped == 0
    worker.close()


def test_threaded_worker_skips_frames_while_busy_instead_of_queueing() -> None:
    decoder = GatedDecoder()
    with DecodeWorker(decoder, threaded=True) as worker:
        assert worker.submit(GrayFrame(CODE, 1.0))
        assert decoder.started.wait(5.0) and worker.busy
        assert not worker.submit(GrayFrame(EMPTY, 1.125))  # refused at once: the loop goes on
        assert not worker.submit(GrayFrame(EMPTY, 1.25))
        assert worker.poll() == []
        decoder.gate.set()
        assert worker.wait_idle(5.0)
        assert [(r.taken_at, r.texts) for r in worker.poll()] == [(1.0, (TEXT,))]
        assert worker.skipped == 2 and worker.submitted == 1
        assert worker.submit(GrayFrame(CODE, 1.375))  # free again
        assert worker.wait_idle(5.0)
        assert [r.taken_at for r in worker.poll()] == [1.375]
    assert decoder.closed


@pytest.mark.parametrize("threaded", [False, True])
def test_a_decoder_that_raises_gives_a_failed_result_and_the_worker_goes_on(threaded: bool) -> None:
    with DecodeWorker(Exploding(), threaded=threaded) as worker:
        assert worker.submit(GrayFrame(EMPTY, 2.0))
        assert worker.wait_idle(5.0)
        assert worker.submit(GrayFrame(np.full((10, 10), 200, np.uint8), 2.5))
        assert worker.wait_idle(5.0)
        first, second = worker.poll()
        assert not first.ok and "assertion failed" in (first.error or "") and first.texts == ()
        assert second == DecodeResult(2.5, (), None, second.seconds) and second.ok


def test_a_closed_worker_refuses_frames() -> None:
    worker = DecodeWorker(ZxingDecoder(), threaded=True)
    worker.close()
    worker.close()
    with pytest.raises(RuntimeError, match="closed"):
        worker.submit(GrayFrame(CODE, 0.0))
