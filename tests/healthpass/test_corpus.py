"""Replay the hardening corpus: every seed (valid, truncated, bit-flipped, nested, oversized, forged,
wrong alg, for THP1 and HC1) gives exactly the error `tests/corpus/expected.json` states for it.

The corpus is written by `tests/corpus/make_corpus.py`, whose expectations are stated by hand
from the spec; the atheris harness (`tests/healthpass/fuzz_verify.py`) starts from the same seeds.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kiosk.healthpass import ERRORS, CodeResult, TrustList, Verifier
from tests.paths import CORPUS

EXPECTED = json.loads((CORPUS / "expected.json").read_text())
SEEDS = sorted((CORPUS / "seeds").iterdir())


@pytest.fixture(scope="module")
def verifier() -> Verifier:
    return Verifier(TrustList.from_file(CORPUS / "trust-list.json"))


def read_seed(path: Path) -> str:
    """A seed as the camera would hand it over: text, with undecodable bytes kept as surrogates."""
    return path.read_bytes().decode("utf-8", "surrogateescape")


def test_every_seed_has_an_expectation_and_every_expectation_a_seed() -> None:
    assert {p.name for p in SEEDS} == set(EXPECTED["entries"])
    assert len(SEEDS) >= 60
    errors = set(EXPECTED["entries"].values())
    assert errors - {None} == set(ERRORS), "the corpus reaches every error the verifier can give"


@pytest.mark.parametrize("path", SEEDS, ids=[p.name for p in SEEDS])
def test_seed_gives_its_expected_error(path: Path, verifier: Verifier) -> None:
    expected = EXPECTED["entries"][path.name]
    result = verifier.verify(read_seed(path), EXPECTED["at"])
    assert isinstance(result, CodeResult)
    assert result.error == expected, result.detail
    assert result.valid == (expected is None) == (result.health_pass is not None)
    if not result.valid:
        assert result.detail, "every refusal says what was wrong"
    name = path.name
    if "hc1" in name and not name.startswith("hc1-body-thp1"):
        assert result.format in ("HC1", None)
    json.dumps(result.to_json_dict())  # printable, whatever came in


def test_the_corpus_refuses_without_the_trust_list() -> None:
    """With an empty trust list no seed is valid: the valid ones were valid only through their keys."""
    empty = Verifier(TrustList([]))
    for path in SEEDS:
        assert not empty.verify(read_seed(path), EXPECTED["at"]).valid
