"""Write the hardening corpus: seed inputs for both formats, each with the error a kiosk must give.

    .venv/bin/python tests/corpus/make_corpus.py      # rewrites tests/corpus/seeds/ and expected.json

The expected error of every entry is stated here by hand, from the spec (never computed by the
verifier under test); `tests/test_healthpass_corpus.py` replays the whole corpus against it, and
the atheris harness (`tests/healthpass/fuzz_verify.py`) starts from the same seeds.  The keys in `keys/` are
test keys made for this corpus only (their certificates are in `trust-list.json`).
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import base45
import cbor2
from cryptography.hazmat.primitives import serialization

HERE = Path(__file__).resolve().parent
AT = 1_765_900_000  # the clock every entry is verified at (2025-12-16T15:46:40Z)
DAY = 86_400


def _ber_signer() -> Any:
    """An HC1 signer (AT) whose certificate loads but whose extensions `cryptography` will not parse.

    Its KeyUsage BIT STRING sets a padding bit (BER, not DER), as some national CAs' certificates
    do; reading such a signer's rights once raised "unexpected ValueError" at verification.
    """
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    from kiosk.healthpass.dcc_issuer import DccTestIssuer

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "corpus DSC with BER"),
                      x509.NameAttribute(NameOID.COUNTRY_NAME, "AT")])
    der = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
           .serial_number(11).not_valid_before(dt.datetime(2025, 1, 1)).not_valid_after(dt.datetime(2030, 1, 1))
           .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
           .sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER))
    lax = x509.load_der_x509_certificate(der.replace(b"\x03\x02\x07\x80", b"\x03\x02\x07\x81"))
    return DccTestIssuer("ES256", iss="AT", private_key=key, certificate=lax)


def _issuers() -> dict[str, Any]:
    """The corpus's five issuers, from the stored test keys (made on first run)."""
    from kiosk.healthpass.dcc_issuer import DccTestIssuer
    from kiosk.healthpass.issuer import TestIssuer

    made: dict[str, Any] = {}
    specs: dict[str, tuple[type, str, str]] = {"thp-es256": (TestIssuer, "ES256", "CN-HN"),
                                               "thp-eddsa": (TestIssuer, "EdDSA", "CN-HN"),
                                               "dcc-es256": (DccTestIssuer, "ES256", "DE"),
                                               "dcc-ps256": (DccTestIssuer, "PS256", "FR"),
                                               "dcc-ber": (DccTestIssuer, "ES256", "AT")}
    keys = HERE / "keys"
    keys.mkdir(exist_ok=True)
    for name, (cls, alg, iss) in specs.items():
        key_path, cert_path = keys / f"{name}-key.pem", keys / f"{name}-cert.pem"
        if key_path.exists():
            made[name] = cls.from_files(key_path, cert_path, iss=iss)
            continue
        issuer = _ber_signer() if name == "dcc-ber" else cls(alg, iss=iss)
        key_path.write_bytes(issuer.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        cert_path.write_bytes(issuer.certificate.public_bytes(serialization.Encoding.PEM))
        made[name] = issuer
    return made


def _text(cose: bytes, prefix: str = "THP1:", *, compress: bool = True) -> str:
    from kiosk.healthpass.issuer import encode_text

    return encode_text(cose, compress=compress, prefix=prefix)


def _dcc_changed(claims: dict[Any, Any], **entry: Any) -> dict[Any, Any]:
    """The claims with fields of their one entry replaced."""
    dcc = claims[-260][1]
    kind = next(k for k in ("v", "t", "r") if k in dcc)
    dcc[kind][0].update(entry)
    return claims


def _deep(levels: int) -> bytes:
    """CBOR arrays nested `levels` deep around a 0: the shape of a stack-exhaustion attack."""
    return b"\x81" * levels + b"\x00"


def entries() -> dict[str, tuple[str | bytes, str | None]]:
    """name → (QR text, or raw bytes as a camera might hand over; the expected error, None for valid)."""
    iss = _issuers()
    thp, ed, de, fr, ber = iss["thp-es256"], iss["thp-eddsa"], iss["dcc-es256"], iss["dcc-ps256"], iss["dcc-ber"]
    thp_claims = thp.claims("G", sid="corpus-sid", name="张*卿", iat=AT - 30, exp=AT + 3600,
                            trip_areas=["430626"], nat=AT - DAY)
    green = thp.issue("G", sid="corpus-sid", name="张*卿", iat=AT - 30, exp=AT + 3600, trip_areas=["430626"],
                      nat=AT - DAY)
    vacc_claims = de.dcc_claims("vaccination", iat=AT - 30 * DAY, exp=AT + 300 * DAY)
    vacc = _text(de.sign(vacc_claims), "HC1:")
    test_cert = fr.issue_dcc("test", iat=AT - 3600, exp=AT + 2 * DAY, sample_at=AT - 3600)
    cose_green = zlib.decompress(base45.b45decode(green[5:]))
    cose_vacc = zlib.decompress(base45.b45decode(vacc[4:]))
    sign1 = cbor2.loads(cose_green).value

    def flip_compressed(text: str, prefix: str, index: int) -> str:
        data = bytearray(base45.b45decode(text[len(prefix):]))
        data[index] ^= 0x10
        return prefix + base45.b45encode(bytes(data)).decode()

    def flip_cose(cose: bytes, prefix: str, index: int) -> str:
        data = bytearray(cose)
        data[index] ^= 0x01
        return _text(bytes(data), prefix)

    def resigned(mutate: Callable[[list[Any]], None]) -> str:
        parts = list(sign1)
        mutate(parts)
        return _text(cbor2.dumps(cbor2.CBORTag(18, parts)))

    bomb = zlib.compress(b"\x00" * 1_000_000, 9)
    out: dict[str, tuple[str | bytes, str | None]] = {
        # valid, one per format and alg
        "valid-thp1-es256": (green, None),
        "valid-thp1-eddsa": (ed.issue("Y", sid="corpus-sid-2", iat=AT - 5, exp=AT + 600), None),
        "valid-hc1-es256-vaccination": (vacc, None),
        "valid-hc1-ps256-test": (test_cert, None),
        "valid-hc1-es256-recovery": (de.issue_dcc("recovery", iat=AT - DAY, exp=AT + 90 * DAY,
                                                  valid_from="2025-12-01", valid_until="2026-05-31"), None),
        "valid-hc1-kid-unprotected": (de.issue_dcc("vaccination", iat=AT - DAY, exp=AT + DAY,
                                                   kid_in_unprotected=True), None),
        # valid, encoded the ways member states do (issue 15)
        "valid-hc1-cwt-tag61": (_text(fr.sign(vacc_claims | {1: "FR"}, cwt_tag=True), "HC1:"), None),
        "valid-thp1-cwt-tag61": (_text(thp.sign(thp_claims, cwt_tag=True)), None),
        "valid-hc1-float-dates": (_text(de.sign({**vacc_claims, 6: AT - 30 * DAY + 0.5, 4: AT + 300.0 * DAY}),
                                        "HC1:"), None),
        "valid-hc1-kid-both-headers": (_text(de.sign(vacc_claims, unprotected={4: b"\x00" * 8}), "HC1:"), None),
        "valid-hc1-high-s": (_text(de.sign(vacc_claims, high_s=True), "HC1:"), None),
        "valid-thp1-high-s": (_text(thp.sign(thp_claims, high_s=True)), None),
        "valid-hc1-issuer-clock-ahead": (de.issue_dcc("vaccination", iat=AT + 3 * 3600, exp=AT + DAY), None),
        "valid-hc1-ber-signer": (ber.issue_dcc("vaccination", iat=AT - DAY, exp=AT + DAY), None),
        "valid-hc1-schema-deviations": (_text(de.sign(_dcc_changed(
            de.dcc_claims("test", iat=AT - 3600, exp=AT + DAY, sample_at=AT - 3600),
            co="Deutschland", tr="260415000 (not detected)", sc="2025-12-16T14:46:40.123456789+00:00")),
            "HC1:"), None),
        # the text itself
        "empty": ("", "prefix"),
        "prefix-only-thp1": ("THP1:", "zlib"),
        "prefix-only-hc1": ("HC1:", "zlib"),
        "lowercase-prefix": ("thp1:" + green[5:], "prefix"),
        "url": ("https://example.org/?THP1:" + green[5:], "prefix"),
        "leading-space": (" " + green, "prefix"),
        "non-ascii": ("THP1:健康码", "base45"),
        "nul-bytes": ("THP1:\x00\x00\x00", "base45"),
        "invalid-utf8": (b"THP1:\xff\xfe\x80", "base45"),
        "base45-bad-length": ("THP1:ABCD", "base45"),  # 4 chars: a length Base45 cannot have
        "base45-overflow": ("THP1:::: ", "base45"),  # a triple above 65535
        "oversized-text": ("THP1:" + "0" * 5000, "too_large"),
        "oversized-text-hc1": ("HC1:" + "0" * 5000, "too_large"),
        # truncated at every layer's boundary
        "truncated-half-thp1": (green[: len(green) // 2 // 3 * 3 + 5], "zlib"),
        "truncated-half-hc1": (vacc[: len(vacc) // 2 // 3 * 3 + 4], "zlib"),
        "truncated-last-bytes": ("THP1:" + base45.b45encode(zlib.compress(cose_green)[:-2]).decode(), "zlib"),
        "truncated-mid-group": (green[:-1] if len(green[5:]) % 3 == 2 else green[:-2], "base45"),
        # bit flips in the compressed stream, the COSE structure, the signature, the payload
        "bitflip-zlib-header": (flip_compressed(green, "THP1:", 0), "zlib"),
        "bitflip-zlib-checksum": (flip_compressed(green, "THP1:", -1), "zlib"),
        "bitflip-cose-signature": (flip_cose(cose_green, "THP1:", len(cose_green) - 5), "signature"),
        "bitflip-hc1-signature": (flip_cose(cose_vacc, "HC1:", len(cose_vacc) - 5), "signature"),
        "tampered-thp1-payload": (resigned(lambda p: p.__setitem__(2, p[2].replace(b"430626", b"430627"))),
                                 "signature"),
        "bitflip-hc1-payload": (flip_cose(cose_vacc, "HC1:", cose_vacc.find(b"Musterfrau") + 1), "signature"),
        # not compressed, or compressed wrongly
        "uncompressed-thp1": (_text(cose_green, compress=False), "zlib"),
        "uncompressed-hc1": (_text(cose_vacc, "HC1:", compress=False), "zlib"),
        "raw-deflate": ("THP1:" + base45.b45encode(zlib.compress(cose_green)[2:-4]).decode(), "zlib"),
        "trailing-after-zlib": ("THP1:" + base45.b45encode(zlib.compress(cose_green) + b"\x00").decode(), "zlib"),
        # oversized after inflation (zip bombs) and deeply nested CBOR
        "zip-bomb-thp1": ("THP1:" + base45.b45encode(bomb).decode(), "too_large"),
        "zip-bomb-hc1": ("HC1:" + base45.b45encode(bomb).decode(), "too_large"),
        "nested-cbor-100": (_text(_deep(100)), "cbor"),
        "nested-cbor-3000": (_text(_deep(3000)), "cbor"),
        "nested-maps-in-protected": (resigned(lambda p: p.__setitem__(0, b"\xa1\x01" * 200 + b"\x00")), "cose"),
        "nested-in-signed-claims": (_text(thp.sign(_deep(40))), "claims"),
        "nested-in-signed-dcc": (_text(de.sign(cbor2.dumps({6: AT, 4: AT + DAY, -260: {1: 0}})[:-1] + _deep(40)),
                                       "HC1:"), "claims"),
        "cbor-huge-length": (_text(b"\x9b\xff\xff\xff\xff\xff\xff\xff\xff"), "cbor"),
        "cbor-indefinite-unterminated": (_text(b"\x9f\x01\x02"), "cbor"),
        "cbor-trailing-bytes": (_text(cose_green + b"\x00"), "cbor"),
        "cbor-duplicate-claim": (_text(thp.sign(b"\xa5" + cbor2.dumps(thp_claims)[1:] + b"\x04\x00")), "claims"),
        # COSE shape and algorithm
        "cose-wrong-tag": (_text(cbor2.dumps(cbor2.CBORTag(98, list(sign1)))), "cose"),
        "cose-three-items": (_text(cbor2.dumps(list(sign1)[:3])), "cose"),
        "cose-detached-payload": (resigned(lambda p: p.__setitem__(2, None)), "cose"),
        "cose-crit-header": (_text(thp.sign(thp_claims, protected={1: -7, 2: [99], 4: thp.kid})), "cose"),
        "wrong-alg-ps256-on-thp1": (_text(thp.sign(thp_claims, protected={1: -37, 4: thp.kid})), "cose"),
        "wrong-alg-none": (_text(thp.sign(thp_claims, protected={1: 0, 4: thp.kid})), "cose"),
        "wrong-alg-rs256-hc1": (_text(fr.sign(vacc_claims, protected={1: -257, 4: fr.kid}), "HC1:"), "cose"),
        "wrong-alg-eddsa-says-es256": (_text(ed.sign(thp_claims, protected={1: -7, 4: ed.kid})), "signature"),
        "wrong-alg-unprotected": (_text(thp.sign(thp_claims, protected={4: thp.kid}, unprotected={1: -7})), "cose"),
        "der-signature": (_text(thp.sign(thp_claims, der_signature=True)), "signature"),
        "no-kid": (_text(thp.sign(thp_claims, protected={1: -7})), "cose"),
        # forged: keys and formats
        "unknown-kid": (resigned(lambda p: p.__setitem__(0, cbor2.dumps({1: -7, 4: b"\x00" * 8}))), "unknown_kid"),
        "thp1-body-hc1-prefix": ("HC1:" + green[5:], "unknown_kid"),
        "hc1-body-thp1-prefix": ("THP1:" + vacc[4:], "unknown_kid"),
        "signature-zeroed": (resigned(lambda p: p.__setitem__(3, b"\x00" * 64)), "signature"),
        "signature-empty": (resigned(lambda p: p.__setitem__(3, b"")), "signature"),
        "hc1-country-mismatch": (_text(de.sign({**vacc_claims, 1: "FR"}), "HC1:"), "signature"),
        "thp1-issuer-mismatch": (_text(thp.sign({**thp_claims, 1: "CN-BJ"})), "signature"),
        "hc1-test-result-unreadable": (_text(de.sign(_dcc_changed(
            de.dcc_claims("test", iat=AT - 3600, exp=AT + DAY), tr="negative")), "HC1:"), "claims"),
        "hc1-nan-date": (_text(de.sign({**vacc_claims, 4: float("nan")}), "HC1:"), "claims"),
        # claims and time
        "thp1-claims-not-a-map": (_text(thp.sign([1, 2, 3])), "claims"),
        "thp1-colour-blue": (_text(thp.sign({**thp_claims, -261: {**thp_claims[-261], "c": "B"}})), "claims"),
        "hc1-no-entry": (_text(de.sign({**vacc_claims, -260: {1: {"ver": "1.3.0", "nam": {"fnt": "X"}}}}), "HC1:"),
                         "claims"),
        "thp1-expired": (thp.issue("G", sid="s", iat=AT - 7200, exp=AT - 3600), "expired"),
        "thp1-stale": (thp.issue("G", sid="s", iat=AT - 7200, exp=AT + 3600), "stale"),
        "thp1-future": (thp.issue("G", sid="s", iat=AT + 7200, exp=AT + 9000), "future"),
        "hc1-expired": (de.issue_dcc("vaccination", iat=AT - 300 * DAY, exp=AT - DAY), "expired"),
        "hc1-before-signer-valid": (de.issue_dcc("vaccination", iat=AT - 400 * DAY, exp=AT + DAY), "signature"),
        "hc1-future": (fr.issue_dcc("test", iat=AT + 3 * DAY, exp=AT + 5 * DAY), "future"),
    }
    return out


def write() -> None:
    iss = _issuers()
    trust = {"version": 1, "issued_at": AT - DAY, "keys": [issuer.trust_entry() for issuer in iss.values()]}
    (HERE / "trust-list.json").write_text(json.dumps(trust, indent=1) + "\n")
    seeds = HERE / "seeds"
    seeds.mkdir(exist_ok=True)
    for old in seeds.iterdir():
        old.unlink()
    expected: dict[str, Any] = {"at": AT, "entries": {}}
    for name, (text, error) in entries().items():
        data = text if isinstance(text, bytes) else text.encode("utf-8")
        (seeds / name).write_bytes(data)
        expected["entries"][name] = error
    (HERE / "expected.json").write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")
    print(f"{len(expected['entries'])} entries, {sum(len(p.read_bytes()) for p in seeds.iterdir())} bytes; "
          f"trust list kids: {[base64.b64decode(k['kid']).hex() for k in trust['keys']]}")


if __name__ == "__main__":
    write()
