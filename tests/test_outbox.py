"""The durable outbox on real SQLite, including a writer killed with SIGKILL mid-stream."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from kiosk.clock import VirtualClock
from kiosk.outbox import Outbox

ROOT = Path(__file__).resolve().parents[1]


def test_append_is_durable_across_reopen(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite"
    with Outbox(path) as ob:
        seqs = [ob.append("entry", f"e{i}", b"{}") for i in range(5)]
    assert seqs == [1, 2, 3, 4, 5]
    with Outbox(path) as ob:
        assert [r.event_id for r in ob.pending()] == ["e0", "e1", "e2", "e3", "e4"]
        mode = ob._db.execute("PRAGMA journal_mode").fetchone()[0]
        sync = ob._db.execute("PRAGMA synchronous").fetchone()[0]
    assert (mode, sync) == ("wal", 2)  # 2 = FULL


def test_alerts_overtake_backlog_and_streams_keep_order(tmp_path: Path) -> None:
    with Outbox(tmp_path / "o.sqlite") as ob:
        ob.append("entry", "a", b"1")
        ob.append("entry", "b", b"2")
        ob.append("alert", "c", b"3", priority=10)
        ob.append("entry", "d", b"4")
        ob.append("alert", "e", b"5", priority=10)
        assert [r.event_id for r in ob.pending()] == ["c", "e", "a", "b", "d"]


def test_reappend_is_idempotent_and_sent_rows_leave(tmp_path: Path) -> None:
    clock = VirtualClock(wall_start=1_000_000.0)
    with Outbox(tmp_path / "o.sqlite", clock=clock) as ob:
        first = ob.append("entry", "x", b"1")
        assert ob.append("entry", "x", b"1") == first
        ob.append("entry", "y", b"22")
        clock.advance(5)
        s = ob.stats()
        assert (s.pending, s.sent, s.bytes, s.oldest_pending_age_s) == (2, 0, 3, 5.0)
        ob.mark_sent([first])
        assert [r.event_id for r in ob.pending()] == ["y"] and ob.pending_count() == 1
        assert ob.purge_sent() == 1
        assert [r.event_id for r in ob.tail(10)] == ["y"]


def test_kill_9_while_appending_loses_nothing_committed(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite"
    child = subprocess.Popen(
        [sys.executable, "-c",
         "import sys; from kiosk.outbox import Outbox\n"
         f"ob = Outbox({str(path)!r})\n"
         "i = 0\n"
         "while True:\n"
         "    ob.append('entry', f'e{i}', b'x' * 200)\n"
         "    print(i, flush=True)\n"
         "    i += 1\n"],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    deadline = time.monotonic() + 30
    acknowledged = -1
    while acknowledged < 50 and time.monotonic() < deadline:
        acknowledged = int(child.stdout.readline())
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert acknowledged >= 50
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    ids = {r[0] for r in db.execute("SELECT event_id FROM outbox")}
    assert {f"e{i}" for i in range(acknowledged + 1)} <= ids
