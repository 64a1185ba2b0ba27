"""The `kiosk` command-line contracts, run as a user would run them (a real subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import KioskCli
from tests.paths import ROOT

VECTORS = ROOT.parent / "shared" / "health-pass" / "vectors"
SCENARIOS = ROOT.parent / "shared" / "scenarios"
needs_shared = pytest.mark.skipif(not VECTORS.exists(), reason="shared/ not beside the project")


def test_config_check_says_what_run_needs_and_simulated_only_the_file(tmp_path: Path, kiosk_cli: KioskCli) -> None:
    example = str(ROOT / "config" / "kiosk.example.toml")
    ok = kiosk_cli("config", "check", "--simulated", example)
    assert ok.returncode == 0 and "OK" in ok.stdout
    not_ready = kiosk_cli("config", "check", example)  # the example is a start, not a kiosk's file
    assert not_ready.returncode == 1 and "the kiosk cannot run with this configuration" in not_ready.stderr
    for key in ("site.township", "thermal.backend", "camera.source", "health_pass.trust_list"):
        assert key in not_ready.stderr, key
    bad = tmp_path / "bad.toml"
    bad.write_text("[policy]\nfever_c = 'hot'\n")
    out = kiosk_cli("config", "check", str(bad))
    assert out.returncode == 1
    assert "第 2 行" in out.stderr and "line 2 policy.fever_c = 'hot': must be a number" in out.stderr


@needs_shared
def test_code_verify_text_argument_stdin_and_image(kiosk_cli: KioskCli) -> None:
    cases = {c["name"]: c for c in json.loads((VECTORS / "cases.json").read_text())}
    trust = str(VECTORS / "trust-list.json")
    green = cases["green"]
    at = str(green["validation_clock"])
    by_arg = kiosk_cli("code", "verify", green["qr_text"], "--trust", trust, "--at", at)
    assert by_arg.returncode == 0
    result = json.loads(by_arg.stdout)
    assert result["valid"] is True and result["error"] is None and result["colour"] == "G"
    assert "sid" not in result
    by_stdin = kiosk_cli("code", "verify", "--trust", trust, "--at", at, stdin=cases["red"]["qr_text"] + "\n")
    assert json.loads(by_stdin.stdout)["colour"] == "R"
    by_image = kiosk_cli("code", "verify", str(VECTORS / "png" / "screenshot-stale.png"), "--trust", trust, "--at", at)
    assert by_image.returncode == 1
    stale = json.loads(by_image.stdout)
    assert (stale["valid"], stale["error"], stale["colour"]) == (False, "stale", None)


@needs_shared
def test_simulate_writes_one_line_per_visitor(tmp_path: Path, kiosk_cli: KioskCli) -> None:
    out = tmp_path / "decisions.jsonl"
    run = kiosk_cli("simulate", str(SCENARIOS / "bank-morning.json"), "--headless", "--out", str(out))
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    scenario = json.loads((SCENARIOS / "bank-morning.json").read_text())
    assert [line["visitor"] for line in lines] == [v["id"] for v in scenario["visitors"]]
    for line, visitor in zip(lines, scenario["visitors"], strict=True):
        assert set(line) == {"visitor", "decision", "reasons", "temperature_c", "latency_s"}
        assert line["decision"] == visitor["expect"]["decision"]
        assert sorted(line["reasons"]) == sorted(visitor["expect"]["reasons"])
    assert "11 as expected" in run.stderr


def test_run_simulated_starts_and_stops_cleanly() -> None:
    """The demo runs in real time (about a minute a loop): check it comes up and stops on SIGTERM."""
    proc = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "-v", "run", "--simulated", "--headless"],
                            cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        with pytest.raises(subprocess.TimeoutExpired):
            proc.wait(timeout=8)  # still running: it did not crash at start
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    assert "Traceback" not in err
    assert "decision PASS" in err  # the first demo visitor was decided, in real time


MELEXIS = ROOT.parent / "shared" / "mlx90640" / "melexis-example.json"


@pytest.mark.skipif(not MELEXIS.exists(), reason="shared/ not beside the project")
@pytest.mark.parametrize("n", [0, 1])
def test_thermal_convert_reproduces_melexis_example(tmp_path: Path, n: int, kiosk_cli: KioskCli) -> None:
    data = json.loads(MELEXIS.read_text())
    words = data[f"frame{n}"]
    (tmp_path / "ee.json").write_text(json.dumps(data["eeprom"]))
    (tmp_path / "fr.json").write_text(json.dumps({"ram": words[:832], "control": words[832], "subpage": words[833]}))
    run = kiosk_cli("thermal", "convert", "--eeprom", str(tmp_path / "ee.json"), "--frame", str(tmp_path / "fr.json"),
                    "--emissivity", "1.0")
    assert run.returncode == 0, run.stderr
    temps = json.loads(run.stdout)
    expected = data[f"expected_to_after_frame{n}"]
    assert len(temps) == 768
    measured = [i for i, t in enumerate(temps) if t is not None]
    assert 380 <= len(measured) <= 384  # one subpage (bad pixels may be interpolated or null)
    for i in measured:
        assert temps[i] == pytest.approx(expected[i], abs=0.01)


def test_thermal_convert_refuses_a_blank_eeprom(tmp_path: Path, kiosk_cli: KioskCli) -> None:
    (tmp_path / "ee.json").write_text(json.dumps([0xFFFF] * 832))
    (tmp_path / "fr.json").write_text(json.dumps({"ram": [0] * 832, "control": 0x1901, "subpage": 0}))
    run = kiosk_cli("thermal", "convert", "--eeprom", str(tmp_path / "ee.json"), "--frame", str(tmp_path / "fr.json"))
    assert run.returncode == 1 and "cannot convert" in run.stderr


PROBLEM = ('bad.toml 第 2 行 site.name = 5：应为加引号的文字，例如 "abc" / '
           'line 2 site.name = 5: must be text in quotes, e.g. "abc"')
ONE_LINE = "{bad}: " + PROBLEM + "\n"
LISTED = "{bad}: 配置文件有误 / invalid configuration\n  " + PROBLEM + "\n"


@pytest.mark.parametrize(("args", "code", "form"), [
    (["config", "check", "{bad}"], 1, LISTED),
    (["run", "--config", "{bad}"], 1, LISTED),
    (["simulate", "tests/scenarios/two-people.json", "--headless", "--config", "{bad}"], 2, ONE_LINE),
    (["thermal", "convert", "--eeprom", "x.json", "--frame", "y.json", "--config", "{bad}"], 2, ONE_LINE),
    (["outbox", "stats", "--config", "{bad}"], 1, ONE_LINE),
    (["screens", "--out", "{tmp}", "--config", "{bad}"], 2, ONE_LINE),
    (["calibrate", "--reference", "37", "--config", "{bad}"], 2, ONE_LINE),
])
def test_every_command_reports_an_unusable_configuration_as_it_always_has(
        tmp_path: Path, kiosk_cli: KioskCli, args: list[str], code: int, form: str) -> None:
    """One loader for the whole CLI (kiosk.cli.loading), the two forms and the exit codes unchanged; the
    problem itself in plain words, Chinese then English."""
    bad = tmp_path / "bad.toml"
    bad.write_text("[site]\nname = 5\n")
    run = kiosk_cli(*(a.format(bad=bad, tmp=tmp_path / "png") for a in args))
    assert (run.returncode, run.stderr) == (code, form.format(bad=bad))
