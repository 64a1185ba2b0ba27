"""Buzzer and lights: what the visitor hears and sees besides the screen (`kiosk.ports.Signals`)."""

from .gpio_signals import GpioSignals
from .patterns import DEFAULT_PATTERNS, Pattern, Step
from .quiet import QuietHours

__all__ = ["DEFAULT_PATTERNS", "GpioSignals", "Pattern", "QuietHours", "Step"]
