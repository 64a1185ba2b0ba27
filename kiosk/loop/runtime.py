"""The kiosk's main loop: sensors → observations → decision → signals + screen + event → outbox.

One discrete-event loop serves real hardware and simulation alike: it sleeps on the `Clock`
until the next thing is due (a thermal subpage, a camera frame, a timer), handles it, and
presents the result.  On a `VirtualClock` the sleeps cost nothing, which is how a scenario runs
as fast as the CPU allows through exactly the code path of the real kiosk.

The outbox commit happens before the decision is presented: an entry that was shown was stored
(`kiosk.loop.recording.Recorder`: building and storing the event are one guarded step).

Two ways to feed the loop, one decision path:

* **inline** (a `VirtualClock`: simulations, tests): the loop itself reads the sensor and decodes
  camera frames when they are due, so a scenario is exactly reproducible;
* **threaded** (a real clock: the kiosk, the demo): a thermal worker and a camera+decoder worker
  (`kiosk.loop.workers`) post their results, and the loop wakes for them or for the next frame, so the
  screen redraws at a steady `display.fps` however long an I²C read or a decode takes.  Each
  result is fed to the checkpoint at the time its frame was taken, in that order, with the
  checkpoint's timers run after each: a late batch is decided as it happened.

Around the loop, each in its own module: `kiosk.checkpoint.code_check` makes a decoded text a
verified `ScannedCode` (and judges it again at the decision, `_judge`); `kiosk.loop.workers` the
threaded mode; `kiosk.loop.presentation` the view (`Presenter`); `kiosk.loop.recording` the event
of each outcome (`Recorder`); `kiosk.loop.collaborators` what the loop is handed besides hardware.

The policy in force lives in one `PolicyInForce` that the checkpoint, the replay guard, the event
builder and the daily summary all read; `apply_policy` is the one way to change it.  Others know
the running kiosk by its `status()` (`KioskStatus`), handed to the poller on every pass.  Each pass
beats `loop_watch` and calls the `on_beat`/`on_progress` hooks that feed the systemd watchdog.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from kiosk.checkpoint import (
    Checkpoint,
    CodeCheck,
    CodesInView,
    CodeVerifier,
    Phase,
    PolicyInForce,
    ReplayGuard,
    ScannedCode,
    VisitorOutcome,
)
from kiosk.clocksync import ClockSync
from kiosk.config import KioskConfig, PolicyConfig
from kiosk.errors import CameraError, KioskError, SensorError
from kiosk.feed import EntryEvent, EventBuilder
from kiosk.loop.collaborators import EventSink, Poller, Voice, guarded
from kiosk.loop.heartbeat import LoopWatch
from kiosk.loop.presentation import Presenter, status_strip, view_of
from kiosk.loop.recording import Recorder
from kiosk.loop.workers import CameraResult, Workers
from kiosk.ports import (
    Clock,
    Display,
    FrameSource,
    KioskStatus,
    QrDecoder,
    ScreenView,
    Signals,
    StatusStrip,
    ThermalFrame,
    ThermalSensor,
)
from kiosk.screening import Screening

log = logging.getLogger(__name__)

RENDER_INTERVAL_S = 0.5  # re-render an unchanged view this often (clock, live inset)
SENSOR_RETRY_S = (0.25, 0.5, 1.0, 2.0)  # back-off after a failed thermal read
CAMERA_RETRY_S = 1.0
IDLE_SCAN_FPS = 2.0  # QR scanning rate while nobody is at the kiosk
STATUS_REFRESH_S = 0.5  # re-count the outbox for the status strip this often


class Kiosk:
    """Owns the loop; builds nothing (see `kiosk.service.app`).

    `policy` is the policy in force, shared with the feed (its daily summary names it); by default
    a new one holding `config.policy`.  `verifier` checks codes (the one made for that policy).
    """

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
        sink: EventSink,
        poller: Poller | None = None,
        voice: Voice | None = None,
        threaded: bool | None = None,
        clock_sync: ClockSync | None = None,
        policy: PolicyInForce | None = None,
    ) -> None:
        self.config = config  # its `policy` is the local file's: the policy in force is `self.policy` (apply_policy)
        self.clock = clock
        self.sensor = sensor
        self.camera = camera
        self.decoder = decoder
        self.verifier = verifier
        self.sink = sink
        self.poller = poller
        self.clock_sync = clock_sync  # None: the wall clock is trusted
        self.policy = policy or PolicyInForce(config.policy)
        now = clock.monotonic()
        screening = Screening(config.thermal, frames_per_reading=config.checkpoint.frames_per_reading)
        self.checkpoint = Checkpoint(self.policy, config.checkpoint, screening, now=now)
        # A THP1 code that already let somebody in is `code_replayed` (keyed hashes only; kiosk.checkpoint.replay).
        self.replay = ReplayGuard(self.policy)
        self.code_check = CodeCheck(self.replay, wall=clock.wall)  # verified once a second; person keys per boot
        self.checkpoint.judge = self._judge  # a held code is judged again at the moment of the decision
        self.recorder = Recorder(EventBuilder.from_config(config, self.policy), sink, self.replay, self.checkpoint)
        self._sensor_due = sensor.next_frame_at()
        self._sensor_failures = 0
        self._camera_retry_at = -1e9
        self._camera_read_at = -1e9
        self._last_pixels = None
        self._in_view = CodesInView()  # frame-level flicker out; two phones at once seen as several
        self._buffered = 0
        self._status_due = -1e9
        # Until the first pass reads it: nothing known yet, the clock not trusted (fail closed).
        self._last_status = KioskStatus(sensor_ok=False, camera_ok=False, clock_synced=False)
        # Threads only on a real clock (unless asked): a virtual clock must stay inline and exact.
        if threaded is None:
            from kiosk.clock import RealClock

            threaded = isinstance(clock, RealClock)
        self.threaded = threaded
        self.presenter = Presenter(display, signals, voice, on_drawn=lambda: self._progress("ui"),
                                   interval=1.0 / config.display.fps if threaded else RENDER_INTERVAL_S)
        self.loop_watch = LoopWatch(stall_s=config.display.stall_ms / 1000)
        self.on_beat: list[Callable[[float], None]] = []  # each pass of the loop, with clock.monotonic()
        self.on_progress: list[Callable[[str, float], None]] = []  # ("thermal"|"camera"|"ui", now)
        self.workers = Workers(clock, idle_fps=IDLE_SCAN_FPS, now=now)  # threaded mode only

    # What is shown, and on what: the presenter's (`kiosk.loop.presentation.Presenter`).
    @property
    def display(self) -> Display:
        return self.presenter.display

    @property
    def signals(self) -> Signals:
        return self.presenter.signals

    @property
    def view(self) -> ScreenView:
        return self.presenter.view  # the view on the screen now

    @property
    def on_view(self) -> list[Callable[[ScreenView], None]]:
        return self.presenter.on_view  # called with each view drawn

    # What is stored of each outcome: the recorder's (`kiosk.loop.recording.Recorder`).
    @property
    def events(self) -> EventBuilder:
        return self.recorder.events

    @property
    def on_outcome(self) -> list[Callable[[VisitorOutcome, EntryEvent], None]]:
        return self.recorder.on_outcome  # called with each outcome and its event, once stored

    @property
    def store_failures(self) -> int:
        return self.recorder.store_failures

    # ------------------------------------------------------------------------------ public surface
    def status(self) -> KioskStatus:
        """The kiosk as its loop sees it now: what the health report and the status strip read."""
        cp = self.checkpoint
        return KioskStatus(
            sensor_ok=not cp.sensor_faulty,
            camera_ok=self._camera_ok(self.clock.monotonic()),
            clock_synced=cp.clock_synced,
            drift_c=cp.screening.drift.drift_c,
            warnings=(() if cp.clock_synced else ("warning_clock",)) + cp.warnings,
            thermal_frames_dropped=self.workers.dropped,
            store_failures=self.store_failures,
        )

    def apply_policy(self, policy: PolicyConfig, verifier: CodeVerifier) -> None:
        """Decide by `policy`, checking codes with `verifier` (made for it), from the next decision on.

        The one way to change the rules: the checkpoint, the replay guard, the event builder and the
        daily summary all read the same `PolicyInForce`, so every event names the version applied.
        Call it on the loop's thread (the township's configuration is handled in `poll`), so no
        decision is half made with the old rules and half with the new.
        """
        self.policy.replace(policy)
        self.verifier = verifier

    def _camera_ok(self, now: float) -> bool:
        """False while the camera is being retried after a failed read (threaded or inline)."""
        threaded = self.workers.camera_ok(now)
        return self._camera_retry_at <= now if threaded is None else threaded

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
            guarded(callback, now)
        self._sync_clock()
        self._tick(now, self.clock.wall())
        # The status once per pass, under its own guard: a fault reading it must neither stop the
        # feed (uplink, health, daily summary) nor the screen.
        self._last_status = guarded(self.status) or self._last_status
        self._present(now)
        if self.poller is not None:
            poller, status = self.poller, self._last_status
            guarded(lambda: poller.poll(status))

    def _sync_clock(self) -> None:
        if self.clock_sync is not None:  # an error answering is "not synchronised": fail closed
            self.checkpoint.clock_synced = bool(guarded(self.clock_sync.synchronized))

    def _tick(self, now: float, wall: float) -> None:
        for outcome in self.checkpoint.tick(now, wall):
            self._record(outcome)

    def _step_inline(self) -> None:
        """Sleep until the next thing is due, then read the sensor and the camera right here."""
        deadline = min(self._sensor_due, self._camera_due(), self.presenter.due)
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
        if not self.workers.started:
            self.workers.start(self.sensor, self.camera, self.decoder)
        now = self.clock.monotonic()
        deadline = self.presenter.due
        checkpoint_deadline = self.checkpoint.next_deadline()
        if checkpoint_deadline is not None and checkpoint_deadline > now:
            deadline = min(deadline, checkpoint_deadline)
        self.workers.wait(deadline, now)

    def stop_workers(self) -> None:
        """Stop the worker threads (threaded mode); `close` does it too."""
        self.workers.stop()

    def _take_results(self) -> None:
        """Feed the workers' results in the order, and at the times, their frames were taken
        (`kiosk.loop.workers.in_frame_order`), with the checkpoint's timers run after each."""
        now = self.clock.monotonic()
        batch = self.workers.take(now)
        wall_offset = self.clock.wall() - now
        for at, result in batch:
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
        self.workers.scan_idle(self.checkpoint.phase is Phase.IDLE and not self.checkpoint.sensor_faulty)

    def _progress(self, part: str) -> None:
        now = self.clock.monotonic()
        for callback in self.on_progress:
            guarded(callback, part, now)

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
        # The verifier of the policy in force, on the clock as it is now.
        return self.code_check.check(text, now, self.verifier, clock_synced=self.checkpoint.clock_synced)

    def _judge(self, code: ScannedCode) -> ScannedCode:
        """The held code judged again now: the verifier, the wall clock and the replay guard of this moment."""
        if code.text is None:
            return code
        return self.code_check.check(code.text, self.clock.monotonic(), self.verifier, fresh=True,
                                     clock_synced=self.checkpoint.clock_synced)

    # ------------------------------------------------------------------------------ outputs
    def _record(self, outcome: VisitorOutcome) -> None:
        self.recorder.record(outcome, self.clock.wall())

    def _status(self, now: float) -> StatusStrip:
        if now >= self._status_due:
            self._status_due = now + STATUS_REFRESH_S
            try:
                self._buffered = self.sink.pending_count()
            except Exception:
                log.exception("outbox unreadable")
        poller = self.poller
        return status_strip(
            self._last_status,
            site_name=self.config.site.name,
            wall_time=self.clock.wall(),
            online=bool(poller is not None and guarded(lambda: poller.online)),
            buffered_events=self._buffered,
        )

    def _present(self, now: float) -> None:
        view = view_of(self.checkpoint, thermal=self._last_pixels, status=self.presenter.view.status,
                       staff_spot=self.config.site.staff_spot)
        self.presenter.present(view, now, status=lambda: self._status(now), steady=self.threaded)

    def close(self) -> None:
        """Stop the workers and close every part the kiosk was handed (the poller before the sink)."""
        self.stop_workers()
        p = self.presenter
        for part in (self.sensor, self.camera, self.decoder, p.signals, p.display, p.voice, self.poller, self.sink):
            close = getattr(part, "close", None)  # a decoder may have nothing to close
            if close is None:
                continue
            try:
                close()
            except Exception:
                log.exception("closing %s", type(part).__name__)

