"""Offline verification of Township Health Pass (THP1) codes and EU Digital COVID Certificates (HC1).

Pure logic: the only I/O is reading a trust-list file.  `Verifier.verify(text, at)` peels the
layers of `shared/health-pass/SPEC.md` (prefix, Base45, zlib, CBOR, COSE_Sign1, trust list,
signature, CWT claims, freshness) and returns a `CodeResult` whose `error` names the first layer
that refused the code; the prefix picks the format (see README.md here).  A valid result's
`identity` is what the code says, the same however it was re-encoded (for the replay guard).  `TestIssuer` (in
`kiosk.healthpass.issuer`) and `DccTestIssuer` (in `kiosk.healthpass.dcc_issuer`) sign codes for
tests and the simulator.
"""

from kiosk.healthpass.errors import ERRORS, CodeRejected, TrustListError
from kiosk.healthpass.model import COLOURS, CodeIdentity, CodeResult, CovidCertificate, HealthPass
from kiosk.healthpass.trust import TrustedKey, TrustList, kid_of
from kiosk.healthpass.verifier import Verifier

__all__ = [
    "COLOURS",
    "ERRORS",
    "CodeIdentity",
    "CodeRejected",
    "CodeResult",
    "CovidCertificate",
    "HealthPass",
    "TrustList",
    "TrustListError",
    "TrustedKey",
    "Verifier",
    "kid_of",
]
