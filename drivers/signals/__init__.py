"""Buzzer and lights: what the visitor hears and sees besides the screen (`kiosk.ports.Signals`).

- `gpio_signals.GpioSignals`: the buzzer and the green/red lights through gpiozero (a real Pi's
  pins, or gpiozero's MockFactory in tests and simulations);
- `patterns`: what each screen sounds and lights like (`Pattern` of `Step`s, `DEFAULT_PATTERNS`);
- `quiet.QuietHours`: the site's quiet hours, when the buzzer is softened or silent.
"""

from .gpio_signals import GpioSignals
from .patterns import DEFAULT_PATTERNS, Pattern, Step
from .quiet import QuietHours

__all__ = ["DEFAULT_PATTERNS", "GpioSignals", "Pattern", "QuietHours", "Step"]
