"""One visitor's check, as records: the code they showed, what was measured, what it came to.

* `ScannedCode`: a decoded and verified QR code, known by a digest of its text and by its holder;
* `Visit`: what the checkpoint has gathered about the visitor in front of it (the readings, the
  code, how they stand), and the temperature a verdict on it rests on;
* `VisitorOutcome`: the decision, handed to the loop to be stored and shown.

Plain data; the state machine that fills a `Visit` in is `kiosk.checkpoint.machine.Checkpoint`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kiosk.checkpoint.policy import CodeFacts, Decision
from kiosk.screening.thermal import Placement


@dataclass(frozen=True, slots=True)
class ScannedCode:
    """A decoded and verified QR code.  `key` is a digest of its text, never the text itself.

    `person_key` names the holder across the codes their phone regenerates (a keyed hash of the
    pass's stable subject id, see `kiosk.checkpoint.code_check`); None: only the text is known.
    """

    key: str
    facts: CodeFacts
    result: Any = None  # the verifier's result, carried into the event
    person_key: str | None = None

    @property
    def person(self) -> str:
        """Who showed the code, as far as the kiosk can tell: the person's key, else the code's."""
        return self.person_key or self.key


@dataclass(frozen=True, slots=True)
class VisitorOutcome:
    decision: Decision
    temperature_c: float | None
    first_reading_c: float | None
    code: ScannedCode | None
    started_at: float
    decided_at: float
    uncertainty_c: float | None = None  # ± of temperature_c


@dataclass(slots=True)
class Visit:
    started_at: float
    in_range_at: float | None = None
    last_seen_at: float = 0.0
    code: ScannedCode | None = None
    code_at: float | None = None
    first_reading_c: float | None = None
    final_reading_c: float | None = None
    remeasure_from: float | None = None
    first_uncertainty_c: float | None = None
    final_uncertainty_c: float | None = None
    final_near: bool = False  # the final reading's band holds the threshold
    remeasure_failed: bool = False  # a fever's re-measure came out cold: it cannot complete
    await_empty: bool = False  # the visitor just decided may still stand in the spot: measure nobody yet
    cold: bool = False  # read cold: to be sent to warm up (or, on return, to staff)
    returning: bool = False  # their code was sent to warm up earlier
    sensor_failed: bool = False
    placement: Placement = Placement.NOBODY
    companion: bool = False
    unsteady: int = 0  # unsteady reading windows since the last reading: "hold still" when it grows
    several_codes_at: float | None = None  # when several codes were last in view

    def fever_shown(self, fever_c: float) -> bool:
        return self.first_reading_c is not None and self.first_reading_c >= fever_c

    def judged_temperature(self, fever_c: float) -> tuple[float | None, float | None]:
        """The temperature the verdict rests on, and its ±; None: no valid measurement."""
        final = None if self.sensor_failed else self.final_reading_c
        if self.fever_shown(fever_c) and (final is None or (final < fever_c and self.final_near)):
            # A fever that was shown is recorded.  Either the re-measure could not complete (the
            # sensor failed, the visitor left, turned away or never came back into range), or it
            # reads below the threshold with a band that still holds it: the kiosk cannot rule out
            # a fever, so it decides conservatively on the fever reading (STOP `fever`, an alert
            # staff can check), never a PASS on a coin toss.
            return self.first_reading_c, self.first_uncertainty_c
        if final is None:
            return None, None
        return final, self.final_uncertainty_c or self.first_uncertainty_c
