"""A QR decoder in a child process, so that a crash or a hang in C code costs one frame, not the kiosk.

zbar has crashed (segfaults) on odd images, and any native decoder can loop on a pathological
one.  In the kiosk's own process either would take the checkpoint down with it; here the child
dies or is killed, the frame is reported as failed (`DecodeFailed`), and a fresh child is
started in the background.  The kiosk sees "decode failed" for that frame and nothing else.

How a frame travels: it is copied once into a shared-memory block (the only copy on the whole
path; ~0.05 ms for VGA), and a three-number message (sequence, height, width) goes down a pipe;
the answer (sequence, texts) comes back up.  The pipe never carries pixels, so a hung child can
never block the kiosk on a full pipe.  Children are forked from a `forkserver` (a clean process
started once: no inherited threads, SDL or camera state, and a restart costs a fork, not a
Python start-up); a child imports its decoder and says it is ready, and until then frames fail
at once rather than wait.  (As with any multiprocessing, a script using this needs the
`if __name__ == "__main__":` guard.)  Repeated deaths back off (0.2 s doubling to 5 s) so a poisonous scene cannot make
the kiosk spend its CPU starting children.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import multiprocessing as mp
import os
import time
from multiprocessing.connection import Connection
from multiprocessing.shared_memory import SharedMemory
from typing import Any

import numpy as np

from kiosk.errors import KioskError

from .decoders import make_decoder

__all__ = ["DecodeFailed", "IsolatedDecoder", "make_decoder"]

log = logging.getLogger(__name__)

RESTART_BACKOFF_S = (0.2, 0.5, 1.0, 2.0, 5.0)


class DecodeFailed(KioskError, RuntimeError):
    """No result for this frame: the decoder crashed, hung, raised, or is (re)starting."""


def _serve(conn: Connection, shm_name: str, kind: str, options: dict[str, Any]) -> None:
    """The child: decode frames from shared memory until the pipe closes."""
    try:
        decoder = make_decoder(kind, **options)
        shm = SharedMemory(name=shm_name)  # registered with the parent's resource tracker, which the child shares
    except Exception as exc:  # tell the parent why, rather than die silently
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", os.getpid()))
    try:
        while True:
            message = conn.recv()
            if message is None:
                break
            seq, height, width = message
            y = np.ndarray((height, width), dtype=np.uint8, buffer=shm.buf)
            try:
                conn.send((seq, list(decoder.decode(y)), None))
            except Exception as exc:
                conn.send((seq, None, f"{type(exc).__name__}: {exc}"))
            del y
    except (EOFError, OSError, KeyboardInterrupt):
        pass
    finally:
        shm.close()


class IsolatedDecoder:
    """A `QrDecoder` whose work happens in a child process; `decode` raises `DecodeFailed` on any trouble.

    `kind` names the decoder the child builds (see `make_decoder`).  `timeout_s` bounds one
    decode; a child that takes longer is killed.  Frames up to `max_pixels` are accepted.
    The constructor waits (up to `startup_timeout_s`) for the first child, so that a missing
    library is a start-up error (`RuntimeError`) and not a stream of failed frames.
    """

    def __init__(self, kind: str = "zxing", *, timeout_s: float = 0.5, max_pixels: int = 1920 * 1088,
                 startup_timeout_s: float = 20.0, start_method: str = "forkserver", **options: Any) -> None:
        self._kind = kind
        self._options = options
        self._timeout_s = timeout_s
        self._ctx = mp.get_context(start_method)
        if start_method == "forkserver":  # the server imports these once; each restart is then a fork
            self._ctx.set_forkserver_preload(["numpy", "drivers.qr.isolated"])
        self._shm = SharedMemory(create=True, size=max_pixels)
        self._max_pixels = max_pixels
        self._process: Any = None
        self._conn: Connection | None = None
        self._ready = False
        self._seq = 0
        self._failures = 0  # consecutive, for the back-off
        self._restart_at = 0.0
        self.restarts = 0
        self.failed_frames = 0
        self._start_error = ""
        self._closed = False
        self._start()
        atexit.register(self.close)  # a kiosk that forgets to close must not leak the child or the memory
        deadline = time.monotonic() + startup_timeout_s
        while not self._check_ready(max(0.0, deadline - time.monotonic())):
            if time.monotonic() >= deadline or not self._process.is_alive():
                self.close()
                raise RuntimeError(f"the {kind} decoder process did not start: {self._start_error or 'timed out'}")

    @property
    def pid(self) -> int | None:
        """The child's process id (None while none runs)."""
        return self._process.pid if self._process is not None and self._process.is_alive() else None

    @property
    def ready(self) -> bool:
        return self._ready or self._check_ready(0.0)

    def decode(self, y: np.ndarray) -> list[str]:
        if self._closed:
            raise DecodeFailed("decoder is closed")
        if y.ndim != 2 or y.dtype != np.uint8:
            raise ValueError(f"expected a (H, W) uint8 luminance image, got {y.dtype} {y.shape}")
        height, width = y.shape
        if height * width > self._max_pixels:
            raise ValueError(f"a {width}×{height} frame exceeds the decoder's {self._max_pixels} pixels")
        if height == 0 or width == 0:
            return []
        if self._process is not None and not self._process.is_alive():
            self._fail(f"the decoder process died between frames (exit {self._process.exitcode})")
        if self._process is None:
            self._restart_if_due()
            raise DecodeFailed("decoder restarting")
        if not self.ready:
            raise DecodeFailed("decoder starting")
        assert self._conn is not None
        np.ndarray((height, width), dtype=np.uint8, buffer=self._shm.buf)[...] = y
        self._seq += 1
        try:
            self._conn.send((self._seq, height, width))
            answered = self._conn.poll(self._timeout_s)
            answer = self._conn.recv() if answered else None
        except (EOFError, OSError):  # the child died with the frame
            self._process.join(0.5)
            reason = f"the decoder process died (exit {self._process.exitcode})"
            self._fail(reason)
            raise DecodeFailed(reason) from None
        if answer is None:
            reason = f"the decoder took longer than {self._timeout_s:g} s: killed"
            self._process.kill()
            self._process.join(1.0)
            self._fail(reason)
            raise DecodeFailed(reason)
        seq, texts, error = answer
        if seq != self._seq:  # cannot happen with one frame in flight; never trust a stale answer
            self._fail(f"answer {seq} for frame {self._seq}")
            raise DecodeFailed("out-of-step answer")
        if error is not None:
            self.failed_frames += 1
            raise DecodeFailed(f"decoder raised {error}")
        self._failures = 0
        return list(texts)

    def close(self) -> None:
        """Stop the child (politely, then by force) and free the shared memory; safe twice."""
        if self._closed:
            return
        self._closed = True
        atexit.unregister(self.close)
        self._stop_child()
        self._shm.close()
        self._shm.unlink()

    def __enter__(self) -> IsolatedDecoder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------------------------------

    def _start(self) -> None:
        parent, child = self._ctx.Pipe(duplex=True)
        self._process = self._ctx.Process(target=_serve, args=(child, self._shm.name, self._kind, self._options),
                                          name=f"qr-decoder-{self._kind}", daemon=True)
        self._process.start()
        child.close()
        self._conn = parent
        self._ready = False

    def _check_ready(self, wait_s: float) -> bool:
        if self._ready:
            return True
        if self._conn is None:
            return False
        try:
            if not self._conn.poll(wait_s):
                return False
            message = self._conn.recv()
        except (EOFError, OSError):
            return False
        if message[0] == "error":
            self._start_error = message[1]
            log.error("QR decoder process cannot start: %s", message[1])
            return False
        self._ready = message[0] == "ready"
        return self._ready

    def _fail(self, reason: str) -> None:
        self.failed_frames += 1
        log.warning("QR decoder: %s; restarting it", reason)
        self._stop_child()
        self._failures += 1
        self._restart_at = 0.0
        self._restart_if_due()

    def _restart_if_due(self) -> None:
        now = time.monotonic()
        if self._restart_at == 0.0:
            delay = RESTART_BACKOFF_S[min(self._failures, len(RESTART_BACKOFF_S)) - 1] if self._failures else 0.0
            self._restart_at = now + delay
        if now < self._restart_at:
            return
        self._stop_child()
        self._restart_at = 0.0
        self.restarts += 1
        self._start()

    def _stop_child(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(OSError, ValueError):  # already gone
                self._conn.send(None)
            self._conn.close()
            self._conn = None
        if self._process is not None:
            self._process.join(0.2)
            if self._process.is_alive():
                self._process.kill()
                self._process.join(1.0)
            self._process = None
        self._ready = False
