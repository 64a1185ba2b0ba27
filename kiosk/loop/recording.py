"""Each outcome made an event, stored before it is shown, and handed to whoever listens.

`Recorder.record` is the loop's one guarded step from an outcome to the outbox: the event is built
and stored inside it, so whatever raises there (a broken disk, a sealing key that cannot seal, a
bug) is a FAULT screen and a counted store failure — never a PASS shown for an entry that was not
stored whole, and never a dead loop.  When the event could not be built whole, it is built again
without the sealed subject id and stored, so the decision itself is not lost; the visitor still
sees FAULT (staff check them by hand).  A code that passed is remembered by the replay guard
whatever happened to its event: the visitor did see PASS, or a fault, and a second showing of the
same pass is a replay either way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from kiosk.checkpoint import Checkpoint, ReplayGuard, VisitorOutcome
from kiosk.feed import EntryEvent, EventBuilder
from kiosk.loop.collaborators import EventSink, guarded

log = logging.getLogger("kiosk.loop")


class Recorder:
    """Builds, stores and announces the event of each outcome (see the module's doc)."""

    def __init__(self, events: EventBuilder, sink: EventSink, replay: ReplayGuard, checkpoint: Checkpoint) -> None:
        self.events = events
        self.sink = sink
        self.replay = replay
        self.checkpoint = checkpoint
        self.on_outcome: list[Callable[[VisitorOutcome, EntryEvent], None]] = []
        self.store_failures = 0

    def record(self, outcome: VisitorOutcome, wall: float) -> EntryEvent | None:
        """Store the event of `outcome` (made at `wall`); the event stored, or None if none could be."""
        event: EntryEvent | None = None
        try:
            event = self.events.build(outcome, wall=wall)
            self.sink.store(event, outcome)
        except Exception:  # the checkpoint goes on …
            self.store_failures += 1
            log.exception("could not %s the event of a %s decision", "store" if event else "build",
                          outcome.decision.verdict.value)
            self.checkpoint.mark_unrecorded(outcome)  # … but an entry not stored whole is never shown as PASS
            if event is None:
                event = guarded(self._store_plain, outcome, wall)
        log.info("decision %s %s", outcome.decision.verdict.value, ",".join(outcome.decision.reasons) or "-")
        guarded(self.replay.passed, outcome, wall)
        if event is not None:
            for callback in self.on_outcome:
                guarded(callback, outcome, event)
        return event

    def _store_plain(self, outcome: VisitorOutcome, wall: float) -> EntryEvent:
        """The event without the parts that could not be made (the sealed subject id), stored all the same."""
        event = self.events.build(outcome, wall=wall, seal=False)
        self.sink.store(event, outcome)
        return event
