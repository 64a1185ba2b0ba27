"""The event model: what the kiosk tells the township about each entry.

An event carries the minimum the notices require: when, where, the decision and its reasons,
the temperature, the code's colour and issuer, the policy version that decided it, the holder's
masked name and the pseudonymous subject id sealed to the township (`kiosk.feed.sealing`).  It never
carries the QR text, the subject id in clear, or anything else that identifies a person: the
name is masked again here if a platform ever sent it unmasked, and with no township sealing key
configured the subject id is left out altogether.  Ids are time-ordered (UUIDv7), so consumers
can drop duplicates and sort.  The payload's JSON Schema is in `config/asyncapi.yaml`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from kiosk.checkpoint.machine import VisitorOutcome
from kiosk.config import KioskConfig
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
    schema: int = field(default=1)

    @property
    def stream(self) -> str:
        return ALERT_STREAM if self.alert else ENTRY_STREAM

    def to_json(self) -> bytes:
        body = asdict(self)
        body["reasons"] = list(self.reasons)
        return json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def _summarise_code(outcome: VisitorOutcome) -> CodeSummary | None:
    scanned = outcome.code
    if scanned is None:
        return None
    result = scanned.result
    return CodeSummary(
        format=getattr(result, "format", None),
        valid=scanned.facts.valid,
        colour=scanned.facts.colour if scanned.facts.valid else None,
        issuer=getattr(getattr(result, "health_pass", None), "iss", None),
        error=getattr(result, "error", None),
    )


def entry_event(outcome: VisitorOutcome, config: KioskConfig, *, wall: float,
                sealer: SubjectSealer | None = None) -> EntryEvent:
    """The event of one decision.  The health pass comes with the outcome's scanned code.

    `sealer` seals the subject id; by default the one for `uplink.seal_public_key`, and with no
    key configured the event carries no subject id.
    """
    site = config.site
    health_pass = getattr(getattr(outcome.code, "result", None), "health_pass", None)
    if sealer is None and config.uplink.seal_public_key:
        sealer = sealer_for(config.uplink.seal_public_key)
    sid = getattr(health_pass, "sid", None)
    return EntryEvent(
        event_id=uuid7(wall),
        at=round(wall, 3),
        township=site.township,
        site=site.site_id,
        kiosk=site.kiosk_id,
        decision=outcome.decision.verdict.value,
        reasons=outcome.decision.reasons,
        temperature_c=outcome.temperature_c,
        code=_summarise_code(outcome),
        policy_version=config.policy.version,
        mode=config.policy.mode.value,
        alert=outcome.decision.is_alert,
        name=mask_name(getattr(health_pass, "n", None)),
        sid_sealed=sealer.seal(sid) if sealer is not None and isinstance(sid, str) and sid else None,
    )
