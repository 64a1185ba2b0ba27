"""One visitor's check, as records: the code they showed, what was measured, what it came to.

* `VerifiedCode`: what the verifier found in a code, typed: what the event, the replay guard and
  the holder's key need, the personal parts hidden from every repr;
* `ScannedCode`: a decoded and verified QR code, known by a digest of its text and by its holder;
* `Visit`: what the checkpoint has gathered about the visitor in front of it (the readings, the
  code, how they stand), and the temperature a verdict on it rests on;
* `VisitorOutcome`: the decision, handed to the loop to be stored and shown.

Plain data; the state machine that fills a `Visit` in is `kiosk.checkpoint.machine.Checkpoint`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kiosk.checkpoint.policy import CodeFacts, Decision
from kiosk.screening import Placement


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifiedCode:
    """The verifier's verdict on one code, as the kiosk keeps it (`kiosk.checkpoint.code_check` makes it).

    `subject_id` (the pass's pseudonymous id, THP1 only) is kept to be sealed to the township and
    to recognise the holder; `name` is the platform's masked name, masked again in the event.
    Both are left out of `repr` (so of logs and tracebacks).  The facts policy decides on are
    not here but beside it, in `ScannedCode.facts`, as this kiosk judged them (replays marked).
    """

    format: str | None  # "THP1", "HC1", or None when the text was no format the verifier reads
    valid: bool
    error: str | None = None  # the first layer that refused the code (`kiosk.healthpass.ERRORS`)
    issuer: str | None = None  # THP1: the issuing platform; HC1: the issuing country, if named
    issued_at: int | None = None  # epoch seconds (`iat`), valid codes only
    expires_at: int | None = None  # epoch seconds (`exp`), valid codes only
    subject_id: str | None = field(default=None, repr=False)
    name: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class ScannedCode:
    """A decoded and verified QR code.  `key` is a digest of its text, never the text itself.

    `person_key` names the holder across the codes their phone regenerates (a keyed hash of the
    pass's stable subject id, see `kiosk.checkpoint.code_check`); None: only the text is known.
    """

    key: str
    facts: CodeFacts
    code: VerifiedCode | None = None  # what the verifier found, carried into the event; None if it failed
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
