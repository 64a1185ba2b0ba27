"""Bus fronts onto emulated devices, shaped like the real host-side APIs.

* `EmulatedI2C` quacks like CircuitPython/Blinka's `busio.I2C` (locking, `writeto`,
  `readfrom_into`, `writeto_then_readfrom` with start/end slicing, `scan`), so the *unmodified*
  `adafruit_mlx90640.MLX90640` runs on it.
* `EmulatedSMBus` quacks like `smbus2.SMBus.i2c_rdwr`, so the real `Smbus2Transport` — its
  message building and byte order included — runs on the emulator too.

Both route every transfer through `Mlx90640Device.transact`, which charges bus time on the
device's clock and raises OSError(EREMOTEIO) for an absent device, as Linux's i2c-dev does.
"""

from __future__ import annotations

import ctypes
import errno
from typing import Any

from .emulator import Mlx90640Device


def _nack(device: Mlx90640Device | None, address: int) -> OSError:
    if device is not None:  # an unanswered address byte still takes its time on the wire
        device.clock.sleep(11 / device.bus_hz)
    return OSError(errno.EREMOTEIO, f"Remote I/O error (no ACK from 0x{address:02X})")


class EmulatedI2C:
    """A `busio.I2C` look-alike carrying one or more emulated devices."""

    def __init__(self, *devices: Mlx90640Device) -> None:
        self._devices = {d.address: d for d in devices}
        self._locked = False

    def _device(self, address: int) -> Mlx90640Device:
        device = self._devices.get(address)
        if device is None:
            any_device = next(iter(self._devices.values()), None)
            raise _nack(any_device, address)
        return device

    # locking, as busio.I2C: adafruit_bus_device spins on try_lock
    def try_lock(self) -> bool:
        if self._locked:
            return False
        self._locked = True
        return True

    def unlock(self) -> None:
        self._locked = False

    def scan(self) -> list[int]:
        """Addresses that ACK (an unplugged device does not)."""
        found = []
        for address in sorted(self._devices):
            try:
                self._devices[address].transact(b"")
                found.append(address)
            except OSError:
                pass
        return found

    def writeto(self, address: int, buffer: Any, *, start: int = 0, end: int | None = None) -> None:
        data = bytes(memoryview(buffer)[start:end])
        self._device(address).transact(data)

    def readfrom_into(self, address: int, buffer: Any, *, start: int = 0, end: int | None = None) -> None:
        view = memoryview(buffer)[start:end]
        view[:] = self._device(address).transact(b"", len(view))

    def writeto_then_readfrom(
        self,
        address: int,
        buffer_out: Any,
        buffer_in: Any,
        *,
        out_start: int = 0,
        out_end: int | None = None,
        in_start: int = 0,
        in_end: int | None = None,
        stop: bool = False,
    ) -> None:
        out = bytes(memoryview(buffer_out)[out_start:out_end])
        view = memoryview(buffer_in)[in_start:in_end]
        view[:] = self._device(address).transact(out, len(view))

    def deinit(self) -> None:
        """Nothing to release."""

    def __enter__(self) -> EmulatedI2C:
        return self

    def __exit__(self, *exc: object) -> None:
        self.deinit()


class EmulatedSMBus:
    """An `smbus2.SMBus` look-alike for `i2c_rdwr`: a write message, then an optional read."""

    def __init__(self, *devices: Mlx90640Device) -> None:
        self._devices = {d.address: d for d in devices}

    def i2c_rdwr(self, *msgs: Any) -> None:
        """Execute smbus2 `i2c_msg`s: [write], [write, read] or [read], one transaction."""
        writes = [m for m in msgs if not m.flags & 0x0001]  # I2C_M_RD
        reads = [m for m in msgs if m.flags & 0x0001]
        if len(writes) > 1 or len(reads) > 1 or len(msgs) != len(writes) + len(reads):
            raise OSError(errno.EINVAL, "emulated bus supports one write and one read per transaction")
        address = int(msgs[0].addr)
        device = self._devices.get(address)
        if device is None or any(int(m.addr) != address for m in msgs):
            raise _nack(next(iter(self._devices.values()), None), address)
        out = bytes(writes[0]) if writes else b""
        if reads:
            data = device.transact(out, int(reads[0].len))
            ctypes.memmove(reads[0].buf, data, len(data))
        else:
            device.transact(out)

    def close(self) -> None:
        """Nothing to release."""

