"""A decoded QR text made into a `ScannedCode`: verified, screened for replay, tied to its holder.

The camera reads the same phone on frame after frame, so a code's verification is cached for
`VERIFY_CACHE_S` (keyed by a digest of its text, which is all the kiosk keeps of it).  Each check:

* the verifier's result, whatever the code's format, becomes the `CodeFacts` policy needs (`facts_of`)
  and the typed record the event and the replay guard read (`verified_code`);
* a THP1 code that already let somebody in is `code_replayed` (`kiosk.checkpoint.replay.ReplayGuard`);
* the holder gets a person key: a keyed hash, under a key made per boot and never stored, of the
  pass's stable subject id (or, without one, of the code's digest), so a phone whose code
  regenerates every minute is still recognised as the same visitor.

A verifier that raises makes the code invalid; the kiosk goes on.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from kiosk.checkpoint.policy import CodeFacts
from kiosk.checkpoint.replay import ReplayGuard
from kiosk.checkpoint.visit import ScannedCode, VerifiedCode
from kiosk.healthpass import CodeResult, CovidCertificate, HealthPass

log = logging.getLogger(__name__)

VERIFY_CACHE_S = 1.0  # the same QR seen on consecutive frames is verified once per second


class CodeVerifier(Protocol):
    """`kiosk.healthpass.Verifier`, or anything that answers like it (never raising, ideally)."""

    def verify(self, text: str, at: float) -> CodeResult: ...


def facts_of(result: CodeResult) -> CodeFacts:
    """Map a verifier result to the facts policy needs, whatever the code's format."""
    hp = result.health_pass
    if not result.valid or hp is None:
        return CodeFacts(valid=False)
    if isinstance(hp, CovidCertificate):  # an EU DCC (HC1): no colour, no itinerary (issue 4)
        # A valid certificate counts as green, unless it is a test that detected the virus;
        # `hp.nat` is the sample time of a negative nucleic-acid test, None for any other entry.
        return CodeFacts(valid=True, colour="R" if hp.detected else "G", nat_at=hp.nat)
    return CodeFacts(
        valid=True,
        colour=hp.colour,
        trip_areas=tuple(hp.trip_areas),
        trip_star=bool(hp.trip_star),
        nat_at=hp.nat,
    )


def verified_code(result: CodeResult) -> VerifiedCode:
    """The typed record of a verifier result: built once here, read by the event and the replay guard."""
    hp = result.health_pass
    if not result.valid or hp is None:
        return VerifiedCode(format=result.format, valid=False, error=result.error)
    sid = hp.sid if isinstance(hp, HealthPass) and isinstance(hp.sid, str) and hp.sid else None
    return VerifiedCode(format=result.format, valid=True, issuer=hp.iss, issued_at=hp.iat, expires_at=hp.exp,
                        subject_id=sid, name=hp.n)


@dataclass(slots=True)
class _Cached:
    scanned: ScannedCode
    at: float


class CodeCheck:
    """Checks the codes shown to one kiosk; `wall` is its clock's wall time (for validity and replay)."""

    def __init__(self, replay: ReplayGuard, *, wall: Callable[[], float]) -> None:
        self.replay = replay
        self._wall = wall
        self._person_secret = os.urandom(32)  # per boot, never stored: person keys cannot outlive the process
        self._codes: dict[str, _Cached] = {}

    def check(self, text: str, now: float, verifier: CodeVerifier) -> ScannedCode:
        """The code `text`, seen at `now`, checked with `verifier` (the one that goes with the policy in force)."""
        key = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        cached = self._codes.get(key)
        if cached is not None and now - cached.at < VERIFY_CACHE_S:
            return cached.scanned
        code: VerifiedCode | None
        try:
            result = verifier.verify(text, self._wall())
            code = verified_code(result)
            facts = self.replay.screen(key, facts_of(result), self._wall())
        except Exception:  # a verifier bug: the code is not valid, and the kiosk goes on
            log.exception("code verification failed")
            code, facts = None, CodeFacts(valid=False)
        scanned = ScannedCode(key=key, facts=facts, code=code, person_key=self._person_key(key, code))
        self._codes = {k: c for k, c in self._codes.items() if now - c.at < VERIFY_CACHE_S}
        self._codes[key] = _Cached(scanned, now)
        return scanned

    def _person_key(self, code_key: str, code: VerifiedCode | None) -> str:
        """Who holds the code, as a keyed hash under the per-boot key (never the id in clear).

        A THP1 phone makes a new code every minute, so the pass's stable subject id (`sid`)
        names the person; without one (an HC1 certificate, which shows the same text every
        day, or an invalid code) the code's own digest does.
        """
        sid = code.subject_id if code is not None and code.valid else None
        subject = f"sid:{sid}" if sid else f"code:{code_key}"
        return hmac.new(self._person_secret, subject.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:32]
