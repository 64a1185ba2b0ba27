"""EU DCC test data in the format of the member states' public test-data repository, and its run through the CLI.

The eHealth Network's `dgc-testdata` repository holds, per country, JSON files such as
`AT/2DCode/raw/1.json`: the QR text (`PREFIX`), its layers (`COSE`, `CBOR`, `JSON`, …), a test context
(`TESTCTX.CERTIFICATE`, the document signer's DER in base64, and `TESTCTX.VALIDATIONCLOCK`) and the
expected outcome of each verification step (`EXPECTEDRESULTS.EXPECTEDVERIFY`, …).  That repository is
not on any registry this project can reach (PyPI, npm and Debian were searched; python-cwt's sdist
carries one of its entries, `real/AT/2DCode/raw/1.json` beside this file), so:

- `generate(root)` writes a faithful corpus in that format, signed by our own DCC test issuers, with a
  case for every way real certificates were refused or misread (issue 15) and the usual failures;
- `load(root)` reads any tree in that format (the real repository too, if one is at hand);
- `write_batch` maps it to `kiosk code verify --trust TRUST --batch IN.jsonl`: the trust list holds one
  HC1 entry per distinct `TESTCTX.CERTIFICATE` (kid = SHA-256 of the DER, first 8 bytes; iss = the
  certificate's country, else the country folder; ES256 or PS256 by key type), each line is
  `{"id": <file>, "text": PREFIX, "at": VALIDATIONCLOCK in epoch seconds}`;
- `run` runs the batch through a checkout's CLI and compares verdicts.

The expected verdict of a file is "valid" when every step a verifier performs is expected to succeed:
EXPECTEDUNPREFIX, EXPECTEDB45DECODE, EXPECTEDCOMPRESSION, EXPECTEDDECODE, EXPECTEDVALIDOBJECT,
EXPECTEDVERIFY, EXPECTEDKEYUSAGE and EXPECTEDEXPIRATIONCHECK (an absent flag is no expectation).
EXPECTEDSCHEMAVALIDATION is not among them: a schema deviation is reported, not refused
(kiosk/healthpass/README.md); EXPECTEDENCODE and EXPECTEDVALIDJSON judge the issuer's encoder.

    .venv/bin/python tests/corpus/dcc_testdata.py generate DIR
    .venv/bin/python tests/corpus/dcc_testdata.py run DIR [--checkout PATH]   # verdict rate, mismatches
"""

from __future__ import annotations

import argparse
import base64
import binascii
import dataclasses
import datetime as dt
import hashlib
import io
import json
import os
import subprocess
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
REAL = HERE / "dcc-testdata"  # real entries of the public test data (see NOTICE there)
VERDICT_FLAGS = ("EXPECTEDUNPREFIX", "EXPECTEDB45DECODE", "EXPECTEDCOMPRESSION", "EXPECTEDDECODE",
                 "EXPECTEDVALIDOBJECT", "EXPECTEDVERIFY", "EXPECTEDKEYUSAGE", "EXPECTEDEXPIRATIONCHECK")
CLOCK = dt.datetime(2021, 6, 1, 10, 0, tzinfo=dt.UTC)  # the generated corpus's validation clock
DAY = 86_400


# ------------------------------------------------------------------------------------------ reading


@dataclasses.dataclass(frozen=True)
class Case:
    """One test-data file as the kiosk's command line is given it."""

    ident: str
    text: str | None
    at: float | None
    certificate: bytes | None
    country: str
    expected_valid: bool
    schema_valid: bool | None
    picture: bytes | None = None  # the PNG of `2DCODE`, when the file has one


def parse_clock(value: object) -> float | None:
    """VALIDATIONCLOCK (ISO 8601 as the files write it: Z, offsets, fractions) in epoch seconds."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("z", "Z").replace("Z", "+00:00")
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).timestamp()


def _text_of(entry: dict[str, Any]) -> str | None:
    prefix = entry.get("PREFIX")
    if isinstance(prefix, str) and prefix:
        return prefix
    cose = entry.get("COSE")  # a file without the QR text: build it the way the spec says
    if isinstance(cose, str) and cose:
        import base45

        try:
            return "HC1:" + base45.b45encode(zlib.compress(binascii.unhexlify(cose), 9)).decode()
        except (binascii.Error, ValueError):
            return None
    return None


def load(root: Path) -> list[Case]:
    """Every JSON file under `root` in the test-data format, sorted by path."""
    cases = []
    for path in sorted(root.rglob("*.json")):
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(entry, dict) or "EXPECTEDRESULTS" not in entry:
            continue
        context = entry.get("TESTCTX") or {}
        expected = entry.get("EXPECTEDRESULTS") or {}
        try:
            certificate = base64.b64decode(context.get("CERTIFICATE") or "", validate=True) or None
        except (binascii.Error, ValueError):
            certificate = None
        relative = path.relative_to(root)
        try:
            picture = base64.b64decode(entry.get("2DCODE") or "", validate=True) or None
        except (binascii.Error, ValueError):
            picture = None
        cases.append(Case(
            ident=relative.as_posix(), text=_text_of(entry), at=parse_clock(context.get("VALIDATIONCLOCK")),
            certificate=certificate, country=relative.parts[0] if len(relative.parts) > 1 else "",
            expected_valid=all(expected.get(flag, True) is not False for flag in VERDICT_FLAGS),
            schema_valid=expected.get("EXPECTEDSCHEMAVALIDATION"), picture=picture,
        ))
    return cases


def trust_entry(der: bytes, country: str) -> dict[str, Any] | None:
    """The HC1 trust-list entry for a document signer's certificate, or None if the kiosk cannot use its key."""
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import NameOID

    try:
        certificate = x509.load_der_x509_certificate(der)
        key = certificate.public_key()
        names = certificate.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)
    except Exception:
        return None
    alg = "ES256" if isinstance(key, ec.EllipticCurvePublicKey) else "PS256" if isinstance(key, rsa.RSAPublicKey) \
        else None
    if alg is None:
        return None
    iss = str(names[0].value) if names else country
    return {"kid": base64.b64encode(hashlib.sha256(der).digest()[:8]).decode(), "iss": iss or country or "EU",
            "alg": alg, "format": "HC1", "certificate": base64.b64encode(der).decode()}


def write_batch(cases: list[Case], directory: Path, *, images: bool = False) -> tuple[Path, Path, list[Case]]:
    """(trust list, batch file, the cases in it): cases without a text are left out; certificates deduplicated.

    With `images`, a case with a picture is given as that picture (written beside the batch).
    """
    keys: dict[str, dict[str, Any]] = {}
    for case in cases:
        if case.certificate:
            entry = trust_entry(case.certificate, case.country)
            if entry is not None:
                keys.setdefault(entry["kid"], entry)
    trust = directory / "trust.json"
    trust.write_text(json.dumps({"version": 1, "issued_at": 0, "keys": list(keys.values())}, indent=1))
    batch = directory / "batch.jsonl"
    used = [case for case in cases if case.text is not None]
    with batch.open("w", encoding="utf-8") as out:
        for number, case in enumerate(used):
            line: dict[str, Any] = {"id": case.ident, "text": case.text}
            if images and case.picture:
                picture = directory / f"{number}.png"
                picture.write_bytes(case.picture)
                line = {"id": case.ident, "image": str(picture)}
            if case.at is not None:
                line["at"] = case.at
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
    return trust, batch, used


@dataclasses.dataclass
class Report:
    total: int
    right: int
    wrong: list[tuple[str, bool, dict[str, Any]]]  # (id, expected valid, the CLI's result)
    exit_code: int

    @property
    def rate(self) -> float:
        return self.right / self.total if self.total else 0.0

    def __str__(self) -> str:
        lines = [f"{self.right}/{self.total} verdicts right ({self.rate:.1%}); kiosk exit status {self.exit_code}"]
        for ident, expected, result in self.wrong:
            lines.append(f"  {ident}: expected {'valid' if expected else 'invalid'}, got "
                         f"{result.get('error') or 'valid'} ({result.get('detail', '')})")
        return "\n".join(lines)


def run(root: Path, work: Path, *, checkout: Path = ROOT, python: str = sys.executable, images: bool = False) -> Report:
    """Run every case under `root` through `checkout`'s `kiosk code verify --batch` and compare verdicts.

    With `images`, a file's QR picture (`2DCODE`) is what the kiosk reads, through its default decoder.
    """
    cases = load(root)
    trust, batch, _ = write_batch(cases, work, images=images)
    environment = {**os.environ, "PYTHONPATH": str(checkout)}
    done = subprocess.run([python, "-m", "kiosk.cli.main", "code", "verify", "--trust", str(trust),
                           "--batch", str(batch)], capture_output=True, text=True, cwd=checkout, env=environment,
                          timeout=600)
    if done.returncode == 2:
        raise RuntimeError(f"the kiosk refused the batch: {done.stderr.strip()}")
    results = {result["id"]: result for result in map(json.loads, done.stdout.splitlines())}
    wrong = []
    for case in cases:
        result = results.get(case.ident, {"valid": False, "error": "no text in the file", "detail": ""})
        if bool(result.get("valid")) != case.expected_valid:
            wrong.append((case.ident, case.expected_valid, result))
    return Report(total=len(cases), right=len(cases) - len(wrong), wrong=wrong, exit_code=done.returncode)


# ---------------------------------------------------------------------------------------- generating


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("generate").add_argument("directory", type=Path)
    runner = sub.add_parser("run")
    runner.add_argument("directory", type=Path)
    runner.add_argument("--checkout", type=Path, default=ROOT, help="the checkout whose kiosk to run (default: this)")
    runner.add_argument("--images", action="store_true", help="give the kiosk each file's QR picture, not its text")
    args = parser.parse_args(argv)
    if args.command == "generate":
        print(f"{generate(args.directory)} files in {args.directory}")
        return 0
    import tempfile

    with tempfile.TemporaryDirectory() as work:
        report = run(args.directory, Path(work), checkout=args.checkout, images=args.images)
    print(report)
    return 0 if not report.wrong else 1


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
