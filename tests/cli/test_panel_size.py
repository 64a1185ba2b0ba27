"""`display.short_side_mm` in `kiosk config check`: a panel too small for the legibility rule is a warning.

The kiosk still runs on it (smaller text beats none), so the check answers OK and exit 0 (README,
"Exit codes": warnings do not fail a check) — but it says which screens fall short, by how much, in
Chinese and English, and what to do.  A real process, a real render of every screen (`ui.panel`).
"""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import KioskCli
from tests.cli.test_sweep import TRUST, ready


def _check(kiosk_cli: KioskCli, tmp_path: Path, display: str) -> tuple[int, str]:
    (tmp_path / "trust-list.json").write_bytes(TRUST)
    config = tmp_path / "kiosk.toml"
    config.write_text(ready().replace("{d}", str(tmp_path)) + "[display]\n" + display)
    run = kiosk_cli("config", "check", str(config))
    assert "Traceback" not in run.stdout + run.stderr
    return run.returncode, run.stdout + run.stderr


def test_a_hyperpixel_is_warned_about_in_both_languages_and_still_passes(kiosk_cli: KioskCli, tmp_path: Path) -> None:
    code, said = _check(kiosk_cli, tmp_path, "width = 800\nheight = 480\nshort_side_mm = 52\n")
    assert code == 0 and "OK (site riverside/bank-3/door-1" in said
    warning = next(line for line in said.splitlines() if "display.short_side_mm" in line)
    assert warning.lstrip().startswith("注意 / warning:") and "第 19 行" in warning and "line 19" in warning
    assert "短边 52 mm" in warning and "需 3.5 mm" in warning and "请核对 display.short_side_mm" in warning
    assert "a 52 mm short side" in warning and "needs 3.5 mm" in warning and "use a larger panel" in warning


def test_the_default_panel_and_a_large_one_are_not_warned_about(kiosk_cli: KioskCli, tmp_path: Path) -> None:
    for display in ("width = 800\nheight = 480\nshort_side_mm = 86\n", "width = 800\nheight = 480\n",
                    "width = 1024\nheight = 768\nshort_side_mm = 115\n"):
        code, said = _check(kiosk_cli, tmp_path, display)
        assert code == 0 and "OK (site" in said, said
        assert "short_side_mm" not in said, (display, said)
