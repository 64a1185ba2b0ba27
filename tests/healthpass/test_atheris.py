"""A short coverage-guided fuzzing run (atheris) of every layer of `tests/healthpass/fuzz_verify.py`.

atheris is optional (`pip install atheris`; wheels exist for CPython 3.11 on x86_64 and
aarch64): without it this module is skipped and the hypothesis fuzz tests still run.  A run
fails if any input makes an exception escape the verifier or gets a forgery accepted; the
crashing input is then left beside the run's output for the corpus.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.paths import ROOT

pytest.importorskip("atheris")

HARNESS = ROOT / "tests" / "healthpass" / "fuzz_verify.py"


@pytest.mark.parametrize("layer", ["text", "cose", "claims"])
def test_a_short_fuzzing_run_finds_nothing(layer: str, tmp_path: Path) -> None:
    seeds = ROOT / "tests" / "corpus" / "seeds"
    if layer != "text":
        seeds = tmp_path / "seeds"
        subprocess.run([sys.executable, str(HARNESS), "--layer", layer, "--write-seeds", str(seeds)], check=True,
                       cwd=ROOT, timeout=120)
    work = tmp_path / "work"
    work.mkdir()
    run = subprocess.run([sys.executable, str(HARNESS), "--layer", layer, str(work), str(seeds), "-runs=3000",
                          "-max_len=8192", "-seed=1", f"-artifact_prefix={tmp_path}/"],
                         capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Done 3000 runs" in run.stderr
    assert not list(tmp_path.glob("crash-*"))
