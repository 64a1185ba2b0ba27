"""The decoder in a child process: killed, crashed or hung children cost a frame, never the kiosk.

These tests really signal the child (SIGSEGV as zbar's crashes do, SIGKILL, SIGSTOP for a hang)
while the parent is waiting on it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time

import numpy as np
import pytest

from drivers.camera.phone import render_phone
from drivers.qr.isolated import DecodeFailed, IsolatedDecoder
from kiosk.ports import QrDecoder

TEXT = "THP1:ISOLATED-" + "K" * 120
FRAME = render_phone(TEXT)


@pytest.fixture(scope="module", params=["pyzbar", "zxing"])
def decoder(request: pytest.FixtureRequest) -> IsolatedDecoder:
    d = IsolatedDecoder(request.param, timeout_s=2.0)
    yield d
    d.close()


def decode_again(d: IsolatedDecoder, within_s: float = 10.0) -> list[str]:
    """Decode until the restarted child answers (frames fail while it starts)."""
    deadline = time.monotonic() + within_s
    while True:
        try:
            return d.decode(FRAME)
        except DecodeFailed:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_decodes_in_a_child_process(decoder: IsolatedDecoder) -> None:
    assert isinstance(decoder, QrDecoder)
    assert decoder.decode(FRAME) == [TEXT]
    assert decoder.pid is not None and decoder.pid != os.getpid()
    assert decoder.decode(np.full((480, 640), 50, np.uint8)) == []
    view = np.full((480, 704), 7, np.uint8)
    view[:, :640] = FRAME
    assert decoder.decode(view[:, :640]) == [TEXT]  # a strided Y plane


def _kill_and_resume(pid: int, sig: signal.Signals) -> None:
    """Deliver `sig` to the stopped child, then let it run (to die of a SIGSEGV)."""
    os.kill(pid, sig)
    with contextlib.suppress(ProcessLookupError):  # a SIGKILLed child may be reaped before it is resumed
        os.kill(pid, signal.SIGCONT)


@pytest.mark.parametrize("sig", [signal.SIGSEGV, signal.SIGKILL])
def test_a_child_that_dies_during_a_decode_fails_that_frame_and_is_replaced(decoder: IsolatedDecoder,
                                                                            sig: signal.Signals) -> None:
    decode_again(decoder)
    pid = decoder.pid
    assert pid is not None
    restarts = decoder.restarts
    os.kill(pid, signal.SIGSTOP)  # hold it still, so the frame is surely in flight when it dies
    threading.Timer(0.2, _kill_and_resume, (pid, sig)).start()
    started = time.monotonic()
    with pytest.raises(DecodeFailed, match="died"):
        decoder.decode(FRAME)
    assert time.monotonic() - started < 1.9  # noticed at once, not by the timeout
    assert decode_again(decoder) == [TEXT]
    assert decoder.pid != pid and decoder.restarts == restarts + 1


def test_a_child_killed_between_frames_is_replaced(decoder: IsolatedDecoder) -> None:
    decode_again(decoder)
    pid = decoder.pid
    assert pid is not None
    os.kill(pid, signal.SIGSEGV)
    time.sleep(0.2)
    with pytest.raises(DecodeFailed):
        decoder.decode(FRAME)
    assert decode_again(decoder) == [TEXT]
    assert decoder.pid != pid


def test_a_hung_child_times_out_and_is_killed() -> None:
    with IsolatedDecoder("zxing", timeout_s=0.3) as d:
        assert d.decode(FRAME) == [TEXT]
        pid = d.pid
        assert pid is not None
        os.kill(pid, signal.SIGSTOP)
        started = time.monotonic()
        with pytest.raises(DecodeFailed, match=r"longer than 0\.3 s"):
            d.decode(FRAME)
        assert 0.25 < time.monotonic() - started < 2.0
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # really gone
        assert decode_again(d) == [TEXT]


def test_an_unknown_decoder_is_a_start_up_error_with_the_reason() -> None:
    with pytest.raises(RuntimeError, match="unknown decoder"):
        IsolatedDecoder("no-such-decoder", startup_timeout_s=10.0)


def test_close_stops_the_child_and_frees_the_memory() -> None:
    d = IsolatedDecoder("zxing")
    pid = d.pid
    assert pid is not None
    d.close()
    d.close()
    time.sleep(0.1)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    with pytest.raises(DecodeFailed, match="closed"):
        d.decode(FRAME)


def test_frames_larger_than_the_shared_memory_are_refused() -> None:
    with IsolatedDecoder("zxing", max_pixels=100 * 100) as d, pytest.raises(ValueError, match="exceeds"):
        d.decode(FRAME)
