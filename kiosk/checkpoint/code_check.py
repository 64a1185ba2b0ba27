"""A decoded QR text made into a `ScannedCode`: verified, screened for replay, tied to its holder.

The camera reads the same phone on frame after frame, so a code's verification is cached for
`VERIFY_CACHE_S` (keyed by a digest of its text, which is all the kiosk keeps of it).  Each check:

* the verifier's result, whatever the code's format, becomes the `CodeFacts` policy needs (`facts_of`);
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
from typing import Any, Protocol

from kiosk.checkpoint.policy import CodeFacts
from kiosk.checkpoint.replay import ReplayGuard
from kiosk.checkpoint.visit import ScannedCode

log = logging.getLogger(__name__)

VERIFY_CACHE_S = 1.0  # the same QR seen on consecutive frames is verified once per second


class CodeVerifier(Protocol):
    def verify(self, text: str, at: float) -> Any: ...


def facts_of(result: Any) -> CodeFacts:
    """Map a verifier result to the facts policy needs, whatever the code's format."""
    if not getattr(result, "valid", False):
        return CodeFacts(valid=False)
    hp = result.health_pass
    if getattr(result, "format", None) == "HC1":  # an EU DCC: no colour, no itinerary (issue 4)
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
        """The code `text`, seen at `now`, checked with `verifier` (which remote config may swap)."""
        key = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        cached = self._codes.get(key)
        if cached is not None and now - cached.at < VERIFY_CACHE_S:
            return cached.scanned
        try:
            result = verifier.verify(text, self._wall())
            facts = self.replay.screen(key, facts_of(result), self._wall())
        except Exception:  # a verifier bug: the code is not valid, and the kiosk goes on
            log.exception("code verification failed")
            result, facts = None, CodeFacts(valid=False)
        scanned = ScannedCode(key=key, facts=facts, result=result, person_key=self._person_key(key, result))
        self._codes = {k: c for k, c in self._codes.items() if now - c.at < VERIFY_CACHE_S}
        self._codes[key] = _Cached(scanned, now)
        return scanned

    def _person_key(self, code_key: str, result: Any) -> str:
        """Who holds the code, as a keyed hash under the per-boot key (never the id in clear).

        A THP1 phone makes a new code every minute, so the pass's stable subject id (`sid`)
        names the person; without one (an HC1 certificate, which shows the same text every
        day, or an invalid code) the code's own digest does.
        """
        sid = getattr(getattr(result, "health_pass", None), "sid", None) if getattr(result, "valid", False) else None
        subject = f"sid:{sid}" if isinstance(sid, str) and sid else f"code:{code_key}"
        return hmac.new(self._person_secret, subject.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:32]
