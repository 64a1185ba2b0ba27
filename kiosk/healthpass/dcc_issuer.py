"""`DccTestIssuer`: a document signer of EU Digital COVID Certificates (HC1), for tests and benchmarks.

It is a `TestIssuer` (same keys, certificates, COSE signing and text encoding) that signs ES256
or PS256, as member states do, lists itself in the trust list with `"format": "HC1"`, and
builds DCC claims (schema 1.3) instead of THP1 ones.  Its certificate may carry the DCC's
extended key usages and a chosen validity, so tests can check what a signer may sign.

Never for production: the keys live in memory, unprotected.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from cryptography import x509

from kiosk.healthpass.claims import CLAIM_EXP, CLAIM_IAT, CLAIM_ISS
from kiosk.healthpass.dcc import CLAIM_HCERT, COVID_19, HCERT_DCC
from kiosk.healthpass.issuer import PrivateKey, TestIssuer, _self_signed, encode_text
from kiosk.healthpass.model import NAAT, NOT_DETECTED
from kiosk.healthpass.verifier import HC1_PREFIX


class DccTestIssuer(TestIssuer):
    """An HC1 document signer for one country (`iss`, e.g. "DE"); arguments after `alg` are keyword-only."""

    FORMAT = "HC1"
    PREFIX = HC1_PREFIX
    ALGS = ("ES256", "PS256")

    def __init__(
        self,
        alg: str = "ES256",
        *,
        iss: str = "DE",
        private_key: PrivateKey | None = None,
        certificate: x509.Certificate | None = None,
        common_name: str = "DCC test document signer",
        usages: Iterable[str] = (),
        valid_from: dt.datetime | None = None,
        valid_days: int = 3650,
    ) -> None:
        self._usages = tuple(usages)
        self._valid_from = valid_from
        self._valid_days = valid_days
        self._country = iss
        super().__init__(alg, iss=iss, private_key=private_key, certificate=certificate, common_name=common_name)

    def _certificate(self, private_key: PrivateKey, common_name: str) -> x509.Certificate:
        return _self_signed(private_key, common_name, country=self._country, start=self._valid_from,
                            days=self._valid_days, usages=self._usages)

    # ---------------------------------------------------------------------------------- claims

    def dcc_claims(
        self,
        kind: str,
        *,
        iat: int,
        exp: int,
        family: str = "Musterfrau",
        given: str = "Erika",
        country: str | None = None,
        sample_at: int | None = None,
        test_type: str = NAAT,
        test_result: str = NOT_DETECTED,
        dose: int = 2,
        doses: int = 2,
        date: str = "2021-06-01",
        valid_from: str = "2021-06-01",
        valid_until: str = "2021-12-01",
        with_iss: bool = True,
    ) -> dict[Any, Any]:
        """The CWT claims of a certificate of `kind` ("vaccination", "test", "recovery"), to sign or spoil."""
        country = country or self.iss
        common = {"tg": COVID_19, "co": country, "is": f"{country} test authority",
                  "ci": f"URN:UVCI:01:{country}:TEST{iat}"}
        if kind == "vaccination":
            entry = {"v": [{**common, "vp": "1119349007", "mp": "EU/1/20/1528", "ma": "ORG-100030215",
                            "dn": dose, "sd": doses, "dt": date}]}
        elif kind == "test":
            sc = dt.datetime.fromtimestamp(iat if sample_at is None else sample_at, dt.UTC)
            entry = {"t": [{**common, "tt": test_type, "sc": sc.strftime("%Y-%m-%dT%H:%M:%SZ"),
                            "tr": test_result, "tc": "Test centre"}]}
        elif kind == "recovery":
            entry = {"r": [{**common, "fr": valid_from, "df": valid_from, "du": valid_until}]}
        else:
            raise ValueError(f"kind is vaccination, test or recovery, not {kind!r}")
        dcc = {"ver": "1.3.0", "nam": {"fn": family, "fnt": family.upper(), "gn": given, "gnt": given.upper()},
               "dob": "1964-08-12", **entry}
        claims: dict[Any, Any] = {CLAIM_IAT: iat, CLAIM_EXP: exp, CLAIM_HCERT: {HCERT_DCC: dcc}}
        if with_iss:
            claims[CLAIM_ISS] = self.iss
        return claims

    def issue_dcc(self, kind: str, *, kid_in_unprotected: bool = False, **claims: Any) -> str:
        """The QR text of a correct HC1 certificate (keywords as `dcc_claims`)."""
        return encode_text(self.sign(self.dcc_claims(kind, **claims), kid_in_unprotected=kid_in_unprotected),
                           prefix=self.PREFIX)

    def issue(self, *args: Any, **kwargs: Any) -> str:
        raise TypeError("an HC1 document signer issues certificates: use issue_dcc")
