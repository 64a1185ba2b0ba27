"""A decoded QR text made into a `ScannedCode`: verified, screened for replay, tied to its holder.

The camera reads the same phone on frame after frame, so a code's verification is cached for
`VERIFY_CACHE_S` (keyed by a digest of its text, which is all the kiosk keeps of it).  Each check:

* the verifier's result, whatever the code's format, becomes the `CodeFacts` policy needs (`facts_of`)
  and the typed record the event and the replay guard read (`verified_code`);
* a THP1 code that already let somebody in is `code_replayed` (`kiosk.checkpoint.replay.ReplayGuard`),
  known by what it says (`CodeIdentity`: issuer, subject, issue time), so the same signed pass
  re-compressed, re-tagged or re-signed with the other s is recognised;
* the holder gets a person key: a keyed hash, under a key made per boot and never stored, of the
  pass's stable subject id (or, without one, of the code's digest), so a phone whose code
  regenerates every minute is still recognised as the same visitor.

The text is kept on the `ScannedCode` (in memory, for the visit's life) so that the checkpoint can
judge the code again at the moment of the decision (`check(..., fresh=True)`): freshness and
replay on the wall clock of that moment, with the verifier of the policy in force then.  While the
wall clock is not synchronised, a code refused on time alone (`expired`, `stale`, `future`: the
clock may be hours off) is read once more by a time-blind twin of the verifier: its signature and
claims still tell its colour and trips, and it is marked `time_unknown` (the decision says
`clock_unsynced`, never `code_invalid`, for a code whose only fault may be the kiosk's clock).

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
from kiosk.healthpass import CodeResult, CovidCertificate, HealthPass, Verifier

log = logging.getLogger(__name__)

VERIFY_CACHE_S = 1.0  # the same QR seen on consecutive frames is verified once per second
TIME_ERRORS = frozenset({"expired", "stale", "future"})  # refusals that depend on the kiosk's clock alone
_NO_TIME_LIMIT_S = 1e12  # the time-blind twin accepts any age and any skew


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
        made_at=hp.iat,
    )


def verified_code(result: CodeResult) -> VerifiedCode:
    """The typed record of a verifier result: built once here, read by the event and the replay guard."""
    hp = result.health_pass
    if not result.valid or hp is None:
        return VerifiedCode(format=result.format, valid=False, error=result.error)
    sid = hp.sid if isinstance(hp, HealthPass) and isinstance(hp.sid, str) and hp.sid else None
    identity = result.identity
    return VerifiedCode(format=result.format, valid=True, issuer=hp.iss, issued_at=hp.iat, expires_at=hp.exp,
                        subject_id=sid, name=hp.n, identity_key=identity.key if identity is not None else None)


@dataclass(slots=True)
class _Cached:
    scanned: ScannedCode
    at: float
    synced: bool = True  # judged on a synchronised clock


class CodeCheck:
    """Checks the codes shown to one kiosk; `wall` is its clock's wall time (for validity and replay)."""

    def __init__(self, replay: ReplayGuard, *, wall: Callable[[], float]) -> None:
        self.replay = replay
        self._wall = wall
        self._person_secret = os.urandom(32)  # per boot, never stored: person keys cannot outlive the process
        self._codes: dict[str, _Cached] = {}
        self._blind: tuple[CodeVerifier, CodeVerifier | None] | None = None  # (verifier, its time-blind twin)

    def check(self, text: str, now: float, verifier: CodeVerifier, *, fresh: bool = False,
              clock_synced: bool = True) -> ScannedCode:
        """The code `text`, seen at `now`, checked with `verifier` (the one that goes with the policy in force).

        `fresh`: judge it now whatever was cached (the decision's own judgement).  `clock_synced`
        False: a code refused on time alone is read by the time-blind twin (see the module's doc).
        """
        key = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        cached = self._codes.get(key)
        if not fresh and cached is not None and now - cached.at < VERIFY_CACHE_S and cached.synced == clock_synced:
            return cached.scanned
        code: VerifiedCode | None
        time_unknown = False
        try:
            wall = self._wall()
            result = verifier.verify(text, wall)
            if not clock_synced and not result.valid and result.error in TIME_ERRORS:
                blind = self._time_blind(verifier)
                again = blind.verify(text, 0.0) if blind is not None else None
                if again is not None and again.valid:
                    result, time_unknown = again, True
            code = verified_code(result)
            # The replay guard knows a pass by what it says, not by its bytes (re-encoded screenshots).
            replay_key = code.identity_key or key
            facts = self.replay.screen(replay_key, facts_of(result), wall)
        except Exception:  # a verifier bug: the code is not valid, and the kiosk goes on
            log.exception("code verification failed")
            code, facts = None, CodeFacts(valid=False)
        scanned = ScannedCode(key=key, facts=facts, code=code, person_key=self._person_key(key, code), text=text,
                              time_unknown=time_unknown)
        self._codes = {k: c for k, c in self._codes.items() if now - c.at < VERIFY_CACHE_S}
        self._codes[key] = _Cached(scanned, now, clock_synced)
        return scanned

    def _time_blind(self, verifier: CodeVerifier) -> CodeVerifier | None:
        """The verifier's twin that accepts any age (same trust list, same formats), made once per verifier."""
        if self._blind is None or self._blind[0] is not verifier:
            twin = None
            if isinstance(verifier, Verifier):
                twin = Verifier(verifier.trust_list, max_code_age_s=_NO_TIME_LIMIT_S, clock_skew_s=_NO_TIME_LIMIT_S,
                                formats=tuple(f.name for f in verifier.formats))
            self._blind = (verifier, twin)
        return self._blind[1]

    def _person_key(self, code_key: str, code: VerifiedCode | None) -> str:
        """Who holds the code, as a keyed hash under the per-boot key (never the id in clear).

        A THP1 phone makes a new code every minute, so the pass's stable subject id (`sid`)
        names the person; without one (an HC1 certificate, which shows the same text every
        day, or an invalid code) the code's own digest does.
        """
        sid = code.subject_id if code is not None and code.valid else None
        subject = f"sid:{sid}" if sid else f"code:{code_key}"
        return hmac.new(self._person_secret, subject.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:32]
