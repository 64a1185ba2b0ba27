"""The composition root: the one place that turns a configuration into running parts.

Everything else receives its collaborators; nothing else reads the configuration file or picks
hardware.  Drivers are imported here, lazily, so that a laptop never imports picamera2 or smbus2
and a Pi never needs the emulators.
"""

from __future__ import annotations

import logging
import signal
from pathlib import Path

from kiosk.config import KioskConfig
from kiosk.ports import Clock, Display, FrameSource, Signals, ThermalSensor

log = logging.getLogger(__name__)


class StartupError(RuntimeError):
    """The kiosk cannot start as configured; the message says what to fix."""


def build_outbox(config: KioskConfig, clock: Clock):  # type: ignore[no-untyped-def]
    from kiosk.outbox import Outbox

    data_dir = Path(config.storage.data_dir)
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StartupError(f"storage.data_dir {data_dir}: {exc.strerror}") from None
    return Outbox(data_dir / "outbox.sqlite", clock=clock)


def build_signals(config: KioskConfig) -> Signals:
    from drivers.signals.gpio_signals import GpioSignals

    s = config.signals
    factory = None
    if s.backend == "mock":
        from gpiozero.pins.mock import MockFactory

        factory = MockFactory()
    return GpioSignals(buzzer_pin=s.buzzer_pin, green_pin=s.green_pin, red_pin=s.red_pin, pin_factory=factory)


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
    c = config.camera
    if c.source == "picamera2":
        from drivers.camera.picamera2_source import Picamera2Source

        return Picamera2Source(clock, size=(c.width, c.height), fps=c.fps)
    if c.source == "folder":
        from drivers.camera.files import ImageFolderSource

        return ImageFolderSource(c.folder, clock, fps=c.fps)
    raise StartupError("camera.source = \"emulated\" needs a simulated world: use `kiosk run --simulated`")


def build_display(config: KioskConfig) -> Display:
    from ui.display import PygameDisplay

    d = config.display
    return PygameDisplay(size=(d.width, d.height), fullscreen=d.fullscreen,
                         driver=None if d.driver == "auto" else d.driver, title="Checkpoint kiosk")


def run_kiosk(config: KioskConfig) -> int:
    """Run on real hardware until SIGTERM/SIGINT or the window is closed."""
    from drivers.qr.pyzbar_decoder import PyzbarDecoder
    from kiosk.clock import RealClock
    from kiosk.healthpass import TrustList, Verifier
    from kiosk.runtime import Kiosk

    if not config.health_pass.trust_list:
        log.error("health_pass.trust_list is not set: no code could ever be valid")
        return 1
    clock = RealClock()
    try:
        trust = TrustList.from_file(config.health_pass.trust_list)
        kiosk = Kiosk(
            config=config,
            clock=clock,
            sensor=build_sensor(config, clock),
            camera=build_camera(config, clock),
            decoder=PyzbarDecoder(),
            verifier=Verifier(trust, max_code_age_s=config.policy.max_code_age_s,
                              clock_skew_s=config.policy.clock_skew_s),
            signals=build_signals(config),
            display=build_display(config),
            outbox=build_outbox(config, clock),
        )
    except (StartupError, OSError, ValueError) as exc:
        log.error("cannot start: %s", exc)
        return 1
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        kiosk.run(until=lambda: stopping or bool(getattr(kiosk.display, "closed", False)))
    finally:
        kiosk.close()
        kiosk.outbox.close()  # type: ignore[attr-defined]
    return 0
