"""The shared THP1 conformance vectors: every case by its text, and every QR image through zbar."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from drivers.qr.images import load_gray
from drivers.qr.pyzbar_decoder import PyzbarDecoder
from kiosk.healthpass import ERRORS, CodeResult, TrustList, Verifier
from tests.paths import SHARED

VECTORS = SHARED / "health-pass" / "vectors"  # shared/ beside main/
if not VECTORS.is_dir():  # a checkout without ../shared beside it: the conformance floor is not here to test
    pytest.skip(f"{VECTORS} is not checked out beside the project", allow_module_level=True)

CASES: dict[str, dict[str, Any]] = {case["name"]: case
                                    for case in json.loads((VECTORS / "cases.json").read_text())}
IMAGES = sorted((VECTORS / "png").glob("*.png"))


@pytest.fixture(scope="module")
def verifier() -> Verifier:
    """A THP1-only verifier: the vectors are THP1's conformance suite (its `wrong-prefix` is HC1 text)."""
    return Verifier(TrustList.from_file(VECTORS / "trust-list.json"), formats=("THP1",))


@pytest.fixture(scope="module")
def decoder() -> PyzbarDecoder:
    return PyzbarDecoder()


def assert_expected(result: CodeResult, case: dict[str, Any]) -> None:
    expected = case["expected"]
    assert (result.valid, result.error, result.colour) == (
        expected["valid"], expected["error"], expected["colour"]), result.detail
    assert result.error is None or result.error in ERRORS


def test_the_suite_is_complete() -> None:
    assert len(CASES) == 27
    assert {path.stem for path in IMAGES} <= set(CASES), "every image is named after a case"
    assert len(IMAGES) == 12


@pytest.mark.parametrize("name", sorted(CASES))
def test_case_by_text(name: str, verifier: Verifier) -> None:
    case = CASES[name]
    assert_expected(verifier.verify(case["qr_text"], case["validation_clock"]), case)


@pytest.mark.parametrize("path", IMAGES, ids=[path.stem for path in IMAGES])
def test_case_by_image(path: Path, verifier: Verifier, decoder: PyzbarDecoder) -> None:
    case = CASES[path.stem]
    texts = decoder.decode(load_gray(path))
    assert texts == [case["qr_text"]]
    assert_expected(verifier.verify(texts[0], case["validation_clock"]), case)


def test_valid_cases_carry_the_claims_policy_reads(verifier: Verifier) -> None:
    at = CASES["green"]["validation_clock"]
    green = verifier.verify(CASES["green"]["qr_text"], at).health_pass
    star = verifier.verify(CASES["green-star-trip"]["qr_text"], at).health_pass
    no_nat = verifier.verify(CASES["green-no-nat"]["qr_text"], at).health_pass
    assert green is not None and star is not None and no_nat is not None
    assert (green.iss, green.colour, green.trip_days, green.trip_areas, green.trip_star) == (
        "CN-HN", "G", 14, ("430626",), False)
    assert green.nat == 1765825417 and green.name == "张*卿"
    assert star.trip_star is True
    assert no_nat.nat is None


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_kiosks_two_format_verifier_agrees(name: str) -> None:
    """Reading HC1 too changes no verdict: the HC1-prefixed THP1 body is refused one layer later."""
    case = CASES[name]
    both = Verifier(TrustList.from_file(VECTORS / "trust-list.json"))
    result = both.verify(case["qr_text"], case["validation_clock"])
    if name == "wrong-prefix":
        assert (result.valid, result.error, result.format) == (False, "unknown_kid", "HC1")
    else:
        assert_expected(result, case)
