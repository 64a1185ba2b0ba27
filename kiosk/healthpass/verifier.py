"""`Verifier`: a scanned text in, a `CodeResult` out, offline, for any text whatsoever.

Two formats share the stack: THP1 (the township's health pass) and HC1 (the EU Digital COVID
Certificate).  The prefix picks a `CodeFormat`, which says what differs between them (the algs
allowed, the inflation cap, how claims are read and when they are valid); every other layer is
the same code.  The layers run outermost first and the first one that refuses names the error.  Whatever
happens inside a layer, including an exception nobody foresaw in a library, becomes that
layer's error: a camera pointed at arbitrary QR codes must never be able to stop the kiosk.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from kiosk.healthpass import claims, container, cose, dcc, schema
from kiosk.healthpass.errors import (
    BASE45,
    CBOR,
    CLAIMS,
    COSE,
    PREFIX,
    SIGNATURE,
    STALE,
    UNKNOWN_KID,
    ZLIB,
    CodeRejected,
)
from kiosk.healthpass.model import CodeResult, CovidCertificate, HealthPass
from kiosk.healthpass.trust import TrustedKey, TrustList

FORMAT = "THP1"
HC1_PREFIX: Final = "HC1:"
HC1_MAX_INFLATED: Final = 8192  # a DCC with a 3072-bit PS256 signature stays well under 2 KiB


@dataclass(frozen=True, slots=True)
class CodeFormat:
    """What one format does differently.

    `parse` reads claims; `check_signer` refuses what the key had no right to sign and returns the
    claims with the trust list's issuer; `check_time` refuses out-of-date ones.
    """

    name: str
    prefix: str
    algs: frozenset[int]
    max_inflated: int
    parse: Callable[[bytes, bytes], Any]
    check_signer: Callable[[Any, TrustedKey], Any]
    check_time: Callable[[Verifier, Any, float], None]


def _thp1_signer(health_pass: HealthPass, key: TrustedKey) -> HealthPass:
    """A THP1 key issues codes for the one issuer its trust-list entry names, and no other.

    Without this a platform key listed for one township could issue codes naming another, and
    the entry record would carry the claimed issuer.
    """
    if health_pass.iss != key.iss:
        raise CodeRejected(SIGNATURE, f"the code names issuer {health_pass.iss!r}, its key is listed for {key.iss!r}")
    return health_pass


def _thp1_time(verifier: Verifier, health_pass: Any, at: float) -> None:
    claims.check_freshness(health_pass, at, max_code_age_s=verifier.max_code_age_s,
                           clock_skew_s=verifier.clock_skew_s)


def _hc1_time(verifier: Verifier, certificate: Any, at: float) -> None:
    dcc.check_validity(certificate, at, clock_skew_s=verifier.clock_skew_s)


THP1: Final = CodeFormat(FORMAT, container.THP1_PREFIX, cose.THP1_ALGS, container.MAX_INFLATED,
                         claims.parse_claims, _thp1_signer, _thp1_time)
HC1: Final = CodeFormat("HC1", HC1_PREFIX, cose.HC1_ALGS, HC1_MAX_INFLATED,
                        dcc.parse_certificate, dcc.check_signer, _hc1_time)
FORMATS: Final = {fmt.name: fmt for fmt in (THP1, HC1)}


class Verifier:
    """Verifies THP1 codes against a trust list at a given wall-clock time.

    `max_code_age_s` refuses screenshots (phones regenerate the code every 60 s);
    `clock_skew_s` tolerates a phone whose clock runs a little ahead of the kiosk's.
    """

    def __init__(
        self, trust_list: TrustList, *, max_code_age_s: float = 300, clock_skew_s: float = 60,
        formats: tuple[str, ...] = ("THP1", "HC1"),
    ) -> None:
        for name, value in (("max_code_age_s", max_code_age_s), ("clock_skew_s", clock_skew_s)):
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, not {value!r}")
        unknown = set(formats) - set(FORMATS)
        if unknown or not formats:
            raise ValueError(f"formats must be some of {', '.join(FORMATS)}, not {formats!r}")
        self.trust_list = trust_list
        self.max_code_age_s = max_code_age_s
        self.clock_skew_s = clock_skew_s
        self.formats = tuple(FORMATS[name] for name in formats)

    def format_of(self, text: object) -> CodeFormat | None:
        """The format whose prefix the text starts with (exactly, case-sensitive), if this verifier reads it."""
        if isinstance(text, str):
            for fmt in self.formats:
                if text.startswith(fmt.prefix):
                    return fmt
        return None

    def verify(self, text: str, at: float) -> CodeResult:
        """Verify `text` (the QR content) at wall time `at` (epoch seconds). Never raises."""
        fmt = self.format_of(text)
        if fmt is None:
            names = " or ".join(repr(f.prefix) for f in self.formats)
            return CodeResult.rejected(PREFIX, format=None, detail=f"text does not start with {names}")
        layer = PREFIX
        try:
            body = container.strip_prefix(text, fmt.prefix)
            layer = BASE45
            compressed = container.decode_base45(body)
            layer = ZLIB
            inflated = container.inflate(compressed, limit=fmt.max_inflated)
            layer = CBOR
            item = container.decode_cbor(inflated)
            layer = COSE
            sign1 = cose.parse_sign1(item, fmt.algs)
            layer = UNKNOWN_KID
            key = self.trust_list.get(sign1.kid)
            if key is None:
                raise CodeRejected(UNKNOWN_KID, f"kid {sign1.kid.hex()} is not in the trust list")
            if key.format != fmt.name:
                raise CodeRejected(UNKNOWN_KID, f"kid {sign1.kid.hex()} is trusted for {key.format}, not {fmt.name}")
            layer = SIGNATURE
            cose.verify_signature(sign1, key)
            layer = CLAIMS
            verified = fmt.parse(sign1.payload, sign1.kid)
            layer = SIGNATURE
            verified = fmt.check_signer(verified, key)
            layer = STALE  # freshness: a clock that cannot be compared with counts as stale
            fmt.check_time(self, verified, at)
        except CodeRejected as rejected:
            error, detail = rejected.error, rejected.detail
        except Exception as exc:
            error, detail = layer, f"unexpected {type(exc).__name__} in this layer"
        else:
            detail = schema.summary(verified.schema_deviations) if isinstance(verified, CovidCertificate) else ""
            return CodeResult.accepted(verified, format=fmt.name, detail=detail)
        return CodeResult.rejected(error, format=fmt.name, detail=detail)
