"""The event model: what the kiosk tells the township about each entry.

An event carries the minimum the notices require: when, where, the decision and its reasons
(`PASS`, `STOP`, or `LEFT` for a visitor who walked off before a decision, with the alerts already
established), the temperature it rests on and every reading taken of the visitor (value, ±, when),
the code's colour and issuer, the policy version that decided it, the holder's
masked name and the pseudonymous subject id sealed to the township (`kiosk.feed.sealing`).  It never
carries the QR text, the subject id in clear, or anything else that identifies a person: the
name is masked again here if a platform ever sent it unmasked, and with no township sealing key
configured the subject id is left out altogether.  Ids are time-ordered (UUIDv7), so consumers
can drop duplicates and sort.  The payload's JSON Schema is in `config/asyncapi.yaml`.

`EventBuilder` makes the event of each decision from the typed outcome (`VisitorOutcome`, whose
`ScannedCode.code` is the verifier's typed record) and the policy in force (`PolicyInForce`),
so every event names the policy version that decided it.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from kiosk.checkpoint import PolicyInForce, ScannedCode, VisitorOutcome
from kiosk.config import KioskConfig, SiteConfig
from kiosk.feed.sealing import SubjectSealer, sealer_for
from kiosk.healthpass.model import mask_name
from kiosk.ids import uuid7

ENTRY_STREAM = "entry"
ALERT_STREAM = "alert"
ALERT_PRIORITY = 10  # alerts overtake a backlog of ordinary entries


@dataclass(frozen=True, slots=True)
class CodeSummary:
    format: str | None
    valid: bool
    colour: str | None
    issuer: str | None
    error: str | None


@dataclass(frozen=True, slots=True)
class ReadingSummary:
    """One reading taken of the visitor: °C as shown, its ± (2σ), when (epoch s)."""

    c: float
    uncertainty_c: float
    at: float


@dataclass(frozen=True, slots=True)
class EntryEvent:
    event_id: str
    at: float  # epoch seconds of the decision
    township: str
    site: str
    kiosk: str
    decision: str
    reasons: tuple[str, ...]
    temperature_c: float | None
    code: CodeSummary | None
    policy_version: str
    mode: str
    alert: bool
    name: str | None = None  # the platform's masked name, e.g. "张*卿"
    sid_sealed: str | None = None  # the subject id sealed to the township (`S1.` …), never in clear
    readings: tuple[ReadingSummary, ...] = ()  # every reading taken of the visitor, in order
    schema: int = field(default=1)

    @property
    def stream(self) -> str:
        return ALERT_STREAM if self.alert else ENTRY_STREAM

    @property
    def priority(self) -> int:
        return ALERT_PRIORITY if self.alert else 0

    def to_json(self) -> bytes:
        body = asdict(self)
        body["reasons"] = list(self.reasons)
        body["readings"] = [asdict(r) for r in self.readings]
        return json.dumps(plain(body), ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # C0 controls but tab and newlines, and DEL


def plain(value: Any) -> Any:
    """`value` (JSON-able) with control characters removed from its strings.

    A name or a code's issuer read from a visitor's QR code is text nobody checked; a NUL in it made
    the township's PostgreSQL refuse the whole event (jsonb cannot hold one), and the kiosk sent it
    again forever.  Such characters mean nothing on a screen or in a report: they go."""
    if isinstance(value, str):
        return _CONTROLS.sub("", value)
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def summarise_code(scanned: ScannedCode | None) -> CodeSummary | None:
    """What the event says of the code shown: its format, validity, colour, issuer, or why it was refused."""
    if scanned is None:
        return None
    code = scanned.code  # None: the verifier failed on it (the code counts as invalid)
    return CodeSummary(
        format=code.format if code is not None else None,
        valid=scanned.facts.valid,
        colour=scanned.facts.colour if scanned.facts.valid else None,
        issuer=code.issuer if code is not None else None,
        error=code.error if code is not None else None,
    )


class EventBuilder:
    """The event of each decision of one kiosk: where, by which policy, the holder's subject id sealed.

    `sealer` seals the subject id to the township; without one the event carries no subject id.
    """

    def __init__(self, site: SiteConfig, policy: PolicyInForce, sealer: SubjectSealer | None = None) -> None:
        self.site = site
        self.policy = policy
        self.sealer = sealer

    @classmethod
    def from_config(cls, config: KioskConfig, policy: PolicyInForce | None = None, *,
                    sealer: SubjectSealer | None = None) -> EventBuilder:
        """The builder for `config`'s site, sealing to `uplink.seal_public_key` unless `sealer` is given."""
        if sealer is None and config.uplink.seal_public_key:
            sealer = sealer_for(config.uplink.seal_public_key)
        return cls(config.site, policy or PolicyInForce(config.policy), sealer)

    def build(self, outcome: VisitorOutcome, *, wall: float, seal: bool = True) -> EntryEvent:
        """The event of one decision, made at `wall` (epoch s), by the policy in force now.

        `seal` False leaves the subject id and the name out: the event of a decision whose event
        could not be built whole (a sealing key that cannot seal), stored so the decision is not lost.
        """
        site, policy = self.site, self.policy.policy
        code = outcome.code.code if outcome.code is not None else None
        sid = code.subject_id if code is not None and seal else None
        readings = tuple(ReadingSummary(r.c, r.uncertainty_c, round(wall - (outcome.decided_at - r.at), 3))
                         for r in outcome.readings)
        return EntryEvent(
            event_id=uuid7(wall),
            at=round(wall, 3),
            township=site.township,
            site=site.site_id,
            kiosk=site.kiosk_id,
            decision=outcome.decision.verdict.value,
            reasons=outcome.decision.reasons,
            temperature_c=outcome.temperature_c,
            code=summarise_code(outcome.code),
            policy_version=policy.version,
            mode=policy.mode.value,
            alert=outcome.decision.is_alert,
            name=mask_name(code.name if code is not None else None) if seal else None,
            sid_sealed=self.sealer.seal(sid) if self.sealer is not None and sid else None,
            readings=readings,
        )
