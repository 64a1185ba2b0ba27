"""The checkpoint state machine: one visitor at a time, from approach to decision to the next.

    IDLE ──someone in view / a code shown──▶ MEASURING ──reading ≥ threshold──▶ REMEASURE
      ▲                                         │                                  │
      │                                  reading + code (or timeout)        second reading
      │                                         ▼                                  │
    CLEARING ◀──display time── DECIDED ◀─────────────────────────────────────────┘

Measuring and scanning run at once: thermal frames and decoded codes arrive in any order and
the decision is made when both are in (or the code timeout expires).  A reading at or above the
threshold, or one whose uncertainty band contains the threshold, is re-measured before any
verdict.  A fever that was shown is recorded: when the re-measure cannot complete (the sensor
fails, the visitor leaves or turns away) or its band still holds the threshold, the first
reading decides (STOP `fever`, an alert).  A visitor who reads cold (below the skin range, or low
in a cold room) is asked to come back in a few minutes (COME_BACK); a keyed hash of who they are
is remembered for a while, and on return they are measured again — still cold then means a manual
check by staff.  A code shown while the visitor just decided still stands in the spot (held up
over their shoulder) starts a visit that measures nobody until the spot has been seen empty
(ONE_AT_A_TIME meanwhile).  A sensor that stops delivering valid frames is a fault: no PASS is
possible without a valid temperature, and the kiosk recovers by itself when frames come back.

Pure logic: time is passed in, outputs are read from properties; no I/O.  The records it fills in
and hands out (`Visit`, `ScannedCode`, `VisitorOutcome`) are in `kiosk.checkpoint.visit`.
"""

from __future__ import annotations

import enum

from kiosk.checkpoint.policy import PolicyInForce, decide
from kiosk.checkpoint.visit import ScannedCode, Visit, VisitorOutcome
from kiosk.config import CheckpointConfig, PolicyConfig
from kiosk.ports import Screen, ThermalFrame
from kiosk.screening import Placement, Reading, Screening, ThermalObservation, frame_plausible

INVALID_CODE_GRACE_S = 1.5  # an invalid code waits this long for a valid one (wrong QR shown first)
VISITOR_GONE_S = 0.5  # the spot empty this long: the visitor walked away; nothing of theirs is reused
CLEAR_S = 0.5  # after a decision, the spot must be empty this long before the next visitor
SAME_CODE_S = 60.0  # the code just decided, seen again within this time, is the same visitor
SPOT_EMPTY_S = 0.25  # the spot empty this long (two frames at 4 Hz) since a decision: the decided visitor left
SEVERAL_CODES_SHOWN_S = 1.5  # "show one code only" stays this long after several codes were last in view
IMPLAUSIBLE_READINGS = 2  # this many readings above the skin range in one visit: a sensor fault


class Phase(enum.Enum):
    IDLE = "idle"
    MEASURING = "measuring"
    REMEASURE = "remeasure"
    DECIDED = "decided"
    COME_BACK = "come_back"  # cold arrival: asked to warm up and come back; no entry is recorded
    CLEARING = "clearing"


class Checkpoint:
    """One visitor at a time, by the policy in force (read afresh for every reading and decision)."""

    def __init__(self, policy: PolicyInForce, config: CheckpointConfig, screening: Screening, *, now: float) -> None:
        self._policy = policy
        self._cfg = config
        self._screening = screening
        self.phase = Phase.IDLE
        self._visit: Visit | None = None
        self._last_good_frame_at = now
        self._frame_seen = False
        self._phase_since = now
        self._empty_since: float | None = now
        self._outcome: VisitorOutcome | None = None
        self._last_decided_key: str | None = None
        self._last_decided_at = -1e9
        self._now = now
        self._unrecorded = False
        self._came_back: dict[str, float] = {}  # ScannedCode.person -> when the visitor was asked to come back
        self._spot_cleared = True  # the spot was seen empty since the last decision
        self.clock_synced = True  # set by the loop from a `kiosk.clocksync.ClockSync`; False refuses PASS

    @property
    def policy(self) -> PolicyConfig:
        return self._policy.policy  # the policy in force now: one the township pushes applies from the next reading

    # ------------------------------------------------------------------------------ inputs
    def on_frame(self, now: float, frame: ThermalFrame) -> ThermalObservation:
        """A thermal frame arrived (read errors go to `on_sensor_error`).  A frame no working
        sensor can produce counts as an error: no reading is ever made of it."""
        if not frame_plausible(frame):
            self.on_sensor_error(now)
            return ThermalObservation(Placement.NOBODY)
        self._last_good_frame_at = now
        self._frame_seen = True
        obs = self._screening.observe(frame)
        present = obs.placement is not Placement.NOBODY
        self._empty_since = None if present else (self._empty_since or now)
        if self._empty_since is not None and now - self._empty_since >= SPOT_EMPTY_S:
            self._spot_cleared = True
        visit = self._visit
        if self.phase is Phase.IDLE and present:
            visit = self._start_visit(now, keep_samples=True)  # this frame's sample is theirs
        if visit is not None and self.phase in (Phase.MEASURING, Phase.REMEASURE):
            if visit.await_empty:
                if not self._spot_cleared:
                    return obs  # whoever stands there is the visitor just decided: nothing of theirs is used
                visit.await_empty = False
                self._screening.restart()
            visit.placement = obs.placement
            visit.companion = obs.companion
            if present:
                visit.last_seen_at = now
            if obs.placement is Placement.OK and visit.in_range_at is None:
                visit.in_range_at = now
            self._collect_reading(now, visit)
        return obs

    def on_sensor_error(self, now: float) -> None:
        """A frame could not be read.  The fault itself is declared by time, in `tick`."""
        self._screening.restart()

    def on_code(self, now: float, code: ScannedCode) -> None:
        if code.person == self._last_decided_key and (
                now - self._last_decided_at < SAME_CODE_S or self.phase is Phase.CLEARING):
            # The visitor just decided is still holding up their phone (whose code regenerates:
            # compared by person), or still lingers in the spot: not a new visit.
            return
        sent_back_at = self._came_back.get(code.person)
        measuring = self.phase in (Phase.MEASURING, Phase.REMEASURE)
        if sent_back_at is not None and now - sent_back_at < SAME_CODE_S and not measuring:
            return  # the visitor just asked to come back is still walking off with the phone up
        if self.phase is Phase.COME_BACK:
            return
        if self.phase in (Phase.IDLE, Phase.CLEARING):
            self._start_visit_from_code(now)
        visit = self._visit
        if visit is None or self.phase not in (Phase.MEASURING, Phase.REMEASURE):
            return
        visit.last_seen_at = now
        held = visit.code
        if held is None or (not held.facts.valid and code.facts.valid):
            visit.code = code
            visit.code_at = now
            if sent_back_at is not None and now - sent_back_at < self._cfg.come_back_memory_s:
                visit.returning = True

    def on_several_codes(self, now: float) -> None:
        """Several codes are in view at once: decide on none of them, and say why on screen.

        A visit starts (someone is showing codes), so the code timeout still runs: whoever never
        shows one code alone is stopped as `no_code`, never passed on a code picked at random.
        """
        if self.phase in (Phase.DECIDED, Phase.COME_BACK):
            return
        if self.phase in (Phase.IDLE, Phase.CLEARING):
            self._start_visit_from_code(now)
        if self._visit is not None:
            self._visit.several_codes_at = now
            self._visit.last_seen_at = now

    # ------------------------------------------------------------------------------ time
    @property
    def sensor_faulty(self) -> bool:
        return self._sensor_faulty_at(self._now)

    def _sensor_faulty_at(self, now: float) -> bool:
        return now - self._last_good_frame_at > self._cfg.sensor_fault_after_s

    def tick(self, now: float, wall: float) -> VisitorOutcome | None:
        """Advance timers.  Returns the outcome when a visitor has just been decided."""
        self._now = now
        faulty = self._sensor_faulty_at(now)
        visit = self._visit
        if self.phase in (Phase.MEASURING, Phase.REMEASURE) and visit is not None:
            if faulty:
                visit.sensor_failed = True
            if self._gone(now, visit, faulty):
                if visit.fever_shown(self.policy.fever_c):  # a fever that was shown is recorded, even if they walk away
                    return self._decide(now, wall, visit)
                self._to(Phase.IDLE, now)
                self._visit = None
                self._screening.restart()
                return None
            if self.phase is Phase.REMEASURE and visit.remeasure_from is not None and now >= visit.remeasure_from:
                visit.remeasure_from = None
                self._screening.restart()
            if visit.cold and not visit.returning and self._cold_ready(now, visit):
                self._send_back(now, visit)
                return None
            if self._ready(now, visit):
                return self._decide(now, wall, visit)
        elif self.phase in (Phase.DECIDED, Phase.COME_BACK):
            if now - self._phase_since >= self._cfg.decision_display_s:
                self._to(Phase.CLEARING, now)
        elif self.phase is Phase.CLEARING:
            empty_long = self._empty_since is not None and now - self._empty_since >= CLEAR_S
            if empty_long or faulty:  # someone lingering is not a new visitor; a new code is (on_code)
                self._to(Phase.IDLE, now)
        return None

    def next_deadline(self) -> float | None:
        """The next moment `tick` has something to do without new input (for an event loop)."""
        if self.phase in (Phase.DECIDED, Phase.COME_BACK):
            return self._phase_since + self._cfg.decision_display_s
        visit = self._visit
        if self.phase in (Phase.MEASURING, Phase.REMEASURE) and visit is not None:
            return self._code_deadline(visit)
        return None

    # ------------------------------------------------------------------------------ outputs
    @property
    def screen(self) -> Screen:
        visit = self._visit
        if self.phase is Phase.DECIDED and self._outcome is not None:
            if self._unrecorded:
                return Screen.FAULT  # not stored: staff must check this visitor by hand
            return Screen.PASS if self._outcome.decision.verdict.value == "PASS" else Screen.STOP
        if self.phase is Phase.COME_BACK:
            return Screen.COME_BACK
        if self.phase in (Phase.MEASURING, Phase.REMEASURE) and visit is not None:
            if visit.sensor_failed:
                return Screen.FAULT
            if visit.several_codes_at is not None and self._now - visit.several_codes_at < SEVERAL_CODES_SHOWN_S:
                return Screen.ONE_CODE
            if visit.await_empty:
                return Screen.ONE_AT_A_TIME  # the one-metre line: the visitor just decided is still there
            if self.phase is Phase.REMEASURE and (visit.remeasure_from is not None
                                                  or visit.placement in (Placement.OK, Placement.NOBODY)):
                return Screen.REMEASURING
            if visit.placement is Placement.OK and visit.unsteady >= self._cfg.hold_still_after:
                return Screen.HOLD_STILL
            return {
                Placement.TOO_FAR: Screen.STEP_CLOSER,
                Placement.TOO_CLOSE: Screen.STEP_BACK,
                Placement.CROWDED: Screen.ONE_AT_A_TIME,
            }.get(visit.placement, Screen.MEASURING)
        if self.phase is Phase.IDLE and self.sensor_faulty:
            return Screen.FAULT
        return Screen.ATTRACT

    @property
    def shown_temperature(self) -> float | None:
        if self.phase is Phase.DECIDED and self._outcome is not None:
            return self._outcome.temperature_c
        if self.phase is Phase.REMEASURE and self._visit is not None:
            return self._visit.first_reading_c
        return None

    @property
    def shown_uncertainty(self) -> float | None:
        """± of the shown temperature: while re-measuring it says why the kiosk is not sure."""
        if self.phase is Phase.REMEASURE and self._visit is not None:
            return self._visit.first_uncertainty_c
        if self.phase is Phase.DECIDED and self._outcome is not None and self._outcome.temperature_c is not None:
            return self._outcome.uncertainty_c
        return None

    @property
    def warnings(self) -> tuple[str, ...]:
        """Catalogue keys for the status strip: room outside the working range, calibration drift."""
        return self._screening.environment_warnings()

    @property
    def screening(self) -> Screening:
        """The screener (its `drift` tracker and `room_c` feed the health report)."""
        return self._screening

    @property
    def shown_reasons(self) -> tuple[str, ...]:
        if self.phase is Phase.DECIDED and self._outcome is not None:
            return self._outcome.decision.reasons
        return ()

    @property
    def progress(self) -> float:
        if self.phase not in (Phase.MEASURING, Phase.REMEASURE) or (self._visit and self._visit.await_empty):
            return 0.0
        return self._screening.progress

    @property
    def companion(self) -> bool:
        return bool(self._visit and self._visit.companion and self.phase in (Phase.MEASURING, Phase.REMEASURE))

    # ------------------------------------------------------------------------------ internals
    def _to(self, phase: Phase, now: float) -> None:
        self.phase = phase
        self._phase_since = now

    def _start_visit(self, now: float, *, keep_samples: bool = False) -> Visit:
        self._visit = Visit(started_at=now, last_seen_at=now)
        if not keep_samples:
            self._screening.restart()
        self._outcome = None
        self._to(Phase.MEASURING, now)
        return self._visit

    def _start_visit_from_code(self, now: float) -> None:
        """A code starts a visit.  If the spot has not been seen empty since the last decision,
        the person standing there is the visitor just decided (the code is held up over their
        shoulder): no reading is taken until they have left."""
        self._start_visit(now).await_empty = not self._spot_cleared

    def _collect_reading(self, now: float, visit: Visit) -> None:
        if visit.final_reading_c is not None or visit.remeasure_from is not None:
            return
        unsteady_before = self._screening.unstable_windows
        reading = self._screening.take_reading()
        if reading is None:
            if self._screening.unstable_windows > unsteady_before:
                visit.unsteady += 1
            if self._screening.implausible_readings >= IMPLAUSIBLE_READINGS:
                visit.sensor_failed = True  # "above 43 °C" again and again: the sensor, not a person
            return
        visit.unsteady = 0
        if self._is_cold(reading):
            # Not a temperature: nothing of it is shown or stored.
            if self.phase is Phase.REMEASURE:
                # Cold on the re-measure (head turned, a hand on the forehead): nobody is sent away
                # mid-check.  After a fever the re-measure has failed and the fever stands (`_decide`);
                # after a reading only near the threshold the kiosk simply measures again.
                visit.remeasure_failed = visit.fever_shown(self.policy.fever_c)
                return
            # First time: come back later; back again and still cold: no reading, so the decision
            # goes to a manual check.
            visit.cold = True
            return
        visit.cold = False
        value = round(reading.temperature_c, 1)  # what the screen shows is what is judged
        threshold = self.policy.fever_c
        if self.phase is Phase.MEASURING:
            visit.first_reading_c = value
            visit.first_uncertainty_c = reading.uncertainty_c
            # A fever is re-measured (if the policy says so); a reading whose band holds the
            # threshold always is: one verdict either way would be a coin toss.
            if (value >= threshold and self.policy.remeasure) or reading.near(threshold):
                visit.remeasure_from = now + self._cfg.remeasure_pause_s
                self._to(Phase.REMEASURE, now)
                return
        visit.final_reading_c = value
        visit.final_uncertainty_c = reading.uncertainty_c
        visit.final_near = reading.near(threshold)

    def _is_cold(self, reading: Reading) -> bool:
        return reading.cold or (self._screening.cold_room and reading.temperature_c < self._cfg.cold_room_skin_c)

    def _cold_ready(self, now: float, visit: Visit) -> bool:
        """Send a cold visitor back once their code is in (to recognise them), or at the timeout."""
        return visit.code is not None or now >= self._code_deadline(visit)

    def _send_back(self, now: float, visit: Visit) -> None:
        if visit.code is not None:
            self._came_back = {k: t for k, t in self._came_back.items()
                               if now - t < self._cfg.come_back_memory_s}
            self._came_back[visit.code.person] = now
        self._spot_cleared = False
        self._visit = None
        self._outcome = None
        self._screening.restart()
        self._to(Phase.COME_BACK, now)

    def _code_deadline(self, visit: Visit) -> float:
        return (visit.in_range_at or visit.started_at) + self._cfg.no_code_timeout_s

    def _ready(self, now: float, visit: Visit) -> bool:
        temperature_done = visit.final_reading_c is not None or visit.sensor_failed or visit.remeasure_failed \
            or (visit.cold and visit.returning)  # warmed up and still cold: staff check by hand
        if not temperature_done:
            # A visitor who never gets a reading (never in range, or readings never settle) is
            # decided at the deadline without a temperature: fail closed.
            return now >= self._code_deadline(visit) + self._cfg.no_code_timeout_s
        if visit.code is not None:
            if visit.code.facts.valid:
                return True
            assert visit.code_at is not None
            if now - visit.code_at >= INVALID_CODE_GRACE_S:
                return True
        return now >= self._code_deadline(visit)

    def _gone(self, now: float, visit: Visit, faulty: bool) -> bool:
        """The thermal view has shown an empty spot for a while: whoever was measured has left.

        Their reading and their code must never be used for whoever steps up next.  With the
        sensor down we cannot see anyone leave, so the visit runs to its decision.
        """
        if faulty or self._empty_since is None:
            return False
        return now - max(self._empty_since, visit.started_at) >= VISITOR_GONE_S

    def mark_unrecorded(self) -> None:
        """The outcome just decided could not be stored: show a fault instead of the verdict."""
        self._unrecorded = True

    def _decide(self, now: float, wall: float, visit: Visit) -> VisitorOutcome:
        temperature, uncertainty = visit.judged_temperature(self.policy.fever_c)
        decision = decide(temperature, visit.code.facts if visit.code else None, self.policy, wall,
                          clock_synced=self.clock_synced, sensor_fault=visit.sensor_failed)
        outcome = VisitorOutcome(
            decision=decision,
            temperature_c=temperature,
            first_reading_c=visit.first_reading_c,
            code=visit.code,
            started_at=visit.started_at,
            decided_at=now,
            uncertainty_c=uncertainty,
        )
        if temperature is not None and not visit.sensor_failed:
            self._screening.drift.add(temperature)  # the crowd's median tracks calibration drift
        self._outcome = outcome
        self._unrecorded = False
        if visit.code is not None:
            self._last_decided_key = visit.code.person
            self._last_decided_at = now
        self._spot_cleared = False
        self._visit = None
        self._screening.restart()
        self._to(Phase.DECIDED, now)
        return outcome
