"""The composition root: the one place that turns a configuration into running parts.

Everything else receives its collaborators; nothing else reads the configuration file or picks
hardware.  Drivers are imported here, lazily, so that a laptop never imports picamera2 or smbus2
and a Pi never needs the emulators.
"""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path

from kiosk.config import KioskConfig
from kiosk.errors import StartupError
from kiosk.ports import Clock, Display, FrameSource, Signals, ThermalSensor

log = logging.getLogger(__name__)


def build_outbox(config: KioskConfig, clock: Clock):  # type: ignore[no-untyped-def]
    from kiosk.outbox import Limits, Outbox

    data_dir = Path(config.storage.data_dir)
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StartupError(f"storage.data_dir {data_dir}: {exc.strerror}") from None
    s = config.storage
    limits = Limits(max_rows=s.max_rows, max_bytes=int(s.max_mb * 1024 * 1024), retention_s=s.retention_days * 86_400)
    return Outbox(data_dir / "outbox.sqlite", clock=clock, limits=limits)


def build_uplink(config: KioskConfig, outbox, *, clock: Clock | None = None, host: str | None = None,  # type: ignore[no-untyped-def]
                 port: int | None = None):
    """The MQTT uplink of `config.uplink` (None when disabled and no `host` is given).

    `clock` times reconnects: leave it None (real time) in a simulation on a virtual clock.
    """
    u = config.uplink
    if not u.enabled and host is None:
        return None
    import ssl

    from kiosk.feed.topics import KioskTopics
    from kiosk.uplink import MqttUplink

    tls = None
    if u.tls:
        try:
            tls = ssl.create_default_context(cafile=u.ca_file or None)
            if u.cert_file:
                tls.load_cert_chain(u.cert_file, u.key_file or None)
        except (OSError, ssl.SSLError) as exc:
            raise StartupError(f"uplink TLS files: {exc}") from None
    site = config.site
    topics = KioskTopics(site.township, site.site_id, site.kiosk_id)
    return MqttUplink(outbox, host=host or u.host, port=port or u.port,
                      client_id=f"{site.township}.{site.site_id}.{site.kiosk_id}", topic_prefix=topics.prefix,
                      clock=clock, keepalive=u.keepalive_s, max_inflight=u.max_inflight, tls=tls,
                      backoff_s=(u.reconnect_min_s, max(u.reconnect_min_s, u.reconnect_max_s)))


def build_feed(config: KioskConfig, clock: Clock, outbox, uplink=None):  # type: ignore[no-untyped-def]
    """The outbox, uplink, health and daily summary as the kiosk loop's event store and uplink."""
    from kiosk.feed.pump import Feed

    return Feed(config, clock, outbox, uplink)


def build_signals(config: KioskConfig, clock: Clock | None = None) -> Signals:
    from drivers.signals import GpioSignals, QuietHours

    s = config.signals
    factory = None
    if s.backend == "mock":
        from gpiozero.pins.mock import MockFactory

        factory = MockFactory()
    quiet = QuietHours.parse(s.quiet_from, s.quiet_until, s.quiet_buzzer)
    return GpioSignals(buzzer_pin=s.buzzer_pin, green_pin=s.green_pin, red_pin=s.red_pin, pin_factory=factory,
                       quiet_hours=quiet, **({"wall": clock.wall} if clock is not None else {}))


def build_voice(config: KioskConfig):  # type: ignore[no-untyped-def]
    """Spoken prompts when the site wants them (`display.voice`); None otherwise, or when they cannot be had."""
    if not config.display.voice:
        return None
    from drivers.audio.player import VoicePlayer
    from drivers.audio.voice_files import VoiceBuildError, build_prompts

    directory = config.display.voice_dir or str(Path(config.storage.data_dir) / "voice")
    try:
        files = build_prompts(directory)  # made by scripts/build-voice; generated here if missing
    except (VoiceBuildError, OSError) as exc:
        log.warning("voice prompts off: %s", exc)
        return None
    return VoicePlayer(files)


def build_sensor(config: KioskConfig, clock: Clock) -> ThermalSensor:
    t = config.thermal
    if t.backend == "smbus2":
        from drivers.mlx90640.driver import Mlx90640Sensor
        from drivers.mlx90640.smbus2_transport import Smbus2Transport

        return Mlx90640Sensor(Smbus2Transport(t.i2c_bus, t.address), clock, refresh_hz=t.refresh_hz,
                              emissivity=t.emissivity)
    if t.backend == "adafruit":
        import board  # type: ignore[import-not-found]
        import busio  # type: ignore[import-not-found]

        from drivers.mlx90640.adafruit_backend import AdafruitSensor

        i2c = busio.I2C(board.SCL, board.SDA, frequency=400_000)
        return AdafruitSensor(i2c, clock, refresh_hz=t.refresh_hz, emissivity=t.emissivity, address=t.address)
    raise StartupError("thermal.backend = \"emulated\" needs a simulated world: use `kiosk run --simulated`")


def build_camera(config: KioskConfig, clock: Clock) -> FrameSource:
    from drivers.camera.region import CroppedSource, Region

    c = config.camera
    region = Region(*c.region)
    source: FrameSource
    if c.source == "picamera2":
        from drivers.camera.picamera2_source import Picamera2Source

        return Picamera2Source(clock, size=(c.width, c.height), fps=c.fps, autofocus=c.autofocus,
                               exposure_ev=c.exposure_ev, region=region)
    if c.source == "folder":
        from drivers.camera.files import ImageFolderSource

        source = ImageFolderSource(c.folder, clock, fps=c.fps)
    elif c.source in ("video", "webcam"):
        try:
            if c.source == "video":
                from drivers.camera.files import VideoFileSource

                source = VideoFileSource(c.video_file, clock, fps=c.fps)
            else:
                from drivers.camera.webcam import WebcamSource

                source = WebcamSource(clock, device=c.webcam_device, size=(c.width, c.height), fps=c.fps)
        except ImportError as exc:  # OpenCV is optional
            raise StartupError(f"camera.source = \"{c.source}\": {exc}") from None
    else:
        raise StartupError("camera.source = \"emulated\" needs a simulated world: use `kiosk run --simulated`")
    return source if region.is_full else CroppedSource(source, region)


def build_decoder(config: KioskConfig):  # type: ignore[no-untyped-def]
    """The QR decoder `camera.decoder` names, in a child process unless `camera.decoder_isolated` is off."""
    from drivers.qr.decoders import make_decoder
    from drivers.qr.isolated import IsolatedDecoder

    c = config.camera
    try:
        if c.decoder_isolated:
            return IsolatedDecoder(c.decoder, timeout_s=c.decode_timeout_s, max_pixels=c.width * c.height)
        return make_decoder(c.decoder)
    except (ImportError, RuntimeError) as exc:
        raise StartupError(f"camera.decoder = \"{c.decoder}\": {exc}") from None


def build_display(config: KioskConfig) -> Display:
    from ui.display import PygameDisplay, ScreenRenderer
    from ui.site import SiteNotice

    d = config.display
    notice = SiteNotice(retention_days=float(getattr(config.storage, "retention_days", 7)),
                        recipient=d.privacy_recipient, place_code=d.place_code)
    return PygameDisplay(size=(d.width, d.height), fullscreen=d.fullscreen,
                         driver=None if d.driver == "auto" else d.driver, title="Checkpoint kiosk",
                         renderer=ScreenRenderer(site=notice))


def stop_on_signals() -> threading.Event:
    """An event set by SIGTERM (systemd stopping the unit) or SIGINT: the loop finishes its pass and closes."""
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    return stop


def run_kiosk(config: KioskConfig) -> int:
    """Run on real hardware until SIGTERM/SIGINT or the window is closed."""
    from kiosk.clock import RealClock
    from kiosk.clocksync import SystemClockSync
    from kiosk.healthpass import TrustList, Verifier
    from kiosk.loop.runtime import Kiosk
    from kiosk.service.maintenance import record_failure
    from kiosk.service.watchdog import Watchdog

    if not config.health_pass.trust_list:
        log.error("health_pass.trust_list is not set: no code could ever be valid")
        return 1
    clock = RealClock()
    try:
        trust = TrustList.from_file(config.health_pass.trust_list)
        outbox = build_outbox(config, clock)
        feed = build_feed(config, clock, outbox, build_uplink(config, outbox, clock=clock))
        kiosk = Kiosk(
            config=config,
            clock=clock,
            sensor=build_sensor(config, clock),
            camera=build_camera(config, clock),
            decoder=build_decoder(config),
            verifier=Verifier(trust, max_code_age_s=config.policy.max_code_age_s,
                              clock_skew_s=config.policy.clock_skew_s),
            signals=build_signals(config, clock),
            display=build_display(config),
            outbox=feed,
            uplink=feed,
            clock_sync=SystemClockSync(),
            voice=build_voice(config),
        )
        feed.attach(kiosk)
        # the township's signed configuration: the one saved by an earlier run now, newer ones as they come
        from kiosk.feed.remote_config import PolicyState, RemoteConfig, attach_remote_config

        remote = RemoteConfig.from_config(config, PolicyState.build(config.policy, trust), wall=clock.wall,
                                          clock_synced=lambda: bool(kiosk.checkpoint.clock_synced))
        attach_remote_config(kiosk, remote, feed, feed.uplink, clock.wall, also=(feed, feed.daily))
    except (StartupError, OSError, ValueError) as exc:
        log.error("cannot start: %s", exc)
        return 1
    stopping = stop_on_signals()
    # systemd (kiosk.service, Type=notify): READY once everything is open; the watchdog is fed from
    # the loop's own passes, only while the sensor, the camera and the screen all make progress.
    watchdog = Watchdog(on_dead=lambda text: record_failure(Path(config.storage.data_dir), text))
    kiosk.on_progress.append(watchdog.liveness.progress)
    kiosk.on_beat.append(watchdog.beat)
    watchdog.ready(clock.monotonic(), status=f"running: {config.site.township}/{config.site.kiosk_id}")
    try:
        kiosk.run(until=lambda: stopping.is_set() or bool(getattr(kiosk.display, "closed", False)))
    finally:
        watchdog.stopping()
        kiosk.close()
        kiosk.outbox.close()  # type: ignore[attr-defined]  # the feed: says offline, then closes the outbox
    return 0
