"""A code is judged at the moment of the decision, on the clock of that moment (issue 12).

The kiosk has no RTC: it boots hours off and network time steps its clock.  A code read before the
step is judged again after it; while the clock is unsynchronised a code refused on time alone says
`clock_unsynced`, not `code_invalid`, and its colour still counts.
"""

from __future__ import annotations

from kiosk.checkpoint import CodeCheck, PolicyInForce, ReplayGuard, Verdict, decide
from kiosk.config import PolicyConfig
from kiosk.healthpass import Verifier
from kiosk.healthpass.issuer import TestIssuer
from tests.checkpoint.rig import WALL0, Rig

TRUE_NOW = WALL0 + 100.0
SLOW_S = 3 * 3600.0  # booted three hours slow
ISSUER = TestIssuer("ES256")


class Wall:
    """The kiosk's wall clock: three hours slow until `step()`."""

    def __init__(self) -> None:
        self.offset = -SLOW_S

    def __call__(self) -> float:
        return TRUE_NOW + self.offset

    def step(self) -> None:
        self.offset = 0.0


def check() -> tuple[CodeCheck, Wall, Verifier]:
    wall = Wall()
    return CodeCheck(ReplayGuard(PolicyInForce(PolicyConfig())), wall=wall), wall, Verifier(ISSUER.trust_list())


def test_a_fresh_code_on_a_slow_unsynchronised_clock_is_clock_unsynced_with_its_colour() -> None:
    codes, _wall, verifier = check()
    red = ISSUER.issue("R", sid="s", iat=int(TRUE_NOW) - 10, exp=int(TRUE_NOW) + 3600)
    scanned = codes.check(red, 1.0, verifier, clock_synced=False)  # three hours "in the future"
    assert scanned.time_unknown and scanned.facts.valid and scanned.facts.colour == "R"
    decision = decide(36.5, scanned.facts, PolicyConfig(), TRUE_NOW - SLOW_S, clock_synced=False)
    assert decision.reasons == ("code_red", "clock_unsynced")
    green = codes.check(ISSUER.issue("G", sid="t", iat=int(TRUE_NOW) - 10, exp=int(TRUE_NOW) + 3600), 1.0,
                        verifier, clock_synced=False)
    assert decide(36.5, green.facts, PolicyConfig(), TRUE_NOW - SLOW_S, clock_synced=False).reasons == \
        ("clock_unsynced",)
    forged = codes.check("THP1:not-a-code", 1.0, verifier, clock_synced=False)
    assert not forged.facts.valid and not forged.time_unknown  # refused for what it is, not for the clock


def test_a_code_read_before_the_clock_stepped_is_judged_again_at_the_decision() -> None:
    """A three-hour-old screenshot, read on a clock three hours slow, looks fresh; network time steps
    the clock before the decision: judged again, it is stale — never a PASS."""
    codes, wall, verifier = check()
    screenshot = ISSUER.issue("G", sid="s", iat=int(TRUE_NOW - SLOW_S) - 10, exp=int(TRUE_NOW) + 3600)
    rig = Rig()
    rig.cp.judge = lambda code: codes.check(code.text, rig.t, verifier, fresh=True, clock_synced=rig.cp.clock_synced)
    rig.cp.clock_synced = False
    read = codes.check(screenshot, rig.t, verifier, clock_synced=False)
    assert read.facts.valid and not read.time_unknown  # fresh, on the slow clock
    rig.run(0.5, 36.5, code=read, width=5)  # the visitor stands too far, phone up: nothing decided yet
    wall.step()  # NTP answers: the clock steps three hours
    rig.cp.clock_synced = True
    rig.run(2.0, 36.5, code=read)
    (out,) = rig.outcomes
    assert out.decision.verdict is Verdict.STOP and out.decision.reasons == ("code_invalid",)
    assert out.code is not None and out.code.text is None  # the QR text never leaves the visit


def test_without_judging_again_the_same_visit_would_have_passed() -> None:
    """The control of the test above: with the code kept as it was read, the decision is a PASS."""
    codes, _wall, verifier = check()
    screenshot = ISSUER.issue("G", sid="s", iat=int(TRUE_NOW - SLOW_S) - 10, exp=int(TRUE_NOW) + 3600)
    rig = Rig()
    read = codes.check(screenshot, rig.t, verifier, clock_synced=False)
    rig.run(2.25, 36.5, code=read)
    (out,) = rig.outcomes
    assert out.decision.verdict is Verdict.PASS
