"""The durable outbox on real SQLite, including a writer killed with SIGKILL mid-stream."""

from __future__ import annotations

import json
import os
import select
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kiosk.clock import VirtualClock
from kiosk.outbox import Outbox, OutboxError
from kiosk.outbox.schema import SCHEMA_VERSION
from tests.paths import ROOT

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def test_append_is_durable_across_reopen(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite"
    with Outbox(path) as ob:
        seqs = [ob.append("entry", f"e{i}", b"{}") for i in range(5)]
    assert seqs == [1, 2, 3, 4, 5]
    with Outbox(path) as ob:
        assert [(r.seq, r.event_id) for r in ob.pending()] == [(s, f"e{s - 1}") for s in seqs]
        pragmas = [ob._db.execute(f"PRAGMA {p}").fetchone()[0]
                   for p in ("journal_mode", "synchronous", "user_version", "busy_timeout")]
    assert pragmas == ["wal", 2, SCHEMA_VERSION, 5000]  # synchronous 2 = FULL


def test_alerts_overtake_backlog_and_streams_keep_order(tmp_path: Path) -> None:
    with Outbox(tmp_path / "o.sqlite") as ob:
        ob.append("entry", "a", b"1")
        ob.append("entry", "b", b"2")
        ob.append("alert", "c", b"3", priority=10)
        ob.append("entry", "d", b"4")
        ob.append("alert", "e", b"5", priority=10)
        assert [r.event_id for r in ob.pending()] == ["c", "e", "a", "b", "d"]
        assert [r.event_id for r in ob.pending(3)] == ["c", "e", "a"]
        assert [r.event_id for r in ob.tail(3)] == ["c", "d", "e"]  # tail is storage order


def test_reappend_is_idempotent_and_sent_rows_leave(tmp_path: Path) -> None:
    clock = VirtualClock(wall_start=1_000_000.0)
    with Outbox(tmp_path / "o.sqlite", clock=clock) as ob:
        first = ob.append("entry", "x", b"1")
        assert ob.append("entry", "x", b"changed") == first  # a retry cannot duplicate or rewrite
        assert [(r.event_id, r.payload) for r in ob.tail()] == [("x", b"1")]
        ob.append("entry", "y", b"22")
        clock.advance(5)
        s = ob.stats()
        assert (s.pending, s.sent, s.bytes, s.oldest_pending_age_s, s.rejected) == (2, 0, 3, 5.0, 0)
        assert ob.mark_sent([first]) == 1
        assert ob.mark_sent([first]) == 0  # a second PUBACK changes nothing
        assert [r.event_id for r in ob.pending()] == ["y"] and ob.pending_count() == 1
        assert ob.tail(1)[0].sent_at is None and ob.tail(2)[0].sent_at == clock.wall()
        assert ob.purge_sent() == 1
        assert [r.event_id for r in ob.tail(10)] == ["y"]


def test_purge_keeps_recent_sends_and_seqs_never_go_back(tmp_path: Path) -> None:
    clock = VirtualClock()
    with Outbox(tmp_path / "o.sqlite", clock=clock) as ob:
        old = ob.append("entry", "old", b"")
        ob.mark_sent([old])
        clock.advance(60)
        new = ob.append("entry", "new", b"")
        ob.mark_sent([new])
        assert ob.purge_sent(older_than_s=30) == 1
        assert [r.event_id for r in ob.tail()] == ["new"]
        assert ob.purge_sent() == 1 and ob.tail() == []
        assert ob.append("entry", "next", b"") == 3  # AUTOINCREMENT: not 1 again on an empty table


def test_rejected_rows_are_set_aside_and_kept(tmp_path: Path) -> None:
    with Outbox(tmp_path / "o.sqlite") as ob:
        bad, good = ob.append("alert", "bad", b"ab", priority=10), ob.append("entry", "good", b"c")
        assert ob.mark_rejected([bad], 0x87) == 1
        assert [r.event_id for r in ob.pending()] == ["good"]
        ob.mark_sent([good])
        assert ob.purge_sent() == 1  # the dead letter stays for inspection
        row, = ob.tail()
        assert (row.event_id, row.rejected, row.sent_at) == ("bad", 0x87, None)
        s = ob.stats()
        assert (s.pending, s.sent, s.rejected, s.bytes, s.oldest_pending_age_s) == (0, 0, 1, 2, None)


@pytest.mark.parametrize("stream", ["", "/a", "a/", "+", "entry#", "x\0"])
def test_stream_must_be_a_topic_suffix(tmp_path: Path, stream: str) -> None:
    with Outbox(tmp_path / "o.sqlite") as ob, pytest.raises(ValueError):
        ob.append(stream, "e", b"")


def test_skeleton_file_is_migrated_and_a_newer_one_refused(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite"
    db = sqlite3.connect(path)  # the schema version 1 file the walking skeleton wrote
    db.executescript(
        "CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL UNIQUE, "
        "stream TEXT NOT NULL, priority INTEGER NOT NULL DEFAULT 0, created REAL NOT NULL, payload BLOB NOT NULL, "
        "sent_at REAL);"
        "CREATE INDEX outbox_pending ON outbox (priority DESC, seq) WHERE sent_at IS NULL;"
        "INSERT INTO outbox (event_id, stream, created, payload) VALUES ('kept', 'entry', 1.0, x'7b7d');"
        "PRAGMA user_version = 1;")
    db.close()
    with Outbox(path) as ob:
        assert [(r.event_id, r.rejected) for r in ob.pending()] == [("kept", None)]
        ob._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(OutboxError, match="newer") as refused:
        Outbox(path)
    assert isinstance(refused.value, sqlite3.DatabaseError)


def test_another_process_reads_and_writes_while_the_kiosk_holds_it_open(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite"
    with Outbox(path) as ob:
        for i in range(5):
            ob.append("entry", f"e{i}", b"x" * 10)
        ob.mark_sent([1])
        out = subprocess.run(
            [sys.executable, "-c",
             "import dataclasses, json, sys\n"
             "from kiosk.outbox import Outbox\n"
             "with Outbox(sys.argv[1]) as ob:\n"
             "    ob.append('entry', 'from-cli', b'')\n"
             "    print(json.dumps(dataclasses.asdict(ob.stats())))\n",
             str(path)],
            cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=20, check=True)
        stats = json.loads(out.stdout)
        assert (stats["pending"], stats["sent"], stats["bytes"]) == (5, 1, 50)
        assert ob.pending()[-1].event_id == "from-cli"  # and the kiosk sees the other writer's row


CHILD = """
import sys
from kiosk.outbox import Outbox
ob = Outbox(sys.argv[1])
i = 0
while True:
    seq = ob.append('entry', f'{sys.argv[2]}-{i}', b'x' * 200)
    print(seq, f'{sys.argv[2]}-{i}', flush=True)  # only once append() has returned
    i += 1
"""


def test_kill_9_while_appending_loses_nothing_committed(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite"
    committed: dict[int, str] = {}
    for round_ in range(3):  # kill it at a different moment each time, on the same file
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(path), f"r{round_}"], cwd=ROOT, env=ENV,
                                 stdout=subprocess.PIPE)
        assert child.stdout is not None
        buffered = b""
        target = len(committed) + 50 + 17 * round_
        deadline = time.monotonic() + 15
        try:
            while len(committed) < target and time.monotonic() < deadline:
                ready, _, _ = select.select([child.stdout], [], [], 1.0)
                if ready:
                    buffered += os.read(child.stdout.fileno(), 65536)
                    *lines, buffered = buffered.split(b"\n")
                    for line in lines:
                        seq, event_id = line.decode().split()
                        committed[int(seq)] = event_id
        finally:
            os.kill(child.pid, signal.SIGKILL)
            child.wait()
            child.stdout.close()
    assert len(committed) >= 50 + 67 + 84
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    stored = dict(db.execute("SELECT seq, event_id FROM outbox").fetchall())
    db.close()
    assert {seq: stored.get(seq) for seq in committed} == committed
    with Outbox(path) as ob:  # and it opens and goes on as usual
        assert ob.append("entry", "after", b"") == max(stored) + 1
