"""The township's rules as one pure function: observations in, PASS or STOP with every reason out.

A visitor who walks off before a decision is shown is `LEFT` (`left`): no verdict on them, only
the alert reasons already established, so that a fever or a red code seen at the door still
reaches the township at once.

Nothing here reads a clock, a sensor or a file.  The vocabulary of reasons is the scenario
format's, so decisions can be compared with expectations and counted per reason in reports.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from kiosk.config import Mode, PolicyConfig


class Verdict(enum.StrEnum):
    PASS = "PASS"
    STOP = "STOP"
    LEFT = "LEFT"  # walked off before a decision was shown (`left`)


# Every reason, in the order screens list them (most urgent first).
REASONS: tuple[str, ...] = (
    "sensor_fault",
    "fever",
    "code_red",
    "code_yellow",
    "code_invalid",
    "code_replayed",  # a THP1 code that already let somebody in (kiosk.checkpoint.replay); not an alert, see there
    "no_code",
    "clock_unsynced",  # the wall clock is not synchronised: a code's freshness cannot be judged
    "trip_star",
    "trip_risk_area",
    "nat_missing",
    "nat_stale",
)

# Reasons the epidemic-control notices require to be reported to the township at once.
ALERT_REASONS: frozenset[str] = frozenset({"fever", "code_red", "code_yellow", "trip_star", "trip_risk_area"})


@dataclass(frozen=True, slots=True)
class CodeFacts:
    """What policy needs from a health code, whatever format it came in.

    `valid` is False for anything shown that is not a valid, fresh, trusted code; the other
    fields are then ignored.
    """

    valid: bool
    colour: str | None = None  # "G", "Y" or "R"
    trip_areas: tuple[str, ...] = ()
    trip_star: bool = False
    nat_at: float | None = None  # epoch seconds of the last negative test sample
    replayed: bool = False  # valid, but it already let somebody in (kiosk.checkpoint.replay.ReplayGuard)
    # When the phone made the code (THP1 `iat`, epoch s: the platform's synchronised clock; a code is
    # shown within minutes of it).  None: not a code made on showing (a DCC's iat is the certificate's).
    made_at: float | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    verdict: Verdict
    reasons: tuple[str, ...]

    @property
    def is_alert(self) -> bool:
        return any(r in ALERT_REASONS for r in self.reasons)


def _code_reasons(code: CodeFacts | None, policy: PolicyConfig, now: float | None) -> list[str]:
    if code is None:
        return ["no_code"]
    if not code.valid:
        return ["code_invalid"]
    if code.replayed:
        return ["code_replayed"]
    reasons: list[str] = []
    if code.colour == "R":
        reasons.append("code_red")
    elif code.colour == "Y":
        reasons.append("code_yellow")
    elif code.colour != "G":
        return ["code_invalid"]
    if policy.mode is Mode.RISK_AREAS:
        if code.trip_star:
            reasons.append("trip_star")
        if set(code.trip_areas) & set(policy.risk_areas):
            reasons.append("trip_risk_area")
    if policy.nat_max_age_h is not None:
        if code.nat_at is None:
            reasons.append("nat_missing")
        elif now is not None and now - code.nat_at > policy.nat_max_age_h * 3600:
            reasons.append("nat_stale")
    return reasons


def decide(
    temperature_c: float | None,
    code: CodeFacts | None,
    policy: PolicyConfig,
    now: float,
    *,
    clock_synced: bool = True,
    sensor_fault: bool = False,
    fever_before: bool = False,
) -> Decision:
    """Decide one visitor.

    `temperature_c` is the final reading (after the re-measure, if one was due), or None when
    no valid measurement could be made: that is `sensor_fault`, and never a PASS.  `code` is
    None when the visitor showed nothing before the timeout.  `now` is wall time (epoch s), used
    only for the nucleic-acid window (judged, while the clock is unsynchronised, on when the code
    was made, `CodeFacts.made_at`, if known — else not at all).  `clock_synced` False (no NTP answer since boot: the Pi
    has no RTC) means no shown code's freshness can be judged: STOP `clock_unsynced`.
    `sensor_fault` True: the sensor failed before the measurement was complete; a
    `temperature_c` given with it is a fever reading made before, recorded all the same.
    `fever_before` True: a fever was read earlier in the visit, before a break in seeing the
    visitor (`kiosk.checkpoint.visit.Visit.fever_before`): `fever`, a staff check, whatever
    `temperature_c` (always the visitor's reading since the break) says.
    """
    reasons: list[str] = []
    if (temperature_c is None and not fever_before) or sensor_fault:
        reasons.append("sensor_fault")  # (a fever shown before a break stops them on its own: not a fault)
    if fever_before or (temperature_c is not None and temperature_c >= policy.fever_c):
        reasons.append("fever")
    # The kiosk's own clock may be hours off while unsynchronised: the test's age is then judged
    # on the code's making time (the platform's clock), or not at all (`clock_unsynced` stops them).
    reasons.extend(_code_reasons(code, policy, now if clock_synced else code.made_at if code is not None else None))
    if code is not None and not clock_synced:
        reasons.append("clock_unsynced")  # a STOP, never an alert: nothing is known against the visitor
    ordered = tuple(r for r in REASONS if r in reasons)
    return Decision(Verdict.STOP if ordered else Verdict.PASS, ordered)


def with_reasons(decision: Decision, more: tuple[str, ...]) -> Decision:
    """`decision` with `more` reasons added (alerts the visit's codes showed, or what stopped the
    person it may be): never a PASS then.  A LEFT stays a LEFT."""
    reasons = set(decision.reasons) | set(more)
    ordered = tuple(r for r in REASONS if r in reasons)
    verdict = decision.verdict if decision.verdict is Verdict.LEFT or not ordered else Verdict.STOP
    return Decision(verdict, ordered)


def left(code: CodeFacts | None, policy: PolicyConfig, now: float, *, fever: bool) -> Decision:
    """A visitor who walked off before any decision was shown: LEFT, with the alert reasons
    already established — `fever` once confirmed (`kiosk.checkpoint.readings.fever_established`),
    and the code's alert reasons once a valid code was read.  Reasons that are not alerts (an
    invalid code, a stale test) stopped nobody: the visitor is gone, nothing is decided on them.
    """
    reasons = {"fever"} if fever else set()
    if code is not None and code.valid and not code.replayed:
        reasons.update(r for r in _code_reasons(code, policy, now) if r in ALERT_REASONS)
    return Decision(Verdict.LEFT, tuple(r for r in REASONS if r in reasons))


class PolicyInForce:
    """The policy the kiosk decides by now: the one place every stage reads it from.

    The checkpoint (thresholds, `decide`), the replay guard (a code's validity window), the event
    builder and the daily summary (the version that decided) all hold this object, never a copy
    of the policy, so a policy the township pushes (`kiosk.loop.Kiosk.apply_policy`) is in force
    for all of them from the next decision on, and every event and summary names it.  Replaced
    whole on the loop's thread, never changed in place.
    """

    __slots__ = ("_policy",)

    def __init__(self, policy: PolicyConfig) -> None:
        self._policy = policy

    @property
    def policy(self) -> PolicyConfig:
        return self._policy

    @property
    def version(self) -> str:
        return self._policy.version

    def replace(self, policy: PolicyConfig) -> None:
        self._policy = policy

    def __repr__(self) -> str:
        return f"PolicyInForce(version={self._policy.version!r}, mode={self._policy.mode.value!r})"
