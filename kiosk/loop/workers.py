"""Sensor and camera work in worker threads, so that the main loop (and the screen) never waits on it.

A thermal read blocks on I²C for tens of milliseconds per subpage (much longer on a slow or
noisy bus, or forever when a driver hangs), and decoding a camera frame takes tens of
milliseconds of CPU.  In real time each runs in its own thread and hands its results to the
main loop through a small inbox, setting the loop's wake-up event; the loop never calls a driver.

* Thermal frames are all kept, in order (the checkpoint averages consecutive frames), in a
  bounded inbox: should the loop ever fall that far behind, the oldest are dropped and counted.
* Camera results go through a one-slot mailbox: only the latest decode matters.
* The loop feeds them to the checkpoint in the order, and at the times, their frames were
  taken (`in_frame_order`): a batch that arrives late is decided as it happened.

`Workers` is the loop's threaded mode as one part: both workers, their inboxes, the wake-up
event the loop waits on, and the time up to which results were fed.  On a virtual clock none of
this is used: the kiosk reads inline, deterministically (`kiosk.loop.runtime.Kiosk` chooses).
Workers are daemon threads: a hung driver call cannot keep the process from exiting, and
`stop()` waits for them only briefly.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from kiosk.errors import CameraError, KioskError, SensorError
from kiosk.ports import Clock, FrameSource, GrayFrame, QrDecoder, ThermalFrame, ThermalSensor

log = logging.getLogger(__name__)

T = TypeVar("T")

SENSOR_RETRY_S = (0.25, 0.5, 1.0, 2.0)  # back-off after a failed thermal read
CAMERA_RETRY_S = 1.0
MAX_WAIT_S = 0.05  # a worker re-checks its schedule (and `stop`) at least this often
DROPS_LOGGED_EVERY = 100  # a full inbox logs its first drop, then one in this many
THERMAL_INBOX = 64  # thermal results the loop may fall behind by before the oldest are dropped


class Inbox(Generic[T]):
    """A bounded, thread-safe FIFO; `maxlen=1` makes it a mailbox where the latest wins.

    `dropped` counts the items pushed out unread.  A mailbox replaces by design; a longer inbox
    that overflows means the loop fell behind, and says so in the log.
    """

    def __init__(self, maxlen: int, wake: threading.Event | None = None, *, name: str = "inbox") -> None:
        self._items: deque[T] = deque(maxlen=maxlen)
        self._lock = threading.Lock()
        self._wake = wake
        self.name = name
        self.dropped = 0

    def put(self, item: T) -> None:
        with self._lock:
            full = len(self._items) == self._items.maxlen
            if full:
                self.dropped += 1
            self._items.append(item)
        if full and self._items.maxlen != 1 and self.dropped % DROPS_LOGGED_EVERY == 1:
            log.warning("%s full: %d items dropped so far (the main loop fell behind)", self.name, self.dropped)
        if self._wake is not None:
            self._wake.set()

    def take_all(self) -> list[T]:
        with self._lock:
            items = list(self._items)
            self._items.clear()
        return items


@dataclass(frozen=True, slots=True)
class ThermalResult:
    frame: ThermalFrame | None  # None: the read failed
    error: BaseException | None = None


@dataclass(frozen=True, slots=True)
class CameraResult:
    frame: GrayFrame | None
    texts: tuple[str, ...] = ()
    error: BaseException | None = None  # a camera error; a decoder error is logged and gives no texts


def in_frame_order(thermal: list[ThermalResult], camera: list[CameraResult], *, since: float, now: float,
                   ) -> list[tuple[float, ThermalResult | CameraResult]]:
    """The workers' results in the order, and at the times, their frames were taken.

    After a main-loop stall a batch spans seconds.  Fed all at once, an empty spot in the
    middle of it would never last long enough for the checkpoint to see the visitor leave, and
    the next one would inherit their code; so the loop feeds each result at its frame's
    `taken_at` (a failed thermal read at the time of the frame before it, a failed camera read
    at `now`) and runs the checkpoint's timers after each.  A stamp off the kiosk clock cannot
    go back before `since` (the latest time already fed) or ahead of `now`.
    """
    stamp = since
    batch: list[tuple[float, int, int, ThermalResult | CameraResult]] = []
    for i, result in enumerate(thermal):
        stamp = result.frame.taken_at if result.frame is not None else stamp
        batch.append((stamp, 0, i, result))
    for i, shot in enumerate(camera):
        batch.append((shot.frame.taken_at if shot.frame is not None else now, 1, i, shot))
    ordered: list[tuple[float, ThermalResult | CameraResult]] = []
    fed = since
    for stamp, _kind, _i, item in sorted(batch, key=lambda entry: entry[:3]):
        fed = min(max(stamp, fed), now)
        ordered.append((fed, item))
    return ordered


class _Worker:
    """A daemon thread running `_run` until `stop()`."""

    name = "worker"

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._guarded_run, name=f"kiosk-{self.name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 1.0) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("%s thread still busy in a driver call; left behind", self.name)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _wait_until(self, deadline: float, also: Callable[[], float] | None = None) -> bool:
        """Sleep until `deadline` on the kiosk clock (re-read through `also`, if given); False once stopping."""
        while not self._stop.is_set():
            if also is not None:
                deadline = also()
            left = deadline - self.clock.monotonic()
            if left <= 0:
                return True
            self._stop.wait(min(left, MAX_WAIT_S))
        return False

    def _guarded_run(self) -> None:
        try:
            self._run()
        except Exception:  # the loop notices the silence (sensor fault, liveness); never a silent death
            log.exception("%s thread died", self.name)

    def _run(self) -> None:
        raise NotImplementedError


class ThermalWorker(_Worker):
    """Reads the thermal array as fast as it delivers frames, and posts every result."""

    name = "thermal"

    def __init__(self, sensor: ThermalSensor, clock: Clock, inbox: Inbox[ThermalResult]) -> None:
        super().__init__(clock)
        self.sensor = sensor
        self.inbox = inbox
        self.failures = 0

    def _run(self) -> None:
        due = self.sensor.next_frame_at()
        while self._wait_until(due):
            try:
                frame = self.sensor.read_frame()
            except Exception as exc:  # SensorError or a driver bug: the loop decides what it means
                if not isinstance(exc, SensorError) and self.failures == 0:
                    log.exception("thermal driver failed")
                delay = SENSOR_RETRY_S[min(self.failures, len(SENSOR_RETRY_S) - 1)]
                self.failures += 1
                self.inbox.put(ThermalResult(None, exc))
                due = self.clock.monotonic() + delay
                continue
            self.failures = 0
            self.inbox.put(ThermalResult(frame))
            due = self.sensor.next_frame_at()


class CameraWorker(_Worker):
    """Reads and decodes camera frames at the camera's rate (slower while `idle`), posting the latest."""

    name = "camera"

    def __init__(self, camera: FrameSource, decoder: QrDecoder, clock: Clock, mailbox: Inbox[CameraResult], *,
                 idle_fps: float) -> None:
        super().__init__(clock)
        self.camera = camera
        self.decoder = decoder
        self.mailbox = mailbox
        self.idle_period = 1.0 / idle_fps
        self.idle = True  # set by the loop: nobody is being checked, scan slowly
        self._read_at = -1e9
        self._retry_at = -1e9
        self.decode_s = 0.0  # time spent decoding, for the bench

    def camera_ok(self, now: float) -> bool:
        """False while a failed read is being retried (the health report says so)."""
        return self._retry_at <= now

    def _due(self) -> float:
        due = max(self.camera.next_frame_at(), self._retry_at)
        if self.idle:
            due = max(due, self._read_at + self.idle_period)
        return due

    def _run(self) -> None:
        while self._wait_until(0.0, also=self._due):
            try:
                frame = self.camera.read_frame()
            except Exception as exc:
                if isinstance(exc, CameraError):
                    log.warning("camera: %s", exc)
                else:
                    log.exception("camera driver failed")
                self._retry_at = self.clock.monotonic() + CAMERA_RETRY_S
                self.mailbox.put(CameraResult(None, error=exc))
                continue
            self._read_at = self.clock.monotonic()
            started = time.perf_counter()
            try:
                texts = tuple(self.decoder.decode(frame.y))
            except KioskError as exc:  # the isolated decoder died or timed out: it restarts by itself
                log.warning("QR decoder failed on a frame: %s", exc)
                texts = ()
            except Exception:  # one odd frame must not stop scanning
                log.exception("QR decoder failed on a frame")
                texts = ()
            self.decode_s += time.perf_counter() - started
            self.mailbox.put(CameraResult(frame, texts))


class Workers:
    """The loop's threaded mode: both workers, their inboxes, and what has been fed of their results.

    The workers start on the loop's first pass (`start`), with the parts the kiosk holds then.
    """

    def __init__(self, clock: Clock, *, idle_fps: float, now: float) -> None:
        self.clock = clock
        self.idle_fps = idle_fps
        self.wake = threading.Event()  # set by every result posted: the loop wakes for it
        self.thermal_inbox: Inbox[ThermalResult] = Inbox(THERMAL_INBOX, self.wake, name="thermal inbox")
        self.camera_inbox: Inbox[CameraResult] = Inbox(1, self.wake)
        self.thermal: ThermalWorker | None = None
        self.camera: CameraWorker | None = None
        self.fed_until = now  # the latest time fed to the checkpoint (it never goes back)

    @property
    def started(self) -> bool:
        return self.thermal is not None

    @property
    def dropped(self) -> int:
        """Thermal frames the loop fell too far behind to use."""
        return self.thermal_inbox.dropped

    def start(self, sensor: ThermalSensor, camera: FrameSource, decoder: QrDecoder) -> None:
        self.thermal = ThermalWorker(sensor, self.clock, self.thermal_inbox)
        self.camera = CameraWorker(camera, decoder, self.clock, self.camera_inbox, idle_fps=self.idle_fps)
        self.thermal.start()
        self.camera.start()

    def stop(self) -> None:
        for feed in (self.thermal, self.camera):
            if feed is not None:
                feed.stop()

    def wait(self, deadline: float, now: float) -> None:
        """Until a result is posted or `deadline` (kiosk clock) passes; then ready for the next posts."""
        if deadline > now:
            self.wake.wait(deadline - now)
        self.wake.clear()  # before taking: a result posted from here on wakes the next pass

    def take(self, now: float) -> list[tuple[float, ThermalResult | CameraResult]]:
        """Everything posted since the last take, in frame order, stamped (`in_frame_order`)."""
        thermal = self.thermal_inbox.take_all()
        camera = self.camera_inbox.take_all()  # one slot: the latest only
        batch = in_frame_order(thermal, camera, since=self.fed_until, now=now)
        if batch:
            self.fed_until = batch[-1][0]
        return batch

    def scan_idle(self, idle: bool) -> None:
        """Scan slowly while nobody is being checked (the camera worker's rate)."""
        if self.camera is not None:
            self.camera.idle = idle

    def camera_ok(self, now: float) -> bool | None:
        """The camera worker's view; None before the workers started."""
        return None if self.camera is None else self.camera.camera_ok(now)
