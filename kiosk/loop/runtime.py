"""The kiosk's main loop: sensors → observations → decision → signals + screen + event → outbox.

One discrete-event loop serves real hardware and simulation alike: it sleeps on the `Clock`
until the next thing is due (a thermal subpage, a camera frame, a timer), handles it, and
presents the result.  On a `VirtualClock` the sleeps cost nothing, which is how a scenario runs
as fast as the CPU allows through exactly the code path of the real kiosk.

The outbox commit happens before the decision is presented: an entry that was shown was stored.

Two ways to feed the loop, one decision path:

* **inline** (a `VirtualClock`: simulations, tests): the loop itself reads the sensor and decodes
  camera frames when they are due, so a scenario is exactly reproducible;
* **threaded** (a real clock: the kiosk, the demo): a thermal worker and a camera+decoder worker
  (`kiosk.loop.workers`) post their results, and the loop wakes for them or for the next frame, so the
  screen redraws at a steady `display.fps` however long an I²C read or a decode takes.  Each
  result is fed to the checkpoint at the time its frame was taken, in that order, with the
  checkpoint's timers run after each: a late batch is decided as it happened.

Around the loop, each in its own module: `kiosk.checkpoint.code_check` makes a decoded text a verified
`ScannedCode` (cached, screened for replay, tied to its holder); `kiosk.loop.workers` holds the workers
and the order their results are fed in; `kiosk.loop.presentation` reads the screen view, the status
strip and the signal off the checkpoint.

Each pass beats `loop_watch` (`kiosk.loop.heartbeat.LoopWatch`: `is_alive()`, `last_beat`) and calls
the `on_beat(now)` and `on_progress(part, now)` hooks, through which the systemd watchdog is fed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Protocol

from kiosk.checkpoint.code_check import VERIFY_CACHE_S, CodeCheck, CodeVerifier, facts_of
from kiosk.checkpoint.machine import Checkpoint, Phase, ScannedCode, VisitorOutcome
from kiosk.checkpoint.replay import ReplayGuard
from kiosk.checkpoint.sightings import CodesInView
from kiosk.config import KioskConfig
from kiosk.errors import CameraError, KioskError, SensorError
from kiosk.feed.events import ALERT_PRIORITY, EntryEvent, entry_event
from kiosk.loop.heartbeat import LoopWatch
from kiosk.loop.presentation import SCREEN_SIGNALS, NullDisplay, status_strip, view_of
from kiosk.loop.workers import CameraFeed, CameraResult, Inbox, ThermalFeed, ThermalResult, in_frame_order
from kiosk.ports import (
    Clock,
    Display,
    FrameSource,
    QrDecoder,
    Screen,
    ScreenView,
    Signal,
    Signals,
    StatusStrip,
    ThermalFrame,
    ThermalSensor,
)
from kiosk.screening.thermal import Screening

# Imported from here by the composition root, the simulation and tests, wherever they live.
__all__ = ["SCREEN_SIGNALS", "VERIFY_CACHE_S", "CodeVerifier", "EventStore", "Kiosk", "NullDisplay", "Uplink",
           "Voice", "facts_of"]

log = logging.getLogger(__name__)

RENDER_INTERVAL_S = 0.5  # re-render an unchanged view this often (clock, live inset)
SENSOR_RETRY_S = (0.25, 0.5, 1.0, 2.0)  # back-off after a failed thermal read
CAMERA_RETRY_S = 1.0
IDLE_SCAN_FPS = 2.0  # QR scanning rate while nobody is at the kiosk
STATUS_REFRESH_S = 0.5  # re-count the outbox for the status strip this often
THERMAL_INBOX = 64  # thermal results the loop may fall behind by before the oldest are dropped


class EventStore(Protocol):
    def append(self, stream: str, event_id: str, payload: bytes, *, priority: int = 0) -> int: ...

    def pending_count(self) -> int: ...


class Voice(Protocol):
    """Spoken prompts; `say` returns at once (the sound plays on its own)."""

    def say(self, screen: Screen) -> None: ...

    def close(self) -> None: ...


class Uplink(Protocol):
    @property
    def online(self) -> bool: ...

    def poll(self) -> None: ...


class Kiosk:
    """Owns the loop; builds nothing (see `kiosk.service.app`)."""

    def __init__(
        self,
        *,
        config: KioskConfig,
        clock: Clock,
        sensor: ThermalSensor,
        camera: FrameSource,
        decoder: QrDecoder,
        verifier: CodeVerifier,
        signals: Signals,
        display: Display,
        outbox: EventStore,
        uplink: Uplink | None = None,
        voice: Voice | None = None,
        threaded: bool | None = None,
        clock_sync: Any = None,
    ) -> None:
        self.config = config
        self.clock = clock
        self.sensor = sensor
        self.camera = camera
        self.decoder = decoder
        self.verifier = verifier
        self.signals = signals
        self.display = display
        self.outbox = outbox
        self.uplink = uplink
        self.voice = voice
        self.clock_sync = clock_sync  # a `kiosk.clocksync.ClockSync`; None: the wall clock is trusted
        now = clock.monotonic()
        screening = Screening(config.thermal, frames_per_reading=config.checkpoint.frames_per_reading)
        self.checkpoint = Checkpoint(config.policy, config.checkpoint, screening, now=now)
        self.drift = screening.drift  # calibration drift from the visitors' running median (health report)
        self.view = ScreenView(Screen.ATTRACT)
        self.on_outcome: list[Callable[[VisitorOutcome, EntryEvent], None]] = []
        # A THP1 code that already let somebody in is `code_replayed` (keyed hashes only; kiosk.checkpoint.replay).
        self.replay = ReplayGuard(max_code_age_s=config.policy.max_code_age_s, clock_skew_s=config.policy.clock_skew_s)
        self.on_outcome.append(self.replay.on_outcome)
        self.code_check = CodeCheck(self.replay, wall=clock.wall)  # verified once a second; person keys per boot
        self.on_view: list[Callable[[ScreenView], None]] = []
        self.store_failures = 0
        self._sensor_due = sensor.next_frame_at()
        self._sensor_failures = 0
        self._display_failures = 0
        self._signal_failures = 0
        self._camera_retry_at = -1e9
        self._camera_read_at = -1e9
        self._render_due = -1e9  # compared exactly as the loop sleeps on it (float-safe)
        self._last_pixels = None
        self._in_view = CodesInView()  # frame-level flicker out; two phones at once seen as several
        self._buffered = 0
        self._status_due = -1e9
        # Threads only on a real clock (unless asked): a virtual clock must stay inline and exact.
        if threaded is None:
            from kiosk.clock import RealClock

            threaded = isinstance(clock, RealClock)
        self.threaded = threaded
        fps = float(getattr(config.display, "fps", 20.0))
        self._render_interval = 1.0 / fps if threaded else RENDER_INTERVAL_S
        self.loop_watch = LoopWatch(stall_s=getattr(config.display, "stall_ms", 1000) / 1000)
        self.on_beat: list[Callable[[float], None]] = []  # each pass of the loop, with clock.monotonic()
        self.on_progress: list[Callable[[str, float], None]] = []  # ("thermal"|"camera"|"ui", now)
        self.frames_drawn = 0
        self._wake = threading.Event()
        self._thermal_inbox: Inbox[ThermalResult] = Inbox(THERMAL_INBOX, self._wake, name="thermal inbox")
        self._camera_inbox: Inbox[CameraResult] = Inbox(1, self._wake)
        self._thermal_feed: ThermalFeed | None = None
        self._camera_feed: CameraFeed | None = None
        self._fed_until = now  # threaded: the latest time fed to the checkpoint (it never goes back)

    @property
    def thermal_frames_dropped(self) -> int:
        """Thermal frames the threaded loop fell too far behind to use (for the health report)."""
        return self._thermal_inbox.dropped

    # ------------------------------------------------------------------------------ loop
    def run(self, until: Callable[[], bool]) -> None:
        while not until():
            self.step()

    def step(self) -> None:
        if self.threaded:
            self._wait_for_work()
            self._sync_clock()
            self._take_results()
        else:
            self._step_inline()
        now = self.clock.monotonic()
        self.loop_watch.beat()
        for callback in self.on_beat:
            _guarded(callback, now)
        self._sync_clock()
        self._tick(now, self.clock.wall())
        self._present(now)
        if self.uplink is not None:
            _guarded(self.uplink.poll)

    def _sync_clock(self) -> None:
        if self.clock_sync is not None:  # an error answering is "not synchronised": fail closed
            self.checkpoint.clock_synced = bool(_guarded(self.clock_sync.synchronized))

    def _tick(self, now: float, wall: float) -> None:
        outcome = self.checkpoint.tick(now, wall)
        if outcome is not None:
            self._record(outcome)

    def _step_inline(self) -> None:
        """Sleep until the next thing is due, then read the sensor and the camera right here."""
        deadline = min(self._sensor_due, self._camera_due(), self._render_due)
        checkpoint_deadline = self.checkpoint.next_deadline()
        if checkpoint_deadline is not None and checkpoint_deadline > self.clock.monotonic():
            deadline = min(deadline, checkpoint_deadline)  # a past one is handled by this step's tick
        self.clock.sleep_until(deadline)
        now = self.clock.monotonic()
        if now >= self._sensor_due:
            self._read_thermal()
        if self.clock.monotonic() >= self._camera_due():
            self._read_camera()

    def _wait_for_work(self) -> None:
        """Threaded: wait for a worker's result, the next frame or a checkpoint deadline."""
        if self._thermal_feed is None:
            self._start_feeds()
        now = self.clock.monotonic()
        deadline = self._render_due
        checkpoint_deadline = self.checkpoint.next_deadline()
        if checkpoint_deadline is not None and checkpoint_deadline > now:
            deadline = min(deadline, checkpoint_deadline)
        if deadline > now:
            self._wake.wait(deadline - now)
        self._wake.clear()  # before taking: a result posted from here on wakes the next pass

    def _start_feeds(self) -> None:
        self._thermal_feed = ThermalFeed(self.sensor, self.clock, self._thermal_inbox)
        self._camera_feed = CameraFeed(self.camera, self.decoder, self.clock, self._camera_inbox,
                                       idle_fps=IDLE_SCAN_FPS)
        self._thermal_feed.start()
        self._camera_feed.start()

    def stop_feeds(self) -> None:
        """Stop the worker threads (threaded mode); `close` does it too."""
        for feed in (self._thermal_feed, self._camera_feed):
            if feed is not None:
                feed.stop()

    def _take_results(self) -> None:
        """Feed the workers' results in the order, and at the times, their frames were taken
        (`kiosk.loop.workers.in_frame_order`), with the checkpoint's timers run after each."""
        now = self.clock.monotonic()
        thermal = self._thermal_inbox.take_all()
        camera = self._camera_inbox.take_all()  # one slot: the latest only
        wall_offset = self.clock.wall() - now
        for at, result in in_frame_order(thermal, camera, since=self._fed_until, now=now):
            self._fed_until = at
            if isinstance(result, CameraResult):
                self._progress("camera")
                if result.frame is not None:
                    self._camera_read_at = at
                    self._codes_seen(list(result.texts), at)
            elif result.frame is None:
                self._thermal_failed(result.error or SensorError("no frame"), at)
            else:
                self._thermal_read(result.frame, at)
            self._tick(at, at + wall_offset)
        if self._camera_feed is not None:
            self._camera_feed.idle = self.checkpoint.phase is Phase.IDLE and not self.checkpoint.sensor_faulty

    def _progress(self, part: str) -> None:
        now = self.clock.monotonic()
        for callback in self.on_progress:
            _guarded(callback, part, now)

    # ------------------------------------------------------------------------------ inputs
    def _read_thermal(self) -> None:
        try:
            frame = self.sensor.read_frame()
        except Exception as exc:  # SensorError, or a driver bug: either way no valid frame
            delay = SENSOR_RETRY_S[min(self._sensor_failures, len(SENSOR_RETRY_S) - 1)]
            self._thermal_failed(exc)
            self._sensor_due = self.clock.monotonic() + delay
            return
        self._thermal_read(frame)
        self._sensor_due = self.sensor.next_frame_at()

    def _thermal_failed(self, exc: BaseException, now: float | None = None) -> None:
        if not isinstance(exc, SensorError) and self._sensor_failures == 0:
            log.error("thermal driver failed", exc_info=exc)
        now = self.clock.monotonic() if now is None else now
        if self._sensor_failures == 0:
            log.warning("thermal sensor: %s", exc)
        self._sensor_failures += 1
        self.checkpoint.on_sensor_error(now)
        self._progress("thermal")

    def _thermal_read(self, frame: ThermalFrame, now: float | None = None) -> None:
        if self._sensor_failures:
            log.info("thermal sensor answers again after %d failed reads", self._sensor_failures)
            self._sensor_failures = 0
        self._last_pixels = frame.pixels
        self.checkpoint.on_frame(self.clock.monotonic() if now is None else now, frame)
        self._progress("thermal")

    def _camera_due(self) -> float:
        """Scan at the camera's rate while somebody is being checked, slower while the spot is empty.

        The thermal array sees a visitor step up within a subpage, so idle scanning only has to
        catch a code shown to a kiosk whose sensor is down; it saves most of the decoding CPU.
        """
        due = max(self.camera.next_frame_at(), self._camera_retry_at)
        if self.checkpoint.phase is Phase.IDLE and not self.checkpoint.sensor_faulty:
            due = max(due, self._camera_read_at + 1.0 / IDLE_SCAN_FPS)
        return due

    def _read_camera(self) -> None:
        try:
            frame = self.camera.read_frame()
        except Exception as exc:  # CameraError, or a driver bug: retry later
            if isinstance(exc, CameraError):
                log.warning("camera: %s", exc)
            else:
                log.exception("camera driver failed")
            self._camera_retry_at = self.clock.monotonic() + CAMERA_RETRY_S
            self._progress("camera")
            return
        self._camera_read_at = self.clock.monotonic()
        self._progress("camera")
        try:
            texts = self.decoder.decode(frame.y)
        except KioskError as exc:  # the isolated decoder died or timed out: it restarts by itself
            log.warning("QR decoder failed on a frame: %s", exc)
            return
        except Exception:  # a decoder crash on one odd frame must not stop the checkpoint
            log.exception("QR decoder failed on a frame")
            return
        self._codes_seen(texts)

    def _codes_seen(self, texts: list[str], now: float | None = None) -> None:
        now = self.clock.monotonic() if now is None else now
        texts = list(dict.fromkeys(texts))  # decoders do not de-duplicate: one code read twice is one code
        if self._in_view.update(texts, now).several:
            self.checkpoint.on_several_codes(now)  # decide on none; the screen asks for one code
            return
        if len(texts) != 1:
            return  # nothing read in this frame
        self.checkpoint.on_code(now, self._verify(texts[0], now))

    def _verify(self, text: str, now: float) -> ScannedCode:
        return self.code_check.check(text, now, self.verifier)  # the verifier remote config applied last

    # ------------------------------------------------------------------------------ outputs
    def _record(self, outcome: VisitorOutcome) -> None:
        event = entry_event(outcome, self.config, wall=self.clock.wall())
        try:
            self.outbox.append(
                event.stream, event.event_id, event.to_json(), priority=ALERT_PRIORITY if event.alert else 0
            )
        except Exception:  # a full or broken disk must not stop the checkpoint…
            self.store_failures += 1
            log.exception("could not store event %s", event.event_id)
            self.checkpoint.mark_unrecorded()  # …but an entry not stored is never shown as PASS
        log.info("decision %s %s", event.decision, ",".join(event.reasons) or "-")
        for callback in self.on_outcome:
            _guarded(callback, outcome, event)

    def _status(self, now: float) -> StatusStrip:
        if now >= self._status_due:
            self._status_due = now + STATUS_REFRESH_S
            try:
                self._buffered = self.outbox.pending_count()
            except Exception:
                log.exception("outbox unreadable")
        return status_strip(
            self.checkpoint,
            site_name=self.config.site.name,
            wall_time=self.clock.wall(),
            online=bool(self.uplink is not None and _guarded(lambda: self.uplink.online)),
            buffered_events=self._buffered,
        )

    def _present(self, now: float) -> None:
        view = view_of(self.checkpoint, thermal=self._last_pixels, status=self.view.status,
                       staff_spot=self.config.site.staff_spot)
        changed = view.screen is not self.view.screen
        if view != self.view or now >= self._render_due:
            view = replace(view, status=self._status(now))
            self.view = view
            try:
                self.display.render(view)
                self._display_failures = 0
                self.frames_drawn += 1
                self._progress("ui")
            except Exception:  # keep deciding and storing; the watchdog (issue 7) restarts a dead UI
                if self._display_failures == 0:
                    log.exception("display failed")
                self._display_failures += 1
            if not self.threaded:
                self._render_due = now + self._render_interval
            elif now >= self._render_due:  # a steady frame rate: the next frame on the grid, or now
                self._render_due += self._render_interval
                if self._render_due <= now:
                    self._render_due = now + self._render_interval
            for callback in self.on_view:
                _guarded(callback, view)
        try:
            if changed:
                self.signals.show(SCREEN_SIGNALS.get(view.screen, Signal.IDLE), now)
                if self.voice is not None:
                    _guarded(self.voice.say, view.screen)
            self.signals.update(now)
            self._signal_failures = 0
        except Exception:  # a GPIO error must not stop the checkpoint; the screen still speaks
            if self._signal_failures == 0:
                log.exception("signals failed")
            self._signal_failures += 1

    def close(self) -> None:
        self.stop_feeds()
        for part in (self.sensor, self.camera, self.decoder, self.signals, self.display, self.voice):
            close = getattr(part, "close", None)  # a decoder may have nothing to close
            if close is None:
                continue
            try:
                close()
            except Exception:
                log.exception("closing %s", type(part).__name__)


def _guarded(call: Callable[..., Any], *args: Any) -> Any:
    """Call a collaborator's hook; an exception is logged, never allowed to stop the loop."""
    try:
        return call(*args)
    except Exception:
        log.exception("%s failed", getattr(call, "__qualname__", call))
        return None
