"""MLX90640 32×24 thermal array: register map, calibration maths, drivers and emulator.

Real and emulated side by side:

* `driver.Mlx90640Sensor` — the kiosk's own driver over a word `Transport`:
  `smbus2_transport.Smbus2Transport` on a Pi, `emulator.EmulatedTransport` in tests; it locks
  onto the array's own timing with `phase.PhaseTracker`;
* `adafruit_backend.AdafruitSensor` — the unmodified Adafruit driver, as a second opinion;
* `emulator.Mlx90640Device` — a register-level device rendering a `Scene`
  (`scene.PeopleScene` of `scene.Person`s) with an EEPROM synthesised by `eeprom`; bus fronts in
  `emulated_bus`; `simulated.build_emulated_sensor` wires scene → device → driver;
* the datasheet's maths, vectorised: `calibration` (§11.1, EEPROM → `Calibration`), `conversion`
  (§11.2, RAM words → Vdd, Ta and °C; `convert_words` for a raw dump), `deviating` (bad pixels);
  `ram` runs the same model backwards, for the emulator; `registers` is the register map.

Modules import numpy only; smbus2, Blinka and the Adafruit library load when first used.
"""

from .adafruit_backend import AdafruitSensor
from .calibration import Calibration, extract_calibration
from .conversion import DEFAULT_EMISSIVITY, Conversion, compute_subpage, convert_words
from .driver import Mlx90640Sensor, Transport
from .emulated_bus import EmulatedI2C, EmulatedSMBus
from .emulator import EmulatedTransport, Mlx90640Device, Scene, StaticScene
from .phase import PhaseTracker
from .scene import PeopleScene, Person, SlowDrift
from .simulated import build_emulated_sensor
from .smbus2_transport import Smbus2Transport

__all__ = [
    "DEFAULT_EMISSIVITY",
    "AdafruitSensor",
    "Calibration",
    "Conversion",
    "EmulatedI2C",
    "EmulatedSMBus",
    "EmulatedTransport",
    "Mlx90640Device",
    "Mlx90640Sensor",
    "PeopleScene",
    "Person",
    "PhaseTracker",
    "Scene",
    "SlowDrift",
    "Smbus2Transport",
    "StaticScene",
    "Transport",
    "build_emulated_sensor",
    "compute_subpage",
    "convert_words",
    "extract_calibration",
]
