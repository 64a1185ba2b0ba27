"""MLX90640 32×24 thermal array: register map, calibration maths, drivers and emulator.

Real and emulated side by side:

* `driver.Mlx90640Sensor` — the kiosk's own driver over a word transport:
  `smbus2_transport.Smbus2Transport` on a Pi, `emulator.EmulatedTransport` in tests;
* `adafruit_backend.AdafruitSensor` — the unmodified Adafruit driver, as a second opinion;
* `emulator.Mlx90640Device` — a register-level device rendering a `Scene`
  (`scene.PeopleScene`) with an EEPROM synthesised by `eeprom`; bus fronts in `emulated_bus`;
  `simulated.build_emulated_sensor` wires scene → device → driver for simulations;
* `calibration` (+ `deviating`) — EEPROM decoding and the reference conversion, vectorised;
  `ram` — the same model run backwards, for the emulator.

Modules import numpy only; smbus2, Blinka and the Adafruit library load when first used.
"""
