"""What the screen shows of the checkpoint: which screen, which temperature, which reasons.

Read from the state machine (`kiosk.checkpoint.machine.Checkpoint`) as it stands, never stored:
the loop's presentation asks for it on every pass.  Kept apart from the machine so that the rules
of *what happens* and of *what is shown* can each be read on their own.
"""

from __future__ import annotations

from typing import Protocol

from kiosk.checkpoint.phase import Phase
from kiosk.checkpoint.visit import Visit, VisitorOutcome
from kiosk.ports import Screen
from kiosk.screening import Placement, Screening

SEVERAL_CODES_SHOWN_S = 1.5  # "show one code only" stays this long after several codes were last in view

_PLACEMENT_SCREENS = {
    Placement.TOO_FAR: Screen.STEP_CLOSER,
    Placement.TOO_CLOSE: Screen.STEP_BACK,
    Placement.CROWDED: Screen.ONE_AT_A_TIME,
}


class Checked(Protocol):
    """What the screen reads of the checkpoint (`kiosk.checkpoint.machine.Checkpoint`)."""

    @property
    def phase(self) -> Phase: ...
    @property
    def visit(self) -> Visit | None: ...
    @property
    def outcome(self) -> VisitorOutcome | None: ...
    @property
    def unrecorded(self) -> bool: ...
    @property
    def now(self) -> float: ...
    @property
    def hold_still_after(self) -> int: ...
    @property
    def reading_frames(self) -> int | None: ...
    @property
    def screening(self) -> Screening: ...
    @property
    def sensor_faulty(self) -> bool: ...
    @property
    def over_shoulder(self) -> bool: ...


class Shown:
    """The screen's view of one checkpoint."""

    def __init__(self, checkpoint: Checked) -> None:
        self._cp = checkpoint

    def screen(self) -> Screen:
        cp = self._cp
        visit, outcome = cp.visit, cp.outcome
        if cp.phase is Phase.DECIDED and outcome is not None:
            if cp.unrecorded:
                return Screen.FAULT  # not stored: staff must check this visitor by hand
            return Screen.PASS if outcome.decision.verdict.value == "PASS" else Screen.STOP
        if cp.phase is Phase.COME_BACK:
            return Screen.COME_BACK
        if cp.phase in (Phase.MEASURING, Phase.REMEASURE) and visit is not None:
            if visit.sensor_failed or cp.screening.drift_fault:
                return Screen.FAULT
            if visit.several_codes_at is not None and cp.now - visit.several_codes_at < SEVERAL_CODES_SHOWN_S:
                return Screen.ONE_CODE
            if cp.phase is Phase.REMEASURE and (visit.remeasure_from is not None
                                                or visit.placement in (Placement.OK, Placement.NOBODY)):
                return Screen.REMEASURING
            if visit.placement is Placement.OK and visit.unsteady >= cp.hold_still_after:
                return Screen.HOLD_STILL
            return _PLACEMENT_SCREENS.get(visit.placement, Screen.MEASURING)
        if cp.over_shoulder:
            return Screen.ONE_AT_A_TIME  # the one-metre line: the visitor just decided is still there
        if cp.phase is Phase.IDLE and (cp.sensor_faulty or cp.screening.drift_fault):
            return Screen.FAULT
        return Screen.ATTRACT

    def temperature(self) -> float | None:
        cp = self._cp
        if cp.phase is Phase.DECIDED and cp.outcome is not None:
            return cp.outcome.temperature_c
        if cp.phase is Phase.REMEASURE and cp.visit is not None:
            return cp.visit.first_reading_c
        return None

    def uncertainty(self) -> float | None:
        cp = self._cp
        if cp.phase is Phase.REMEASURE and cp.visit is not None:
            return cp.visit.first_uncertainty_c
        if cp.phase is Phase.DECIDED and cp.outcome is not None and cp.outcome.temperature_c is not None:
            return cp.outcome.uncertainty_c
        return None

    def reasons(self) -> tuple[str, ...]:
        cp = self._cp
        if cp.phase is Phase.DECIDED and cp.outcome is not None:
            return cp.outcome.decision.reasons
        return ()

    def progress(self) -> float:
        cp = self._cp
        visit = cp.visit
        if cp.phase not in (Phase.MEASURING, Phase.REMEASURE) or visit is None or visit.done:
            return 0.0
        return cp.screening.progress_of(cp.reading_frames)
