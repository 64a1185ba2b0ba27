"""`kiosk township …` runs the installed township program, never one lying in the current directory."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_a_township_package_in_the_working_directory_is_not_run(tmp_path: Path) -> None:
    planted = tmp_path / "township"
    planted.mkdir()
    (planted / "__init__.py").write_text("")
    (planted / "__main__.py").write_text("import pathlib; pathlib.Path('pwned').write_text('x')\n")
    kiosk = Path(sys.executable).with_name("kiosk")
    done = subprocess.run([str(kiosk), "township", "--help"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60)
    assert not (tmp_path / "pwned").exists()
    assert done.returncode == 0 and "listen" in done.stdout, done.stderr
    assert "Traceback" not in done.stderr
