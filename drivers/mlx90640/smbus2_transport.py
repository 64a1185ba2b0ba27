"""The real I²C transport: Linux i2c-dev through smbus2, one combined transaction per read.

A read is a single `i2c_rdwr` — a write message carrying the 16-bit register address, then a
read message of `count * 2` bytes with a repeated start — because the MLX90640 needs the
address and the data in one transaction, and one transfer for all 832 RAM words is what keeps
the subpage read inside the refresh period.  Words are big-endian.

smbus2 is imported in the constructor, not at module load, so this module imports anywhere
(tests, laptops) and only fails where it is actually used without smbus2.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kiosk.errors import SensorError

from . import registers as reg

MAX_READ_WORDS = 4096  # i2c-dev caps one message at 8192 bytes


class Smbus2Transport:
    """Word access to one MLX90640 on /dev/i2c-`bus` (or on an injected smbus2-like `bus` object)."""

    def __init__(self, bus: int | Any = 1, address: int = reg.DEFAULT_ADDRESS) -> None:
        try:
            from smbus2 import SMBus, i2c_msg
        except ImportError as exc:  # pragma: no cover - smbus2 is a dependency
            raise SensorError("smbus2 is not installed") from exc
        self._msg = i2c_msg
        self._address = int(address)
        if isinstance(bus, int):
            try:
                self._bus = SMBus(bus)
            except OSError as exc:
                raise SensorError(f"cannot open /dev/i2c-{bus}: {exc}") from exc
            self._owned = True
        else:
            self._bus = bus
            self._owned = False

    def read_words(self, address: int, count: int) -> np.ndarray:
        """`count` words from `address` in one write-then-read transaction."""
        if not 0 < count <= MAX_READ_WORDS:
            raise ValueError(f"read of {count} words (1..{MAX_READ_WORDS})")
        write = self._msg.write(self._address, [(address >> 8) & 0xFF, address & 0xFF])
        read = self._msg.read(self._address, 2 * count)
        self._bus.i2c_rdwr(write, read)
        return np.frombuffer(bytes(read), dtype=">u2").astype(np.uint16)

    def write_word(self, address: int, value: int) -> None:
        data = [(address >> 8) & 0xFF, address & 0xFF, (value >> 8) & 0xFF, value & 0xFF]
        self._bus.i2c_rdwr(self._msg.write(self._address, data))

    def close(self) -> None:
        if self._owned:
            self._bus.close()
