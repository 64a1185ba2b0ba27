"""The vocabulary of rejection, and the two exceptions the health-pass package uses.

Every way a code can fail has exactly one name, and the names are those of the conformance
vectors (`cases.json`), so a result can be compared with an expectation, counted in reports and
turned into words by the UI catalogue without any mapping table in between.  They are listed in
the order the layers are peeled: an error names the *first* layer that refused the code.
"""

from __future__ import annotations

from typing import Final

from kiosk.errors import KioskError

PREFIX: Final = "prefix"  # not `THP1:` text at all (another code, a URL, noise)
BASE45: Final = "base45"  # characters or length impossible in Base45
ZLIB: Final = "zlib"  # not a zlib stream, a corrupt one, or a truncated one
TOO_LARGE: Final = "too_large"  # inflates past the cap (a zip bomb), or longer than a QR holds
CBOR: Final = "cbor"  # not one well-formed CBOR item
COSE: Final = "cose"  # CBOR, but not a COSE_Sign1 THP1 can use (shape, alg, kid)
UNKNOWN_KID: Final = "unknown_kid"  # signed by a key the trust list does not hold
SIGNATURE: Final = "signature"  # the signature does not verify with the trusted key
CLAIMS: Final = "claims"  # signed, but the claims are missing, mistyped or out of range
EXPIRED: Final = "expired"  # `exp` has passed
STALE: Final = "stale"  # generated too long ago (a screenshot)
FUTURE: Final = "future"  # generated further in the future than clocks can drift

ERRORS: Final[tuple[str, ...]] = (
    PREFIX, BASE45, ZLIB, TOO_LARGE, CBOR, COSE, UNKNOWN_KID, SIGNATURE, CLAIMS, EXPIRED, STALE, FUTURE,
)


class CodeRejected(KioskError, ValueError):
    """Raised inside the verification layers; `Verifier.verify` turns it into a `CodeResult`.

    `detail` is for logs and the command line: it never carries claim values such as the
    subject id, only what was wrong with the structure.
    """

    def __init__(self, error: str, detail: str = "") -> None:
        if error not in ERRORS:
            raise ValueError(f"unknown rejection {error!r}")
        super().__init__(f"{error}: {detail}" if detail else error)
        self.error = error
        self.detail = detail


class TrustListError(KioskError, ValueError):
    """A trust list that cannot be used as it is; the message names the file or the entry.

    A `ValueError` too, so configuration loading can catch it with every other bad value.
    """
