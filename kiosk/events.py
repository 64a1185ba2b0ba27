"""The event model: what the kiosk tells the township about each entry.

An event carries the minimum the notices require: when, where, the decision and its reasons,
the temperature, the code's colour and issuer, and the policy version that decided it.  It
never carries the QR text, the subject id in clear, or anything else that identifies a person
beyond the platform's already-masked name (sealing the subject id to the township's key comes
with the uplink work).  Ids are time-ordered (UUIDv7), so consumers can drop duplicates and sort.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import asdict, dataclass, field

from kiosk.checkpoint import VisitorOutcome
from kiosk.config import KioskConfig

ENTRY_STREAM = "entry"
ALERT_STREAM = "alert"
ALERT_PRIORITY = 10  # alerts overtake a backlog of ordinary entries


def uuid7(unix_s: float) -> str:
    """A UUID version 7 (RFC 9562): 48-bit millisecond time, then randomness; sorts by time."""
    ms = int(unix_s * 1000) & ((1 << 48) - 1)
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms << 80) | (0x7 << 76) | ((rand >> 68) & 0xFFF) << 64 | (0b10 << 62) | (rand & ((1 << 62) - 1))
    return str(uuid.UUID(int=value))


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


def entry_event(outcome: VisitorOutcome, config: KioskConfig, *, wall: float) -> EntryEvent:
    site = config.site
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
    )
