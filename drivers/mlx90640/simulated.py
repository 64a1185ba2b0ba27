"""Composition helper for simulations: a scene → an emulated MLX90640 → a real driver.

The simulated kiosk runs the same driver code as the Pi; only the bottom of the stack (the
bus) is emulated.  `backend` picks which driver reads the emulated registers: the kiosk's own
(`native`, through `EmulatedTransport`) or the unmodified Adafruit library (`adafruit`,
through the fake `busio.I2C`).
"""

from __future__ import annotations

from typing import Any

from kiosk.ports import Clock, ThermalSensor

from .adafruit_backend import AdafruitSensor
from .driver import Mlx90640Sensor
from .emulated_bus import EmulatedI2C
from .emulator import DEFAULT_NETD_K, EmulatedTransport, Mlx90640Device, Scene


def build_emulated_sensor(
    scene: Scene,
    clock: Clock,
    thermal: Any,
    *,
    backend: str = "native",
    seed: int = 0,
    netd_k: float = DEFAULT_NETD_K,
) -> tuple[ThermalSensor, Mlx90640Device]:
    """(sensor, device) for `scene`; `thermal` is a `kiosk.config.ThermalConfig` (or look-alike
    with `address`, `refresh_hz`, `emissivity`).  Flip faults on the returned device."""
    device = Mlx90640Device(scene, clock=clock, seed=seed, netd_k=netd_k, address=thermal.address)
    if backend == "native":
        sensor: ThermalSensor = Mlx90640Sensor(
            EmulatedTransport(device), clock, refresh_hz=thermal.refresh_hz, emissivity=thermal.emissivity
        )
    elif backend == "adafruit":
        sensor = AdafruitSensor(
            EmulatedI2C(device), clock, address=thermal.address, refresh_hz=thermal.refresh_hz,
            emissivity=thermal.emissivity,
        )
    else:
        raise ValueError(f"unknown thermal backend {backend!r} (native or adafruit)")
    return sensor, device
