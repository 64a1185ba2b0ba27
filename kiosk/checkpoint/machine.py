"""The checkpoint state machine: one visitor at a time, each decided on their own reading and code.

    IDLE ──a person in the spot──▶ MEASURING ──fever / near the threshold──▶ REMEASURE
      ▲                              │   │                                    │
      │            their track ends ─┘   └── reading + code (or timeout) ─────┤
      │            (LEFT, or nothing)                                          ▼
      └──── CLEARING ◀── display time, the decided person still there ── DECIDED

A visit belongs to one *track* (`kiosk.screening.tracking`): the person standing in the spot,
followed from frame to frame.  Until anything is taken of them, the visit simply follows whoever
is in the spot (walking in smears a face into passing ghosts: nothing is lost by that); a code is
taken only of a person settled in range (standing in the spot, not walking through, not about to
step closer), a reading only of frames of one track.  Everything gathered in the visit — the readings,
the code, how they stand — is theirs and ends with their track: when the track leaves the spot,
jumps, splits or merges, the visitor is gone and nothing of theirs is given to whoever stands
there next (a code read while they stood too far is held for their track only, and dies with it).
Their track lost in a frame and a new one born where they stood (a turned head, a hand on the
forehead — or somebody else), or bridged through a step straight closer, goes on as the visit's
next *stretch*: whatever would let them pass is taken again, a fever shown before still stops them,
and the temperature reported is always one read since the break.  The person just decided, lost the
same way, is still the person decided.  Every alerting code read in the visit (red, yellow, a risky
trip; `Visit.alerts`) is reported and stops it, whatever came after it: a break, a green code shown
over it, a walk-off, a cold reading (reported at once, as they are sent to warm up).
A visitor who leaves before a decision is `LEFT`: recorded (an alert) when a fever
was established or an alerting code was read, otherwise not at all (nothing was found against
anybody, and a track that ends may be the same person measured again a moment later).

Measuring and scanning run at once; the decision is made when both are in (or the code timeout
expires: `kiosk.checkpoint.readiness`).  A code is taken only while the visitor stands alone in
the spot (`Placement.CROWDED`: nothing is taken of anybody); queue members and passers-by are
never in the spot.  The readings
are `kiosk.checkpoint.measuring`'s (a one-frame look first, careful re-measures, kept only while
the person stands as they stood).  At the moment of the decision the held code is judged again
(`judge`: the clock, the policy and the trust list of that moment).  The person decided (their
track) is not a new visitor while they linger; someone else's code shown meanwhile asks for one at
a time.  A visitor who reads cold is asked to come back (COME_BACK); a sensor that stops delivering
valid frames is a fault, and no PASS is possible without a valid temperature.

Pure logic: time is passed in, outputs are read from properties; no I/O.  The records it fills in
and hands out are in `kiosk.checkpoint.visit`; what the screen shows of it, `kiosk.checkpoint.shown`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from kiosk.checkpoint.decided import Decided, heir
from kiosk.checkpoint.measuring import Measuring
from kiosk.checkpoint.phase import Phase
from kiosk.checkpoint.policy import ALERT_REASONS, Decision, PolicyInForce, Verdict, decide, left, with_reasons
from kiosk.checkpoint.readiness import code_deadline, ready
from kiosk.checkpoint.readings import Next
from kiosk.checkpoint.shown import Shown
from kiosk.checkpoint.visit import ScannedCode, Visit, VisitorOutcome
from kiosk.config import CheckpointConfig, PolicyConfig
from kiosk.ports import Screen, ThermalFrame
from kiosk.screening import (
    Placement,
    Screening,
    ThermalObservation,
    frame_plausible,
)

INHERIT_WITHIN_S = 5.0  # a visit starting this soon after a decided track was let go inherits its STOP
SAME_CODE_S = 60.0  # blind (sensor down): the code just decided, seen again within this, is the same visitor
OVER_SHOULDER_SHOWN_S = 1.5  # "one at a time" stays this long after a code shown over the decided visitor


class Checkpoint:
    """One visitor at a time, by the policy in force (read afresh for every reading and decision)."""

    def __init__(self, policy: PolicyInForce, config: CheckpointConfig, screening: Screening, *, now: float) -> None:
        self._policy = policy
        self._cfg = config
        self._screening = screening
        self.phase = Phase.IDLE
        self._visit: Visit | None = None
        self._last_good_frame_at = now
        self._phase_since = now
        self._outcome: VisitorOutcome | None = None
        self._pending: list[VisitorOutcome] = []  # LEFT outcomes, handed out by the next `tick`
        self._now = now
        self._wall_offset = math.nan  # wall − monotonic at the last tick
        self._unrecorded = False
        self._came_back: dict[str, float] = {}  # ScannedCode.person -> when the visitor was asked to come back
        self._spot: int | None = None  # the track in the spot in the last frame
        self._decided = Decided()  # the person just decided or sent back, while still in the spot
        self._over_shoulder_at: float | None = None  # someone else's code while the decided visitor stood there
        self._inherit: tuple[float, tuple[str, ...]] | None = None  # (when let go, what the next visit inherits)
        self._reported: dict[tuple[str, tuple[str, ...]], float] = {}  # (holder, alert reasons) -> when reported
        self.clock_synced = True  # set by the loop from a `kiosk.clocksync.ClockSync`; False refuses PASS
        # Judges a held code again at the moment of the decision (the loop's: verifier, clock and
        # replay guard of that moment); None keeps the code as it was read.
        self.judge: Callable[[ScannedCode], ScannedCode] | None = None
        self.shown = Shown(self)
        self.measuring = Measuring(screening, policy, config)

    @property
    def policy(self) -> PolicyConfig:
        return self._policy.policy  # the policy in force now: one the township pushes applies from the next reading

    @property
    def visit(self) -> Visit | None:
        """The visit in progress (read-only use: the screen, tests)."""
        return self._visit

    @property
    def now(self) -> float:
        """The time of the last tick."""
        return self._now

    @property
    def hold_still_after(self) -> int:
        return self._cfg.hold_still_after

    @property
    def reading_frames(self) -> int | None:
        """Frames the next reading is made of (`kiosk.checkpoint.measuring`)."""
        return self.measuring.frames_for(self._visit)

    @property
    def outcome(self) -> VisitorOutcome | None:
        """The last decision shown (PASS/STOP), while it is the checkpoint's latest."""
        return self._outcome

    # ------------------------------------------------------------------------------ inputs
    def on_frame(self, now: float, frame: ThermalFrame) -> ThermalObservation:
        """A thermal frame arrived (read errors go to `on_sensor_error`).  A frame no working
        sensor can produce counts as an error: no reading is ever made of it."""
        if not frame_plausible(frame):
            self.on_sensor_error(now)
            return ThermalObservation(Placement.NOBODY)
        self._last_good_frame_at = now
        tracked = self._screening.see(frame)
        self._spot = tracked.spot
        self._decided.follow(tracked)
        visit = self._visit
        spot = tracked.track(tracked.spot)
        if spot is not None and spot.id == self._decided.track:
            spot = None  # the person just decided, still there: not a new visitor
        if visit is not None and visit.track is not None:
            mine = tracked.track(visit.track)
            if mine is not None and mine.seen:
                visit.last_sighting = mine.last
            successor = heir(tracked, visit.last_sighting) if mine is None or not mine.seen else None
            if visit.holds_nothing and not visit.sensor_failed:
                # Nothing taken of anybody yet: the visit is whoever stands in the spot now.
                if spot is None:
                    self._end_visit(now)
                    visit = None
                elif spot.id != visit.track:
                    visit.switch_track(spot.id, now)
            elif successor is not None and not visit.sensor_failed:
                # Where they stood, in the frame they were lost, a face that changed (a turned head, a
                # hand on the forehead — or somebody else): the visit goes on as a new stretch, in
                # which nothing of theirs counts but a fever or an alerting code shown before.
                visit.switch_track(successor.id, now)
                self.measuring.unseen(now, visit)
            elif mine is None or not mine.in_spot:
                self._visitor_left(now, visit)  # their track ended: they are gone, and all of theirs with them
                visit = self._visit
            elif not mine.seen or mine.bridged:
                self.measuring.unseen(now, visit)  # lost for a frame, or stepped closer: taken anew
        if visit is None and spot is not None and (self.phase is Phase.IDLE or spot.settled):
            # While a decision is on show, only somebody standing in the spot cuts it short: the
            # decided visitor walking off, smeared into a new track, is not a new visitor.
            visit = self._start_visit(now, spot.id)
        if visit is not None and visit.pending is not None and visit.pending_track != visit.track:
            visit.drop_pending()  # read while somebody else stood there: never theirs
        obs = self._screening.look(visit.track if visit is not None else None)
        if visit is not None and visit.track is not None and self.phase in (Phase.MEASURING, Phase.REMEASURE):
            visit.placement = obs.placement
            visit.companion = obs.companion
            if obs.placement is not Placement.NOBODY:
                visit.last_seen_at = now
            if obs.placement is Placement.OK and visit.in_range_at is None:
                visit.in_range_at = now
            if not self.measuring.still(visit, obs):
                self._to(Phase.MEASURING, self._phase_since)
            if visit.pending is not None and obs.placement is Placement.OK and self.measuring.settled(visit.track):
                pending, at = visit.pending, visit.pending_at
                visit.drop_pending()
                self._take_code(at if at is not None else now, visit, pending)
            if self.measuring.collect(now, visit) in (Next.REMEASURE, Next.AGAIN):
                self._to(Phase.REMEASURE, now)
        return obs

    def on_sensor_error(self, now: float) -> None:
        """A frame could not be read.  The fault itself is declared by time, in `tick`."""
        self._screening.restart()

    def on_code(self, now: float, code: ScannedCode) -> None:
        """A code was read (alone in view).  It is given to the visitor standing alone in the spot."""
        if self.phase is Phase.COME_BACK:
            return  # the visitor just asked to come back is walking off with the phone up
        visit = self._visit
        if visit is None:
            if self._blind_visit_may_start(now, code.person):
                visit = self._start_visit(now, None)  # a blind kiosk: the visit runs to a fault STOP
            else:
                done, track = self._decided, self._decided.track
                if track is not None and self._spot == track:
                    inherited = done.code_read(code.person)
                    if inherited is not None:
                        self._inherit = (now, inherited)  # let go: a new visit for the one standing there
                    elif code.person != done.person:
                        self._over_shoulder_at = now  # a code over the shoulder of the visitor just decided
                return  # nobody in the spot to give it to
        if self.phase not in (Phase.MEASURING, Phase.REMEASURE):
            return
        self._note_alert(now, visit, code)  # what it says is reported, whoever's phone it is
        if visit.track is not None and visit.placement in (Placement.CROWDED, Placement.NOBODY):
            return  # not exactly one person in the spot: whose phone is it?
        if visit.track is not None and not visit.sensor_failed \
                and (visit.placement is not Placement.OK or not self.measuring.settled(visit.track)):
            visit.hold_pending(code, now)  # theirs once they stand settled, in range (if still the same track)
            return
        visit.last_seen_at = now
        self._take_code(now, visit, code)

    def _take_code(self, now: float, visit: Visit, code: ScannedCode) -> None:
        held = visit.code_now  # a code read before the track was last unseen is nobody's for sure: replaced
        if held is None or (not held.facts.valid and code.facts.valid):
            visit.code = code
            visit.code_at = now
            sent_back_at = self._came_back.get(code.person)
            if sent_back_at is not None and now - sent_back_at < self._cfg.come_back_memory_s:
                visit.returning = True

    def on_several_codes(self, now: float) -> None:
        """Several codes are in view at once: decide on none of them, and say why on screen.

        The code timeout still runs: whoever never shows one code alone is stopped as `no_code`,
        never passed on a code picked at random.
        """
        visit = self._visit
        if visit is None and self._blind_visit_may_start(now, None):
            visit = self._start_visit(now, None)
        if visit is not None:
            visit.several_codes_at = now
            visit.last_seen_at = now

    # ------------------------------------------------------------------------------ time
    @property
    def sensor_faulty(self) -> bool:
        return self._sensor_faulty_at(self._now)

    def _sensor_faulty_at(self, now: float) -> bool:
        return now - self._last_good_frame_at > self._cfg.sensor_fault_after_s

    def tick(self, now: float, wall: float) -> list[VisitorOutcome]:
        """Advance timers.  Returns the outcomes made since the last tick (LEFT ones, a decision)."""
        self._now = now
        self._wall_offset = wall - now
        out, self._pending = self._pending, []
        faulty = self._sensor_faulty_at(now)
        visit = self._visit
        if self.phase in (Phase.MEASURING, Phase.REMEASURE) and visit is not None:
            if faulty:
                visit.sensor_failed = True
                if visit.pending is not None:  # blind now: nobody will be seen settling; the code is taken
                    pending, at = visit.pending, visit.pending_at
                    visit.drop_pending()
                    self._take_code(at or now, visit, pending)
            if visit.remeasure_from is not None and now >= visit.remeasure_from:
                visit.remeasure_from = None
                self._screening.restart()
            if visit.cold and not visit.returning and self._cold_ready(now, visit):
                self._send_back(now, visit)
            elif ready(visit, now, self._cfg, last_frame_at=self._last_good_frame_at):
                out.append(self._decide(now, wall, visit))
        elif self.phase in (Phase.DECIDED, Phase.COME_BACK):
            if now - self._phase_since >= self._cfg.decision_display_s:
                self._to(Phase.CLEARING if self._decided.track is not None else Phase.IDLE, now)
        elif self.phase is Phase.CLEARING and (self._decided.track is None or faulty):
            self._to(Phase.IDLE, now)
        return out

    def next_deadline(self) -> float | None:
        """The next moment `tick` has something to do without new input (for an event loop)."""
        if self.phase in (Phase.DECIDED, Phase.COME_BACK):
            return self._phase_since + self._cfg.decision_display_s
        visit = self._visit
        if self.phase in (Phase.MEASURING, Phase.REMEASURE) and visit is not None:
            return code_deadline(visit, self._cfg)
        return None

    # ------------------------------------------------------------------------------ outputs
    # What the screen shows (`kiosk.checkpoint.shown`); the ± says why the kiosk is not sure.
    @property
    def screen(self) -> Screen:
        return self.shown.screen()

    @property
    def shown_temperature(self) -> float | None:
        return self.shown.temperature()

    @property
    def shown_uncertainty(self) -> float | None:
        return self.shown.uncertainty()

    @property
    def shown_reasons(self) -> tuple[str, ...]:
        return self.shown.reasons()

    @property
    def progress(self) -> float:
        return self.shown.progress()

    @property
    def companion(self) -> bool:
        return bool(self._visit and self._visit.companion and self.phase in (Phase.MEASURING, Phase.REMEASURE))

    @property
    def warnings(self) -> tuple[str, ...]:
        """Catalogue keys for the status strip: room outside the working range, calibration drift."""
        return self._screening.environment_warnings()

    @property
    def screening(self) -> Screening:
        """The screener (its `drift` tracker and `room_c` feed the health report)."""
        return self._screening

    @property
    def unrecorded(self) -> bool:
        return self._unrecorded

    @property
    def over_shoulder(self) -> bool:
        """Someone else's code was just shown while the decided visitor still stands in the spot."""
        at = self._over_shoulder_at
        return at is not None and self._decided.track is not None and self._now - at < OVER_SHOULDER_SHOWN_S

    def mark_unrecorded(self, outcome: VisitorOutcome | None = None) -> None:
        """The outcome just decided could not be stored: show a fault instead of the verdict."""
        if outcome is None or outcome is self._outcome:
            self._unrecorded = True

    # ------------------------------------------------------------------------------ internals
    def _to(self, phase: Phase, now: float) -> None:
        self.phase = phase
        self._phase_since = now

    def _wall(self, now: float) -> float:
        return now + self._wall_offset

    def _blind_visit_may_start(self, now: float, person: str | None) -> bool:
        """With the sensor down nobody can be seen: a code starts a visit (to a fault STOP) once the
        last decision has been shown, and not for the person just decided (blind, the kiosk cannot
        tell them from a new visitor, so their phone is taken for theirs for `SAME_CODE_S`)."""
        if not self.sensor_faulty or self.phase not in (Phase.IDLE, Phase.CLEARING):
            return False
        return person is None or person != self._decided.person or now - self._decided.at >= SAME_CODE_S

    def _start_visit(self, now: float, track: int | None) -> Visit:
        inherit, self._inherit = self._inherit, None  # (the next visit soon after, on whatever track: fail closed)
        inherited = inherit[1] if inherit is not None and now - inherit[0] <= INHERIT_WITHIN_S else ()
        self._visit = Visit(started_at=now, track=track, last_seen_at=now, inherited=inherited)
        self._outcome = None
        self._unrecorded = False
        self._to(Phase.MEASURING, now)
        return self._visit

    def _end_visit(self, now: float) -> None:
        self._visit = None
        self._screening.restart()
        if self.phase in (Phase.MEASURING, Phase.REMEASURE):
            self._to(Phase.IDLE, now)

    def _rejudged(self, code: ScannedCode | None) -> ScannedCode | None:
        return self.judge(code) if code is not None and self.judge is not None else code

    def _alert_reasons(self, now: float, code: ScannedCode | None) -> tuple[str, ...]:
        """What `code` says that is reportable at once (red, yellow, a risky trip), judged at `now`."""
        return left(code.facts, self.policy, self._wall(now), fever=False).reasons if code is not None else ()

    def _note_alert(self, now: float, visit: Visit, code: ScannedCode) -> None:
        """Keep every alerting code read in the visit, as judged when read (`Visit.alerts`) — but not
        one just reported with the last outcome (the last visitor walking off, phone still up)."""
        reasons = self._alert_reasons(now, code)
        if not reasons or now - self._reported.get((code.person, reasons), -math.inf) < SAME_CODE_S:
            return
        if all((c.person, r) != (code.person, reasons) for c, r in visit.alerts):
            visit.alerts.append((code, reasons))

    def _with_alerts(self, now: float, visit: Visit, decision: Decision,
                     code: ScannedCode | None) -> tuple[Decision, ScannedCode | None]:
        """`decision` with every alert the visit's codes showed (never a PASS then; `code` itself is
        judged now), and the code the outcome carries: the one behind its most urgent reason.  (An
        alerting code may have been shown by somebody else in a crowd, or before a break in seeing
        the visitor: whose it was is not certain, what it said is reported; staff check the person.)"""
        alerts = [(c, r) for c, r in visit.alerts if code is None or c.replay_key != code.replay_key]
        if not alerts:
            return decision, code
        decision = with_reasons(decision, tuple(r for _, rs in alerts for r in rs))
        urgent = next((r for r in decision.reasons if r in ALERT_REASONS and r != "fever"), None)
        if urgent is not None and urgent not in self._alert_reasons(now, code):
            shown = next(c for c, rs in alerts if urgent in rs)
            if code is None:  # a code was shown after all: the alerting one
                decision = Decision(decision.verdict, tuple(r for r in decision.reasons if r != "no_code"))
            code = shown
        return decision, code

    def _mark_reported(self, now: float, visit: Visit, outcome: VisitorOutcome) -> None:
        """Remember the alerting codes an outcome reported (`SAME_CODE_S`): the same phone read again
        as its holder walks off is not the next visitor's alert."""
        self._reported = {k: t for k, t in self._reported.items() if now - t < SAME_CODE_S}
        for c, reasons in visit.alerts:
            self._reported[(c.person, reasons)] = now
        if outcome.code is not None:
            reasons = self._alert_reasons(now, outcome.code)
            if reasons:
                self._reported[(outcome.code.person, reasons)] = now

    def _visitor_left(self, now: float, visit: Visit) -> None:
        """Their track ended before a decision: LEFT (recorded only with an alert reason), or, with
        the sensor down (nobody can be seen leaving), the visit runs on to its fault STOP."""
        if visit.sensor_failed:
            visit.track = None
            return
        policy = self.policy
        fever = visit.fever_established(policy.fever_c, remeasure=policy.remeasure)
        # A code read while they stood too far (held, not yet theirs for a PASS) still says what it says:
        # a red code shown at the door is reported though its holder walked off.
        code = self._rejudged(visit.code if visit.code is not None else visit.pending)
        decision = left(code.facts if code is not None else None, policy, self._wall(now), fever=fever)
        decision, code = self._with_alerts(now, visit, decision, code)
        self._end_visit(now)
        if decision.reasons:
            outcome = visit.outcome(decision, code, now, fever=fever)
            self._mark_reported(now, visit, outcome)
            self._pending.append(outcome)

    def _cold_ready(self, now: float, visit: Visit) -> bool:
        """Send a cold visitor back once their code is in (to recognise them), or at the timeout."""
        return visit.code is not None or now >= code_deadline(visit, self._cfg)

    def _send_back(self, now: float, visit: Visit) -> None:
        if visit.alerts:  # an alert is reported at once: not when (or if) they come back warmed up
            decision, code = self._with_alerts(now, visit, Decision(Verdict.LEFT, ()), None)
            outcome = visit.outcome(decision, code, now, fever=False)
            self._mark_reported(now, visit, outcome)
            self._pending.append(outcome)
        if visit.code is not None:
            self._came_back = {k: t for k, t in self._came_back.items()
                               if now - t < self._cfg.come_back_memory_s}
            self._came_back[visit.code.person] = now
        self._decided.set(visit.track, visit.code.person if visit.code else None, visit.last_sighting)
        self._visit = None
        self._outcome = None
        self._screening.restart()
        self._to(Phase.COME_BACK, now)

    def _decide(self, now: float, wall: float, visit: Visit) -> VisitorOutcome:
        theirs = code = self._rejudged(visit.code_now)  # the clock, the policy and the trust list of this moment
        temperature, uncertainty = visit.judged_temperature(self.policy.fever_c)
        # A sensor whose crowd median drifted beyond the fault bound passes nobody (staff check).
        faulty = visit.sensor_failed or self._screening.drift_fault
        decision = decide(temperature, code.facts if code else None, self.policy, wall,
                          clock_synced=self.clock_synced, sensor_fault=faulty,
                          fever_before=visit.fever_before(self.policy.fever_c))
        decision, code = self._with_alerts(now, visit, decision, code)  # an alert shown in the visit: no PASS
        # Let go from a track just stopped, they may be the person stopped: what stopped them, stops them.
        decision = with_reasons(decision, visit.inherited)
        outcome = VisitorOutcome(
            decision=decision,
            temperature_c=temperature,
            first_reading_c=visit.first_reading_c,
            code=code.without_text() if code is not None else None,
            started_at=visit.started_at,
            decided_at=now,
            uncertainty_c=uncertainty,
            readings=tuple(visit.readings),
            track=visit.track,
        )
        if temperature is not None and not faulty:
            self._screening.drift.add(temperature)  # the crowd's median tracks calibration drift
        self._outcome = outcome
        self._unrecorded = False
        # Known by the code they hold up now (not one reported from earlier in the visit: another
        # person's, maybe), so that their own phone still up is not "a code over their shoulder".
        self._decided.set(visit.track, theirs.person if theirs is not None else None, visit.last_sighting, now,
                          stopped=decision.reasons if decision.verdict is Verdict.STOP else ())
        self._mark_reported(now, visit, outcome)
        self._over_shoulder_at = None
        self._visit = None
        self._screening.restart()
        self._to(Phase.DECIDED, now)
        return outcome
