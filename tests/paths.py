"""Where the tests find the checkout's files, and `../shared` beside it (which may be absent)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"
SCENARIOS = TESTS / "scenarios"
CORPUS = TESTS / "corpus"
SHARED = ROOT.parent / "shared"
