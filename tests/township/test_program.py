"""The township is its own program: `township …` (and `python -m township`), installed apart from the kiosk.

`kiosk township …` still works where both are installed: the kiosk execs the township program in
its own process (same PID, so signals and the exit status are the township's), and where the
township code or its dependencies are missing it says so, exit 2, never a traceback.  Run as a
user runs them: real subprocesses, a real broker.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.mosquitto import Broker, broker, wait_until
from tests.paths import ROOT

__all__ = ["broker"]

ENV = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
KIOSK = [sys.executable, "-m", "kiosk.cli"]
TOWNSHIP = [sys.executable, "-m", "township"]


def run(argv: list[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, env=ENV, timeout=timeout)


def test_township_is_a_program_of_its_own() -> None:
    script = Path(sys.executable).with_name("township")  # the console script `pip install '.[township]'` makes
    for argv, prog in (([str(script)], "township"), (TOWNSHIP, "township"), ([*KIOSK, "township"], "kiosk township")):
        helped = run([*argv, "--help"])
        assert helped.returncode == 0, helped.stderr
        assert helped.stdout.startswith(f"usage: {prog} [-h] [-v]")
        assert "{listen,report,push-config,keygen," in helped.stdout
        wrong = run([*argv, "nope"])
        assert wrong.returncode == 2 and f"{prog}: error: argument action: invalid choice: 'nope'" in wrong.stderr


def test_kiosk_township_gives_the_townships_output_and_exit_codes(tmp_path: Path) -> None:
    for argv in (TOWNSHIP, [*KIOSK, "township"], [*KIOSK, "-v", "township"]):
        missing = run([*argv, "report", "--db", str(tmp_path / "none.sqlite"), "--day", "2026-11-24"])
        assert (missing.returncode, missing.stdout) == (2, "")
        assert missing.stderr == f"township report: {tmp_path / 'none.sqlite'}: no such database\n"
    keys = run([*KIOSK, "township", "keygen", str(tmp_path / "keys")])
    assert keys.returncode == 0 and 'seal_public_key = "' in keys.stdout
    again = run([*KIOSK, "township", "keygen", str(tmp_path / "keys")])
    assert again.returncode == 1 and "not overwriting a township key" in again.stderr


def test_called_from_python_kiosk_township_runs_a_child_and_returns(tmp_path: Path, capfd: Any) -> None:
    """`kiosk.cli.main([...])` must not replace its caller's process (this test run, say)."""
    from kiosk.cli import main

    assert main(["township", "report", "--db", str(tmp_path / "none.sqlite"), "--day", "2026-11-24"]) == 2
    assert "township report:" in capfd.readouterr().err  # the child's, on the inherited stderr


def test_kiosk_township_listen_is_the_township_process_itself(broker: Broker, tmp_path: Path) -> None:
    """Same PID after the hand-over: SIGTERM from systemd reaches the listener, which stops cleanly."""
    db = tmp_path / "events.sqlite"
    proc = subprocess.Popen([*KIOSK, "township", "listen", "--broker", f"mqtt://{broker.host}:{broker.port}",
                             "--db", str(db), "--township", "t1"], cwd=ROOT, env=ENV, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        cmdline = Path(f"/proc/{proc.pid}/cmdline")
        assert wait_until(lambda: b"\0-m\0township\0" in cmdline.read_bytes(), 60, interval_s=0.05), \
            "the kiosk's process did not become the township program"
        # The listener stops on SIGTERM once it has set its handler, which it does before opening the store.
        assert wait_until(db.exists, 60, interval_s=0.05)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "township listen: 0 new events" in err and "Traceback" not in err


def test_a_kiosk_without_the_township_code_says_so() -> None:
    """What a kiosk's install is (scripts/install leaves township/ out): `kiosk township` explains, exit 2."""
    code = ("import sys; sys.modules['township'] = None  # not importable, as on a kiosk\n"
            "from kiosk.cli import main; sys.exit(main(sys.argv[1:]))")
    for args in (["township", "listen", "--broker", "mqtt://127.0.0.1:1", "--db", "x"], ["township", "--help"]):
        done = run([sys.executable, "-c", code, *args])
        assert done.returncode == 2 and done.stdout == ""
        assert done.stderr.startswith("kiosk township: the township server is not installed here")
        assert "pip install '.[township]'" in done.stderr and "Traceback" not in done.stderr


def test_a_missing_township_dependency_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    code = ("import sys; sys.modules['paho'] = None  # the township's MQTT client missing\n"
            "from township.cli import main; sys.exit(main(sys.argv[1:]))")
    done = run([sys.executable, "-c", code, "listen", "--broker", "mqtt://127.0.0.1:1", "--db",
                str(tmp_path / "t.sqlite")])
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("township: paho is not installed; install the township with its dependencies")
    assert "Traceback" not in done.stderr


def test_the_kiosk_never_loads_the_township() -> None:
    """Every kiosk command's module, imported together: not one township module comes with them."""
    code = ("import sys, kiosk.cli; kiosk.cli.build_parser()\n"
            "print(sorted(m for m in sys.modules if m == 'township' or m.startswith('township.')))")
    done = run([sys.executable, "-c", code])
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    assert os.path.isdir(ROOT / "township")  # it is there to be found: the kiosk just does not import it
