"""`kiosk code verify`, one code and batches, run as a technician runs it (a real subprocess).

Codes are signed at test time by our own THP1 issuer and HC1 document signers (ES256, PS256);
images are real PNGs rendered with segno and read back through the drivers' QR decoding.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import segno

from kiosk.cli.code import verify_batch, verify_lines
from kiosk.healthpass import TrustList, Verifier
from kiosk.healthpass.dcc_issuer import DccTestIssuer
from kiosk.healthpass.issuer import TestIssuer
from tests.cli.conftest import KioskCli

AT = 1_765_900_000
THP = TestIssuer("ES256")
THP_ED = TestIssuer("EdDSA")
DE = DccTestIssuer("ES256", iss="DE")
FR = DccTestIssuer("PS256", iss="FR")
TRUST = THP.trust_list_json(THP_ED, DE, FR)
GREEN = THP.issue("G", sid="cli-sid", name="李*", iat=AT - 10, exp=AT + 600, trip_areas=["430626"], nat=AT - 3600)
RED = THP_ED.issue("R", sid="cli-sid-2", iat=AT - 10, exp=AT + 600)
VACCINATED = DE.issue_dcc("vaccination", iat=AT - 86_400, exp=AT + 86_400 * 300)
TESTED = FR.issue_dcc("test", iat=AT - 7200, exp=AT + 86_400, sample_at=AT - 7200)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("cli-code")
    trust = root / "trust.json"
    trust.write_text(json.dumps(TRUST))
    paths = {"trust": trust}
    for name, text in (("green", GREEN), ("hc1", TESTED)):
        paths[name] = root / f"{name}.png"
        segno.make_qr(text, error="m").save(str(paths[name]), scale=4, border=4)
    paths["two"] = root / "two.png"  # two codes side by side
    from PIL import Image

    with Image.open(paths["green"]) as a, Image.open(paths["hc1"]) as b:
        both = Image.new("L", (a.width + b.width, max(a.height, b.height)), 255)
        both.paste(a.convert("L"), (0, 0))
        both.paste(b.convert("L"), (a.width, 0))
        both.save(paths["two"])
    paths["blank"] = root / "blank.png"
    Image.new("L", (200, 200), 255).save(paths["blank"])
    paths["corrupt"] = root / "corrupt.png"
    paths["corrupt"].write_bytes(b"\x89PNG\r\n\x1a\n not really")
    return paths


def lines_of(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines()]


# -------------------------------------------------------------------------------------- one code


@pytest.mark.parametrize(("text", "fmt", "valid"), [(GREEN, "THP1", True), (RED, "THP1", True),
                                                    (VACCINATED, "HC1", True), (TESTED, "HC1", True),
                                                    ("https://example.org/", None, False)])
def test_one_code_says_which_format_it_found(files: dict[str, Path], text: str, fmt: str | None, valid: bool,
                                            kiosk_cli: KioskCli) -> None:
    run = kiosk_cli("code", "verify", text, "--trust", str(files["trust"]), "--at", str(AT))
    result = json.loads(run.stdout)
    assert (result["format"], result["valid"], run.returncode) == (fmt, valid, 0 if valid else 1)
    assert "sid" not in result and "cli-sid" not in run.stdout


@pytest.mark.parametrize("decoder", ["zxing", "pyzbar"])
def test_one_code_from_an_image_and_from_stdin(files: dict[str, Path], decoder: str, kiosk_cli: KioskCli) -> None:
    by_image = kiosk_cli("code", "verify", str(files["hc1"]), "--trust", str(files["trust"]), "--at", str(AT),
                         "--decoder", decoder)
    assert by_image.returncode == 0 and json.loads(by_image.stdout)["certificate"]["type"] == "test"
    by_flag = kiosk_cli("code", "verify", "--image", str(files["blank"]), "--trust", str(files["trust"]))
    assert by_flag.returncode == 1 and json.loads(by_flag.stdout)["error"] == "no_qr"
    by_stdin = kiosk_cli("code", "verify", "-", "--trust", str(files["trust"]), "--at", str(AT), stdin=GREEN + "\n")
    assert json.loads(by_stdin.stdout)["colour"] == "G"


def test_usage_errors_exit_2(files: dict[str, Path], tmp_path: Path, kiosk_cli: KioskCli) -> None:
    both = kiosk_cli("code", "verify", GREEN, "--batch", "x.jsonl", "--trust", str(files["trust"]))
    assert both.returncode == 2 and "--batch takes no other input" in both.stderr
    bad_trust = tmp_path / "bad.json"
    bad_trust.write_text('{"version": 1, "keys": [{"kid": "x"}]}')
    refused = kiosk_cli("code", "verify", GREEN, "--trust", str(bad_trust))
    assert refused.returncode == 2 and "cannot use the trust list" in refused.stderr and not refused.stdout
    missing = kiosk_cli("code", "verify", "--batch", str(tmp_path / "none.jsonl"), "--trust", str(files["trust"]))
    assert missing.returncode == 2 and "cannot read the batch" in missing.stderr
    unknown = kiosk_cli("code", "verify", GREEN, "--trust", str(files["trust"]), "--decoder", "opencv")
    assert unknown.returncode == 2 and "--decoder" in unknown.stderr


def test_help_states_the_exit_status(kiosk_cli: KioskCli) -> None:
    helped = kiosk_cli("code", "verify", "--help")
    assert "--batch" in helped.stdout and "0 if the code (with --batch: every line) is valid" in helped.stdout


# -------------------------------------------------------------------------------------- batches


def test_a_mixed_batch_gives_one_result_per_line_and_goes_on_after_bad_lines(files: dict[str, Path],
                                                                           tmp_path: Path, kiosk_cli: KioskCli) -> None:
    rows: list[str] = [
        json.dumps({"id": "thp1-green", "text": GREEN, "at": AT}),
        json.dumps({"id": 7, "text": VACCINATED, "at": AT}),
        json.dumps({"id": "hc1-ps256", "text": TESTED}),  # no "at": --at applies
        json.dumps({"id": "expired", "text": GREEN, "at": AT + 3600}),
        json.dumps({"id": "img", "image": str(files["green"]), "at": AT}),
        json.dumps({"id": "img-hc1", "image": str(files["hc1"]), "at": AT}),
        json.dumps({"id": "img-none", "image": str(files["blank"])}),
        json.dumps({"id": "img-two", "image": str(files["two"])}),
        json.dumps({"id": "img-missing", "image": str(tmp_path / "nope.png")}),
        json.dumps({"id": "img-corrupt", "image": str(files["corrupt"])}),
        "",  # blank lines are skipped
        '{"id": "broken", "text": ',  # not JSON
        json.dumps({"id": "neither"}),
        json.dumps({"id": "both", "text": GREEN, "image": "x.png"}),
        json.dumps({"id": "text-number", "text": 12}),
        json.dumps({"id": "bad-at", "text": GREEN, "at": "noon"}),
        json.dumps({"id": ["a"], "text": GREEN}),  # an id that is not a scalar: reported by line number
        json.dumps(["not", "an", "object"]),
        "[" * 100_000,  # too long, and too deep for a naive parser
        json.dumps({"text": GREEN, "at": AT}),  # no id: the line number identifies it
    ]
    batch = tmp_path / "in.jsonl"
    batch.write_text("\n".join(rows) + "\n")
    run = kiosk_cli("code", "verify", "--trust", str(files["trust"]), "--batch", str(batch), "--at", str(AT))
    assert run.returncode == 1, run.stderr
    out = lines_of(run.stdout)
    assert len(out) == len(rows) - 1  # every non-blank line, once, in order
    by_line = {r["line"]: r for r in out}
    assert [r["line"] for r in out] == [n for n, row in enumerate(rows, start=1) if row]
    summary = {(r["id"] if r["id"] is not None else f"line {r['line']}"): (r["valid"], r["error"], r["format"])
               for r in out}
    assert summary == {
        "thp1-green": (True, None, "THP1"),
        7: (True, None, "HC1"),
        "hc1-ps256": (True, None, "HC1"),
        "expired": (False, "expired", "THP1"),
        "img": (True, None, "THP1"),
        "img-hc1": (True, None, "HC1"),
        "img-none": (False, "no_qr", None),
        "img-two": (False, "several_qr", None),
        "img-missing": (False, "image_unreadable", None),
        "img-corrupt": (False, "image_unreadable", None),
        "line 12": (False, "bad_line", None),  # not JSON: its id cannot be known
        "neither": (False, "bad_line", None),
        "both": (False, "bad_line", None),
        "text-number": (False, "bad_line", None),
        "bad-at": (False, "bad_line", None),
        "line 17": (False, "bad_line", None),
        "line 18": (False, "bad_line", None),
        "line 19": (False, "bad_line", None),
        "line 20": (True, None, "THP1"),
    }
    images = [r for r in out if str(r["id"]).startswith("img")]
    # an image's decoded text holds the subject id and the name: only its digest is echoed
    assert by_line[5]["text_sha256"] == hashlib.sha256(GREEN.encode()).hexdigest()
    assert by_line[6]["text_sha256"] == hashlib.sha256(TESTED.encode()).hexdigest()
    assert all("text_sha256" in r and "text" not in r for r in images) and by_line[7]["text_sha256"] is None
    assert GREEN not in run.stdout and TESTED not in run.stdout
    assert all("text" not in r for r in out if r["id"] in ("thp1-green", 7))
    assert by_line[2]["certificate"]["type"] == "vaccination" and by_line[1]["trip"]["areas"] == ["430626"]
    assert "cli-sid" not in run.stdout


def test_an_all_valid_batch_exits_0_and_reads_stdin(files: dict[str, Path], kiosk_cli: KioskCli) -> None:
    rows = "".join(json.dumps({"id": i, "text": t, "at": AT}) + "\n" for i, t in enumerate([GREEN, RED, TESTED]))
    run = kiosk_cli("code", "verify", "--trust", str(files["trust"]), "--batch", "-", stdin=rows)
    assert run.returncode == 0, run.stdout + run.stderr
    assert [r["id"] for r in lines_of(run.stdout)] == [0, 1, 2]


def test_thousands_of_lines_in_one_process(files: dict[str, Path], tmp_path: Path, kiosk_cli: KioskCli) -> None:
    texts = [GREEN, RED, VACCINATED, TESTED, TestIssuer("ES256").issue("G", sid="x", iat=AT, exp=AT + 60)]
    batch = tmp_path / "big.jsonl"
    with batch.open("w") as fh:
        for i in range(3000):
            fh.write(json.dumps({"id": f"c{i}", "text": texts[i % len(texts)], "at": AT}) + "\n")
    run = kiosk_cli("code", "verify", "--trust", str(files["trust"]), "--batch", str(batch))
    out = lines_of(run.stdout)
    assert run.returncode == 1 and len(out) == 3000
    assert [r["id"] for r in out] == [f"c{i}" for i in range(3000)]
    assert sum(r["valid"] for r in out) == 2400 and {r["error"] for r in out} == {None, "unknown_kid"}


def test_batch_in_process_matches_the_verifier() -> None:
    """The batch loop adds only id and line to what `Verifier.verify` says."""
    import io

    verifier = Verifier(TrustList.from_json(TRUST))
    out = io.StringIO()
    status = verify_batch(verifier, [json.dumps({"id": "a", "text": VACCINATED, "at": AT})], out=out)
    assert status == 0
    assert json.loads(out.getvalue()) == {"id": "a", "line": 1, **verifier.verify(VACCINATED, AT).to_json_dict()}


@pytest.mark.parametrize("line", [
    '{"id": 1, "text": "THP1:x", "at": ' + "9" * 400 + "}",  # an int no float can hold
    '{"id": 1, "text": "THP1:x", "at": 1e999}',  # JSON's infinity
    '{"id": 1, "text": "THP1:x", "at": NaN}',
    '{"id": 1, "text": "THP1:x", "at": true}',
    '{"id": ' + "9" * 5000 + ', "text": "THP1:x"}',  # past Python's int-from-text limit
])
def test_numbers_no_clock_can_read_are_bad_lines(line: str) -> None:
    verifier = Verifier(TrustList.from_json(TRUST))
    (result,) = verify_lines(verifier, [line])
    assert (result["valid"], result["error"], result["line"]) == (False, "bad_line", 1)


def test_the_name_is_printed_masked_whatever_the_platform_sent(files: dict[str, Path], kiosk_cli: KioskCli) -> None:
    for name, printed in (("李四光", "李*光"), ("Alice*Smith", "A*h"), ("李*", "李*")):
        text = THP.issue("G", sid="cli-sid", name=name, iat=AT - 10, exp=AT + 600)
        run = kiosk_cli("code", "verify", text, "--trust", str(files["trust"]), "--at", str(AT))
        assert run.stdout, run.stderr
        assert json.loads(run.stdout)["name"] == printed
        verifier = Verifier(TrustList.from_json(TRUST))
        (line,) = verify_lines(verifier, [json.dumps({"text": text})], at=AT)
        assert line["name"] == printed
