"""What the kiosk loop is handed besides hardware: where entries go, what runs beside it, who speaks.

Each is a small protocol, met by a part the composition root (`kiosk.service.app`) builds in full
before the loop exists: nothing is attached afterwards, and nothing here knows the loop.

* `EventSink`: stores each decision durably before it is shown (`kiosk.feed.EntryLog`);
* `Poller`: one non-blocking turn per pass of the loop, given the kiosk's `KioskStatus`
  (`kiosk.feed.FeedPump`: uplink, health, daily summary, configuration);
* `Voice`: spoken prompts (`drivers.audio.player.VoicePlayer`).

Every call the loop makes into a collaborator's hook goes through `guarded`: whatever it raises is
logged, never allowed to stop the checkpoint.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from kiosk.checkpoint import VisitorOutcome
from kiosk.feed import EntryEvent
from kiosk.ports import KioskStatus, Screen

log = logging.getLogger("kiosk.loop")


class EventSink(Protocol):
    """Where each decision is committed: the event, and the outcome it records (for its seconds)."""

    def store(self, event: EntryEvent, outcome: VisitorOutcome) -> int:
        """Commit the entry durably; raise if it could not be stored (the loop then shows FAULT, never PASS)."""
        ...

    def pending_count(self) -> int:
        """Events not yet delivered (the status strip shows them)."""
        ...

    def close(self) -> None: ...


class Poller(Protocol):
    """What runs beside the loop, one short turn per pass: it must never block the screen."""

    @property
    def online(self) -> bool: ...

    def poll(self, status: KioskStatus) -> None:
        """One turn; `status` is the kiosk as of this pass (for the health report)."""
        ...

    def close(self) -> None: ...


class Voice(Protocol):
    """Spoken prompts; `say` returns at once (the sound plays on its own)."""

    def say(self, screen: Screen) -> None: ...

    def close(self) -> None: ...


def guarded(call: Callable[..., Any], *args: Any) -> Any:
    """Call a collaborator's hook; an exception is logged, never allowed to stop the loop (None then)."""
    try:
        return call(*args)
    except Exception:
        log.exception("%s failed", getattr(call, "__qualname__", call))
        return None
