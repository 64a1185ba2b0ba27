"""Review: safety defects of the decision path (checkpoint, runtime, feeds), each shown failing first.

The state machine is driven on the checkpoint tests' time line (`Rig`); the loop through a kiosk
whose worker inboxes are filled by hand, so that a threaded batch (a main-loop stall) is exact.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np

from kiosk.checkpoint import CodeFacts, Phase, ScannedCode, Verdict, VisitorOutcome
from kiosk.clock import VirtualClock
from kiosk.config import KioskConfig
from kiosk.feed import EntryEvent
from kiosk.healthpass import CodeResult, CovidCertificate, HealthPass
from kiosk.loop import Kiosk, NullDisplay
from kiosk.loop.workers import CameraResult, Inbox, ThermalResult
from kiosk.ports import GrayFrame, Screen, Signal
from tests.checkpoint.rig import DT, GREEN, Rig, frame

OTHER = ScannedCode("other", CodeFacts(True, "G"))


# ---------------------------------------------------------------------------------- 1. a fever shown is recorded
def test_fever_shown_then_a_cold_remeasure_is_still_a_fever_alert() -> None:
    rig = Rig()
    rig.run(1.5, 38.4, code=GREEN)
    assert rig.cp.phase is Phase.REMEASURE and rig.cp.shown_temperature == 38.4
    rig.run(4.0, 33.0, code=GREEN)  # head turned: the second reading comes out cold
    assert Screen.COME_BACK not in rig.screens
    (out,) = rig.outcomes
    assert out.decision.verdict is Verdict.STOP and out.decision.reasons == ("fever",)
    # The face where they stood changed by degrees from one frame to the next: a break in seeing them
    # (it may be somebody else).  The fever shown before stops them and is an alert, kept among the
    # readings; it is never reported as the temperature of whoever stands there now (none was read).
    assert out.decision.is_alert and out.temperature_c is None and [r.c for r in out.readings] == [38.4]


def test_fever_shown_then_the_sensor_fails_is_fever_and_sensor_fault() -> None:
    rig = Rig()
    rig.run(1.5, 38.4, code=GREEN)
    assert rig.cp.phase is Phase.REMEASURE
    rig.run(2.0, frames=False, code=GREEN)  # the sensor drops during the re-measure
    (out,) = rig.outcomes
    assert out.decision.reasons == ("sensor_fault", "fever")
    assert out.decision.is_alert and out.temperature_c == 38.4 and out.first_reading_c == 38.4


def test_near_threshold_first_reading_and_a_cold_remeasure_measures_again() -> None:
    """Below the threshold (re-measured only because the band holds it): no fever was shown, so a
    cold second reading is dropped and the kiosk measures again — nobody is sent away mid-check."""
    rig = Rig()
    rig.run(0.5, 37.2, code=GREEN)
    assert rig.cp.phase is Phase.REMEASURE
    rig.run(2.5, 33.0, code=GREEN)
    assert Screen.COME_BACK not in rig.screens and not rig.outcomes
    rig.run(3.0, 36.9, code=GREEN)  # facing the screen again
    (out,) = rig.outcomes
    assert out.decision.verdict is Verdict.PASS and out.temperature_c == 36.9


# ---------------------------------------------------------------------------------- 6. a band holding the threshold
def test_remeasure_whose_band_still_holds_the_threshold_is_a_fever() -> None:
    rig = Rig()
    rig.run(1.25, 37.4, code=GREEN)
    assert rig.cp.phase is Phase.REMEASURE
    rig.run(3.0, 37.2, code=GREEN)  # 37.2 ± 0.22: a fever cannot be ruled out
    (out,) = rig.outcomes
    assert out.decision.verdict is Verdict.STOP and out.decision.reasons == ("fever",)
    assert out.temperature_c == 37.4 and out.decision.is_alert


def test_remeasure_clearly_below_the_threshold_still_passes() -> None:
    rig = Rig()
    rig.run(1.25, 37.4, code=GREEN)
    rig.run(3.0, 37.0, code=GREEN)  # agrees with 37.4 within both uncertainties, and clear of 37.3
    (out,) = rig.outcomes
    assert out.decision.verdict is Verdict.PASS and out.temperature_c == 37.0


# ---------------------------------------------------------------------------------- 3. a code over a shoulder
def test_new_code_while_the_decided_visitor_still_stands_there_is_not_given_their_reading() -> None:
    rig = Rig()
    rig.run(2.0, 36.5, code=GREEN)
    assert [o.decision.verdict for o in rig.outcomes] == [Verdict.PASS]
    rig.run(4.0, 36.5, code=GREEN)  # visitor 1 stays in the spot through DECIDED into CLEARING
    assert rig.cp.phase is Phase.CLEARING
    rig.run(3.0, 36.5, code=OTHER)  # visitor 2 holds their phone up over 1's shoulder
    assert len(rig.outcomes) == 1, [(o.decision.verdict, o.temperature_c) for o in rig.outcomes]
    assert rig.cp.screen is Screen.ONE_AT_A_TIME  # "one at a time, behind the one-metre line"
    rig.run(0.5)  # visitor 1 steps away ...
    rig.run(4.0, 38.5, code=OTHER)  # ... and visitor 2 steps up: measured themselves
    assert len(rig.outcomes) == 2
    out = rig.outcomes[1]
    assert out.code is OTHER and out.decision.reasons == ("fever",) and out.temperature_c == 38.5


def test_code_held_over_a_shoulder_is_taken_again_when_its_holder_steps_up_later() -> None:
    rig = Rig()
    rig.run(2.0, 36.5, code=GREEN)
    rig.run(4.0, 36.5, code=GREEN)
    rig.run(2.0, 36.5, code=OTHER)  # over the shoulder: a visit that measures nobody
    assert rig.cp.screen is Screen.ONE_AT_A_TIME
    rig.run(2.0)  # visitor 1 gone for good: that visit ends, nothing decided
    assert rig.cp.phase is Phase.IDLE and len(rig.outcomes) == 1
    rig.run(3.0, 36.7, code=OTHER)  # visitor 2 steps up, phone still up
    assert [(o.decision.verdict, o.temperature_c, o.code) for o in rig.outcomes][1] == (Verdict.PASS, 36.7, OTHER)


def test_new_code_after_the_spot_emptied_is_measured_at_once() -> None:
    rig = Rig()
    rig.run(2.0, 36.5, code=GREEN)
    rig.run(3.0, 36.5)
    rig.run(0.5)  # visitor 1 leaves (two empty frames); visitor 2 steps up during CLEARING with the code up
    rig.run(2.0, 36.7, code=OTHER)
    assert Screen.ONE_AT_A_TIME not in rig.screens
    assert [(o.decision.verdict, o.temperature_c, o.code) for o in rig.outcomes][1] == (Verdict.PASS, 36.7, OTHER)


# ---------------------------------------------------------------------------------- the loop (threaded batches)
class _Sensor:
    def next_frame_at(self) -> float:
        return 1e18

    def read_frame(self):  # pragma: no cover - the feeds are never started here
        raise AssertionError

    def close(self) -> None:
        pass


class _Signals:
    def show(self, signal: Signal, now: float) -> None:
        pass

    def update(self, now: float) -> None:
        pass

    def close(self) -> None:
        pass


class _Sink:
    def __init__(self) -> None:
        self.rows: list[EntryEvent] = []

    def store(self, event: EntryEvent, outcome: VisitorOutcome) -> int:
        self.rows.append(event)
        return len(self.rows)

    def pending_count(self) -> int:
        return len(self.rows)

    def close(self) -> None:
        pass


def _pass(colour: str = "G", sid: str = "subject-1", iat: int = 1_764_000_000) -> CodeResult:
    hp = HealthPass(iss="t", iat=iat, exp=iat + 3600, kid=b"k", colour=colour, sid=sid)
    return CodeResult.accepted(hp)


class _Verifier:
    """Every text `THP1:<sid>:<n>` is a valid green pass of subject `<sid>`."""

    def verify(self, text: str, at: float) -> CodeResult:
        if text.startswith("HC1:"):
            cert = CovidCertificate(iss="DE", iat=1, exp=2**40, kid=b"k", kind="vaccination", country="DE")
            return CodeResult.accepted(cert, format="HC1")
        _, sid, n = text.split(":")
        return _pass(sid=sid, iat=1_764_000_000 + int(n))


class _Feed:
    idle = True

    def stop(self) -> None:
        pass

    def camera_ok(self, now: float) -> bool:
        return True


class _Decoder:
    def __init__(self) -> None:
        self.closed = 0

    def decode(self, y: np.ndarray) -> list[str]:
        return []

    def close(self) -> None:
        self.closed += 1


def _kiosk(*, threaded: bool) -> tuple[Kiosk, VirtualClock]:
    clock = VirtualClock()
    kiosk = Kiosk(config=KioskConfig(), clock=clock, sensor=_Sensor(), camera=_Sensor(), decoder=_Decoder(),
                  verifier=_Verifier(), signals=_Signals(), display=NullDisplay(), sink=_Sink(),
                  threaded=threaded)
    if threaded:
        kiosk.workers.thermal = kiosk.workers.camera = _Feed()  # type: ignore[assignment]  # no threads: filled by hand
    return kiosk, clock


def _decisions(kiosk: Kiosk) -> list[tuple[str, float | None, str | None]]:
    out: list[tuple[str, float | None, str | None]] = []
    kiosk.on_outcome.append(lambda o, e: out.append((o.decision.verdict.value, o.temperature_c,
                                                     o.code.key if o.code else None)))
    return out


def _feed(kiosk: Kiosk, clock: VirtualClock, seconds: float, face_c: float | None = None, *,
          code: str | None = None, **kw: object) -> None:
    """Queue `seconds` of thermal frames (and one camera read per frame) stamped as they were taken."""
    t0 = clock.monotonic()
    n = round(seconds / DT)
    for i in range(1, n + 1):
        t = t0 + i * DT
        kiosk.workers.thermal_inbox.put(ThermalResult(frame(t, face_c, **kw)))
    if code is not None:
        kiosk.workers.camera_inbox.put(CameraResult(GrayFrame(np.zeros((2, 2), np.uint8), t0 + DT), (code,)))
    clock.advance(n * DT)


def test_after_a_stall_a_visitor_is_not_passed_on_the_code_of_one_who_left() -> None:
    """A shows a code while too close (no reading), then walks off; the loop stalls 4 s.  The
    batch holds 2 s of an empty spot and then B (no code): A has gone, B must not pass on A's code."""
    kiosk, clock = _kiosk(threaded=True)
    decided = _decisions(kiosk)
    _feed(kiosk, clock, 1.0, 36.6, code="THP1:A:0", width=24)  # A, too close, code shown
    kiosk.step()
    assert kiosk.checkpoint.phase is Phase.MEASURING and not decided
    _feed(kiosk, clock, 2.0)  # the spot is empty: A has left …
    _feed(kiosk, clock, 2.0, 36.6)  # … and B steps up; all of it arrives in one batch
    kiosk.step()
    assert not any(d[0] == "PASS" for d in decided), decided


def test_threaded_batch_decides_as_the_frames_were_taken() -> None:
    """A visitor's frames and code arriving in one late batch are decided, stamped at their own times."""
    kiosk, clock = _kiosk(threaded=True)
    decided = _decisions(kiosk)
    start = clock.monotonic()
    _feed(kiosk, clock, 2.0, 36.6, code="THP1:A:0")
    clock.advance(1.0)  # the loop is late
    kiosk.step()
    assert [d[:2] for d in decided] == [("PASS", 36.6)]
    assert kiosk.checkpoint._outcome is not None and kiosk.checkpoint._outcome.decided_at <= start + 2.0


# ---------------------------------------------------------------------------------- 4. the same code twice in a frame
def test_the_same_code_read_twice_in_one_frame_is_one_code() -> None:
    kiosk, clock = _kiosk(threaded=False)
    for _ in range(2):  # a visitor standing in the spot
        clock.advance(DT)
        kiosk.checkpoint.on_frame(clock.monotonic(), frame(clock.monotonic(), 36.6))
    kiosk._codes_seen(["THP1:A:0", "THP1:A:0"])
    visit = kiosk.checkpoint._visit
    assert visit is not None and visit.code is not None and visit.code.facts.valid


# ---------------------------------------------------------------------------------- 5. come-back memory per person
def test_person_key_is_stable_across_regenerated_codes_and_keeps_no_sid() -> None:
    kiosk, clock = _kiosk(threaded=False)
    first = kiosk._verify("THP1:subject-7:0", clock.monotonic())
    clock.advance(61.0)
    second = kiosk._verify("THP1:subject-7:60", clock.monotonic())  # the phone made a new code
    other = kiosk._verify("THP1:subject-8:60", clock.monotonic())
    assert first.key != second.key and first.person_key == second.person_key != other.person_key
    assert "subject-7" not in first.person_key
    again, _ = _kiosk(threaded=False)  # another boot: another key, nothing links the two
    assert again._verify("THP1:subject-7:0", 0.0).person_key != first.person_key
    hc1 = kiosk._verify("HC1:whatever", clock.monotonic())  # no stable id kept: the text's own key
    assert hc1.person_key and hc1.person_key != hc1.key


def test_a_cold_visitor_returning_with_a_regenerated_code_is_recognised() -> None:
    rig = Rig()
    first = ScannedCode("code-at-9:00", CodeFacts(True, "G"), person_key="person-1")
    later = ScannedCode("code-at-9:05", CodeFacts(True, "G"), person_key="person-1")
    rig.run(2.0, 33.0, code=first)
    assert rig.cp.phase is Phase.COME_BACK and not rig.outcomes
    rig.run(5.0)  # off to warm up
    rig.run(70.0)
    rig.run(3.0, 33.0, code=later)  # back, still cold, with the code the phone shows now
    assert rig.screens.count(Screen.COME_BACK) == 1
    (out,) = rig.outcomes  # a manual check by staff, not a second "come back later"
    assert out.decision.verdict is Verdict.STOP and out.code is later


# ---------------------------------------------------------------------------------- 7. closing, dropped frames
def test_close_closes_the_decoder() -> None:
    kiosk, _ = _kiosk(threaded=False)
    kiosk.close()
    assert kiosk.decoder.closed == 1  # type: ignore[attr-defined]


def test_dropped_frames_are_counted_and_logged(caplog) -> None:
    inbox: Inbox[int] = Inbox(2)
    with caplog.at_level(logging.WARNING, logger="kiosk.loop.workers"):
        for i in range(5):
            inbox.put(i)
    assert inbox.dropped == 3 and inbox.take_all() == [3, 4]
    assert any("dropped" in r.getMessage() for r in caplog.records)
    kiosk, _ = _kiosk(threaded=True)
    for _ in range(70):
        kiosk.workers.thermal_inbox.put(ThermalResult(None))
    assert kiosk.status().thermal_frames_dropped == 70 - 64


def test_a_visitor_lingering_with_a_regenerated_code_is_not_a_new_visit() -> None:
    """THP1 codes regenerate every minute: the same person, still in the spot, is not a new visitor."""
    rig = Rig()
    first = replace(GREEN, key="code-1", person_key="person-a")
    rig.run(2.0, 36.5, code=first)
    assert len(rig.outcomes) == 1
    regenerated = replace(GREEN, key="code-2", person_key="person-a")
    rig.run(90.0, 36.5, code=regenerated)  # lingers for a minute and a half, phone still up
    assert len(rig.outcomes) == 1 and rig.cp.phase is Phase.CLEARING
    assert Screen.ONE_AT_A_TIME not in rig.screens[1:]
