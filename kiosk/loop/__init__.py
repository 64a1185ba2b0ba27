"""The kiosk loop: sensors → checkpoint → decision → screen, signals and the event stored.

The parts:

* `Kiosk` (`kiosk.loop.runtime`): the main loop, inline on a virtual clock, threaded on a real
  one; its public surface is `step`/`run`/`close`, `status()` (`kiosk.ports.KioskStatus`),
  `apply_policy` and the hooks (`on_outcome`, `on_view`, `on_beat`, `on_progress`);
* `EventSink`, `Poller`, `Voice` (`kiosk.loop.collaborators`): what it is handed besides hardware;
* `Presenter`, `NullDisplay`, `SCREEN_SIGNALS` (`kiosk.loop.presentation`): what is shown, and showing it;
* `Workers` (`kiosk.loop.workers`): the sensor and camera worker threads of the threaded mode;
* `LoopWatch` (`kiosk.loop.heartbeat`): the loop's heartbeat, for the systemd watchdog.

The loop builds nothing: the composition root (`kiosk.service.app`) hands it every part.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kiosk.lazy import front

if TYPE_CHECKING:
    from kiosk.loop.collaborators import EventSink, Poller, Voice
    from kiosk.loop.heartbeat import LoopWatch
    from kiosk.loop.presentation import SCREEN_SIGNALS, NullDisplay, Presenter
    from kiosk.loop.runtime import Kiosk
    from kiosk.loop.workers import Workers

_EXPORTS = {
    "EventSink": "collaborators",
    "Kiosk": "runtime",
    "LoopWatch": "heartbeat",
    "NullDisplay": "presentation",
    "Poller": "collaborators",
    "Presenter": "presentation",
    "SCREEN_SIGNALS": "presentation",
    "Voice": "collaborators",
    "Workers": "workers",
}
__getattr__, __dir__ = front(__name__, _EXPORTS)
__all__ = [
    "SCREEN_SIGNALS",
    "EventSink",
    "Kiosk",
    "LoopWatch",
    "NullDisplay",
    "Poller",
    "Presenter",
    "Voice",
    "Workers",
]  # the same names as _EXPORTS
