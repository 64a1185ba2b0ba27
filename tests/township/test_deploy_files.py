"""What the township's server is set up with: scripts/setup leaves its services alone, and the
PostgreSQL listener's unit is one systemd loads (verify, sandbox) and restarts on a database outage."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.paths import ROOT

ANALYZE = shutil.which("systemd-analyze")
HOST_UNITS = Path("/usr/lib/systemd/system")
PG_UNIT = ROOT / "systemd" / "township-listener-pg.service"
needs_analyze = pytest.mark.skipif(ANALYZE is None or not HOST_UNITS.is_dir(), reason="systemd-analyze not installed")


def test_setup_leaves_the_system_postgresql_and_mosquitto_alone(tmp_path: Path) -> None:
    """Run on the township's server, scripts/setup must not stop (or disable) the production database."""
    tree = tmp_path / "checkout"
    (tree / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "setup", tree / "scripts" / "setup")
    (tree / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    venv = tree / ".venv" / "bin"
    venv.mkdir(parents=True)
    (venv / "python").write_text("#!/bin/sh\nexit 0\n")
    (venv / "python").chmod(0o755)
    digest = hashlib.sha256((tree / "pyproject.toml").read_bytes()).hexdigest()[:16]
    (tree / ".venv" / f".installed-{digest}").touch()  # installed already: nothing to do there
    fakes = tmp_path / "bin"
    fakes.mkdir()
    calls = tmp_path / "calls"
    for name, script in (("systemctl", f'echo "systemctl $*" >> {calls}\nexit 0\n'),
                         ("dpkg-query", 'printf "install ok installed"\n'),
                         ("apt-get", f'echo "apt-get $*" >> {calls}\nexit 0\n'),
                         ("sudo", '"$@"\n')):
        (fakes / name).write_text(f"#!/bin/sh\n{script}")
        (fakes / name).chmod(0o755)
    done = subprocess.run(["bash", str(tree / "scripts" / "setup")], capture_output=True, text=True, timeout=60,
                          env={"PATH": f"{fakes}:/usr/bin:/bin", "HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    called = calls.read_text() if calls.exists() else ""
    assert "disable" not in called and "stop" not in called and "mask" not in called, called


def _keys(path: Path) -> dict[str, list[str]]:
    keys: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            keys.setdefault(key, []).append(value)
    return keys


def test_the_postgresql_listener_unit_starts_after_the_database_and_restarts_after_an_outage() -> None:
    unit = _keys(PG_UNIT)
    assert "postgresql.service" in unit["After"][0].split()
    assert unit["ExecStart"] == ["/opt/township/venv/bin/township listen $LISTEN_ARGS"]  # no --db: PostgreSQL
    assert unit["Restart"] == ["on-failure"] and unit["RestartPreventExitStatus"] == ["2"]  # 3 (outage) restarts
    assert "--seal-key" not in PG_UNIT.read_text().split("# No sealing key")[0].split("LISTEN_ARGS=")[-1]
    console = _keys(ROOT / "township" / "deploy" / "township-console.service")
    assert console["ExecStart"][0].startswith("/opt/township/venv/bin/township console")  # not scripts/setup's .venv


@needs_analyze
def test_the_postgresql_listener_unit_verifies_and_is_sandboxed(tmp_path: Path) -> None:
    root = tmp_path / "root"
    shutil.copytree(HOST_UNITS, root / "usr/lib/systemd/system", symlinks=True)
    (root / "etc/systemd/system").mkdir(parents=True)
    shutil.copy(PG_UNIT, root / "etc/systemd/system" / PG_UNIT.name)
    binary = root / "opt/township/venv/bin/township"
    binary.parent.mkdir(parents=True)
    binary.write_text("#!/bin/sh\nexit 0\n")
    binary.chmod(0o755)
    run = subprocess.run([str(ANALYZE), "verify", f"--root={root}", PG_UNIT.name], capture_output=True, text=True,
                         cwd=root, timeout=60)
    assert run.returncode == 0 and run.stdout == "" and run.stderr == "", run.stdout + run.stderr
    run = subprocess.run([str(ANALYZE), "security", "--offline=yes", str(PG_UNIT)], capture_output=True, text=True,
                         timeout=60, cwd=tmp_path)
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", run.stdout)
    assert found and float(found.group(1)) <= 1.5, run.stdout + run.stderr
