"""`Verifier`: a scanned text in, a `CodeResult` out, offline, for any text whatsoever.

The layers run outermost first and the first one that refuses names the error.  Whatever
happens inside a layer, including an exception nobody foresaw in a library, becomes that
layer's error: a camera pointed at arbitrary QR codes must never be able to stop the kiosk.
"""

from __future__ import annotations

import math

from kiosk.healthpass import claims, container, cose
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
from kiosk.healthpass.model import CodeResult
from kiosk.healthpass.trust import TrustList

FORMAT = "THP1"


class Verifier:
    """Verifies THP1 codes against a trust list at a given wall-clock time.

    `max_code_age_s` refuses screenshots (phones regenerate the code every 60 s);
    `clock_skew_s` tolerates a phone whose clock runs a little ahead of the kiosk's.
    """

    def __init__(
        self, trust_list: TrustList, *, max_code_age_s: float = 300, clock_skew_s: float = 60
    ) -> None:
        for name, value in (("max_code_age_s", max_code_age_s), ("clock_skew_s", clock_skew_s)):
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, not {value!r}")
        self.trust_list = trust_list
        self.max_code_age_s = max_code_age_s
        self.clock_skew_s = clock_skew_s

    def verify(self, text: str, at: float) -> CodeResult:
        """Verify `text` (the QR content) at wall time `at` (epoch seconds). Never raises."""
        layer = PREFIX
        try:
            body = container.strip_prefix(text)
            layer = BASE45
            compressed = container.decode_base45(body)
            layer = ZLIB
            inflated = container.inflate(compressed)
            layer = CBOR
            item = container.decode_cbor(inflated)
            layer = COSE
            sign1 = cose.parse_sign1(item)
            layer = UNKNOWN_KID
            key = self.trust_list.get(sign1.kid)
            if key is None:
                raise CodeRejected(UNKNOWN_KID, f"kid {sign1.kid.hex()} is not in the trust list")
            layer = SIGNATURE
            cose.verify_signature(sign1, key)
            layer = CLAIMS
            health_pass = claims.parse_claims(sign1.payload, sign1.kid)
            layer = STALE  # freshness: a clock that cannot be compared with counts as stale
            claims.check_freshness(health_pass, at, max_code_age_s=self.max_code_age_s,
                                   clock_skew_s=self.clock_skew_s)
        except CodeRejected as rejected:
            error, detail = rejected.error, rejected.detail
        except Exception as exc:
            error, detail = layer, f"unexpected {type(exc).__name__} in this layer"
        else:
            return CodeResult.accepted(health_pass, format=FORMAT)
        return CodeResult.rejected(error, format=_format(error), detail=detail)


def _format(error: str) -> str | None:
    """A text refused at the prefix is of no format this verifier reads."""
    return None if error == PREFIX else FORMAT
