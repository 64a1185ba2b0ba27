"""The items of `kiosk selftest`'s checklist, each with pass/fail and the fix.

Every check talks to the part the kiosk itself would use, built the way the composition root
builds it, so a pass means the kiosk will find it too.  `PartsToCheck` bundles how to open each
part (`kiosk.service.selftest` makes it: the Pi's parts, or the emulators with faults switched on).

Statuses: `pass`, `fail` (the exit code is 1), `warn` (worth knowing, does not stop the kiosk:
an old calibration), `skip` (not applicable: the uplink is off, or the configuration the check
needs is invalid).
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from kiosk.clocksync import ClockSync
from kiosk.config import KioskConfig
from kiosk.errors import ConfigError, StartupError
from kiosk.ports import Clock, FrameSource, Signal, Signals, ThermalSensor

log = logging.getLogger(__name__)

PASS, FAIL, WARN, SKIP = "pass", "fail", "warn", "skip"
THERMAL_READS = 24  # subpages (6 s at 4 Hz): more than the driver needs to call a frozen array frozen (16)
CAMERA_FRAMES = 3
MIN_FREE_BYTES = 200 * 1024 * 1024
MIN_FREE_FRACTION = 0.05
CALIBRATION_MAX_AGE_DAYS = 180


@dataclass(frozen=True, slots=True)
class CheckResult:
    key: str
    status: str
    detail: str
    fix: str = ""


@dataclass(slots=True)
class PartsToCheck:
    """How the checklist reaches each part.  Callables, so a part that cannot even be opened is a clean fail."""

    clock: Clock
    open_sensor: Callable[[], ThermalSensor]
    open_camera: Callable[[], FrameSource]
    open_signals: Callable[[], Signals]
    clock_sync: ClockSync
    disk_usage: Callable[[str], Any] = shutil.disk_usage
    signals_probe: Callable[[], dict[str, bool]] | None = None  # which outputs were seen on (mock pins)
    after_two_subpages: list[Callable[[], None]] = field(default_factory=list)  # fault injection
    broker_override: tuple[str, int] | None = None


# ------------------------------------------------------------------------------------ checks
def check_config(config: KioskConfig | None, error: ConfigError | None, not_ready: list[str] | None = None,
                 source: str = "") -> CheckResult:
    """The file valid, and (`not_ready`: `kiosk.service.readiness`'s problems) fit for `kiosk run`."""
    if error is not None:
        return CheckResult("config", FAIL, f"{error.source}: " + "; ".join(error.problems[:5]),
                           f"edit the file and run `kiosk config check {error.source}`")
    assert config is not None
    if not_ready:
        return CheckResult("config", FAIL, f"{source}: " + "; ".join(not_ready[:5]),
                           f"edit the file and run `kiosk config check {source}`")
    return CheckResult("config", PASS, f"site {config.site.township}/{config.site.site_id}/{config.site.kiosk_id}")


def _thermal_fix(message: str, config: KioskConfig) -> str:
    bus, addr = config.thermal.i2c_bus, config.thermal.address
    if "EEPROM" in message or "calibration" in message.lower():
        return ("the sensor's calibration memory reads wrong: check the pull-ups and the wiring length, "
                "else replace the sensor")
    if "data-ready" in message:
        return "the sensor answers but never measures: power-cycle it (unplug 3V3), check the supply"
    if "frozen" in message or "all read" in message:
        return "the sensor has stopped measuring: power-cycle the kiosk; replace the sensor if it recurs"
    return (f"check the cable (3V3, GND, SDA, SCL), then `i2cdetect -y {bus}` must show {addr:02x}; "
            "I²C must be enabled (dtparam=i2c_arm=on)")


def check_thermal(config: KioskConfig, hw: PartsToCheck) -> CheckResult:
    try:
        sensor = hw.open_sensor()
    except Exception as exc:  # SensorError, OSError (no /dev/i2c-N), ImportError (no smbus2)
        if isinstance(exc, StartupError):  # the configuration asks for the emulator on real hardware
            return CheckResult("thermal", FAIL, str(exc), "set thermal.backend = \"smbus2\" in the configuration")
        return CheckResult("thermal", FAIL, f"not found on I²C bus {config.thermal.i2c_bus} at "
                           f"0x{config.thermal.address:02X}: {exc}", _thermal_fix(str(exc), config))
    try:
        frames = []
        for _ in range(THERMAL_READS):
            hw.clock.sleep_until(sensor.next_frame_at())
            frames.append(sensor.read_frame())
            if len(frames) == 2:  # both subpages seen once
                for inject in hw.after_two_subpages:
                    inject()
    except Exception as exc:
        return CheckResult("thermal", FAIL, f"found, but reading fails: {exc}", _thermal_fix(str(exc), config))
    finally:
        try:
            sensor.close()
        except Exception:
            log.debug("closing the sensor", exc_info=True)
    last = frames[-1]
    pixels = np.asarray(last.pixels, dtype=float)
    finite = pixels[np.isfinite(pixels)]
    problems = []
    if finite.size < 0.95 * pixels.size:
        problems.append(f"{pixels.size - finite.size} of {pixels.size} pixels have no value")
    if not -10.0 <= last.ambient_c <= 70.0:
        problems.append(f"die temperature {last.ambient_c:.1f} °C")
    if finite.size:
        median = float(np.median(finite))
        if not 0.0 <= median <= 45.0:
            problems.append(f"scene median {median:.1f} °C (a room is 10–35 °C)")
        if float(np.ptp(finite)) == 0.0:
            problems.append("every pixel reads the same value")
    if problems:
        return CheckResult("thermal", FAIL, "implausible readings: " + "; ".join(problems),
                           "look at the sensor's view (nothing hot or cold right in front), check its emissivity "
                           "and mounting; replace the sensor if it persists")
    return CheckResult("thermal", PASS, f"{len(frames)} subpages, scene median {float(np.median(finite)):.1f} °C, "
                       f"die {last.ambient_c:.1f} °C")


def check_camera(config: KioskConfig, hw: PartsToCheck) -> CheckResult:
    fix = ("check the ribbon cable (contacts toward the board at both ends) and `rpicam-hello --list-cameras`; "
           "the kiosk user must be in the video group")
    try:
        camera = hw.open_camera()
    except Exception as exc:
        if isinstance(exc, StartupError):
            return CheckResult("camera", FAIL, str(exc), "set camera.source = \"picamera2\" in the configuration")
        return CheckResult("camera", FAIL, f"cannot open the camera: {exc}", fix)
    try:
        frames = []
        for _ in range(CAMERA_FRAMES):
            hw.clock.sleep_until(camera.next_frame_at())
            frames.append(camera.read_frame())
    except Exception as exc:
        return CheckResult("camera", FAIL, f"no frames: {exc}", fix)
    finally:
        try:
            camera.close()
        except Exception:
            log.debug("closing the camera", exc_info=True)
    y = np.asarray(frames[-1].y)
    if float(y.std()) < 1.0:
        return CheckResult("camera", FAIL, f"frames are uniform (mean {float(y.mean()):.0f}): lens covered or dark",
                           "remove the lens cap, light the scan area")
    return CheckResult("camera", PASS, f"{len(frames)} frames of {y.shape[1]}×{y.shape[0]}")


def check_signals(config: KioskConfig, hw: PartsToCheck) -> CheckResult:
    fix = (f"check the wiring on BCM {config.signals.buzzer_pin} (buzzer), {config.signals.green_pin} (green), "
           f"{config.signals.red_pin} (red); no other program may hold these pins; the user must be in gpio")
    if config.signals.backend == "mock" and hw.signals_probe is None:
        return CheckResult("signals", FAIL, "signals.backend = \"mock\": the buzzer and lights are not driven",
                           "set signals.backend = \"gpio\" in the configuration")
    try:
        signals = hw.open_signals()
    except Exception as exc:
        return CheckResult("signals", FAIL, f"cannot drive the buzzer and lights: {exc}", fix)
    try:
        start = hw.clock.monotonic()
        for signal, length in ((Signal.PASS, 1.0), (Signal.STOP, 1.6)):
            t0 = hw.clock.monotonic()
            signals.show(signal, t0)
            while hw.clock.monotonic() - t0 < length:
                hw.clock.sleep(0.05)
                signals.update(hw.clock.monotonic())
        signals.show(Signal.IDLE, hw.clock.monotonic())
        signals.update(hw.clock.monotonic())
        played = hw.clock.monotonic() - start
    except Exception as exc:
        return CheckResult("signals", FAIL, f"the pattern failed: {exc}", fix)
    finally:
        try:
            signals.close()
        except Exception:
            log.debug("closing the signals", exc_info=True)
    if hw.signals_probe is not None:
        seen = hw.signals_probe()
        silent = [name for name, on in seen.items() if not on]
        if silent:
            return CheckResult("signals", FAIL, "never switched on: " + ", ".join(silent), fix)
        return CheckResult("signals", PASS, f"pattern played ({played:.1f} s); buzzer, green and red all switched")
    return CheckResult("signals", PASS, f"pattern played ({played:.1f} s): you should have heard one beep with "
                       "green, then three with red", "if you did not, check the wiring: " + fix)


def check_broker(config: KioskConfig, hw: PartsToCheck, timeout_s: float = 5.0) -> CheckResult:
    up = config.uplink
    if not up.enabled:
        return CheckResult("broker", SKIP, "uplink disabled (uplink.enabled = false)")
    if not up.tls:
        return CheckResult("broker", FAIL, f"uplink to {up.host}:{up.port} without TLS: the feed would travel in clear",
                           "set uplink.tls = true, port 8883, and the ca_file, cert_file and key_file")
    import ssl

    import paho.mqtt.client as mqtt

    host, port = hw.broker_override or (up.host, up.port)
    result: dict[str, Any] = {}
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"selftest-{config.site.kiosk_id}",
                         protocol=mqtt.MQTTv5)
    try:
        client.tls_set(ca_certs=up.ca_file or None, certfile=up.cert_file or None, keyfile=up.key_file or None,
                       cert_reqs=ssl.CERT_REQUIRED)
    except (OSError, ssl.SSLError, ValueError) as exc:
        return CheckResult("broker", FAIL, f"the configured certificate files cannot be used: {exc}",
                           "run `kiosk provision` again with ca.crt, kiosk.crt and kiosk.key that belong together")
    client.on_connect = lambda _c, _u, _f, reason, _p: result.setdefault("reason", reason)
    try:
        client.connect(host, port, keepalive=10)
        deadline = time.monotonic() + timeout_s
        while "reason" not in result and time.monotonic() < deadline:
            client.loop(timeout=0.1)
    except (OSError, ssl.SSLError, ValueError) as exc:
        return CheckResult("broker", FAIL, f"{host}:{port}: {exc}",
                           "check the network and that the broker's name and CA match uplink.host and ca.crt; "
                           "the clock must be right for certificates to be valid")
    finally:
        client.disconnect()
    reason = result.get("reason")
    if reason is None:
        return CheckResult("broker", FAIL, f"{host}:{port}: no answer within {timeout_s:.0f} s",
                           "check the firewall (TCP 8883 outbound) and the broker")
    if getattr(reason, "is_failure", False):
        return CheckResult("broker", FAIL, f"{host}:{port} refused the connection: {reason}",
                           "the broker does not accept this kiosk's certificate: ask the township to register it")
    return CheckResult("broker", PASS, f"{host}:{port} over TLS with the configured certificate")


def check_clock(hw: PartsToCheck) -> CheckResult:
    try:
        synced = hw.clock_sync.synchronized()
        source = hw.clock_sync.source()
    except Exception as exc:
        synced, source = False, f"error: {exc}"
    if synced:
        return CheckResult("clock", PASS, f"synchronised ({source})")
    return CheckResult("clock", FAIL, f"not synchronised ({source}): codes' freshness cannot be judged, "
                       "every visitor with a code is stopped (clock_unsynced)",
                       "connect the network; NTP (UDP 123) must be reachable; see `timedatectl timesync-status`")


def _existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_disk(config: KioskConfig, hw: PartsToCheck) -> CheckResult:
    where = _existing(Path(config.storage.data_dir))
    try:
        usage = hw.disk_usage(str(where))
    except OSError as exc:
        return CheckResult("disk", FAIL, f"{where}: {exc}", "check the data partition is mounted")
    free_mb = usage.free / 1024 / 1024
    fraction = usage.free / usage.total if usage.total else 0.0
    detail = f"{where}: {free_mb:.0f} MB free ({fraction:.0%})"
    if usage.free < MIN_FREE_BYTES or fraction < MIN_FREE_FRACTION:
        return CheckResult("disk", FAIL, detail,
                           "free space on the data partition: `journalctl --vacuum-size=32M`; if the outbox is "
                           "large, bring the uplink back so it drains")
    return CheckResult("disk", PASS, detail)


def check_calibration(config: KioskConfig, now: float) -> CheckResult:
    at = config.thermal.calibrated_at
    if at is None:
        return CheckResult("calibration", WARN, "never calibrated",
                           "run `kiosk calibrate` with a reference (blackbody) in front of the sensor")
    when = at if at.tzinfo else at.replace(tzinfo=UTC)
    days = (datetime.fromtimestamp(now, UTC) - when).total_seconds() / 86400
    if days > CALIBRATION_MAX_AGE_DAYS:
        return CheckResult("calibration", WARN, f"calibrated {days:.0f} days ago",
                           f"recalibrate (`kiosk calibrate`): older than {CALIBRATION_MAX_AGE_DAYS} days")
    return CheckResult("calibration", PASS, f"calibrated {max(days, 0):.0f} days ago, "
                       f"offset {config.thermal.calibration_offset_c:+.2f} °C")
