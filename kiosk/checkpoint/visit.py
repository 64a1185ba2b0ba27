"""One visitor's check, as records: the code they showed, what was measured, what it came to.

* `VerifiedCode`: what the verifier found in a code, typed: what the event, the replay guard and
  the holder's key need, the personal parts hidden from every repr;
* `ScannedCode`: a decoded and verified QR code, known by a digest of its text and by its holder;
* `Visit`: what the checkpoint has gathered about the visitor in front of it — the track they
  are, their readings (`kiosk.checkpoint.readings`), the code they showed, how they stand;
* `VisitorOutcome`: the decision (PASS, STOP, or LEFT for a visitor who walked off first), handed
  to the loop to be stored and shown.

Plain data; the state machine that fills a `Visit` in is `kiosk.checkpoint.machine.Checkpoint`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from kiosk.checkpoint.policy import CodeFacts, Decision
from kiosk.checkpoint.readings import TakenReading, fever_established, judged
from kiosk.screening import Placement, Sighting


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
    identity_key: str | None = field(default=None, repr=False)  # what the code says, digested (`CodeIdentity.key`)


@dataclass(frozen=True, slots=True)
class ScannedCode:
    """A decoded and verified QR code.  `key` is a digest of its text.

    `person_key` names the holder across the codes their phone regenerates (a keyed hash of the
    pass's stable subject id, see `kiosk.checkpoint.code_check`); None: only the text is known.
    `text` is the QR text itself, held in memory only while the visit lasts, so that the code can
    be judged again at the moment of the decision (the clock, the policy, the trust list may have
    changed since it was read); it is out of every repr and comparison, and `without_text` drops it
    before the outcome leaves the checkpoint: it is never stored or logged.
    """

    key: str
    facts: CodeFacts
    code: VerifiedCode | None = None  # what the verifier found, carried into the event; None if it failed
    person_key: str | None = None
    text: str | None = field(default=None, repr=False, compare=False)
    time_unknown: bool = False  # refused on time alone (expired, stale, future) while the clock is unsynchronised

    @property
    def person(self) -> str:
        """Who showed the code, as far as the kiosk can tell: the person's key, else the code's."""
        return self.person_key or self.key

    @property
    def replay_key(self) -> str:
        """What the replay guard knows the code by: what it *says* (issuer, subject, issue time),
        so the same signed pass re-encoded is the same pass; the text's digest when nothing was read."""
        return self.code.identity_key if self.code is not None and self.code.identity_key else self.key

    def without_text(self) -> ScannedCode:
        return self if self.text is None else replace(self, text=None)


@dataclass(frozen=True, slots=True)
class VisitorOutcome:
    decision: Decision
    temperature_c: float | None
    first_reading_c: float | None
    code: ScannedCode | None
    started_at: float
    decided_at: float
    uncertainty_c: float | None = None  # ± of temperature_c
    readings: tuple[TakenReading, ...] = ()  # every reading taken of the visitor, in order
    track: int | None = None  # the person decided (their thermal track)


@dataclass(slots=True)
class Visit:
    """One visitor being checked: the track they are (None: the sensor could not see them), and
    everything gathered of that track — it all ends with the track."""

    started_at: float
    track: int | None = None
    in_range_at: float | None = None
    last_seen_at: float = 0.0
    code: ScannedCode | None = None
    code_at: float | None = None
    pending: ScannedCode | None = None  # read while their track was settling: theirs once it has settled
    pending_at: float | None = None
    pending_track: int | None = None  # the track it was read while standing there (theirs only if still that one)
    readings: list[TakenReading] = field(default_factory=list)
    done: bool = False  # the readings are complete: a verdict can rest on them
    remeasure_from: float | None = None  # measure again from then (the pause after a fever)
    remeasure_failed: bool = False  # a fever's re-measure came out cold: it cannot complete
    cold: bool = False  # read cold: to be sent to warm up (or, on return, to staff)
    returning: bool = False  # their code was sent to warm up earlier
    sensor_failed: bool = False
    placement: Placement = Placement.NOBODY
    companion: bool = False
    unsteady: int = 0  # unsteady reading windows since the last reading: "hold still" when it grows
    several_codes_at: float | None = None  # when several codes were last in view
    break_at: float | None = None  # the last frame their track went unseen in: evidence before it is not enough to pass
    # Unbroken stretches of seeing them: a break (an unseen frame, a face that changed where they stood)
    # starts the next.  Readings of an earlier stretch may stop them (a fever shown: staff check) but
    # are never the temperature reported: whose face they were is not certain.
    stretch: int = 0
    last_sighting: Sighting | None = None  # where their track was last seen
    # Every alerting code (red, yellow, a risky trip) read in the visit, with its alert reasons as judged
    # when read (`Checkpoint._note_alert`): reported whatever happens next — a break in seeing them, a
    # green code shown over it, a walk-off, a cold reading — and no PASS follows (a staff check).
    alerts: list[tuple[ScannedCode, tuple[str, ...]]] = field(default_factory=list)
    # Started for whoever stood on the track of a person just stopped, let go as somebody else
    # (`Decided.code_read`): it may be them after all, so what stopped them stops this visit too.
    inherited: tuple[str, ...] = ()

    @property
    def holds_nothing(self) -> bool:
        """Nothing has been taken of anybody in this visit yet (no code, no reading, no cold reading)."""
        return self.code is None and self.pending is None and not self.readings and not self.cold \
            and self.several_codes_at is None and not self.alerts

    def hold_pending(self, code: ScannedCode, now: float) -> None:
        """A code read while the visitor was not yet settled in range: theirs once they are, if they
        are still the track that stood there when it was read."""
        self.pending, self.pending_at, self.pending_track = code, now, self.track

    def drop_pending(self) -> None:
        self.pending = self.pending_at = self.pending_track = None

    def switch_track(self, track: int | None, now: float) -> None:
        """The visit goes on as another track (nothing was taken yet, or the same place with a changed
        face): a new stretch; nothing read of the one before is theirs."""
        self.track = track
        self.in_range_at = None
        self.drop_pending()
        self.new_stretch(now)

    def new_stretch(self, now: float) -> None:
        self.break_at = now
        self.stretch += 1

    @property
    def current_readings(self) -> list[TakenReading]:
        """The readings of the stretch they are in now: what a temperature reported may rest on."""
        return [r for r in self.readings if r.stretch == self.stretch]

    def fever_before(self, fever_c: float) -> bool:
        """A fever shown in an earlier stretch: no PASS (staff check), whatever is read now."""
        return any(r.c >= fever_c for r in self.readings if r.stretch != self.stretch)

    @property
    def code_now(self) -> ScannedCode | None:
        """The code held, if it was read since the track was last unseen (else nobody knows whose it is now)."""
        if self.code is None or (self.break_at is not None and (self.code_at or -1e18) < self.break_at):
            return None
        return self.code

    @property
    def first_reading_c(self) -> float | None:
        return self.readings[0].c if self.readings else None

    @property
    def first_uncertainty_c(self) -> float | None:
        return self.readings[0].uncertainty_c if self.readings else None

    def fever_shown(self, fever_c: float) -> bool:
        return self.first_reading_c is not None and self.first_reading_c >= fever_c

    def fever_established(self, fever_c: float, *, remeasure: bool) -> bool:
        return fever_established(self.readings, fever_c, remeasure=remeasure, remeasure_failed=self.remeasure_failed)

    def outcome(self, decision: Decision, code: ScannedCode | None, now: float, *, fever: bool) -> VisitorOutcome:
        """A visit ended without a verdict (LEFT): on its highest reading with a fever, else its last."""
        readings = self.readings
        top = max(readings, key=lambda r: r.c) if fever and readings else (readings[-1] if readings else None)
        return VisitorOutcome(
            decision=decision, temperature_c=top.c if top else None, first_reading_c=self.first_reading_c,
            code=code.without_text() if code is not None else None, started_at=self.started_at, decided_at=now,
            uncertainty_c=top.uncertainty_c if top else None, readings=tuple(readings), track=self.track)

    def judged_temperature(self, fever_c: float) -> tuple[float | None, float | None]:
        """The temperature the verdict rests on, and its ±; None: no valid measurement.  Only
        readings of the stretch they are in now: an earlier one may have been somebody else."""
        readings = self.current_readings
        first = readings[0].c if readings else None
        if first is not None and first >= fever_c and (self.sensor_failed or self.remeasure_failed or not self.done):
            # A fever that was shown is recorded: the re-measure could not complete (the sensor
            # failed, the re-measure came out cold, the visitor never came back into range), so
            # the kiosk decides conservatively on the highest reading, never a PASS on a coin toss.
            top = max(readings, key=lambda r: r.c)
            return top.c, top.uncertainty_c
        if self.sensor_failed or not self.done:
            return None, None
        verdict = judged(readings, fever_c)
        return (None, None) if verdict is None else (verdict.c, verdict.uncertainty_c)
