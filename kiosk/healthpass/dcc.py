"""The CWT claims of an EU Digital COVID Certificate (HC1), their validity, and the signer's rights.

HC1 shares every outer layer with THP1 (Base45, zlib, COSE_Sign1); what differs is read here:
claim -260 (`hcert`) holds, under key 1, the DCC itself (schema 1.x: `ver`, `nam`, `dob` and
exactly one of `v`, `t`, `r` with exactly one entry).  Unlike THP1 (our own spec, strictly read),
HC1 certificates come from many issuers that read the specifications differently: the fields a
door decision reads are read robustly (`dcc_fields`), the official schema is run on the whole
payload and its deviations reported (`schema`), and only what leaves the decision unreadable is
refused.  kiosk/healthpass/README.md states the rule and why.

A certificate is long-lived (months), so there is no "stale" for HC1: it is valid from its
`iat` until its `exp`, and a recovery entry also within its `df`..`du`.  Issuers' clocks (and time
zones) differ: an `iat` up to `ISSUER_CLOCK_S` ahead of the kiosk is not "future".
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import math
from collections.abc import Mapping
from typing import Any, Final

import cbor2

from kiosk.healthpass import dcc_fields as fields
from kiosk.healthpass import schema
from kiosk.healthpass.claims import CLAIM_EXP, CLAIM_IAT, CLAIM_ISS, _bad, _map, claims_map
from kiosk.healthpass.errors import EXPIRED, FUTURE, SIGNATURE, STALE, CodeRejected
from kiosk.healthpass.model import CovidCertificate
from kiosk.healthpass.trust import ALL_USAGES, KIND_USAGES, TrustedKey

CLAIM_HCERT: Final = -260
HCERT_DCC: Final = 1  # hcert key 1: the EU DCC v1 schema
COVID_19: Final = "840539006"  # SNOMED CT, the only disease (`tg`) this kiosk reads
ENTRY_KINDS: Final[Mapping[str, str]] = {"v": "vaccination", "t": "test", "r": "recovery"}
DAY_S: Final = 86_400
# The time zones span UTC-12..UTC+14: an issuer whose clock (or zone setting) is wrong by a zone and
# a kiosk wrong the other way put an honest `iat` at most 26 h ahead.  A forged certificate cannot
# be made at all, so the tolerance costs nothing; beyond it, an `iat` in the future is an issuer's error.
ISSUER_CLOCK_S: Final = 26 * 3600


def _entry(dcc: Mapping[Any, Any]) -> tuple[str, Mapping[Any, Any]]:
    """(kind, entry): exactly one of v, t, r, holding exactly one entry, as the schema requires.

    Which kind a certificate is, and for which disease, is what everything else is read by: a
    certificate that does not say it unambiguously is refused.
    """
    present = [key for key in ENTRY_KINDS if key in dcc]
    if len(present) != 1:
        raise _bad(f"the certificate holds {len(present)} of v, t, r; exactly one is allowed")
    entries = dcc[present[0]]
    if not isinstance(entries, list | tuple) or len(entries) != 1:
        raise _bad(f"{present[0]} is not an array of exactly one entry")
    entry = _map(entries[0], f"{present[0]}[0]")
    tg = entry.get("tg")
    if not isinstance(tg, str) or tg.strip() != COVID_19:
        raise _bad(f"{present[0]}[0].tg is not COVID-19 ({COVID_19})")
    return ENTRY_KINDS[present[0]], entry


def _epoch(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp())


def _certificate_id(entry: Mapping[Any, Any], dcc: Mapping[Any, Any]) -> str:
    """The entry's UVCI (`ci`), or a digest of the certificate's canonical content when an issuer left it out."""
    ci = fields.text_or_none(entry.get("ci"), max_len=200)
    if ci is not None:
        return ci
    try:
        canonical = cbor2.dumps(dcc, canonical=True)
    except Exception:  # a value canonical CBOR cannot hold: fall back to its printed form
        canonical = repr(dcc).encode("utf-8", "surrogatepass")
    return "sha256:" + hashlib.sha256(canonical).hexdigest()


def parse_certificate(payload: bytes, kid: bytes) -> CovidCertificate:
    """Read the signed payload into a `CovidCertificate`, or raise `claims` (see `dcc_fields` for the rule)."""
    claims = claims_map(payload, ((CLAIM_IAT, "iat (6)"), (CLAIM_EXP, "exp (4)"), (CLAIM_HCERT, "hcert (-260)")))
    iss = claims.get(CLAIM_ISS)
    hcert = _map(claims[CLAIM_HCERT], "hcert")
    if HCERT_DCC not in hcert:
        raise _bad("hcert holds no EU DCC (key 1)")
    dcc = _map(hcert[HCERT_DCC], "hcert[1]")
    ver = dcc.get("ver")
    if ver is not None and not (isinstance(ver, str) and ver.strip().split(".")[0] == "1"):
        raise _bad("ver is not a 1.x schema version")
    kind, entry = _entry(dcc)
    values: dict[str, Any] = {"country": fields.text_or_none(entry.get("co"), max_len=80)}
    if kind == "test":
        values.update(test_type=fields.text_or_none(entry.get("tt"), max_len=80),
                      test_result=fields.read_test_result(entry.get("tr")),
                      sample_at=fields.instant_or_none(entry.get("sc")))
    elif kind == "vaccination":
        day = fields.date_or_none(entry.get("dt"))
        values.update(dose=fields.count_or_none(entry.get("dn")), doses=fields.count_or_none(entry.get("sd")),
                      vaccinated_on=day.isoformat() if day else None)
    else:
        valid_from = fields.required_date(entry.get("df"), "r[0].df")
        until = fields.required_date(entry.get("du"), "r[0].du")
        if until < valid_from:
            raise _bad("r[0].du is before r[0].df")
        values.update(valid_from=_epoch(valid_from), valid_until=_epoch(until) + DAY_S - 1)
    return CovidCertificate(
        iss=iss if isinstance(iss, str) else None,
        iat=fields.numeric_date(claims[CLAIM_IAT], "iat"), exp=fields.numeric_date(claims[CLAIM_EXP], "exp"),
        kid=kid, kind=kind, n=fields.initials(dcc.get("nam")), certificate_id=_certificate_id(entry, dcc),
        schema_deviations=schema.deviations(dcc, payload), **values)


def check_signer(certificate: CovidCertificate, key: TrustedKey) -> CovidCertificate:
    """Refuse, as `signature`, what this signer had no right to sign; return it as issued by the list's country.

    The signer's certificate must have been valid when the DCC was issued (`iat`), its extended
    key usages (if it has any of the DCC ones; read when the trust list was loaded) must cover
    the entry's kind, and a country code in claim 1 must be the one the trust list gives for the
    signer.  Claim 1 is optional and some issuers write a name there rather than a code: only a
    two-letter code is compared.  Either way the result's `iss` is the trust list's.
    """
    if not key.not_before <= certificate.iat <= key.not_after:
        raise CodeRejected(SIGNATURE, "issued outside the document signer certificate's validity")
    if key.usages & ALL_USAGES and not key.usages & KIND_USAGES[certificate.kind]:
        raise CodeRejected(SIGNATURE, f"the document signer may not sign {certificate.kind} certificates")
    claimed = (certificate.iss or "").strip().upper()
    if len(claimed) == 2 and claimed.isalpha() and claimed != key.iss.strip().upper():
        raise CodeRejected(SIGNATURE, f"issued by {claimed}, the trust list lists this signer for {key.iss}")
    return certificate if certificate.iss == key.iss else dataclasses.replace(certificate, iss=key.iss)


def check_validity(certificate: CovidCertificate, at: float, *, clock_skew_s: float) -> None:
    """Refuse a certificate that is `expired` or not yet valid (`future`), at the kiosk's clock.

    `iat` and `df` may be ahead of the kiosk by the kiosk's own skew or the issuers' clock
    differences (`ISSUER_CLOCK_S`), whichever is larger.
    """
    if not math.isfinite(at):
        raise CodeRejected(STALE, "the kiosk's clock gave no usable time")
    ahead = max(clock_skew_s, ISSUER_CLOCK_S)
    if not at <= certificate.exp:
        raise CodeRejected(EXPIRED, "exp has passed")
    if not certificate.iat - at <= ahead:
        raise CodeRejected(FUTURE, f"issued more than {ahead:g} s in the future")
    if certificate.valid_until is not None and not at <= certificate.valid_until:
        raise CodeRejected(EXPIRED, "the recovery entry's du has passed")
    if certificate.valid_from is not None and not certificate.valid_from - at <= ahead:
        raise CodeRejected(FUTURE, "the recovery entry's df has not come yet")
