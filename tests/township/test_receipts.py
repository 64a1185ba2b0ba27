"""Issue 13, township side: receipts after the commit, waiting for the broker, reconnecting, SIGTERM."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from kiosk.feed.schema import validate_payload
from kiosk.ids import uuid7
from tests.mosquitto import Broker, Subscriber, broker, wait_until
from tests.paths import ROOT
from township.broker import BrokerAddress
from township.listener import Listener
from township.receipts import MAX_IDS, receipt_messages
from township.store import EventStore

__all__ = ["broker"]

NOON = 1_764_043_200.0


def body(kiosk: str, event_id: str, *, site: str = "s1") -> bytes:
    return json.dumps({"schema": 1, "event_id": event_id, "at": NOON, "township": "t1", "site": site,
                       "kiosk": kiosk, "decision": "PASS", "reasons": [], "alert": False}).encode()


def publish_all(b: Broker, messages: list[tuple[str, bytes]]) -> None:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid7(time.time())[-8:]}", protocol=mqtt.MQTTv5)
    c.connect(b.host, b.port)
    c.loop_start()
    try:
        for topic, payload in messages:
            props = Properties(PacketTypes.PUBLISH)
            props.UserProperty = [("event_id", json.loads(payload)["event_id"])]
            c.publish(topic, payload, qos=1, properties=props).wait_for_publish(5)
    finally:
        c.disconnect()
        c.loop_stop()


def receipts_of(sub: Subscriber, field: str = "ids") -> dict[str, list[str]]:
    """{topic: ids} of the receipts `sub` got (`field="refused"`: the ids refused for good)."""
    ids: dict[str, list[str]] = {}
    for m in sub.received():
        body = validate_payload("receipt", m.payload)  # config/asyncapi.yaml's Receipt schema
        assert set(body) <= {"schema", "at", "ids", "refused"} and body["schema"] == 1
        assert len(body["ids"]) <= MAX_IDS and len(body.get("refused", ())) <= MAX_IDS
        assert not m.retain
        if body.get(field):
            ids.setdefault(m.topic, []).extend(body[field])
    return ids


def test_receipts_name_every_held_id_per_kiosk_duplicates_included(broker: Broker, tmp_path: Path) -> None:
    sub = Subscriber(broker, "checkpoint/v1/t1/+/+/receipt")
    k1 = [uuid7(NOON + i) for i in range(5)]
    k2 = [uuid7(NOON + 10 + i) for i in range(3)]
    forged = uuid7(time.time())
    with EventStore(tmp_path / "t.sqlite") as store:
        listener = Listener(store, BrokerAddress(broker.host, broker.port, False), township="t1", out=io.StringIO(),
                            client_id="rc-1")
        listener.start()
        try:
            publish_all(broker, [("checkpoint/v1/t1/s1/k1/entry", body("k1", e)) for e in k1]
                        + [("checkpoint/v1/t1/s2/k2/entry", body("k2", e, site="s2")) for e in k2]
                        + [("checkpoint/v1/t1/s1/k1/entry", body("k2", forged))])  # speaks for k2
            assert wait_until(lambda: listener.stored + listener.rejected >= 9, 10, step=listener.poll)
            assert wait_until(lambda: sum(map(len, receipts_of(sub).values())) >= 8, 5)
            assert wait_until(lambda: receipts_of(sub, "refused") == {"checkpoint/v1/t1/s1/k1/receipt": [forged]}, 5)
            assert listener.poll(timeout_s=0.5) == 0  # its own receipts are not delivered back to it
            first = receipts_of(sub)
            publish_all(broker, [("checkpoint/v1/t1/s1/k1/entry", body("k1", k1[0]))])  # a re-send: held already
            assert wait_until(lambda: listener.duplicates == 1, 10, step=listener.poll)
            assert wait_until(lambda: sum(map(len, receipts_of(sub).values())) >= 9, 5)
        finally:
            listener.close()
            sub.close()
    assert set(first) == {"checkpoint/v1/t1/s1/k1/receipt", "checkpoint/v1/t1/s2/k2/receipt"}
    assert sorted(first["checkpoint/v1/t1/s1/k1/receipt"]) == sorted(k1)  # not the forged one: it is refused
    assert sorted(first["checkpoint/v1/t1/s2/k2/receipt"]) == sorted(k2)
    assert receipts_of(sub)["checkpoint/v1/t1/s1/k1/receipt"][len(k1):] == [k1[0]]  # the duplicate: again


def test_refused_ids_ride_in_the_receipt_and_only_ids_are_echoed() -> None:
    held = {("t1", "s1", "k1"): ["a1", "a2"]}
    refused = {("t1", "s1", "k1"): ["r1", "a1", "not an id!"], ("t1", "s1", "k2"): ["r2"]}
    messages = [(t, json.loads(p)) for t, p in receipt_messages(held, NOON, refused)]
    for _, payload in messages:
        validate_payload("receipt", json.dumps(payload).encode())
    assert messages == [("checkpoint/v1/t1/s1/k1/receipt", {"schema": 1, "at": NOON, "ids": ["a1", "a2"],
                                                             "refused": ["r1"]}),
                        ("checkpoint/v1/t1/s1/k2/receipt", {"schema": 1, "at": NOON, "ids": [], "refused": ["r2"]})]


def test_a_receipt_holds_at_most_500_ids() -> None:
    ids = [f"e{i}" for i in range(1201)]
    messages = list(receipt_messages({("t1", "s1", "k1"): ids + ids[:3]}, NOON))
    assert [len(json.loads(p)["ids"]) for _, p in messages] == [500, 500, 201]
    assert [i for _, p in messages for i in json.loads(p)["ids"]] == ids


def _listen(b: Broker, db: Path, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "township", "listen", "--broker",
                             f"mqtt://{b.host}:{b.port}", "--db", str(db), "--township", "t1", "--client-id",
                             "waiter"], stdout=subprocess.DEVNULL, stderr=open(log, "wb"), cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})


def _stored(db: Path) -> int:
    import sqlite3

    if not db.exists():
        return 0
    try:
        con = sqlite3.connect(db, timeout=5)
        try:
            return int(con.execute("SELECT count(*) FROM events").fetchone()[0])
        finally:
            con.close()
    except sqlite3.OperationalError:
        return 0


def test_listen_waits_for_the_broker_reconnects_after_an_outage_and_stops_cleanly_on_sigterm(
        tmp_path: Path) -> None:
    b = Broker(tmp_path)  # its port is chosen; nothing listens there yet
    db, log = tmp_path / "t.sqlite", tmp_path / "listen.log"
    proc = _listen(b, db, log)
    try:
        assert wait_until(lambda: "waiting for the broker" in log.read_text(errors="replace"), 10, interval_s=0.1)
        assert proc.poll() is None  # still there, not exit 1
        b.start()
        assert wait_until(lambda: "connected to" in log.read_text(errors="replace"), 10, interval_s=0.1)
        time.sleep(0.2)
        publish_all(b, [("checkpoint/v1/t1/s1/k1/entry", body("k1", uuid7(time.time())))])
        assert wait_until(lambda: _stored(db) == 1, 10, interval_s=0.1)
        b.stop(kill=True)  # an outage
        time.sleep(1.0)
        b.start()
        start = time.monotonic()
        sub = Subscriber(b, "checkpoint/v1/t1/+/+/receipt")
        event_id = uuid7(time.time())
        try:
            def sent() -> bool:
                publish_all(b, [("checkpoint/v1/t1/s1/k1/entry", body("k1", event_id))])
                return wait_until(lambda: bool(receipts_of(sub)), 0.5, interval_s=0.05)

            assert wait_until(sent, 15, interval_s=0.1)  # back within seconds; a receipt for it too
        finally:
            sub.close()
        assert time.monotonic() - start < 12
        assert _stored(db) == 2
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        assert "2 new events" in log.read_text(errors="replace")
        assert "Traceback" not in log.read_text(errors="replace")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        b.stop()
