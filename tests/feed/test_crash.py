"""Power cuts and kill -9 of the kiosk, restarts of the broker: every event arrives exactly once
at the township's consumer after it drops duplicates by event id, in order per stream.

The kiosk runs as a real subprocess (`tests/feed/feed_child.py`) against a real mosquitto; the
consumer is a paho client with a persistent session (what a township runs), against a broker
that persists sessions, so that a broker restart does not lose what it acknowledged.  The
kiosk dies by `os._exit` at the commit, publish and PUBACK points and by SIGKILL from outside
at random moments, in loops; the outbox file is the only truth that survives, and the test
checks the consumer against it.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import paho.mqtt.client as mqtt

from kiosk.outbox import Outbox
from kiosk.uplink import MqttUplink
from tests.mosquitto import Broker, Subscriber, wait_until
from tests.paths import ROOT

CHILD = ROOT / "tests" / "feed" / "feed_child.py"
PREFIX = "checkpoint/v1/t/s/k"
STREAMS = ("entry", "alert")


def run_child(db: Path, b: Broker, mode: str, crash: str = "", *, timeout_s: float = 30) -> int:
    proc = subprocess.run([sys.executable, str(CHILD), str(db), b.host, str(b.port), mode, crash], cwd=ROOT,
                          capture_output=True, timeout=timeout_s)
    return proc.returncode


def stored(db: Path) -> dict[str, list[str]]:
    """The outbox's events per stream, in seq order: the truth the consumer is checked against."""
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        # (this consumer sends no receipts: acknowledged by the broker is as far as a row gets here)
        rows = con.execute("SELECT stream, event_id, coalesce(sent_at, published_at) FROM outbox "
                           "ORDER BY seq").fetchall()
    finally:
        con.close()
    assert all(sent is not None for _, _, sent in rows), "something is still pending"
    out: dict[str, list[str]] = {s: [] for s in STREAMS}
    for stream, event_id, _ in rows:
        out[stream].append(event_id)
    return out


def received(sub: Subscriber) -> tuple[dict[str, list[str]], int]:
    """First occurrences per stream, in arrival order, and how many duplicates were dropped."""
    firsts: dict[str, list[str]] = {s: [] for s in STREAMS}
    seen: set[str] = set()
    dups = 0
    for m in sub.received():
        stream = m.topic.rsplit("/", 1)[1]
        if stream not in STREAMS:
            continue
        event_id = json.loads(m.payload)["event_id"]
        if event_id in seen:
            dups += 1
            continue
        seen.add(event_id)
        firsts[stream].append(event_id)
    return firsts, dups


def consumer(b: Broker, *, survives_broker_restart: bool = True) -> Subscriber:
    """The township's consumer with a persistent session.

    mosquitto 2.0.11 drops MQTT 5 sessions when it restarts (and with them what it queued for a
    consumer that was away), but keeps MQTT 3.1.1 ones: the tests that restart the broker while
    the consumer may be away use the latter; the late-consumer test uses an MQTT 5 session.
    """
    if survives_broker_restart:
        return Subscriber(b, f"{PREFIX}/#", session_expiry_s=600, client_id="township-consumer",
                          protocol=mqtt.MQTTv311)
    return Subscriber(b, f"{PREFIX}/#", session_expiry_s=600, client_id="township-consumer")


def assert_exactly_once(db: Path, sub: Subscriber) -> int:
    truth = stored(db)
    total = sum(len(v) for v in truth.values())
    assert wait_until(lambda: sum(len(v) for v in received(sub)[0].values()) >= total, 15)
    time.sleep(0.2)  # a late duplicate or stray would show now
    got, dups = received(sub)
    for stream in STREAMS:
        assert got[stream] == truth[stream], f"{stream}: not every event exactly once, in order"
    return dups


def test_power_cut_at_commit_publish_and_puback_across_broker_restarts(make_broker: Callable[..., Broker],
                                                                       tmp_path: Path) -> None:
    b = make_broker(persistent=True)
    sub = consumer(b)
    db = tmp_path / "outbox.sqlite"
    rng = random.Random(5)
    try:
        plan = ["commit", "publish", "puback"] * 3
        for n, point in enumerate(plan):
            mode = "write:60" if point == "commit" or n % 2 else "drain"
            if mode == "drain":
                with Outbox(db) as ob:  # a backlog built while the kiosk was offline
                    for _ in range(40):
                        event_id = f"backlog-{n}-{rng.random()}"
                        ob.append("entry", event_id, json.dumps({"event_id": event_id}).encode())
            code = run_child(db, b, mode, f"{point}:{rng.randint(1, 30)}")
            assert code in (0, 3)  # 3: it died where told (0: it finished first)
            if n % 3 == 2:  # the broker goes away too: cleanly, or killed outright
                b.stop(kill=n == 5)
                b.start()
                sub.wait_subscribed(10)  # the consumer is back on its session
        assert run_child(db, b, "drain") == 0
        dups = assert_exactly_once(db, sub)
        print(f"duplicates dropped by the consumer: {dups}")
    finally:
        sub.close()


def test_kill_9_while_writing_and_while_draining_in_a_loop(make_broker: Callable[..., Broker],
                                                          tmp_path: Path) -> None:
    b = make_broker(persistent=True)
    sub = consumer(b)
    db = tmp_path / "outbox.sqlite"
    rng = random.Random(11)
    try:
        for _ in range(8):
            proc = subprocess.Popen([sys.executable, str(CHILD), str(db), b.host, str(b.port), "write:400"],
                                    cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == b"ready"
            time.sleep(rng.uniform(0.02, 0.4))  # somewhere in writing or draining
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            proc.stdout.close()
        assert run_child(db, b, "drain") == 0
        assert sum(len(v) for v in stored(db).values()) > 100
        assert_exactly_once(db, sub)
    finally:
        sub.close()


def test_broker_down_for_minutes_nothing_lost_in_order_no_tight_loop(make_broker: Callable[..., Broker],
                                                                    tmp_path: Path) -> None:
    """Minutes compressed into seconds: the back-off cap (0.4 s here, 60 s in the field) sets the scale."""
    b = make_broker(persistent=True)
    sub = consumer(b)
    try:
        with Outbox(tmp_path / "o.sqlite") as ob:
            up = MqttUplink(ob, host=b.host, port=b.port, client_id="k", topic_prefix=PREFIX, backoff_s=(0.05, 0.4),
                            rng=random.Random(2))
            try:
                ids = []
                for i in range(50):
                    ids.append(f"before-{i}")
                    ob.append("entry", ids[-1], json.dumps({"event_id": ids[-1]}).encode())
                assert wait_until(lambda: ob.pending_count() == 0, 5, step=up.poll)
                b.stop()
                start = time.monotonic()
                attempts0 = up.stats().attempts
                i = 0
                while time.monotonic() - start < 4.0:  # 10 back-off caps: "minutes"
                    ids.append(f"during-{i}")
                    ob.append("entry", ids[-1], json.dumps({"event_id": ids[-1]}).encode())
                    i += 1
                    up.poll()
                    time.sleep(0.01)
                attempts = up.stats().attempts - attempts0
                assert not up.online and 5 <= attempts <= 30  # retried all along, never in a tight loop
                b.start()
                assert wait_until(lambda: ob.pending_count() == 0, 10, step=up.poll)
            finally:
                up.close()
        sub.wait_subscribed(10)
        assert wait_until(lambda: len(received(sub)[0]["entry"]) >= len(ids), 10)
        assert received(sub)[0]["entry"] == ids
    finally:
        sub.close()


def test_a_consumer_that_connects_late_gets_everything(make_broker: Callable[..., Broker], tmp_path: Path) -> None:
    b = make_broker(persistent=True)
    sub = consumer(b, survives_broker_restart=False)  # MQTT 5, session expiry: subscribed once ...
    sub.pause()  # ... and away while the kiosk publishes
    try:
        with Outbox(tmp_path / "o.sqlite") as ob, MqttUplink(ob, host=b.host, port=b.port, client_id="k",
                                                             topic_prefix=PREFIX, backoff_s=(0.05, 0.4)) as up:
            for i in range(150):
                ob.append("alert" if i % 10 == 0 else "entry", f"e{i}", json.dumps({"event_id": f"e{i}"}).encode(),
                          priority=10 if i % 10 == 0 else 0)
            assert wait_until(lambda: ob.pending_count() == 0, 30, step=up.poll)  # (generous: a loaded CI box)
        sub.resume()
        assert wait_until(lambda: sum(len(v) for v in received(sub)[0].values()) >= 150, 30)
        got, _ = received(sub)
        assert len(got["alert"]) == 15 and len(got["entry"]) == 135
        statuses = [m.payload for m in sub.received(f"{PREFIX}/status")]
        assert statuses and statuses[-1] == b"offline"  # the kiosk closed cleanly: the retained status says so
    finally:
        sub.close()


def test_alerts_overtake_a_backlog_after_an_outage(make_broker: Callable[..., Broker], tmp_path: Path) -> None:
    b = make_broker(persistent=True)
    sub = consumer(b)
    try:
        with Outbox(tmp_path / "o.sqlite") as ob:
            for i in range(500):  # a long outage's backlog ...
                ob.append("entry", f"e{i}", json.dumps({"event_id": f"e{i}"}).encode())
            with MqttUplink(ob, host=b.host, port=b.port, client_id="k", topic_prefix=PREFIX, max_inflight=20,
                            backoff_s=(0.05, 0.4)) as up:
                assert wait_until(lambda: up.online and up.stats().acknowledged >= 100, 10, step=up.poll)
                ob.append("alert", "fever", b'{"event_id":"fever"}', priority=10)  # ... then a fever
                published_before = up.stats().published
                assert wait_until(lambda: ob.pending_count() == 0, 20, step=up.poll)
        assert wait_until(lambda: len(received(sub)[0]["entry"]) >= 500, 10)
        order = [json.loads(m.payload)["event_id"] for m in sub.received() if not m.topic.endswith("/status")]
        # Next out once a slot of the window frees: only what had already been handed over is ahead of it.
        assert order.index("fever") <= published_before < 250
    finally:
        sub.close()
