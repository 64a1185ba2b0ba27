"""The CWT claims of an EU Digital COVID Certificate (HC1), their validity, and the signer's rights.

HC1 shares every outer layer with THP1 (Base45, zlib, COSE_Sign1); what differs is read here:
claim -260 (`hcert`) holds, under key 1, the DCC itself (schema 1.3: `ver`, `nam`, `dob` and
exactly one of `v`, `t`, `r` with exactly one entry).  As for THP1, what policy reads is
checked strictly (a code policy cannot read must not pass) and unknown keys are ignored.

A certificate is long-lived (months), so there is no "stale" for HC1: it is valid from its
`iat` (with the clock skew) until its `exp`, and a recovery entry also within its `df`..`du`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any, Final

from cryptography import x509

from kiosk.healthpass.claims import (  # the same strict readers as THP1's claims
    CLAIM_EXP,
    CLAIM_IAT,
    CLAIM_ISS,
    _bad,
    _map,
    _uint,
    claims_map,
)
from kiosk.healthpass.errors import EXPIRED, FUTURE, SIGNATURE, STALE, CodeRejected
from kiosk.healthpass.model import CovidCertificate
from kiosk.healthpass.trust import TrustedKey

CLAIM_HCERT: Final = -260
HCERT_DCC: Final = 1  # hcert key 1: the EU DCC v1 schema
COVID_19: Final = "840539006"  # SNOMED CT, the only disease (`tg`) this kiosk reads
ENTRY_KINDS: Final[Mapping[str, str]] = {"v": "vaccination", "t": "test", "r": "recovery"}
DAY_S: Final = 86_400
# Extended key usages a document signer may carry to restrict what it signs (EU DCC spec, with the
# variant under .0.1847 that some member states issued); a signer with none of them signs all kinds.
KIND_USAGES: Final[Mapping[str, frozenset[str]]] = {
    "test": frozenset({"1.3.6.1.4.1.1847.2021.1.1", "1.3.6.1.4.1.0.1847.2021.1.1"}),
    "vaccination": frozenset({"1.3.6.1.4.1.1847.2021.1.2", "1.3.6.1.4.1.0.1847.2021.1.2"}),
    "recovery": frozenset({"1.3.6.1.4.1.1847.2021.1.3", "1.3.6.1.4.1.0.1847.2021.1.3"}),
}
ALL_USAGES: Final = frozenset().union(*KIND_USAGES.values())


def _text(value: object, what: str, *, max_len: int = 80) -> str:
    if not isinstance(value, str) or not value or len(value) > max_len:
        raise _bad(f"{what} is not a text string of 1 to {max_len} characters")
    return value


def _date(value: object, what: str) -> dt.date:
    """An ISO 8601 calendar date (`YYYY-MM-DD`), as the DCC schema writes `dt`, `fr`, `df`, `du`."""
    text = _text(value, what, max_len=10)
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise _bad(f"{what} is not a YYYY-MM-DD date") from exc


def _instant(value: object, what: str) -> int:
    """An RFC 3339 date-time with a zone (the DCC's `sc`), as epoch seconds."""
    text = _text(value, what, max_len=40)
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise _bad(f"{what} is not an RFC 3339 date-time") from exc
    if moment.tzinfo is None:
        raise _bad(f"{what} has no time zone")
    return int(moment.timestamp())


def _epoch(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp())


def _masked_name(dcc: Mapping[Any, Any]) -> str | None:
    """Initials only ("M* E*"): enough for staff to see the certificate is not someone else's."""
    nam = dcc.get("nam")
    if not isinstance(nam, Mapping):
        raise _bad("nam is missing or not a map")
    parts = []
    for primary, standard in (("fn", "fnt"), ("gn", "gnt")):
        value = nam.get(primary) or nam.get(standard)
        if value is not None and not isinstance(value, str):
            raise _bad(f"nam.{primary} is not text")
        if value:
            parts.append(value.strip()[:1] + "*")
    if not isinstance(nam.get("fnt"), str) or not nam["fnt"]:
        raise _bad("nam.fnt (the standardised family name) is missing")
    return " ".join(parts) or None


def _entry(dcc: Mapping[Any, Any]) -> tuple[str, Mapping[Any, Any]]:
    """(kind, entry): exactly one of v, t, r, holding exactly one entry, as the schema requires."""
    present = [key for key in ENTRY_KINDS if key in dcc]
    if len(present) != 1:
        raise _bad(f"the certificate holds {len(present)} of v, t, r; exactly one is allowed")
    entries = dcc[present[0]]
    if not isinstance(entries, list | tuple) or len(entries) != 1:
        raise _bad(f"{present[0]} is not an array of exactly one entry")
    entry = _map(entries[0], f"{present[0]}[0]")
    if entry.get("tg") != COVID_19:
        raise _bad(f"{present[0]}[0].tg is not COVID-19 ({COVID_19})")
    return ENTRY_KINDS[present[0]], entry


def parse_certificate(payload: bytes, kid: bytes) -> CovidCertificate:
    """Read the signed payload into a `CovidCertificate`, or raise `claims`."""
    claims = claims_map(payload, ((CLAIM_IAT, "iat (6)"), (CLAIM_EXP, "exp (4)"), (CLAIM_HCERT, "hcert (-260)")))
    iss = claims.get(CLAIM_ISS)
    if iss is not None:
        iss = _text(iss, "iss", max_len=8)
    hcert = _map(claims[CLAIM_HCERT], "hcert")
    if HCERT_DCC not in hcert:
        raise _bad("hcert holds no EU DCC (key 1)")
    dcc = _map(hcert[HCERT_DCC], "hcert[1]")
    if not isinstance(dcc.get("ver"), str) or not dcc["ver"].startswith("1."):
        raise _bad("ver is not a 1.x schema version")
    kind, entry = _entry(dcc)
    fields: dict[str, Any] = {"country": _text(entry.get("co"), "co", max_len=2)}
    if kind == "test":
        fields.update(test_type=_text(entry.get("tt"), "t[0].tt", max_len=20),
                      test_result=_text(entry.get("tr"), "t[0].tr", max_len=20),
                      sample_at=_instant(entry.get("sc"), "t[0].sc"))
    elif kind == "vaccination":
        dose, doses = _uint(entry.get("dn"), "v[0].dn"), _uint(entry.get("sd"), "v[0].sd")
        if not 1 <= dose <= 99 or not 1 <= doses <= 99:
            raise _bad("v[0].dn and v[0].sd must be 1 to 99")
        fields.update(dose=dose, doses=doses, vaccinated_on=_date(entry.get("dt"), "v[0].dt").isoformat())
    else:
        _date(entry.get("fr"), "r[0].fr")
        valid_from, until = _date(entry.get("df"), "r[0].df"), _date(entry.get("du"), "r[0].du")
        if until < valid_from:
            raise _bad("r[0].du is before r[0].df")
        fields.update(valid_from=_epoch(valid_from), valid_until=_epoch(until) + DAY_S - 1)
    return CovidCertificate(iss=iss, iat=_uint(claims[CLAIM_IAT], "iat"), exp=_uint(claims[CLAIM_EXP], "exp"),
                            kid=kid, kind=kind, n=_masked_name(dcc), **fields)


def check_signer(certificate: CovidCertificate, key: TrustedKey) -> None:
    """Refuse, as `signature`, what this document signer had no right to sign.

    The signer's certificate must have been valid when the DCC was issued (`iat`), its extended
    key usages (if it has any of the DCC ones) must cover the entry's kind, and a country named
    in claim 1 must be the one the trust list gives for the signer.
    """
    signer = key.certificate
    if not signer.not_valid_before_utc.timestamp() <= certificate.iat <= signer.not_valid_after_utc.timestamp():
        raise CodeRejected(SIGNATURE, "issued outside the document signer certificate's validity")
    try:
        usages = {oid.dotted_string for oid in signer.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value}
    except x509.ExtensionNotFound:
        usages = set()
    if usages & ALL_USAGES and not usages & KIND_USAGES[certificate.kind]:
        raise CodeRejected(SIGNATURE, f"the document signer may not sign {certificate.kind} certificates")
    if certificate.iss is not None and certificate.iss != key.iss:
        raise CodeRejected(SIGNATURE, f"issued by {certificate.iss}, the trust list lists this signer for {key.iss}")


def check_validity(certificate: CovidCertificate, at: float, *, clock_skew_s: float) -> None:
    """Refuse a certificate that is `expired` or not yet valid (`future`), at the kiosk's clock."""
    if not math.isfinite(at):
        raise CodeRejected(STALE, "the kiosk's clock gave no usable time")
    if not at <= certificate.exp:
        raise CodeRejected(EXPIRED, "exp has passed")
    if not certificate.iat - at <= clock_skew_s:
        raise CodeRejected(FUTURE, f"issued more than {clock_skew_s:g} s in the future")
    if certificate.valid_until is not None and not at <= certificate.valid_until:
        raise CodeRejected(EXPIRED, "the recovery entry's du has passed")
    if certificate.valid_from is not None and not certificate.valid_from - at <= clock_skew_s:
        raise CodeRejected(FUTURE, "the recovery entry's df has not come yet")
