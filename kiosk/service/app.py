"""The composition root: the one place that turns a configuration into running parts.

Everything else receives its collaborators; nothing else reads the configuration file or picks
hardware.  Drivers are imported here, lazily, so that a laptop never imports picamera2 or smbus2
and a Pi never needs the emulators.

There is one assembly path: `assemble(config, hardware)` builds a running kiosk (`Assembly`) from
a configuration and the parts it runs on (`Hardware`: the Pi's from `open_hardware`, or the
emulated ones of `kiosk.simulation`): the outbox, the uplink, the feed, the township's signed
configuration, and the loop, each built in full and handed to the next, nothing attached after.
The policy in force is one `PolicyInForce` shared by the loop and the feed; the township's
configuration changes it through `Kiosk.apply_policy` (`RemoteConfig.on_apply`).
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from kiosk.checkpoint import PolicyInForce
from kiosk.clocksync import ClockSync
from kiosk.config import KioskConfig
from kiosk.errors import StartupError
from kiosk.feed import AckSink, Feed, PolicyState, RemoteConfig, clock_trusted, listen_for_config
from kiosk.healthpass import TrustList
from kiosk.loop import Kiosk, Voice
from kiosk.outbox import Outbox
from kiosk.ports import Clock, Display, FrameSource, QrDecoder, Signals, ThermalSensor
from kiosk.uplink import MqttUplink

if TYPE_CHECKING:
    from ui.display import ScreenRenderer

log = logging.getLogger(__name__)
T = TypeVar("T")

NO_TRUST_LIST = "health_pass.trust_list is not set: no code could ever be valid"


@dataclass(frozen=True, slots=True)
class Hardware:
    """The parts a kiosk runs on, open: the Pi's (`open_hardware`) or emulated (`kiosk.simulation`).

    `trust_list` says whose health codes are genuine; the verifier is made from it and the policy
    in force (as every later one is, when the township changes either).  `clock_sync` None: the
    wall clock is trusted (a simulation).
    """

    clock: Clock
    sensor: ThermalSensor
    camera: FrameSource
    decoder: QrDecoder
    signals: Signals
    display: Display
    trust_list: TrustList
    clock_sync: ClockSync | None = None
    voice: Voice | None = None


@dataclass(frozen=True, slots=True)
class Assembly:
    """A kiosk ready to run: the loop, the feed it stores into and turns, the township's configuration."""

    kiosk: Kiosk
    feed: Feed
    remote: RemoteConfig
    acks: AckSink  # configuration acks as they go out (its `sent` list)

    def close(self) -> None:
        """Stop and close everything: the kiosk closes its parts, then the feed (offline, then the outbox)."""
        self.kiosk.close()


def assemble(config: KioskConfig, hardware: Hardware, *, broker: tuple[str, int] | None = None,
             threaded: bool | None = None) -> Assembly:
    """Build a running kiosk of `config` on `hardware`: the one assembly path.

    The uplink is `config.uplink`'s (none when disabled), or one to `broker` (host, port) when
    given; it is timed in real time whatever `hardware.clock` is.  `threaded` None: worker threads
    on a real clock only.  Raises `StartupError` (or `OSError`, `ValueError`) when a part cannot be had.
    """
    clock, clock_sync = hardware.clock, hardware.clock_sync
    outbox = build_outbox(config, clock)
    uplink = build_uplink(config, outbox) if broker is None else \
        build_uplink(config, outbox, host=broker[0], port=broker[1])
    # the township's signed configuration: the one saved by an earlier run now, newer ones as they come
    remote = RemoteConfig.from_config(config, PolicyState.build(config.policy, hardware.trust_list), wall=clock.wall,
                                      clock_synced=lambda: clock_trusted(clock_sync))
    policy = PolicyInForce(remote.current.policy)  # the one place the policy in force lives
    feed = Feed.build(config, clock, outbox, uplink, policy=policy, clock_sync=clock_sync)
    kiosk = Kiosk(
        config=config,
        clock=clock,
        sensor=hardware.sensor,
        camera=hardware.camera,
        decoder=hardware.decoder,
        verifier=remote.current.verifier,
        signals=hardware.signals,
        display=hardware.display,
        sink=feed.entries,
        poller=feed.pump,
        voice=hardware.voice,
        threaded=threaded,
        clock_sync=clock_sync,
        policy=policy,
    )
    remote.on_apply.append(lambda state: kiosk.apply_policy(state.policy, state.verifier))
    acks = listen_for_config(remote, uplink, feed.entries, clock.wall)
    return Assembly(kiosk, feed, remote, acks)


def build_outbox(config: KioskConfig, clock: Clock) -> Outbox:
    from kiosk.outbox import Limits, Resend

    data_dir = Path(config.storage.data_dir)
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StartupError(f"storage.data_dir {data_dir}: {exc.strerror}") from None
    s = config.storage
    limits = Limits(max_rows=s.max_rows, max_bytes=int(s.max_mb * 1024 * 1024), retention_s=s.retention_days * 86_400)
    u = config.uplink
    resend = Resend(after_s=u.receipt_timeout_s, max_s=max(u.receipt_timeout_s, u.receipt_backoff_max_s))
    return Outbox(data_dir / "outbox.sqlite", clock=clock, limits=limits, resend=resend)


def build_uplink(config: KioskConfig, outbox: Outbox, *, clock: Clock | None = None, host: str | None = None,
                 port: int | None = None) -> MqttUplink | None:
    """The MQTT uplink of `config.uplink` (None when disabled and no `host` is given).

    `clock` times reconnects: leave it None (real time) in a simulation on a virtual clock.
    """
    u = config.uplink
    if not u.enabled and host is None:
        return None
    import ssl

    from kiosk.feed import KioskTopics

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
                      backoff_s=(u.reconnect_min_s, max(u.reconnect_min_s, u.reconnect_max_s)),
                      receipts_absent_after_s=u.receipts_absent_after_s)


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


def build_voice(config: KioskConfig) -> Voice | None:
    """Spoken prompts when the site wants them (`display.voice`); None otherwise, or when they cannot be had."""
    if not config.display.voice:
        return None
    from drivers.audio import VoiceBuildError, VoicePlayer, build_prompts, prompt_texts
    from ui.catalog import spoken_prompts

    directory = config.display.voice_dir or str(Path(config.storage.data_dir) / "voice")
    try:
        # the words are the screens' catalogues'; made by scripts/build-voice, generated here if missing
        files = build_prompts(directory, prompt_texts(spoken_prompts()))
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


def build_decoder(config: KioskConfig) -> QrDecoder:
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


def screen_renderer(config: KioskConfig) -> ScreenRenderer:
    """The screens as this site's panel shows them: its privacy notice and place code, and text sized
    for its short side (`display.short_side_mm`), so the legibility rule holds in millimetres."""
    from ui.display import ScreenRenderer
    from ui.site import SiteNotice

    d = config.display
    notice = SiteNotice(retention_days=float(config.storage.retention_days),
                        recipient=d.privacy_recipient, place_code=d.place_code)
    return ScreenRenderer(site=notice, short_side_mm=d.short_side_mm)


def build_display(config: KioskConfig, *, title: str = "Checkpoint kiosk") -> Display:
    from ui.display import PygameDisplay

    d = config.display
    return PygameDisplay(size=(d.width, d.height), fullscreen=d.fullscreen,
                         driver=None if d.driver == "auto" else d.driver, title=title,
                         renderer=screen_renderer(config))


def stop_on_signals() -> threading.Event:
    """An event set by SIGTERM (systemd stopping the unit) or SIGINT: the loop finishes its pass and closes."""
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    return stop


# The parts `kiosk run` opens, as the maintenance screen names them when one cannot be had.
PARTS = {
    "trust_list": ("信任列表", "the trust list"),
    "sensor": ("热成像传感器", "the thermal sensor"),
    "camera": ("摄像头", "the camera"),
    "decoder": ("二维码解码器", "the QR decoder"),
    "signals": ("蜂鸣器和指示灯", "the buzzer and lights"),
    "display": ("显示屏", "the display"),
}


class PartFailed(StartupError):
    """A part `kiosk run` needs could not be opened: which one (Chinese and English) and why."""

    def __init__(self, part: str, reason: str) -> None:
        zh, en = PARTS[part]
        super().__init__(f"cannot start: {en}: {reason}")
        self.part, self.reason = part, reason
        self.zh, self.en = f"设备无法启动：{zh}无法使用", f"The kiosk cannot start: {en}: {reason}"


def open_part(part: str, build: Callable[[], T]) -> T:
    """`build()`, or `PartFailed` naming the part, whatever the driver raised (a `pygame.error` for a
    missing KMS/DRM display, an `OSError` for a missing /dev/i2c-1, an `ImportError` for a library)."""
    try:
        return build()
    except PartFailed:
        raise
    except ImportError as exc:
        raise PartFailed(part, f"the library {exc.name or exc} is not installed") from None
    except Exception as exc:
        raise PartFailed(part, " ".join(str(exc).split())[:160] or type(exc).__name__) from None


def open_hardware(config: KioskConfig, clock: Clock) -> Hardware:
    """The Pi's parts, as `config` names them (raises `PartFailed`, a `StartupError`, for one that cannot be had)."""
    from kiosk.clocksync import SystemClockSync

    if not config.health_pass.trust_list:
        raise StartupError(NO_TRUST_LIST)
    return Hardware(
        clock=clock,
        trust_list=open_part("trust_list", lambda: TrustList.from_file(config.health_pass.trust_list)),
        sensor=open_part("sensor", lambda: build_sensor(config, clock)),
        camera=open_part("camera", lambda: build_camera(config, clock)),
        decoder=open_part("decoder", lambda: build_decoder(config)),
        signals=open_part("signals", lambda: build_signals(config, clock)),
        display=open_part("display", lambda: build_display(config)),
        clock_sync=SystemClockSync(),
        voice=build_voice(config),
    )


def run_kiosk(config: KioskConfig) -> int:
    """Run on real hardware until SIGTERM/SIGINT or the window is closed."""
    from kiosk.clock import RealClock
    from kiosk.service.maintenance import record_failure
    from kiosk.service.watchdog import Watchdog

    if not config.health_pass.trust_list:
        log.error(NO_TRUST_LIST)
        return 1
    clock = RealClock()
    data_dir = Path(config.storage.data_dir)
    try:
        assembly = assemble(config, open_hardware(config, clock))
    except PartFailed as exc:  # the maintenance screen names the part (after the start limit)
        log.error("%s / %s", exc.zh, exc.en)
        record_failure(data_dir, exc.en, zh=exc.zh)
        return 1
    except (StartupError, OSError, ValueError) as exc:
        log.error("设备无法启动 / cannot start: %s", exc)
        record_failure(data_dir, f"The kiosk cannot start: {exc}", zh="设备无法启动")
        return 1
    kiosk = assembly.kiosk
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
        assembly.close()  # the parts, then the feed: says offline, then closes the outbox
    return 0
