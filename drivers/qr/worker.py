"""`DecodeWorker`: decoding off the render loop, with a one-frame mailbox that skips rather than queues.

A camera delivers frames faster than a slow decode can take them on a bad frame; a queue would
make the kiosk answer a visitor with a frame from seconds ago.  So the worker holds at most one
frame: `submit` hands it over and returns True, or returns False at once when the worker is
still busy with the previous one (the caller drops that frame: it is stale by the next).
Finished results are collected with `poll`, in the order the frames were taken.

Two ways to run it, same interface:

- *inline* (`threaded=False`): `submit` decodes before returning; `poll` then gives the result.
  Deterministic, for the virtual clock of simulations and tests (nothing is ever skipped).
- *threaded* (`threaded=True`): one daemon thread decodes; the loop that submits never waits
  on a decode, so the screen keeps its frame rate.  Pair it with `IsolatedDecoder` on a Pi:
  the thread then only waits on a pipe while the child process does the work.

A decoder that raises gives a result with `error` set ("decode failed" for that frame); the
worker goes on.  The frame's array must not be changed by the caller after `submit` (frame
sources hand out a new array per frame: picamera2's `capture_array` copies out of its buffers).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from kiosk.ports import GrayFrame, QrDecoder

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DecodeResult:
    """What one frame gave: its texts (none, one or several), or an error instead."""

    taken_at: float  # the frame's Clock.monotonic() stamp
    texts: tuple[str, ...] = ()
    error: str | None = None  # set when the decoder failed on this frame (crash, timeout, bug)
    seconds: float = 0.0  # real time the decode took

    @property
    def ok(self) -> bool:
        return self.error is None


class DecodeWorker:
    """Runs a `QrDecoder` on frames handed to it one at a time; see the module docstring."""

    def __init__(self, decoder: QrDecoder, *, threaded: bool = False) -> None:
        self._decoder = decoder
        self._threaded = threaded
        self._lock = threading.Condition()
        self._slot: GrayFrame | None = None  # the frame waiting for, or under, decoding
        self._results: list[DecodeResult] = []
        self._closed = False
        self.submitted = 0
        self.skipped = 0
        self._thread: threading.Thread | None = None
        if threaded:
            self._thread = threading.Thread(target=self._run, name="qr-decode", daemon=True)
            self._thread.start()

    @property
    def busy(self) -> bool:
        """A frame is being decoded: a `submit` now would be refused."""
        with self._lock:
            return self._slot is not None

    def submit(self, frame: GrayFrame) -> bool:
        """Hand over a frame; False (frame skipped) when the previous one is still being decoded."""
        with self._lock:
            if self._closed:
                raise RuntimeError("decode worker is closed")
            if self._slot is not None:
                self.skipped += 1
                return False
            self._slot = frame
            self.submitted += 1
            if self._threaded:
                self._lock.notify()
                return True
        self._results.append(self._decode(frame))
        with self._lock:
            self._slot = None
        return True

    def poll(self) -> list[DecodeResult]:
        """The results finished since the last poll (oldest first); [] if none."""
        with self._lock:
            done, self._results = self._results, []
        return done

    def wait_idle(self, timeout_s: float | None = None) -> bool:
        """Block until no frame is being decoded (tests, shutdown); False on timeout."""
        with self._lock:
            return self._lock.wait_for(lambda: self._slot is None, timeout_s)

    def close(self) -> None:
        """Stop the thread (after the frame in hand) and close the decoder; safe twice."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._lock.notify_all()
        if self._thread is not None:
            self._thread.join(5.0)
        close = getattr(self._decoder, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> DecodeWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------------------------------

    def _decode(self, frame: GrayFrame) -> DecodeResult:
        started = time.perf_counter()
        try:
            texts = tuple(self._decoder.decode(frame.y))
        except Exception as exc:  # the kiosk sees "decode failed" for this frame, nothing more
            log.debug("decode failed: %s", exc)
            return DecodeResult(frame.taken_at, error=f"{type(exc).__name__}: {exc}",
                                seconds=time.perf_counter() - started)
        return DecodeResult(frame.taken_at, texts, seconds=time.perf_counter() - started)

    def _run(self) -> None:
        while True:
            with self._lock:
                self._lock.wait_for(lambda: self._slot is not None or self._closed)
                if self._slot is None:  # closed with nothing in hand
                    return
                frame = self._slot
            result = self._decode(frame)
            with self._lock:
                self._results.append(result)
                self._slot = None
                self._lock.notify_all()
                if self._closed:
                    return
