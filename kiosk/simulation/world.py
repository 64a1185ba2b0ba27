"""The simulated world in front of the kiosk: a queue of cooperative visitors.

The world knows the scenario; the kiosk does not.  The world shows the emulated hardware what
a sensor would see (a thermal scene, phones held up to the camera) and watches the kiosk's
screen like a visitor would: asked to step closer, they step closer; shown PASS or STOP, they
walk on.  Decisions are attributed to whoever stands at the kiosk when they are shown.
A visitor who arrives cold (`arrive_cold_c`) and is asked to come back leaves, warms up for
`return_after_s`, and queues again showing the same code.  The room may drift slowly
(`site.ambient_drift_c`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from drivers.camera.simulated import PhoneView
from drivers.mlx90640.scene import Person, SlowDrift, render_people
from kiosk.checkpoint import VisitorOutcome
from kiosk.feed import EntryEvent
from kiosk.ports import Clock, Screen, ScreenView
from kiosk.simulation.scenario import RawCode, Scenario, SignedCode, Visitor

log = logging.getLogger(__name__)

QUEUE_DISTANCE_M = 2.3  # behind the one-metre line, as the screen asks
GONE_DISTANCE_M = 3.5
WALK_S = 1.0  # stepping up to the kiosk, or away from it
REACT_S = 0.7  # reading a prompt on the screen and acting on it
PHONE_AFTER_S = 0.3  # standing still, then holding the phone up
LEAVE_AFTER_S = 1.0  # reading PASS/STOP, then walking on
GIVE_UP_S = 90.0  # nothing decided for this long: the visitor leaves undecided
NEXT_AFTER_S = 0.5  # the next in line steps up this long after the spot is free
COMFORTABLE_M = 0.5  # where a cooperative visitor stands when asked to move
COMPANION_BEHIND_M = 0.6
COMPANION_C = 36.5
QUEUE_C = 36.4

_MEASURING_SCREENS = (Screen.MEASURING, Screen.STEP_CLOSER, Screen.STEP_BACK, Screen.ONE_AT_A_TIME)

CodeSigner = Callable[[SignedCode, str, float], str]  # (claims, subject id, wall now) -> QR text


@dataclass(slots=True)
class _Move:
    t0: float
    d0: float
    t1: float
    d1: float

    def at(self, t: float) -> float:
        if t >= self.t1:
            return self.d1
        if t <= self.t0:
            return self.d0
        return self.d0 + (self.d1 - self.d0) * (t - self.t0) / (self.t1 - self.t0)


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
    move: _Move | None = None
    step_up_at: float | None = None
    in_range_at: float | None = None
    phone_at: float | None = None
    phone_text: str | None = None
    leave_at: float | None = None
    gone_at: float | None = None
    companion_back_at: float | None = None
    measured_at: float | None = None  # when the kiosk first showed that it was measuring them
    prompt_seen: Screen | None = None
    sent_back_at: float | None = None  # shown COME_BACK (cold arrival)
    warmed: bool = False  # came back after warming up
    record: VisitorRecord = field(default_factory=lambda: VisitorRecord(""))

    def distance(self, t: float) -> float:
        return self.move.at(t) if self.move else GONE_DISTANCE_M

    def forehead_c(self) -> float:
        v = self.visitor
        return v.arrive_cold_c if v.arrive_cold_c is not None and not self.warmed else v.forehead_c

    def requeue(self, at: float) -> None:
        """Back in the queue at `at`, warmed up, holding the same code as before."""
        self.arrive_at = at
        self.warmed = True
        self.move = None
        self.step_up_at = self.in_range_at = self.phone_at = self.leave_at = self.gone_at = None
        self.companion_back_at = self.measured_at = self.sent_back_at = None
        self.prompt_seen = None


class World:
    def __init__(
        self,
        scenario: Scenario,
        clock: Clock,
        *,
        sign: CodeSigner,
        max_distance_m: float,
        fov_h_deg: float,
    ) -> None:
        self.scenario = scenario
        self._clock = clock
        self._sign = sign
        self._max_distance_m = max_distance_m
        self._fov_h_deg = fov_h_deg
        t0 = clock.monotonic()
        site = scenario.site
        self._room = SlowDrift(site.ambient_c, site.ambient_drift_c, site.ambient_drift_period_s, t0)
        self._walkers = [
            _Walker(v, t0 + v.arrive_s, record=VisitorRecord(v.id))
            for v in sorted(scenario.visitors, key=lambda v: v.arrive_s)
        ]
        self._current: _Walker | None = None
        self._free_at = t0
        self.spurious: list[VisitorRecord] = []

    # ------------------------------------------------------------------------------ the queue
    def _advance(self, t: float) -> None:
        cur = self._current
        if cur is not None:
            if cur.gone_at is None and cur.leave_at is None and cur.step_up_at is not None \
                    and t - cur.step_up_at > GIVE_UP_S:
                log.warning("visitor %s leaves undecided", cur.visitor.id)
                self._leave(cur, t)
            if cur.leave_at is not None and cur.gone_at is None and t >= cur.leave_at + WALK_S:
                cur.gone_at = cur.leave_at + WALK_S
                self._free_at = cur.gone_at
                self._current = None
                if cur.sent_back_at is not None and cur.record.decision is None:
                    cur.requeue(cur.gone_at + cur.visitor.return_after_s)
        if self._current is None:
            nxt = min((w for w in self._walkers if w.step_up_at is None), key=lambda w: w.arrive_at, default=None)
            if nxt is not None:
                start = max(nxt.arrive_at, self._free_at + NEXT_AFTER_S)
                if t >= start:
                    self._step_up(nxt, start)

    def _step_up(self, w: _Walker, t: float) -> None:
        self._current = w
        w.step_up_at = t
        w.move = _Move(t, QUEUE_DISTANCE_M, t + WALK_S, w.visitor.distance_m)
        self._note_in_range(w)
        w.phone_at = t + WALK_S + PHONE_AFTER_S if w.visitor.code is not None else None

    def _note_in_range(self, w: _Walker) -> None:
        """When the current movement first brings the visitor within range, if it does."""
        m = w.move
        if w.in_range_at is not None or m is None or m.d1 > self._max_distance_m:
            return
        if m.d0 <= self._max_distance_m:
            w.in_range_at = m.t0
        else:
            w.in_range_at = m.t0 + (m.t1 - m.t0) * (m.d0 - self._max_distance_m) / (m.d0 - m.d1)

    def _leave(self, w: _Walker, t: float) -> None:
        w.leave_at = t
        w.move = _Move(t, w.distance(t), t + WALK_S, GONE_DISTANCE_M)
        w.phone_at = None

    def finished(self) -> bool:
        return all(w.gone_at is not None for w in self._walkers)

    def quiet_until(self, t: float) -> float | None:
        """Nobody at the kiosk or in the queue at `t`: when the next visitor steps up (inf: nobody
        will).  None while somebody is there.  What lets a run jump over an idle stretch."""
        self._advance(t)
        if self._current is not None:
            return None
        waiting = [w for w in self._walkers if w.step_up_at is None]
        if any(w.arrive_at <= t for w in waiting):
            return None
        return min((max(w.arrive_at, self._free_at + NEXT_AFTER_S) for w in waiting), default=float("inf"))

    def sensor_unplugged(self, t: float) -> bool:
        self._advance(t)
        cur = self._current
        return bool(cur and cur.visitor.sensor == "unplugged" and cur.measured_at is not None
                    and t >= cur.measured_at and cur.gone_at is None)

    # ------------------------------------------------------------------------------ what sensors see
    def render(self, t: float) -> tuple[np.ndarray, float, float]:
        """The thermal scene (see `drivers.mlx90640.emulator`): object temperatures, emissivity, ambient."""
        self._advance(t)
        people: list[Person] = []
        cur = self._current
        if cur is not None and cur.move is not None:
            d = cur.distance(t)
            if d < GONE_DISTANCE_M:
                people.append(Person(distance_m=d, forehead_c=cur.forehead_c()))
                if cur.visitor.companion:
                    back = cur.companion_back_at is not None and t >= cur.companion_back_at
                    behind = cur.visitor.companion_behind_m
                    people.append(Person(distance_m=(QUEUE_DISTANCE_M if back else d + behind),
                                         forehead_c=COMPANION_C, x_m=0.3))
        waiting = next((w for w in self._walkers if w.step_up_at is None and w.arrive_at <= t), None)
        if waiting is not None:
            people.append(Person(distance_m=QUEUE_DISTANCE_M, forehead_c=QUEUE_C, x_m=-0.45))
        ambient = self._room(t)
        temps = render_people(people, ambient_c=ambient, fov_h_deg=self._fov_h_deg)
        return temps, 0.98, ambient

    def phones_in_view(self, t: float) -> list[PhoneView]:
        self._advance(t)
        cur = self._current
        if cur is None or cur.phone_at is None or t < cur.phone_at:
            return []
        if cur.phone_text is None:
            cur.phone_text = self._code_text(cur.visitor)
        return [PhoneView(text=cur.phone_text)]

    def _code_text(self, v: Visitor) -> str:
        code = v.code
        if isinstance(code, RawCode):
            return code.raw
        assert isinstance(code, SignedCode)
        return self._sign(code, f"sim-{v.id}", self._clock.wall())

    # ------------------------------------------------------------------------------ watching the kiosk
    def see(self, view: ScreenView) -> None:
        """React to prompts.  PASS/STOP is reacted to in `decided`: a screen still showing the
        previous visitor's result must not send the next one away."""
        t = self._clock.monotonic()
        self._advance(t)
        w = self._current
        if w is None or w.leave_at is not None or view.screen is w.prompt_seen:
            return
        if w.measured_at is None and view.screen in _MEASURING_SCREENS:
            w.measured_at = t
        w.prompt_seen = view.screen
        if view.screen in (Screen.STEP_CLOSER, Screen.STEP_BACK):
            start = t + REACT_S
            w.move = _Move(start, w.distance(start), start + 0.5, COMFORTABLE_M)
            self._note_in_range(w)
        elif view.screen is Screen.ONE_AT_A_TIME and w.visitor.companion:
            w.companion_back_at = t + REACT_S
        elif view.screen is Screen.COME_BACK and w.visitor.arrive_cold_c is not None and not w.warmed:
            w.sent_back_at = t
            self._leave(w, t + REACT_S)  # off to warm up; `_advance` queues them again later

    def decided(self, outcome: VisitorOutcome, event: EntryEvent) -> None:
        t = self._clock.monotonic()
        self._advance(t)
        w = self._current
        record = VisitorRecord(w.visitor.id if w else "?", event.decision, event.reasons, event.temperature_c)
        if w is None or w.record.decision is not None:
            log.warning("a decision with nobody (new) at the kiosk: %s %s", event.decision, event.reasons)
            self.spurious.append(record)
            return
        start = w.in_range_at if w.in_range_at is not None else w.step_up_at
        if w.phone_at is not None:
            start = max(start or w.phone_at, w.phone_at)
        record.latency_s = None if start is None else max(0.0, outcome.decided_at - start)
        w.record = record
        self._leave(w, t + LEAVE_AFTER_S)  # they read their PASS or STOP, then walk on

    def records(self) -> list[VisitorRecord]:
        return [w.record for w in self._walkers]
