"""The EU DCC test data, in its own file format, through `kiosk code verify --batch` (issue 15).

The public per-country test data is on no registry this project reaches;
`tests/corpus/make_dcc_testdata.py`
writes a faithful corpus in its format with our own document signers (one file per way real
certificates were refused or misread, and the usual failures), plus the one real entry we have
(`tests/corpus/dcc-testdata/`), and maps it to the CLI as a real corpus would be: trust list from
`TESTCTX.CERTIFICATE`, `at` from `TESTCTX.VALIDATIONCLOCK`.  Every verdict must be right, from the
text and from the QR picture.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.corpus import dcc_testdata, make_dcc_testdata


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("dcc-testdata")
    assert make_dcc_testdata.generate(root) >= 29
    return root


@pytest.mark.parametrize("images", [False, True], ids=["text", "picture"])
def test_every_verdict_is_right(corpus: Path, tmp_path: Path, images: bool) -> None:
    report = dcc_testdata.run(corpus, tmp_path, images=images)
    assert report.wrong == [], str(report)
    assert report.total >= 29 and report.exit_code == 1  # the corpus holds invalid certificates too


def test_the_corpus_covers_every_refusal_of_the_issue(corpus: Path) -> None:
    descriptions = " | ".join(json.loads(p.read_text())["TESTCTX"]["DESCRIPTION"] for p in corpus.rglob("*.json"))
    for what in ("float64", "CWT tag 61", "kid in the unprotected header", "co of three letters", "tr with",
                 "dt as a date-time", "ZonedDateTime", "iss a name", "3 h ahead", "BER", "s above n/2"):
        assert what in descriptions, what
    cases = dcc_testdata.load(corpus)
    assert sum(not case.expected_valid for case in cases) >= 10
    assert sum(case.schema_valid is False and case.expected_valid for case in cases) >= 4


def test_the_real_austrian_entry_is_read_as_the_test_data_states() -> None:
    (case,) = dcc_testdata.load(dcc_testdata.REAL)
    assert case.ident == "AT/2DCode/raw/1.json" and case.country == "AT" and case.expected_valid
    assert case.text is not None and case.text.startswith("HC1:") and case.at == 1620345600.0
    entry = dcc_testdata.trust_entry(case.certificate or b"", case.country)
    assert entry is not None and (entry["iss"], entry["alg"], entry["format"]) == ("AT", "ES256", "HC1")


@pytest.mark.parametrize(("clock", "seconds"), [
    ("2021-05-03T10:27:15Z", 1620037635.0), ("2021-05-03T12:27:15+02:00", 1620037635.0),
    ("2021-05-03T10:27:15.500Z", 1620037635.5), ("2021-05-03T10:27:15", 1620037635.0), ("", None), (None, None),
    ("yesterday", None),
])
def test_validation_clocks_as_the_files_write_them(clock: object, seconds: float | None) -> None:
    assert dcc_testdata.parse_clock(clock) == seconds
