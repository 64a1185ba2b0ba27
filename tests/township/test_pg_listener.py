"""The listener writing PostgreSQL: the SQLite store's guarantees, receipts, the real kiosk's feed,
a `$share` group of listeners on one database, and kill -9 mid-stream losing and duplicating nothing."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from kiosk.ids import uuid7
from tests.mosquitto import Broker, Subscriber, broker, make_broker, wait_until
from tests.paths import ROOT, SCENARIOS
from tests.township.test_receipts import body, publish_all, receipts_of
from township.broker import BrokerAddress
from township.ingest import PgEventStore
from township.listener import Listener
from township.store import Incoming

__all__ = ["broker", "make_broker"]

NOON = 1_764_043_200.0  # 2025-11-25 12:00 Asia/Shanghai


def test_the_pg_store_keeps_the_sqlite_guarantees_and_notifies(pg_dsn: str) -> None:
    listen = psycopg.connect(pg_dsn, autocommit=True)
    listen.execute("LISTEN township_feed")
    alert = json.dumps({"event_id": "a1", "at": NOON, "township": "t1", "site": "s1", "kiosk": "k1",
                        "decision": "STOP", "reasons": ["fever"], "temperature_c": 38.4, "alert": True}).encode()
    daily = json.dumps({"event_id": "d1", "at": NOON + 86_400, "day": "2025-11-25", "visitors": 0, "alerts": 0,
                        "in_service_s": 0}).encode()
    with PgEventStore(pg_dsn) as store:
        got = store.add_many([
            Incoming("t1", "s1", "k1", "alert", alert, NOON + 1),
            Incoming("t1", "s1", "k1", "alert", alert, NOON + 2),  # the same event twice in one batch
            Incoming("t1", "s1", "k2", "entry", json.dumps({"event_id": "x", "kiosk": "k1"}).encode(), NOON),
            Incoming("t1", "s1", "k1", "entry", "{}".encode("utf-16"), NOON),
            Incoming("t1", "s1", "k1", "entry", b'{"event_id": "n", "note": "\\u0000"}', NOON),  # stored, NUL as U+FFFD
            Incoming("t1", "s1", "k1", "daily", daily, NOON + 86_400),
            Incoming("t1", "s1", "k1", "status", b"offline", NOON + 3),
        ])
        assert [(s.new, s.event_id) for s in got] == [(True, "a1"), (False, "a1"), (False, ""), (False, ""),
                                                      (True, "n"), (True, "d1"), (False, "")]
        assert not store.add("t1", "s1", "k1", "alert", alert, received_at=NOON + 5).new  # later: still a duplicate
        assert store.counter("duplicates") == 2 and store.counter("mismatched") == 1
        assert store.counter("malformed") == 1
        assert store.event_ids() == ["a1", "d1", "n"]
        (row,) = store.rows("SELECT state, temperature_c, reasons, day FROM console_alert")
        assert row["state"] == "open" and row["reasons"] == ["fever"] and str(row["day"]) == "2025-11-25"
        (k,) = store.rows("SELECT status FROM feed_kiosk WHERE kiosk = 'k1'")
        assert k["status"] == "offline"
        assert store.rows("SELECT in_service_s FROM feed_daily")[0]["in_service_s"] == 0
    notes = [json.loads(n.payload) for n in listen.notifies(timeout=1, stop_after=1)]
    assert notes and {"alert", "daily", "status"} <= set(notes[0]["kinds"]) and notes[0]["townships"] == ["t1"]
    listen.close()


def _kiosk_toml(tmp_path: Path, site: str, kiosk: str, seal_public: str = "") -> Path:
    path = tmp_path / f"{site}-{kiosk}.toml"
    path.write_text(f'[site]\ntownship = "t1"\nsite_id = "{site}"\nkiosk_id = "{kiosk}"\n'
                    f'[uplink]\nseal_public_key = "{seal_public}"\n[storage]\ndata_dir = "{tmp_path / kiosk}"\n')
    return path


def simulate(b: Broker, config: Path, scenario: Path, tmp_path: Path) -> subprocess.CompletedProcess[bytes]:
    """The real kiosk: `kiosk simulate --broker` publishing its whole feed."""
    return subprocess.run([sys.executable, "-m", "kiosk.cli", "simulate", str(scenario), "--headless",
                           "--config", str(config), "--out", str(tmp_path / f"{config.stem}.jsonl"), "--broker",
                           f"mqtt://{b.host}:{b.port}"], cwd=ROOT, capture_output=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True)


def test_a_simulated_kiosk_feeds_postgres_with_receipts_and_alert_rows(broker: Broker, pg_dsn: str,
                                                                       tmp_path: Path) -> None:
    from kiosk.feed.sealing import public_key_text

    private = X25519PrivateKey.generate()
    config = _kiosk_toml(tmp_path, "s1", "k1", public_key_text(private.public_key()))
    sub = Subscriber(broker, "checkpoint/v1/t1/+/+/receipt")
    with PgEventStore(pg_dsn) as store:
        listener = Listener(store, BrokerAddress(broker.host, broker.port, False), township="t1", out=io.StringIO(),
                            client_id="pg-e2e")
        listener.start()
        try:
            simulate(broker, config, SCENARIOS / "every-reason.json", tmp_path)
            assert wait_until(lambda: store.count("daily") == 1, 15, step=listener.poll)
            listener.poll(0.5)
        finally:
            listener.close()
            sub.close()
        decisions = [json.loads(line) for line in (tmp_path / "s1-k1.jsonl").read_text().splitlines()]
        n_stop = sum(d["decision"] == "STOP" for d in decisions)
        assert store.count("entry") + store.count("alert") == len(decisions)
        alerts = store.rows("SELECT count(*) AS n FROM console_alert")[0]["n"]
        assert alerts == store.count("alert") >= 1 and alerts <= n_stop
        assert all(r["sid"] is None and r["sid_sealed"].startswith("S1.")
                   for r in store.rows("SELECT sid, sid_sealed FROM feed_entry WHERE sid_sealed IS NOT NULL"))
        held = set(store.event_ids())
    received = {i for ids in receipts_of(sub).values() for i in ids}
    assert held <= received  # every id the township holds was receipted to the kiosk


def test_a_share_group_of_listeners_writes_one_database_once(broker: Broker, pg_dsn: str) -> None:
    """Several kiosks (20, their statuses too), so the members' batches overlap on kiosk rows as a county's do."""
    address = BrokerAddress(broker.host, broker.port, False)
    kiosks = [f"k{i:02d}" for i in range(20)]
    ids = {k: [uuid7(NOON + i + j / 100) for i in range(15)] for j, k in enumerate(kiosks)}
    stores = [PgEventStore(pg_dsn), PgEventStore(pg_dsn)]
    members = [Listener(s, address, township="t1", client_id=f"m{i}", share="township-t1", out=io.StringIO(),
                        batch=20) for i, s in enumerate(stores)]
    for m in members:
        m.start()
    messages = [(f"checkpoint/v1/t1/s1/{k}/entry", body(k, e)) for i in range(15) for k in kiosks
                for e in [ids[k][i]]]
    messages += [(f"checkpoint/v1/t1/s1/{k}/entry", body(k, ids[k][0])) for k in kiosks]  # re-sent
    messages += [(f"checkpoint/v1/t1/s1/{k}/status", b"online") for k in kiosks]
    try:
        publish_all(broker, [m for m in messages if not m[0].endswith("/status")])
        _publish_raw(broker, [m for m in messages if m[0].endswith("/status")])
        assert wait_until(lambda: sum(m.stored + m.duplicates for m in members) >= 320, 30,
                          step=lambda: [m.poll() for m in members])
        assert wait_until(lambda: len(stores[0].rows("SELECT 1 FROM feed_kiosk WHERE status = 'online'")) == 20, 10,
                          step=lambda: [m.poll() for m in members])
    finally:
        for m in members:
            m.close()
    assert all(m.stored > 0 for m in members)
    assert stores[0].event_ids("entry") == sorted(e for k in kiosks for e in ids[k])
    for s in stores:
        s.close()


def _publish_raw(b: Broker, messages: list[tuple[str, bytes]]) -> None:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"raw-{uuid7(time.time())[-8:]}", protocol=mqtt.MQTTv5)
    c.connect(b.host, b.port)
    c.loop_start()
    try:
        for topic, payload in messages:
            c.publish(topic, payload, qos=1).wait_for_publish(5)
    finally:
        c.disconnect()
        c.loop_stop()


def _listen_pg(b: Broker, dsn: str, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "township", "listen", "--broker",
                             f"mqtt://{b.host}:{b.port}", "--database-url", dsn, "--township", "t1",
                             "--client-id", "pg-killed"], stdout=subprocess.DEVNULL, stderr=open(log, "ab"),
                            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})


def _count(dsn: str, query: str = "SELECT count(*) FROM feed_entry") -> int:
    with psycopg.connect(dsn) as con:
        return int(con.execute(query).fetchone()[0])  # type: ignore[index]


def test_kill_9_of_the_listener_mid_stream_loses_and_duplicates_nothing(make_broker: Callable[..., Broker],
                                                                        pg_dsn: str, tmp_path: Path) -> None:
    b = make_broker("max_queued_messages 100000\nmax_inflight_messages 0\n")
    log = tmp_path / "listen.log"
    proc = _listen_pg(b, pg_dsn, log)
    ids = [uuid7(NOON + i / 1000) for i in range(3000)]
    try:
        assert wait_until(lambda: "connected to" in log.read_text(errors="replace"), 20, interval_s=0.1)
        import threading

        alerts = {e for i, e in enumerate(ids) if i % 100 == 0}
        messages = [(f"checkpoint/v1/t1/s1/k1/{'alert' if e in alerts else 'entry'}", body("k1", e)) for e in ids]
        sender = threading.Thread(target=publish_all, args=(b, messages))
        sender.start()
        assert wait_until(lambda: _count(pg_dsn) >= 300, 30, interval_s=0.02)
        os.kill(proc.pid, signal.SIGKILL)  # mid-stream: batches committed, others in hand and unacked
        proc.wait(5)
        at_kill = _count(pg_dsn)
        sender.join(60)
        proc = _listen_pg(b, pg_dsn, log)  # the same persistent session: the broker kept the rest
        assert wait_until(lambda: _count(pg_dsn) >= 3000, 60, interval_s=0.2), _count(pg_dsn)
        time.sleep(0.5)
        assert at_kill < 3000
        assert _count(pg_dsn) == 3000
        assert _count(pg_dsn, "SELECT count(DISTINCT event_id) FROM feed_entry") == 3000
        with psycopg.connect(pg_dsn) as con:
            stored = {r[0] for r in con.execute("SELECT event_id FROM feed_entry")}
        assert stored == set(ids)
        assert _count(pg_dsn, "SELECT count(*) FROM console_alert") == 30
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_database_lost_under_the_listener_exits_3_without_a_traceback(broker: Broker, pg_cluster: Any,
                                                                          tmp_path: Path) -> None:
    dsn = pg_cluster.create_database("doomed", template="township_template")
    log = tmp_path / "listen.log"
    with open(log, "wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "township", "listen", "--broker",
                                 f"mqtt://{broker.host}:{broker.port}", "--database-url", dsn, "--township", "t1"],
                                stdout=subprocess.DEVNULL, stderr=err, cwd=ROOT,
                                env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert wait_until(lambda: "connected to" in log.read_text(errors="replace"), 20, interval_s=0.1)
        publish_all(broker, [("checkpoint/v1/t1/s1/k1/entry", body("k1", uuid7(NOON)))])
        assert wait_until(lambda: _count(dsn) == 1, 10, interval_s=0.1)
        with psycopg.connect(pg_cluster.dsn("postgres"), autocommit=True) as con:
            con.execute('DROP DATABASE "doomed" WITH (FORCE)')
        publish_all(broker, [("checkpoint/v1/t1/s1/k1/entry", body("k1", uuid7(NOON + 1)))])
        assert proc.wait(20) == 3
        text = log.read_text(errors="replace")
        assert "the store failed" in text and "Traceback" not in text
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
