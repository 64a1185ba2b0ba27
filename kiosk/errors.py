"""The kiosk's exceptions: one root, and the builtin each one also is.

Every error the kiosk raises on purpose derives from `KioskError`, so a caller that wants "any
kiosk failure" catches one class.  Each also keeps a builtin second base that says what kind of
failure it is at the bottom (an I²C NACK is an `OSError`, a bad value a `ValueError`), so code
that only knows the standard library still catches it: gpiozero's `BadPinFactory(GPIOZeroError,
ImportError)` is the model.

The errors every stage shares live here; an error that belongs to one stage is defined in that
stage's module (`kiosk.outbox.OutboxFull`, `kiosk.healthpass.CodeRejected`, …), under this root.
"""

from __future__ import annotations


class KioskError(Exception):
    """Base of the kiosk's own exceptions."""


class SensorError(KioskError, OSError):
    """The thermal array did not answer, or answered with data that cannot be a measurement.

    An `OSError` too, because that is what an I²C failure (NACK, EIO) is at the bottom.
    """


class CameraError(KioskError, OSError):
    """The camera delivered no frame."""


class ConfigError(KioskError, ValueError):
    """A configuration (or scenario) that must not start the kiosk.  `problems` holds one line per fault."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(problems))


class StartupError(KioskError, RuntimeError):
    """The kiosk cannot start as configured; the message says what to fix."""
