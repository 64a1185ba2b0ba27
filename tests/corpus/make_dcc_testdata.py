"""Write EU DCC test data in the format of the member states' public test-data repository, signed by our own issuers.

    .venv/bin/python tests/corpus/make_dcc_testdata.py DIR

One file per way real certificates were refused or misread (issue 15) and per usual failure, with the
`EXPECTEDRESULTS` flags the real test data would give it, plus a copy of the real entries in
`tests/corpus/dcc-testdata/`.  `tests/corpus/dcc_testdata.py` reads such a tree and runs it through
`kiosk code verify --batch`; the keys are made at each run (nothing here is a stored fixture).
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REAL = HERE / "dcc-testdata"  # real entries of the public test data (see NOTICE there)
CLOCK = dt.datetime(2021, 6, 1, 10, 0, tzinfo=dt.UTC)  # the generated corpus's validation clock
DAY = 86_400


def _iso(moment: float) -> str:
    return dt.datetime.fromtimestamp(moment, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _png(text: str) -> str:
    import segno

    out = io.BytesIO()
    segno.make_qr(text, error="q").save(out, kind="png", scale=3, border=4)
    return base64.b64encode(out.getvalue()).decode()


def _ber_signer(country: str, usages: list[str]) -> Any:
    """A document signer whose certificate loads but whose extensions `cryptography` will not parse (BER KeyUsage)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    from kiosk.healthpass.dcc_issuer import DccTestIssuer

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{country} DSC (BER)"),
                      x509.NameAttribute(NameOID.COUNTRY_NAME, country)])
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
               .serial_number(x509.random_serial_number()).not_valid_before(dt.datetime(2021, 1, 1))
               .not_valid_after(dt.datetime(2031, 1, 1))
               .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False),
                              critical=True))
    if usages:
        builder = builder.add_extension(x509.ExtendedKeyUsage([x509.ObjectIdentifier(u) for u in usages]),
                                        critical=False)
    der = builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
    lax = x509.load_der_x509_certificate(der.replace(b"\x03\x02\x07\x80", b"\x03\x02\x07\x81"))
    return DccTestIssuer("ES256", iss=country, private_key=key, certificate=lax)


def _cases() -> Iterator[tuple[str, str, Any, str, dict[str, Any], float, dict[str, bool]]]:
    """(file, description, signer whose certificate is the context's, QR text, DCC, clock, expected flags)."""
    import cbor2

    from kiosk.healthpass.dcc_issuer import DccTestIssuer
    from kiosk.healthpass.issuer import encode_text
    from kiosk.healthpass.trust import KIND_USAGES

    start = dt.datetime(2021, 1, 1, tzinfo=dt.UTC)
    signers = {country: DccTestIssuer(alg, iss=country, valid_from=start, common_name=f"{country} test DSC")
               for country, alg in (("DE", "ES256"), ("FR", "PS256"), ("IT", "ES256"), ("NL", "ES256"),
                                    ("SE", "ES256"), ("ES", "PS256"), ("PL", "ES256"), ("BE", "ES256"),
                                    ("IE", "ES256"), ("AT", "ES256"))}
    ber_any = _ber_signer("AT", [])
    ber_tests = _ber_signer("AT", sorted(KIND_USAGES["test"]))
    clock = CLOCK.timestamp()
    iat, exp = clock - 7 * DAY, clock + 300 * DAY

    def claims(signer: Any, kind: str = "vaccination", **changes: Any) -> dict[Any, Any]:
        made = signer.dcc_claims(kind, iat=int(changes.pop("iat", iat)), exp=int(changes.pop("exp", exp)),
                                 sample_at=int(clock - 6 * 3600), valid_from="2021-05-01", valid_until="2021-10-30")
        entry = next(made[-260][1][k][0] for k in ("v", "t", "r") if k in made[-260][1])
        for key, value in changes.items():
            if key == "iss":
                made[1] = value
            elif key in ("iat_float", "exp_float"):
                made[6 if key == "iat_float" else 4] = value
            else:
                entry[key] = value
        return made

    def text(signer: Any, made: dict[Any, Any], **sign: Any) -> str:
        return encode_text(signer.sign(made, **sign), prefix="HC1:")

    ok: dict[str, bool] = {}
    de, fr, it, nl, se, es, pl, be, ie, at = (signers[c] for c in ("DE", "FR", "IT", "NL", "SE", "ES", "PL", "BE",
                                                                  "IE", "AT"))
    cases: list[tuple[str, str, Any, dict[Any, Any], str, dict[str, bool]]] = []

    def add(file: str, description: str, signer: Any, made: dict[Any, Any], qr: str, **flags: bool) -> None:
        cases.append((file, description, signer, made, qr, {**ok, **flags}))

    # valid, as member states encode them
    m = claims(de)
    add("DE/2DCode/raw/1.json", "vaccination, ES256", de, m, text(de, m))
    m = claims(fr, "test")
    add("FR/2DCode/raw/1.json", "test, PS256", fr, m, text(fr, m))
    m = claims(it, "recovery")
    add("IT/2DCode/raw/1.json", "recovery", it, m, text(it, m))
    m = claims(at, iat_float=iat + 0.25, exp_float=float(exp))
    add("AT/2DCode/raw/2.json", "NumericDates as float64 (RFC 8392)", at, m, text(at, m))
    m = claims(nl)
    add("NL/2DCode/raw/1.json", "CWT tag 61 around COSE_Sign1", nl, m, text(nl, m, cwt_tag=True))
    m = claims(se)
    add("SE/2DCode/raw/1.json", "kid in the unprotected header", se, m, text(se, m, kid_in_unprotected=True))
    m = claims(se)
    add("SE/2DCode/raw/2.json", "kid in both headers, the protected one right", se, m,
        text(se, m, unprotected={4: b"\x01" * 8}))
    m = claims(es, co="ESP")
    add("ES/2DCode/raw/1.json", "co of three letters", es, m, text(es, m))
    m = claims(es, co="es")
    add("ES/2DCode/raw/2.json", "co in lower case (schema)", es, m, text(es, m), EXPECTEDSCHEMAVALIDATION=False)
    m = claims(pl, "test", tr="260415000 Not detected")
    add("PL/2DCode/raw/1.json", "tr with its display text", pl, m, text(pl, m))
    m = claims(pl, dt="2021-05-20T00:00:00")
    add("PL/2DCode/raw/2.json", "dt as a date-time (schema)", pl, m, text(pl, m), EXPECTEDSCHEMAVALIDATION=False)
    m = claims(be, "test", sc="2021-06-01T05:59:59.123456789+01:00[Europe/Brussels]")
    add("BE/2DCode/raw/1.json", "sc as Java's ZonedDateTime writes it (schema)", be, m, text(be, m),
        EXPECTEDSCHEMAVALIDATION=False)
    m = claims(ie, iss="Health Service Executive")
    add("IE/2DCode/raw/1.json", "iss a name, not a country code", ie, m, text(ie, m))
    m = claims(de, iat=clock + 3 * 3600)
    add("DE/2DCode/raw/2.json", "issued 3 h ahead of the validation clock (issuer's clock)", de, m, text(de, m))
    m = claims(nl)
    add("NL/2DCode/raw/2.json", "ES256 signature with s above n/2", nl, m, text(nl, m, high_s=True))
    m = claims(ber_any)
    add("AT/2DCode/raw/3.json", "signer certificate with a BER KeyUsage", ber_any, m, text(ber_any, m))
    m = claims(ber_tests, "test")
    add("AT/2DCode/raw/4.json", "BER signer limited to tests, a test", ber_tests, m, text(ber_tests, m))
    m = claims(de, nam={"fnt": "musterfrau"}, dob="1800-01-01")
    add("DE/2DCode/raw/3.json", "name and birth date against the schema", de, m, text(de, m),
        EXPECTEDSCHEMAVALIDATION=False)
    # invalid
    m = claims(de)
    good = cbor2.loads(de.sign(m)).value
    forged = cbor2.dumps(cbor2.CBORTag(18, [good[0], good[1], cbor2.dumps({**m, 4: exp + DAY}), good[3]]))
    add("DE/2DCode/raw/4.json", "payload changed after signing", de, m, encode_text(forged, prefix="HC1:"),
        EXPECTEDVERIFY=False)
    m = claims(de, iat=clock - 400 * DAY, exp=clock - DAY)
    add("DE/2DCode/raw/5.json", "expired", de, m, text(de, m), EXPECTEDEXPIRATIONCHECK=False)
    m = claims(de, iat=clock + 200 * DAY, exp=clock + 400 * DAY)
    add("DE/2DCode/raw/6.json", "issued after the validation clock", de, m, text(de, m),
        EXPECTEDEXPIRATIONCHECK=False)
    stranger = DccTestIssuer("ES256", iss="FR", valid_from=start, common_name="FR key in no test context")
    m = claims(stranger)
    add("FR/2DCode/raw/2.json", "signed by another key than the context's", fr, m, text(stranger, m),
        EXPECTEDVERIFY=False)
    m = claims(ber_tests)
    add("AT/2DCode/raw/5.json", "signer limited to tests, a vaccination", ber_tests, m, text(ber_tests, m),
        EXPECTEDKEYUSAGE=False)
    m = claims(it)
    add("IT/2DCode/raw/2.json", "not compressed", it, m, encode_text(it.sign(m), compress=False, prefix="HC1:"),
        EXPECTEDCOMPRESSION=False)
    m = claims(it)
    add("IT/2DCode/raw/3.json", "Base45 broken", it, m, text(it, m)[:-1] + "a", EXPECTEDB45DECODE=False)
    m = claims(it)
    add("IT/2DCode/raw/4.json", "wrong prefix", it, m, "HC2:" + text(it, m)[4:], EXPECTEDUNPREFIX=False)
    m = claims(nl)
    add("NL/2DCode/raw/3.json", "payload not a claims map", nl, m,
        encode_text(nl.sign(cbor2.dumps([m[6], m[4]])), prefix="HC1:"), EXPECTEDVALIDOBJECT=False)
    m = claims(se)
    add("SE/2DCode/raw/3.json", "ES256 signature in DER", se, m, text(se, m, der_signature=True),
        EXPECTEDVERIFY=False)
    for file, description, signer, made, qr, flags in cases:
        yield file, description, signer, qr, made, clock, flags


def generate(root: Path) -> int:
    """Write the generated corpus under `root` (and copy the real entries); returns the number of files."""
    import base45
    import cbor2
    from cryptography.hazmat.primitives import serialization

    from kiosk.healthpass.schema import as_json

    count = 0
    for file, description, signer, qr, made, clock, flags in _cases():
        readable = all(flags.get(flag, True) for flag in ("EXPECTEDB45DECODE", "EXPECTEDCOMPRESSION",
                                                          "EXPECTEDUNPREFIX"))
        cose = zlib.decompress(base45.b45decode(qr[4:])) if readable else b""
        entry = {
            "JSON": as_json(made.get(-260, {}).get(1, {})) if isinstance(made, dict) else None,
            "CBOR": cbor2.dumps(made).hex(),
            "COSE": cose.hex(),
            "PREFIX": qr,
            "2DCODE": _png(qr),
            "TESTCTX": {"VERSION": 1, "SCHEMA": "1.3.0", "VALIDATIONCLOCK": _iso(clock), "DESCRIPTION": description,
                        "CERTIFICATE": base64.b64encode(signer.certificate.public_bytes(
                            serialization.Encoding.DER)).decode()},
            "EXPECTEDRESULTS": {"EXPECTEDVALIDOBJECT": True, "EXPECTEDSCHEMAVALIDATION": True,
                                "EXPECTEDENCODE": True, "EXPECTEDDECODE": True, "EXPECTEDVERIFY": True,
                                "EXPECTEDUNPREFIX": True, "EXPECTEDVALIDJSON": True, "EXPECTEDCOMPRESSION": True,
                                "EXPECTEDB45DECODE": True, "EXPECTEDPICTUREDECODE": True,
                                "EXPECTEDEXPIRATIONCHECK": True, "EXPECTEDKEYUSAGE": True, **flags},
        }
        path = root / file
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(entry, indent=1, ensure_ascii=False) + "\n")
        count += 1
    for real in sorted(REAL.rglob("*.json")):
        target = root / "real" / real.relative_to(REAL)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(real.read_bytes())
        count += 1
    return count


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parents[1]))
    target = Path(sys.argv[1])
    print(f"{generate(target)} files in {target}")
