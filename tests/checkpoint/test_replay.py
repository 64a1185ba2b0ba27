"""Replay protection: a THP1 code that let one visitor in does not let the next one in.

The guard on its own (keyed hashes, validity window, HC1 exempt), the policy reason, and the
whole kiosk on emulated hardware: a screenshot of a passed visitor's code shown by someone
else later is STOP `code_replayed`, while the visitor's own phone, scanned frame after frame
during their visit, is not flagged.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pytest

from kiosk.checkpoint import (
    ALERT_REASONS,
    REASONS,
    CodeFacts,
    PolicyInForce,
    ScannedCode,
    Verdict,
    VisitorOutcome,
    decide,
    facts_of,
    verified_code,
)
from kiosk.checkpoint.replay import MAX_REMEMBERED, ReplayGuard
from kiosk.config import PolicyConfig
from kiosk.healthpass import TrustList, Verifier
from kiosk.healthpass.dcc_issuer import DccTestIssuer
from kiosk.healthpass.issuer import TestIssuer
from kiosk.simulation import Scenario
from tests.loop.rig import SimulatedKiosk

AT = 1_765_900_000
THP = TestIssuer("ES256")
DCC = DccTestIssuer("PS256")
VERIFIER = Verifier(TrustList.from_json(THP.trust_list_json(DCC)))


def digest_of(text: str) -> str:
    """The runtime's digest of a code's text (`ScannedCode.key`)."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def key_of(text: str) -> str:
    """What the runtime keys the guard by (`ScannedCode.replay_key`): what the pass says, its identity."""
    identity = VERIFIER.verify(text, AT).identity
    return identity.key if identity is not None else digest_of(text)


def guard_of(max_code_age_s: int = 300, clock_skew_s: int = 60) -> ReplayGuard:
    """A guard following a policy with this validity window (300 s and 60 s: the defaults)."""
    return ReplayGuard(PolicyInForce(PolicyConfig(max_code_age_s=max_code_age_s, clock_skew_s=clock_skew_s)))


def passed(guard: ReplayGuard, text: str, wall: float) -> None:
    result = VERIFIER.verify(text, wall)
    code = ScannedCode(digest_of(text), facts_of(result), code=verified_code(result))
    outcome = VisitorOutcome(decide(36.5, code.facts, PolicyConfig(), wall), 36.5, 36.5, code, wall, wall)
    guard.passed(outcome, wall)


# -------------------------------------------------------------------------------------- the guard


def test_a_passed_code_is_flagged_until_it_could_not_pass_anyway() -> None:
    guard = guard_of(max_code_age_s=300, clock_skew_s=60)
    text = THP.issue("G", sid="s", iat=AT, exp=AT + 3600)
    assert not guard.seen(key_of(text), AT + 1)
    passed(guard, text, AT + 1)
    assert len(guard) == 1
    assert guard.seen(key_of(text), AT + 100)
    assert guard.seen(key_of(text), AT + 360)  # iat + max age + skew
    assert not guard.seen(key_of(text), AT + 361)  # by then the code is stale: the verifier refuses it
    short = THP.issue("G", sid="s", iat=AT, exp=AT + 30)
    passed(guard, short, AT + 1)
    assert guard.seen(key_of(short), AT + 90) and not guard.seen(key_of(short), AT + 91)  # exp + skew


def test_screen_marks_only_valid_codes_it_has_seen_pass() -> None:
    guard = guard_of()
    text = THP.issue("G", sid="s", iat=AT, exp=AT + 600)
    facts = facts_of(VERIFIER.verify(text, AT))
    assert guard.screen(key_of(text), facts, AT) == facts  # first presentation
    passed(guard, text, AT)
    assert guard.screen(key_of(text), facts, AT + 5).replayed
    assert not guard.screen(key_of(text), CodeFacts(valid=False), AT + 5).replayed  # invalid stays invalid
    other = THP.issue("G", sid="s", iat=AT + 60, exp=AT + 660)  # the phone's next code: a new one
    assert not guard.screen(key_of(other), facts_of(VERIFIER.verify(other, AT + 60)), AT + 60).replayed


def test_only_passes_of_thp1_codes_are_remembered() -> None:
    guard = guard_of()
    red = THP.issue("R", sid="s", iat=AT, exp=AT + 600)
    passed(guard, red, AT)  # a STOP: the visitor did not get in, and may show it again to staff
    cert = DCC.issue_dcc("vaccination", iat=AT - 86_400, exp=AT + 86_400)
    passed(guard, cert, AT)  # a certificate is meant to be shown every day
    assert len(guard) == 0 and not guard.seen(key_of(cert), AT + 10)
    assert not guard.remember(key_of(red), verified_code(VERIFIER.verify(red, AT)), float("nan"))


def test_nothing_kept_can_be_matched_without_the_boot_key() -> None:
    text = THP.issue("G", sid="secret-sid", iat=AT, exp=AT + 600)
    first, second = guard_of(), guard_of()
    assert first.tag(key_of(text)) != second.tag(key_of(text))  # per-boot keys
    passed(first, text, AT)
    kept = list(first._until)  # the only state: tags and times
    assert kept == [first.tag(key_of(text))]
    assert not second.seen(key_of(text), AT + 1)  # after a restart nothing can be matched
    for plain in (text.encode(), key_of(text).encode(), digest_of(text).encode(),
                  hashlib.sha256(text.encode()).digest()):
        assert plain not in kept and not any(plain in tag for tag in kept)
    assert "secret" not in repr(first)


def test_memory_is_bounded_and_forgets_expired_codes() -> None:
    guard = guard_of(max_code_age_s=300, clock_skew_s=0)
    result = verified_code(VERIFIER.verify(THP.issue("G", sid="s", iat=AT, exp=AT + 600), AT))
    for i in range(MAX_REMEMBERED + 10):
        guard.remember(f"k{i}", result, AT)
    assert len(guard) == MAX_REMEMBERED and not guard.seen("k0", AT) and guard.seen(f"k{MAX_REMEMBERED + 9}", AT)
    guard.remember("late", result, AT + 301)  # every earlier tag has lapsed by then
    assert len(guard) == 1


# -------------------------------------------------------------------------------------- policy


def test_code_replayed_is_a_stop_and_not_an_alert() -> None:
    assert "code_replayed" in REASONS and "code_replayed" not in ALERT_REASONS
    replayed = CodeFacts(valid=True, colour="G", replayed=True)
    decision = decide(36.5, replayed, PolicyConfig(nat_max_age_h=24), AT)
    assert (decision.verdict, decision.reasons, decision.is_alert) == (Verdict.STOP, ("code_replayed",), False)
    assert decide(38.5, replayed, PolicyConfig(), AT).reasons == ("fever", "code_replayed")


# -------------------------------------------------------------------------------------- the kiosk


def _scenario(code: str, fresh: str) -> Scenario:
    start = float(AT)
    visitor = {"forehead_c": 36.5, "distance_m": 0.5}
    return Scenario.model_validate({
        "name": "a passed code shown again", "start": start,
        "visitors": [
            {"id": "owner", "arrive_s": 1.0, **visitor, "code": {"raw": code},
             "expect": {"decision": "PASS", "reasons": []}},
            {"id": "screenshot", "arrive_s": 100.0, **visitor, "code": {"raw": code},
             "expect": {"decision": "STOP", "reasons": ["code_replayed"]}},
            {"id": "next", "arrive_s": 130.0, **visitor, "code": {"raw": fresh},
             "expect": {"decision": "PASS", "reasons": []}},
        ],
    })


@pytest.mark.parametrize("alg", ["ES256", "EdDSA"])
def test_the_kiosk_stops_a_replayed_code_and_passes_its_owner(simulated: Callable[..., SimulatedKiosk],
                                                                alg: str) -> None:
    issuer = TestIssuer(alg)
    code = issuer.issue("G", sid="owner", iat=AT, exp=AT + 3600)
    fresh = issuer.issue("G", sid="next", iat=AT + 125, exp=AT + 3600)
    sim = simulated(_scenario(code, fresh))
    kiosk = sim.kiosk
    kiosk.apply_policy(kiosk.policy.policy, Verifier(issuer.trust_list()))  # the phones' codes: this test's issuer
    decisions: list[tuple[str, tuple[str, ...]]] = []
    kiosk.on_outcome.append(lambda outcome, event: decisions.append((event.decision, tuple(event.reasons))))
    sim.play(seconds=200)
    assert decisions == [("PASS", ()), ("STOP", ("code_replayed",)), ("PASS", ())]
    assert [(r.visitor, r.decision, r.reasons) for r in sim.world.records()] == [
        ("owner", "PASS", ()), ("screenshot", "STOP", ("code_replayed",)), ("next", "PASS", ())]
