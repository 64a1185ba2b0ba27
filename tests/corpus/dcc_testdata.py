"""EU DCC test data in the format of the member states' public test-data repository, and its run through the CLI.

The eHealth Network's `dgc-testdata` repository holds, per country, JSON files such as
`AT/2DCode/raw/1.json`: the QR text (`PREFIX`), its layers (`COSE`, `CBOR`, `JSON`, …), a test context
(`TESTCTX.CERTIFICATE`, the document signer's DER in base64, and `TESTCTX.VALIDATIONCLOCK`) and the
expected outcome of each verification step (`EXPECTEDRESULTS.EXPECTEDVERIFY`, …).  That repository is
not on any registry this project can reach (PyPI, npm and Debian were searched; python-cwt's sdist
carries one of its entries, `real/AT/2DCode/raw/1.json` beside this file), so:

- `make_dcc_testdata.generate(root)` writes a faithful corpus in that format, signed by our own DCC
  test issuers, with a case for every way real certificates were refused or misread (issue 15) and
  the usual failures;
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

    .venv/bin/python tests/corpus/make_dcc_testdata.py DIR
    .venv/bin/python tests/corpus/dcc_testdata.py DIR [--checkout PATH] [--images]   # verdict rate, mismatches
"""

from __future__ import annotations

import argparse
import base64
import binascii
import dataclasses
import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
REAL = HERE / "dcc-testdata"  # real entries of the public test data (see NOTICE there)
VERDICT_FLAGS = ("EXPECTEDUNPREFIX", "EXPECTEDB45DECODE", "EXPECTEDCOMPRESSION", "EXPECTEDDECODE",
                 "EXPECTEDVALIDOBJECT", "EXPECTEDVERIFY", "EXPECTEDKEYUSAGE", "EXPECTEDEXPIRATIONCHECK")


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
    done = subprocess.run([python, "-m", "kiosk.cli", "code", "verify", "--trust", str(trust),
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path, help="a tree of test-data files")
    parser.add_argument("--checkout", type=Path, default=ROOT, help="the checkout whose kiosk to run (default: this)")
    parser.add_argument("--images", action="store_true", help="give the kiosk each file's QR picture, not its text")
    args = parser.parse_args(argv)
    import tempfile

    with tempfile.TemporaryDirectory() as work:
        report = run(args.directory, Path(work), checkout=args.checkout, images=args.images)
    print(report)
    return 0 if not report.wrong else 1


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
