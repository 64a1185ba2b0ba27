"""`kiosk selftest`: the technician's checklist, run in order, reported with pass/fail and the fix.

The items are `kiosk.service.checklist`'s.  They reach the parts through `PartsToCheck`:
`real_hardware(config)` for a Pi (the composition root's own builders, `kiosk.service.app`), or
`simulated_hardware(faults)` for the emulators, where each fault the field knows can be switched
on (`FAULTS`) to check that the checklist names it.  The exit code is 1 when any item fails.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

from kiosk.config import KioskConfig
from kiosk.errors import ConfigError
from kiosk.ports import FrameSource, Signals, ThermalSensor
from kiosk.service.checklist import (
    FAIL,
    PASS,
    SKIP,
    WARN,
    CheckResult,
    PartsToCheck,
    check_broker,
    check_calibration,
    check_camera,
    check_clock,
    check_config,
    check_disk,
    check_signals,
    check_thermal,
)

__all__ = ["FAIL", "FAULTS", "PASS", "SKIP", "WARN", "CheckResult", "PartsToCheck", "exit_code", "format_text",
           "real_hardware", "run_selftest", "simulated_hardware", "to_json"]

FAULTS = ("thermal-unplugged", "thermal-stuck", "thermal-silent", "thermal-eeprom", "camera", "signals",
          "clock", "disk-full", "broker")


def run_selftest(config: KioskConfig | None, error: ConfigError | None, hw: PartsToCheck,
                 *, wall: float | None = None, not_ready: list[str] | None = None,
                 source: str = "") -> list[CheckResult]:
    """Run every check; the order is the technician's: configuration first, then the parts.

    `not_ready`: what `kiosk run` would refuse in a valid file (`kiosk.service.readiness`); the
    configuration then fails, and the parts are still checked.
    """
    results = [check_config(config, error, not_ready, source)]
    if config is None:
        results += [CheckResult(k, SKIP, "配置文件有误 / the configuration is invalid") for k in
                    ("thermal", "camera", "signals", "broker")]
        results.append(check_clock(hw))
        return results
    results.append(check_thermal(config, hw))
    results.append(check_camera(config, hw))
    results.append(check_signals(config, hw))
    results.append(check_broker(config, hw))
    results.append(check_clock(hw))
    results.append(check_disk(config, hw))
    results.append(check_calibration(config, time.time() if wall is None else wall))
    return results


def exit_code(results: list[CheckResult]) -> int:
    return 1 if any(r.status == FAIL for r in results) else 0


def to_json(results: list[CheckResult]) -> dict[str, Any]:
    return {"ok": exit_code(results) == 0, "checks": [asdict(r) for r in results]}


def format_text(results: list[CheckResult]) -> str:
    marks = {PASS: "PASS", FAIL: "FAIL", WARN: "WARN", SKIP: "skip"}
    lines = []
    for r in results:
        lines.append(f"[{marks[r.status]}] {r.key:<12} {r.detail}")
        if r.fix and r.status in (FAIL, WARN):
            lines.append(f"       {'':<12} 处理 / fix: {r.fix}")
    failed = sum(r.status == FAIL for r in results)
    lines.append("全部检查通过 / all checks passed" if not failed else
                 f"{failed} 项检查未通过 / {failed} check(s) failed")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------ hardware
def real_hardware(config: KioskConfig) -> PartsToCheck:
    """The parts as `kiosk run` builds them (emulated backends in the config still need --simulated)."""
    from kiosk.clock import RealClock
    from kiosk.clocksync import SystemClockSync
    from kiosk.service.app import build_camera, build_sensor, build_signals

    clock = RealClock()
    return PartsToCheck(clock=clock, open_sensor=lambda: build_sensor(config, clock),
                    open_camera=lambda: build_camera(config, clock), open_signals=lambda: build_signals(config),
                    clock_sync=SystemClockSync(background=False))  # asked once: it may wait


class _FullDisk:
    def __init__(self, total: int = 8 * 1024**3, free: int = 20 * 1024**2) -> None:
        self.total, self.free, self.used = total, free, total - free


def simulated_hardware(config: KioskConfig, faults: frozenset[str] | set[str] = frozenset()) -> PartsToCheck:
    """Emulated MLX90640, simulated camera, MockFactory pins and clock; `faults` from `FAULTS`."""
    from gpiozero import OutputDevice
    from gpiozero.pins.mock import MockFactory

    from drivers.camera.simulated import SimulatedCamera
    from drivers.mlx90640.driver import Mlx90640Sensor
    from drivers.mlx90640.emulator import EmulatedTransport, Mlx90640Device, StaticScene
    from drivers.signals.gpio_signals import GpioSignals
    from kiosk.clock import VirtualClock
    from kiosk.clocksync import SimulatedClockSync

    unknown = set(faults) - set(FAULTS)
    if unknown:
        raise ValueError(f"unknown fault(s) {sorted(unknown)}; known: {', '.join(FAULTS)}")
    clock = VirtualClock(wall_start=time.time())
    t = config.thermal
    device = Mlx90640Device(StaticScene(object_c=23.0, ambient_c=22.0), clock=clock, seed=7, address=t.address)
    if "thermal-eeprom" in faults:
        device.eeprom[0x20:0x30] ^= 0x5A5A  # garbled calibration words (the part still answers)
    device.unplugged = "thermal-unplugged" in faults

    def open_sensor() -> ThermalSensor:
        return Mlx90640Sensor(EmulatedTransport(device), clock, refresh_hz=t.refresh_hz, emissivity=t.emissivity)

    def inject_after_two_subpages() -> None:
        device.stuck = "thermal-stuck" in faults
        device.silent = "thermal-silent" in faults

    class _EmptyRoom:
        def phones_in_view(self, t_monotonic: float) -> list[Any]:
            return []

    def open_camera() -> FrameSource:
        camera = SimulatedCamera(_EmptyRoom(), clock, fps=config.camera.fps,
                                 frame_size=(config.camera.width, config.camera.height))
        camera.faulty = "camera" in faults
        return camera

    factory = MockFactory()
    s = config.signals
    pins = {"buzzer": s.buzzer_pin, "green": s.green_pin, "red": s.red_pin}
    squatter = OutputDevice(s.buzzer_pin, pin_factory=factory) if "signals" in faults else None

    def open_signals() -> Signals:
        assert squatter is None or not squatter.closed  # "signals": another program holds the buzzer's pin
        return GpioSignals(buzzer_pin=s.buzzer_pin, green_pin=s.green_pin, red_pin=s.red_pin, pin_factory=factory)

    def probe() -> dict[str, bool]:
        return {name: any(st.state for st in factory.pin(pin).states) for name, pin in pins.items()}

    hw = PartsToCheck(clock=clock, open_sensor=open_sensor, open_camera=open_camera, open_signals=open_signals,
                  clock_sync=SimulatedClockSync("clock" not in faults), signals_probe=probe,
                  after_two_subpages=[inject_after_two_subpages])
    if "disk-full" in faults:
        hw.disk_usage = lambda _path: _FullDisk()
    if "broker" in faults:
        hw.broker_override = ("127.0.0.1", 9)  # the discard port: nobody answers MQTT there
    return hw
