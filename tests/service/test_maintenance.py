"""The maintenance screen: the fallback that must say what is wrong never crashes on what is wrong.

`kiosk maintenance` is what the display shows when the kiosk cannot run; a configuration saved in a
Chinese Windows editor's "ANSI" (GBK) used to crash it too.  Each problem is one line, Chinese then
English, in the same words `kiosk config check` and provisioning's report use.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.service.maintenance import diagnose
from kiosk.service.readiness import judge_file
from tests.paths import ROOT

EXAMPLE = ROOT / "config" / "kiosk.example.toml"


def _maintenance(config: Path, data: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kiosk.cli", "maintenance", "--config", str(config), "--data",
                           str(data), "--once", "--headless"], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "SDL_VIDEODRIVER": "dummy"})


@pytest.mark.parametrize(("content", "says"), [
    ('[site]\nname = "北京银行"\n'.encode("gbk"), "save it as UTF-8"),
    (b"\xef\xbb\xbf[policy]\nfevr_c = 37.3\n", "did you mean fever_c?"),  # a BOM is fine; the typo is named
    ('[policy]\nfever_c ＝ 37.3\n'.encode(), "full-width punctuation"),
    (b"\x89PNG\r\n\x1a\n\0\0", "not a text file"),
    (b"", "no [site] section"),
])
def test_the_maintenance_screen_names_what_is_wrong_with_the_file(tmp_path: Path, content: bytes, says: str) -> None:
    config = tmp_path / "kiosk.toml"
    config.write_bytes(content)
    data = tmp_path / "data"
    data.mkdir()
    run = _maintenance(config, data)
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr
    assert run.stdout.startswith("配置文件有误") and says in run.stdout, run.stdout
    assert diagnose(config, data, environ={}).config_invalid


def test_what_run_refuses_is_on_the_screen_too(tmp_path: Path) -> None:
    """The example is a valid file, but `kiosk run` refuses it: the screen says why, not "crashed"."""
    diagnosis = diagnose(EXAMPLE, tmp_path, environ={"MONITOR_SERVICE_RESULT": "exit-code"})
    assert diagnosis.kind == "config" and diagnosis.config_invalid
    lines = diagnosis.detail.splitlines()
    assert lines[0].startswith("配置文件有误") and lines[1].startswith("Configuration")
    assert any("health_pass.trust_list" in line and "/ " in line for line in lines)  # bilingual, per problem
    extra = tmp_path / "more.toml"
    extra.write_text("[policy]\nfever_c = 39\nmax_code_age_s = 9999\nclock_skew_s = 9999\n"
                     "[thermal]\nemissivity = 1.0\ncalibration_offset_c = -3.4\n")
    crowded = diagnose(extra, tmp_path, environ={})
    assert "（另有 1 项 / +1 more: kiosk config check）" in crowded.detail  # more than fit on the screen


@pytest.mark.parametrize("where", ["absent.toml", "."])
def test_an_unreadable_path_is_a_diagnosis_not_a_crash(tmp_path: Path, where: str) -> None:
    diagnosis = diagnose(tmp_path / where, tmp_path, environ={})
    assert diagnosis.kind == "config" and "cannot read" in diagnosis.detail


def test_a_garbled_last_failure_file_is_still_shown(tmp_path: Path) -> None:
    trust = tmp_path / "trust-list.json"
    from tests.service.test_provisioning import CONFIG, TRUST_LIST_JSON

    trust.write_bytes(TRUST_LIST_JSON)
    config = tmp_path / "kiosk.toml"
    config.write_text(CONFIG.replace("/etc/kiosk/trust-list.json", str(trust)).replace("enabled = true",
                                                                                       "enabled = false"))
    assert judge_file(config).ok
    (tmp_path / "last-failure.txt").write_bytes(b"not responding: \xff\xfe camera")
    diagnosis = diagnose(config, tmp_path, environ={})
    assert diagnosis.kind == "part" and "camera" in diagnosis.detail
