"""The simulated world in front of the kiosk: the visitors of a scenario, the queue, passers-by.

The world knows the scenario; the kiosk does not.  The world shows the emulated hardware what
a sensor would see — everyone in view, every frame: the visitor in the spot, the queue waiting
behind the one-metre line (version 2: each at their own temperature, off the kiosk's axis, in
the sensor's view), passers-by crossing behind, the phones held up to the camera — and watches
the kiosk's screen like the visitors would: asked to step closer, they step closer; shown PASS
or STOP, they walk on.  People slow down as they come to a stop (ease-out), and start walking off
slowly (ease-in).

Version 1 visitors are cooperative: the next steps up when the spot has been empty for a moment.
Version 2 visitors may step in eagerly as the previous one turns to leave (the two overlap in
the sensor's view), raise the phone late (`code_after_s`), walk off before any decision
(`leaves_after_s`), or show another visitor's screenshot (`code.same_as`).  Raising a phone takes
`PHONE_AFTER_S` (it is fully in view then); a visitor walking away turns their back to the kiosk
(`TURN_S` after turning to leave, the sensor sees the back of their head, not a face).

The world attributes each outcome of the kiosk to a visitor from the outcome's own times and
where everybody stood then (`kiosk.simulation.crowd.Path`): a PASS or STOP to the visitor in the
spot when it was shown, a LEFT to the visitor whose visit it was.  A visitor who walks off before
any decision is shown is `LEFT`, with the reasons of the kiosk's LEFT outcome for them, if it made
one.  A visitor who arrives cold (`arrive_cold_c`) and is asked to come back leaves, warms up for
`return_after_s`, and queues again showing the same code.  The room may drift slowly.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from drivers.camera.simulated import PhoneView
from drivers.mlx90640.scene import Person, SlowDrift, render_people
from kiosk.checkpoint import Verdict, VisitorOutcome
from kiosk.feed import EntryEvent
from kiosk.ports import Clock, Screen, ScreenView
from kiosk.simulation.crowd import GONE, QUEUE_SHOWN, Path, Position, exit_for, in_view, passer_path, queue_place
from kiosk.simulation.scenario import RawCode, SameAs, Scenario, SignedCode, Visitor

log = logging.getLogger(__name__)

V1_QUEUE: Position = (2.3, -0.45)  # version 1: the one waiting stands here, at QUEUE_C
V1_START: Position = (2.3, 0.0)  # ... and steps up from here
WALK_S = 1.0  # stepping up to the kiosk (and, version 1, away from it)
LEAVE_S = 1.4  # version 2: turning, then walking on past the kiosk
REACT_S = 0.7  # reading a prompt on the screen and acting on it
PHONE_AFTER_S = 0.3  # raising the phone takes this long: it is fully in view this long after it starts
TURN_S = 0.3  # version 2: a visitor turning to leave shows the back of their head after this long
LEAVE_AFTER_S = 1.0  # reading PASS/STOP, then walking on
GIVE_UP_S = 90.0  # nothing decided for this long: the visitor leaves undecided
NEXT_AFTER_S = 0.5  # the next in line steps up this long after the spot is free
COMFORTABLE_M = 0.5  # where a cooperative visitor stands when asked to move
BACK_OF_HEAD = 0.4  # the back of a head sits this far from the room toward skin temperature
COMPANION_C = 36.5
QUEUE_C = 36.4
NEAR_M = 1.5  # the world's own idea of "at the kiosk" (for attributing outcomes): this close ...
NEAR_SIDE_M = 0.4  # ... and this near the axis

_MEASURING_SCREENS = (Screen.MEASURING, Screen.STEP_CLOSER, Screen.STEP_BACK, Screen.ONE_AT_A_TIME)

CodeSigner = Callable[[SignedCode, str, float], str]  # (claims, subject id, true wall now) -> QR text


@dataclass(slots=True)
class VisitorRecord:
    """What happened to one visitor: the simulator's output line."""

    visitor: str
    decision: str | None = None
    reasons: tuple[str, ...] = ()
    temperature_c: float | None = None
    latency_s: float | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "visitor": self.visitor,
            "decision": self.decision,
            "reasons": list(self.reasons),
            "temperature_c": self.temperature_c,
            "latency_s": None if self.latency_s is None else round(self.latency_s, 3),
        }


@dataclass(slots=True)
class _Walker:
    visitor: Visitor
    arrive_at: float
    path: Path = field(default_factory=Path)
    state: str = "new"  # new, waiting, stepping (up to and at the spot), leaving, gone, away (warming up)
    step_up_at: float | None = None
    reach_at: float | None = None  # stood still at the spot
    in_range_at: float | None = None
    phone_at: float | None = None
    phone_text: str | None = None
    leave_at: float | None = None
    gone_at: float | None = None
    companion_back_at: float | None = None
    measured_at: float | None = None  # when the kiosk first showed that it was measuring them
    prompt_seen: Screen | None = None
    move_at: float | None = None  # about to step closer or back, as the screen asked
    sent_back_at: float | None = None  # shown COME_BACK (cold arrival)
    warmed: bool = False  # came back after warming up
    left: VisitorOutcome | None = None  # the kiosk's LEFT outcome for them
    verdict_seen: bool = True  # they have seen the screen since their decision was made
    record: VisitorRecord = field(default_factory=lambda: VisitorRecord(""))

    def forehead_c(self) -> float:
        v = self.visitor
        return v.arrive_cold_c if v.arrive_cold_c is not None and not self.warmed else v.forehead_c

    @property
    def decided(self) -> bool:
        return self.record.decision is not None


def _back_of(forehead_c: float, p: Position, ambient_c: float) -> Person:
    """A person seen from behind: hair and collar, no skin (the back of a head is no face)."""
    hair = ambient_c + BACK_OF_HEAD * (forehead_c - 1.2 - ambient_c)
    return Person(distance_m=p[0], forehead_c=hair, x_m=p[1], skin_drop_c=0.0, hair=False)


class World:
    def __init__(self, scenario: Scenario, clock: Clock, *, sign: CodeSigner, max_distance_m: float,
                 fov_h_deg: float) -> None:
        self.scenario = scenario
        self.crowd = scenario.version >= 2
        self._clock = clock
        self._true_wall = getattr(clock, "true_wall", clock.wall)  # phones keep true time
        self._sign = sign
        self._max_distance_m = max_distance_m
        self._fov_h_deg = fov_h_deg
        t0 = clock.monotonic()
        site = scenario.site
        self._room = SlowDrift(site.ambient_c, site.ambient_drift_c, site.ambient_drift_period_s, t0)
        self._walkers = [_Walker(v, t0 + v.arrive_s, record=VisitorRecord(v.id))
                         for v in sorted(scenario.visitors, key=lambda v: v.arrive_s)]
        self._by_id = {w.visitor.id: w for w in self._walkers}
        self._passers = [(p, passer_path(t0 + p.at_s, p.distance_m, p.direction, p.speed_m_s, fov_h_deg))
                         for p in site.passers]
        self._current: _Walker | None = None  # stepping up to, or standing at, the spot
        self._free_at = t0  # when the spot was last left free (version 1: empty; version 2 eager: turned from)
        self._turned_at = t0  # when the last visitor turned to leave
        self.spurious: list[VisitorRecord] = []

    # ------------------------------------------------------------------------------ the queue
    def _advance(self, t: float) -> None:
        for w in self._walkers:
            if w.state in ("new", "away") and t >= w.arrive_at:
                w.state = "waiting"
            if w.state == "stepping" and w.leave_at is not None and t >= w.leave_at:
                w.state = "leaving"
            if w.state == "leaving" and w.gone_at is not None and t >= w.gone_at:
                self._gone(w)
        cur = self._current
        if cur is not None and cur.move_at is not None and t >= cur.move_at:
            start, cur.move_at = cur.move_at, None
            cur.path.move(start, start + 0.5, (COMFORTABLE_M, 0.0), ease="out")
            self._note_in_range(cur)
        if cur is not None and cur.state == "stepping" and cur.leave_at is None:
            if not cur.decided and cur.step_up_at is not None and t - cur.step_up_at > GIVE_UP_S:
                log.warning("visitor %s leaves undecided", cur.visitor.id)
                self._leave(cur, t)
            elif not cur.decided and cur.reach_at is not None and cur.visitor.leaves_after_s is not None \
                    and t >= cur.reach_at + cur.visitor.leaves_after_s:
                self._leave(cur, cur.reach_at + cur.visitor.leaves_after_s)
        if cur is not None and cur.leave_at is not None and t >= cur.leave_at:
            self._current = None
        if self._current is None:
            waiting = self._waiting()
            if waiting:
                nxt = waiting[0]
                ready = self._turned_at if nxt.visitor.eager and self.crowd else self._free_at + NEXT_AFTER_S
                start = max(nxt.arrive_at, ready)
                if t >= start:
                    self._step_up(nxt, start)

    def _waiting(self) -> list[_Walker]:
        return sorted((w for w in self._walkers if w.state == "waiting"), key=lambda w: w.arrive_at)

    def _step_up(self, w: _Walker, t: float) -> None:
        self._current = w
        w.state = "stepping"
        w.step_up_at = t
        w.path.enter_scene(t)
        spot = (w.visitor.distance_m, 0.0)
        if self.crowd:
            w.path.move(t, t + WALK_S, spot, start=queue_place(0, self.scenario.queue_m), ease="out")
            w.phone_at = t + WALK_S + w.visitor.code_after_s + PHONE_AFTER_S
        else:
            w.path.move(t, t + WALK_S, spot, start=V1_START, ease="out")
            w.phone_at = t + WALK_S + PHONE_AFTER_S
        w.reach_at = t + WALK_S
        if w.visitor.code is None:
            w.phone_at = None
        self._note_in_range(w)

    def _note_in_range(self, w: _Walker) -> None:
        """When the current movement first brings the visitor within range, if it does."""
        if w.in_range_at is not None or not w.path.legs:
            return
        leg = w.path.legs[-1]
        if leg.p1[0] > self._max_distance_m:
            return
        if leg.p0[0] <= self._max_distance_m:
            w.in_range_at = leg.t0
            return
        lo, hi = leg.t0, leg.t1  # the leg's distance falls monotonically: bisect for the crossing
        for _ in range(30):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if leg.at(mid)[0] > self._max_distance_m else (lo, mid)
        w.in_range_at = hi

    def _leave(self, w: _Walker, t: float) -> None:
        """They turn to leave at `t` (now or soon), and are gone a walk later."""
        w.leave_at = t
        self._turned_at = t
        if self.crowd:
            w.path.move(t, t + LEAVE_S, exit_for(w.visitor.id), ease="in")
            w.gone_at = t + LEAVE_S
        else:
            w.path.move(t, t + WALK_S, GONE)
            w.gone_at = t + WALK_S
        self._free_at = w.gone_at

    def _gone(self, w: _Walker) -> None:
        assert w.gone_at is not None
        w.state = "gone"
        w.path.leave_scene(w.gone_at)
        if w.sent_back_at is not None and not w.decided:
            self._requeue(w, w.gone_at + w.visitor.return_after_s)
        elif not w.decided:  # walked off before any decision was shown
            left = w.left
            w.record = VisitorRecord(w.visitor.id, Verdict.LEFT.value, left.decision.reasons if left else (),
                                     left.temperature_c if left else None)

    def _requeue(self, w: _Walker, at: float) -> None:
        """Back in the queue at `at`, warmed up, holding the same code as before."""
        w.arrive_at = at
        w.warmed = True
        w.state = "away"
        w.step_up_at = w.reach_at = w.in_range_at = w.phone_at = w.leave_at = w.gone_at = None
        w.companion_back_at = w.measured_at = w.move_at = None
        w.prompt_seen = None
        w.left = None

    def _passers_after(self, t: float) -> list[tuple[float, float]]:
        """(start, end) of the crossings not over by `t`."""
        spans = [(path.legs[0].t0, path.legs[-1].t1) for _, path in self._passers if path.legs]
        return [(a, b) for a, b in spans if b > t]

    def finished(self) -> bool:
        """Every visitor gone, and every passer-by crossed (the last may come after the last visitor)."""
        return all(w.state == "gone" for w in self._walkers) and not self._passers_after(self._clock.monotonic())

    def quiet_until(self, t: float) -> float | None:
        """Nobody at the kiosk, in the queue or crossing the view at `t`: when the next visitor steps
        up or passer-by comes into view (inf: nobody will).  None while somebody is there.  What lets a
        run jump over an idle stretch."""
        self._advance(t)
        if self._current is not None or any(w.state in ("stepping", "leaving", "waiting") for w in self._walkers):
            return None
        passers = self._passers_after(t)
        if any(a <= t for a, _ in passers):
            return None
        coming = [w for w in self._walkers if w.state in ("new", "away")]
        return min([max(w.arrive_at, self._free_at + NEXT_AFTER_S) for w in coming] + [a for a, _ in passers],
                   default=float("inf"))

    def sensor_unplugged(self, t: float) -> bool:
        """The thermal array stops answering once an `"sensor": "unplugged"` visitor comes within range."""
        self._advance(t)
        cur = self._current
        if cur is None or cur.visitor.sensor != "unplugged":
            return False
        start = cur.in_range_at if cur.in_range_at is not None else cur.reach_at
        return start is not None and t >= start

    # ------------------------------------------------------------------------------ what sensors see
    def render(self, t: float) -> tuple[np.ndarray, float, float]:
        """The thermal scene (see `drivers.mlx90640.emulator`): object temperatures, emissivity, ambient."""
        self._advance(t)
        people: list[Person] = []
        for w in self._walkers:
            p = w.path.at(t) if w.state in ("stepping", "leaving", "gone") else None
            if p is None:
                continue
            if self.crowd and w.leave_at is not None and t >= w.leave_at + TURN_S:
                people.append(_back_of(w.forehead_c(), p, self._room(t)))  # walking away: their back to the kiosk
            else:
                people.append(Person(distance_m=p[0], forehead_c=w.forehead_c(), x_m=p[1]))
            if w.visitor.companion and w.state == "stepping":
                back = w.companion_back_at is not None and t >= w.companion_back_at
                people.append(Person(distance_m=V1_START[0] if back else p[0] + w.visitor.companion_behind_m,
                                     forehead_c=COMPANION_C, x_m=0.3))
        waiting = self._waiting()
        if self.crowd:
            for i, w in enumerate(waiting[:QUEUE_SHOWN]):
                d, x = queue_place(i, self.scenario.queue_m)
                people.append(Person(distance_m=d, forehead_c=w.forehead_c(), x_m=x))
        elif waiting and waiting[0].arrive_at <= t:
            people.append(Person(distance_m=V1_QUEUE[0], forehead_c=QUEUE_C, x_m=V1_QUEUE[1]))
        for passer, path in self._passers:
            p = path.at(t)
            if p is not None:
                people.append(Person(distance_m=p[0], forehead_c=passer.forehead_c, x_m=p[1]))
        people = [q for q in people if in_view((q.distance_m, q.x_m), self._fov_h_deg)]
        ambient = self._room(t)
        temps = render_people(people, ambient_c=ambient, fov_h_deg=self._fov_h_deg)
        return temps, 0.98, ambient

    def phones_in_view(self, t: float) -> list[PhoneView]:
        self._advance(t)
        cur = self._current
        if cur is None or cur.phone_at is None or t < cur.phone_at or cur.state != "stepping" \
                or (cur.leave_at is not None and t >= cur.leave_at):
            return []
        if cur.phone_text is None:
            cur.phone_text = self._code_text(cur.visitor)
        return [PhoneView(text=cur.phone_text)]

    def _code_text(self, v: Visitor, depth: int = 0) -> str:
        code = v.code
        if isinstance(code, RawCode):
            return code.raw
        if isinstance(code, SameAs):  # exactly what the other visitor's phone showed (made now if never shown)
            other = self._by_id[code.same_as]
            if other.phone_text is None and other.visitor.code is not None and depth < len(self._walkers):
                other.phone_text = self._code_text(other.visitor, depth + 1)
            return other.phone_text or ""
        assert isinstance(code, SignedCode)
        return self._sign(code, f"sim-{v.id}", self._true_wall())

    # ------------------------------------------------------------------------------ watching the kiosk
    def see(self, view: ScreenView) -> None:
        """React to prompts.  PASS/STOP is reacted to in `decided`: a screen still showing the
        previous visitor's result must not send the next one away."""
        t = self._clock.monotonic()
        self._advance(t)
        w = self._current
        if w is not None and not w.verdict_seen:
            w.verdict_seen = True
            if w.record.decision == Verdict.PASS.value and view.screen is Screen.FAULT:
                # Their PASS could not be recorded: the screen shows a fault, and nobody is let in on
                # it.  The output line says what they were shown: not PASS (the decisions are PASS, STOP
                # and LEFT; the event, stored as made, says why).
                w.record.decision = Verdict.STOP.value
        if w is None or w.state != "stepping" or w.leave_at is not None or view.screen is w.prompt_seen:
            return
        if w.measured_at is None and view.screen in _MEASURING_SCREENS:
            w.measured_at = t
        w.prompt_seen = view.screen
        w.move_at = None  # the prompt they were about to act on is gone: they stay where they are
        if view.screen in (Screen.STEP_CLOSER, Screen.STEP_BACK):
            if self.crowd and w.reach_at is not None and t < w.reach_at:
                w.prompt_seen = None  # still walking up: a prompt about where they pass is not for them
                return
            w.move_at = t + REACT_S  # they read it, then move (`_advance`), unless it is gone by then
        elif view.screen is Screen.ONE_AT_A_TIME and w.visitor.companion:
            w.companion_back_at = t + REACT_S
        elif view.screen is Screen.COME_BACK and w.visitor.arrive_cold_c is not None and not w.warmed:
            w.sent_back_at = t
            self._leave(w, t + REACT_S)  # off to warm up; queued again once gone

    def decided(self, outcome: VisitorOutcome, event: EntryEvent) -> None:
        """An outcome of the kiosk: a PASS/STOP shown to the visitor in the spot, or a LEFT noted
        for the visitor whose visit it was (it is theirs once they have indeed walked off)."""
        t = self._clock.monotonic()
        self._advance(t)
        if outcome.decision.verdict is Verdict.LEFT:
            w = self._visitor_of_left(outcome)
            if w is not None:
                w.left = outcome
            return
        w = self._visitor_shown(outcome)
        record = VisitorRecord(w.visitor.id if w else "?", event.decision, event.reasons, event.temperature_c)
        if w is None:
            log.warning("a decision with nobody (new) at the kiosk: %s %s", event.decision, event.reasons)
            self.spurious.append(record)
            return
        start = w.in_range_at if w.in_range_at is not None else w.step_up_at
        if w.phone_at is not None:
            start = max(start or w.phone_at, w.phone_at)
        record.latency_s = None if start is None else max(0.0, outcome.decided_at - start)
        w.record = record
        w.verdict_seen = False
        w.move_at = None  # shown their decision, they stop adjusting where they stand
        if w.state == "stepping" and w.leave_at is None:
            leave = t + LEAVE_AFTER_S  # they read their PASS or STOP, then walk on
            if w.visitor.leaves_after_s is not None and w.reach_at is not None:
                leave = max(t, min(leave, w.reach_at + w.visitor.leaves_after_s))
            self._leave(w, leave)

    def _near(self, w: _Walker, t: float) -> float | None:
        p = w.path.at(t)
        return p[0] if p is not None and p[0] <= NEAR_M and abs(p[1]) <= NEAR_SIDE_M else None

    def _visitor_shown(self, outcome: VisitorOutcome) -> _Walker | None:
        """The undecided visitor nearest the kiosk when the decision was shown (else when the visit began)."""
        for t in (outcome.decided_at, outcome.started_at):
            near = [(d, w) for w in self._walkers if not w.decided and (d := self._near(w, t)) is not None]
            if near:
                return min(near, key=lambda dw: dw[0])[1]
        return None

    def _visitor_of_left(self, outcome: VisitorOutcome) -> _Walker | None:
        """The undecided visitor at the kiosk when the visit began, preferring one gone from it by its end."""
        near = [(self._near(w, outcome.decided_at) is not None, d, w) for w in self._walkers
                if not w.decided and (d := self._near(w, outcome.started_at + 0.01)) is not None]
        return min(near, key=lambda sdw: (sdw[0], sdw[1]))[2] if near else None

    def records(self) -> list[VisitorRecord]:
        return [w.record for w in self._walkers]
