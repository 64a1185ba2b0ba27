"""The checkpoint: one visitor at a time, from approach to PASS or STOP.

The parts:

* `Checkpoint` (`kiosk.checkpoint.machine`): the state machine; frames, codes and time in,
  the screen (`kiosk.checkpoint.shown`) and each `VisitorOutcome` out; every visit belongs to one
  tracked person (`kiosk.screening.tracking`) and ends with them;
* `TakenReading` and the readings rule (`kiosk.checkpoint.readings`): re-measure, measure again,
  and which reading a verdict rests on;
* `decide`, `left`, `PolicyInForce` (`kiosk.checkpoint.policy`): the township's rules as pure
  functions (PASS/STOP, or LEFT for a visitor who walked off), and the one place the policy in
  force is held (every stage reads it there);
* `CodeCheck`, `facts_of`, `verified_code` (`kiosk.checkpoint.code_check`): a decoded text made
  a `ScannedCode` (verified, cached, screened for replay, tied to its holder);
* `ReplayGuard` (`kiosk.checkpoint.replay`): a code that let somebody in is no ticket for the next;
* `CodesInView` (`kiosk.checkpoint.sightings`): the codes in front of the camera, flicker removed;
* the records (`kiosk.checkpoint.visit`): `VerifiedCode`, `ScannedCode`, `Visit`, `VisitorOutcome`.

Pure logic: time is passed in; no I/O, no threads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kiosk.lazy import front

if TYPE_CHECKING:
    from kiosk.checkpoint.code_check import VERIFY_CACHE_S, CodeCheck, CodeVerifier, facts_of, verified_code
    from kiosk.checkpoint.machine import Checkpoint
    from kiosk.checkpoint.phase import Phase
    from kiosk.checkpoint.policy import (
        ALERT_REASONS,
        REASONS,
        CodeFacts,
        Decision,
        PolicyInForce,
        Verdict,
        decide,
        left,
    )
    from kiosk.checkpoint.readings import TakenReading
    from kiosk.checkpoint.replay import ReplayGuard
    from kiosk.checkpoint.sightings import CodesInView, Sightings
    from kiosk.checkpoint.visit import ScannedCode, VerifiedCode, Visit, VisitorOutcome

_EXPORTS = {
    "ALERT_REASONS": "policy",
    "Checkpoint": "machine",
    "CodeCheck": "code_check",
    "CodeFacts": "policy",
    "CodeVerifier": "code_check",
    "CodesInView": "sightings",
    "Decision": "policy",
    "Phase": "phase",
    "PolicyInForce": "policy",
    "REASONS": "policy",
    "ReplayGuard": "replay",
    "ScannedCode": "visit",
    "Sightings": "sightings",
    "TakenReading": "readings",
    "VERIFY_CACHE_S": "code_check",
    "Verdict": "policy",
    "VerifiedCode": "visit",
    "Visit": "visit",
    "VisitorOutcome": "visit",
    "decide": "policy",
    "facts_of": "code_check",
    "left": "policy",
    "verified_code": "code_check",
}
__getattr__, __dir__ = front(__name__, _EXPORTS)
__all__ = [
    "ALERT_REASONS",
    "REASONS",
    "VERIFY_CACHE_S",
    "Checkpoint",
    "CodeCheck",
    "CodeFacts",
    "CodeVerifier",
    "CodesInView",
    "Decision",
    "Phase",
    "PolicyInForce",
    "ReplayGuard",
    "ScannedCode",
    "Sightings",
    "TakenReading",
    "Verdict",
    "VerifiedCode",
    "Visit",
    "VisitorOutcome",
    "decide",
    "facts_of",
    "left",
    "verified_code",
]  # the same names as _EXPORTS
