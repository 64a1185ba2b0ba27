"""One visitor, one reading, on emulated hardware: the unit the accuracy tests and benches repeat.

An empty room first (so the background model learns it), then a person steps in at a given
distance with a given forehead temperature, and the real driver reads the register-level
emulator until `Screening` produces a reading.  Everything runs on a `VirtualClock`.
"""

from __future__ import annotations

import numpy as np

from drivers.mlx90640.driver import Mlx90640Sensor
from drivers.mlx90640.emulator import DEFAULT_NETD_K, EmulatedTransport, Mlx90640Device
from drivers.mlx90640.scene import PeopleScene, Person
from kiosk.clock import VirtualClock
from kiosk.config import ThermalConfig
from kiosk.screening import Reading, Screening

EMPTY_ROOM_S = 4.0  # the room alone first, as before anyone walks up
TRIAL_THERMAL = ThermalConfig(min_distance_m=0.25, max_distance_m=1.3)  # measure wherever they stand


def measure_person(*, forehead_c: float, distance_m: float, ambient_c: float = 24.0, seed: int = 0,
                   netd_k: float = DEFAULT_NETD_K, thermal: ThermalConfig = TRIAL_THERMAL, refresh_hz: int = 4,
                   jitter_m: float = 0.05, max_frames: int = 120) -> Reading | None:
    """The first reading of a person standing still (placed at a random small offset from the
    optical axis, from `seed`), or None if none could be made within `max_frames` subpages."""
    rng = np.random.default_rng(seed)
    clock = VirtualClock()
    arrive = clock.monotonic() + EMPTY_ROOM_S
    person = Person(distance_m, forehead_c, x_m=float(rng.uniform(-jitter_m, jitter_m)),
                    y_m=float(rng.uniform(-jitter_m, jitter_m)))
    scene = PeopleScene(lambda t: [person] if t >= arrive else [], ambient_c=ambient_c)
    device = Mlx90640Device(scene, clock=clock, seed=seed, netd_k=netd_k)
    sensor = Mlx90640Sensor(EmulatedTransport(device), clock, refresh_hz=refresh_hz,
                            emissivity=thermal.emissivity)
    screening = Screening(thermal)
    for _ in range(max_frames + int(EMPTY_ROOM_S * refresh_hz)):
        frame = sensor.read_frame()
        screening.observe(frame)
        if frame.taken_at >= arrive:
            reading = screening.take_reading()
            if reading is not None:
                return reading
    return None
