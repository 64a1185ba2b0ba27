"""The reference township consumer against a real mosquitto: dedup, alerts, unsealing, late
consumers (persistent session), and the daily report with zero reports."""

from __future__ import annotations

import io
import json
import random
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import paho.mqtt.client as mqtt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from paho.mqtt.enums import CallbackAPIVersion

from kiosk.config import KioskConfig
from kiosk.feed.daily import DailyReporter
from kiosk.feed.events import CodeSummary, EntryEvent
from kiosk.feed.sealing import SubjectOpener
from kiosk.feed.topics import KioskTopics
from kiosk.ids import uuid7
from kiosk.outbox import Outbox
from kiosk.uplink import MqttUplink
from tests.mosquitto import Broker, broker, wait_until
from tests.paths import SCENARIOS
from township.broker import BrokerAddress
from township.cli import main
from township.listener import Listener
from township.report import daily_report
from township.store import EventStore

__all__ = ["broker"]

TZ = "Asia/Shanghai"
DAY = "2026-11-24"
NOON = datetime(2026, 11, 24, 12, 0, tzinfo=ZoneInfo(TZ)).timestamp()


def kiosk_config(site: str, kiosk: str) -> KioskConfig:
    base = KioskConfig()
    return base.model_copy(update={"site": base.site.model_copy(update={
        "township": "t1", "site_id": site, "kiosk_id": kiosk})})


def event(config: KioskConfig, at: float, *, alert: bool, sid: str, opener: SubjectOpener) -> EntryEvent:
    s = config.site
    return EntryEvent(
        event_id=uuid7(at), at=at, township=s.township, site=s.site_id, kiosk=s.kiosk_id,
        decision="STOP" if alert else "PASS", reasons=("fever",) if alert else (),
        temperature_c=38.4 if alert else 36.5,
        code=CodeSummary(format="THP1", valid=True, colour="G", issuer="CN-T1", error=None),
        policy_version="p-1", mode="risk-areas", alert=alert, name="张*三", sid_sealed=opener.sealer.seal(sid))


def store_event(outbox: Outbox, e: EntryEvent, daily: DailyReporter) -> None:
    payload = e.to_json()
    outbox.append(e.stream, e.event_id, payload, priority=10 if e.alert else 0, tally=daily.tally_of(e))


def drain(outbox: Outbox, b: Broker, topics: KioskTopics) -> None:
    up = MqttUplink(outbox, host=b.host, port=b.port, client_id=f"{topics.site}.{topics.kiosk}",
                    topic_prefix=topics.prefix, backoff_s=(0.05, 0.2), rng=random.Random(0))
    try:
        assert wait_until(lambda: outbox.pending_count() == 0, 10, step=up.poll)
    finally:
        up.close()


def republish(b: Broker, topic: str, payload: bytes) -> None:
    """A kiosk re-sending what it had in flight when its link dropped: the same event again."""
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="resender", protocol=mqtt.MQTTv5)
    c.connect(b.host, b.port)
    c.loop_start()
    c.publish(topic, payload, qos=1).wait_for_publish(5)
    c.disconnect()
    c.loop_stop()


@pytest.fixture
def opener() -> SubjectOpener:
    return SubjectOpener(X25519PrivateKey.generate())


def test_listener_stores_once_prints_alerts_and_unseals_with_the_key(broker: Broker, tmp_path: Path,
                                                                      opener: SubjectOpener) -> None:
    out = io.StringIO()
    address = BrokerAddress(broker.host, broker.port, tls=False)
    config = kiosk_config("s1", "k1")
    topics = KioskTopics("t1", "s1", "k1")
    with EventStore(tmp_path / "t.sqlite") as store, Outbox(tmp_path / "k1.sqlite") as outbox:
        listener = Listener(store, address, township="t1", opener=opener, out=out, client_id="l1")
        listener.start()
        daily = DailyReporter(outbox, config)
        events = [event(config, NOON + i, alert=i % 3 == 0, sid=f"person-{i}", opener=opener) for i in range(9)]
        for e in events:
            store_event(outbox, e, daily)
        drain(outbox, broker, topics)
        for e in events[:4]:  # duplicates after a reconnect
            republish(broker, f"{topics.prefix}/{e.stream}", e.to_json())
        try:
            assert wait_until(lambda: listener.stored + listener.duplicates >= 13, 10, step=listener.poll)
        finally:
            listener.close()
        listener.poll()
        assert store.count("entry") + store.count("alert") == 9
        assert store.counter("duplicates") == 4 and listener.duplicates == 4
        assert sorted(store.event_ids()) == sorted(e.event_id for e in events)
        alerts = [json.loads(line) for line in out.getvalue().splitlines()]
        assert sorted(a["alert"] for a in alerts) == sorted(e.event_id for e in events if e.alert)  # each once
        assert all(a["reasons"] == ["fever"] and a["site"] == "s1" and "sid" not in json.dumps(a) for a in alerts)
        rows = store.rows("SELECT event_id, sid, payload FROM events")
        by_id = {e.event_id: i for i, e in enumerate(events)}
        assert {r["sid"] for r in rows} == {f"person-{by_id[r['event_id']]}" for r in rows}
        assert all("person-" not in r["payload"] for r in rows)  # the payload stays as it came: sealed


def test_without_the_key_subject_ids_stay_sealed(broker: Broker, tmp_path: Path, opener: SubjectOpener) -> None:
    config, topics = kiosk_config("s1", "k1"), KioskTopics("t1", "s1", "k1")
    with EventStore(tmp_path / "t.sqlite") as store, Outbox(tmp_path / "k1.sqlite") as outbox:
        listener = Listener(store, BrokerAddress(broker.host, broker.port, False), township="t1", out=io.StringIO())
        listener.start()
        daily = DailyReporter(outbox, config)
        store_event(outbox, event(config, NOON, alert=False, sid="person-x", opener=opener), daily)
        drain(outbox, broker, topics)
        try:
            assert wait_until(lambda: listener.stored == 1, 10, step=listener.poll)
        finally:
            listener.close()
        (row,) = store.rows("SELECT sid, payload FROM events")
        assert row["sid"] is None and "person-x" not in row["payload"]
        assert opener.open(json.loads(row["payload"])["sid_sealed"]) == "person-x"
    assert b"person-x" not in (tmp_path / "t.sqlite").read_bytes()


def test_a_late_or_restarted_consumer_gets_what_was_sent_while_it_was_away(broker: Broker, tmp_path: Path,
                                                                          opener: SubjectOpener) -> None:
    """The persistent session: the broker queues for the listener's client id while it is down."""
    config, topics = kiosk_config("s1", "k1"), KioskTopics("t1", "s1", "k1")
    address = BrokerAddress(broker.host, broker.port, False)
    with EventStore(tmp_path / "t.sqlite") as store, Outbox(tmp_path / "k1.sqlite") as outbox:
        first = Listener(store, address, township="t1", client_id="township-t1", out=io.StringIO())
        first.start()
        first.close()  # away: the session stays on the broker
        daily = DailyReporter(outbox, config)
        events = [event(config, NOON + i, alert=False, sid="p", opener=opener) for i in range(25)]
        for e in events:
            store_event(outbox, e, daily)
        drain(outbox, broker, topics)
        second = Listener(store, address, township="t1", client_id="township-t1", out=io.StringIO())
        second.start()
        try:
            assert wait_until(lambda: second.stored == 25, 10, step=second.poll)
        finally:
            second.close()
        assert sorted(store.event_ids("entry")) == sorted(e.event_id for e in events)


def _summaries(tmp_path: Path) -> list[tuple[KioskTopics, bytes]]:
    """Real daily summaries from the kiosk's own DailyReporter: s1/k1 busy, s1/k2 and s2/k1 saw nobody."""
    out = []
    opener = SubjectOpener(X25519PrivateKey.generate())
    for site, kiosk, n in (("s1", "k1", 5), ("s1", "k2", 0), ("s2", "k1", 0)):
        config = kiosk_config(site, kiosk)
        with Outbox(tmp_path / f"{site}-{kiosk}.sqlite") as outbox:
            daily = DailyReporter(outbox, config)
            for i in range(n):
                store_event(outbox, event(config, NOON + i, alert=i < 2, sid="p", opener=opener), daily)
            summary = daily.summary(DAY, NOON + 86_400)
        out.append((KioskTopics("t1", site, kiosk), json.dumps(summary).encode()))
    return out


def test_daily_report_per_site_with_zero_reports_and_missing_kiosks(tmp_path: Path) -> None:
    with EventStore(tmp_path / "t.sqlite") as store:
        for topics, payload in _summaries(tmp_path):
            store.add("t1", topics.site, topics.kiosk, "daily", payload, received_at=NOON + 86_400)
            store.add("t1", topics.site, topics.kiosk, "daily", payload, received_at=NOON + 86_401)  # dup
        store.add("t1", "s3", "k9", "status", b"online", received_at=NOON)  # known, never reported
        report = daily_report(store, DAY)
    sites = {s["site"]: s for s in report["sites"]}
    assert set(sites) == {"s1", "s2", "s3"}
    s1, s2, s3 = sites["s1"], sites["s2"], sites["s3"]
    assert s1["reported"] == ["k1", "k2"] and s1["missing"] == []
    assert s1["counts"]["visitors"] == 5 and s1["counts"]["alerts"] == 2
    assert s1["counts"]["decisions"] == {"PASS": 3, "STOP": 2, "LEFT": 0} and s1["counts"]["reasons"]["fever"] == 2
    # the zero report: present, with zeros, not missing
    assert s2["reported"] == ["k1"] and s2["missing"] == []
    assert s2["counts"]["visitors"] == 0 and s2["counts"]["decisions"] == {"PASS": 0, "STOP": 0, "LEFT": 0}
    assert set(s2["counts"]["reasons"].values()) == {0} and s2["counts"]["reasons"]
    assert s2["seconds_per_visitor"] is None
    assert s3["reported"] == [] and s3["missing"] == ["k9"] and s3["counts"] == {}
    with pytest.raises(ValueError), EventStore(tmp_path / "t.sqlite") as store:
        daily_report(store, "24/11/2026")


def test_cli_listen_then_report(broker: Broker, tmp_path: Path, capsys: Any) -> None:
    url = f"mqtt://{broker.host}:{broker.port}"
    db = tmp_path / "township.sqlite"
    key = tmp_path / "seal.pem"
    private = X25519PrivateKey.generate()
    opener = SubjectOpener(private)
    key.write_bytes(private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    args = ["listen", "--broker", url, "--db", str(db), "--township", "t1", "--client-id", "cli-1",
            "--seal-key", str(key)]
    assert main([*args, "--duration", "0.3"]) == 0  # creates the persistent session
    capsys.readouterr()
    config, topics = kiosk_config("s1", "k1"), KioskTopics("t1", "s1", "k1")
    with Outbox(tmp_path / "k1.sqlite") as outbox:
        daily = DailyReporter(outbox, config)
        store_event(outbox, event(config, NOON, alert=True, sid="person-a", opener=opener), daily)
        store_event(outbox, event(config, NOON + 5, alert=False, sid="person-b", opener=opener), daily)
        summary = daily.summary(DAY, NOON + 86_400)
        outbox.append("daily", summary["event_id"], json.dumps(summary).encode())
        drain(outbox, broker, topics)
    (tmp_path / "others").mkdir()
    for other_topics, payload in _summaries(tmp_path / "others"):
        if other_topics.site == "s2":  # a site that saw nobody all day: its zero report
            republish(broker, f"{other_topics.prefix}/daily", payload)
    assert main([*args, "--duration", "1.5"]) == 0
    captured = capsys.readouterr()
    alerts = [json.loads(line) for line in captured.out.splitlines()]
    assert len(alerts) == 1 and alerts[0]["reasons"] == ["fever"]
    assert "4 new events" in captured.err  # two entries, the busy site's summary, the quiet site's zero summary
    assert main(["report", "--db", str(db), "--day", DAY]) == 0
    report = json.loads(capsys.readouterr().out)
    sites = {s["site"]: s for s in report["sites"]}
    assert sites["s1"]["counts"]["visitors"] == 2 and sites["s1"]["entries_received"] == 2
    assert sites["s2"]["counts"]["visitors"] == 0 and sites["s2"]["reported"] == ["k1"]
    assert main(["report", "--db", str(db), "--day", "yesterday"]) == 2


def test_keygen_writes_keys_once(tmp_path: Path, capsys: Any) -> None:
    assert main(["keygen", str(tmp_path / "keys")]) == 0
    printed = capsys.readouterr().out
    config_line = next(line for line in printed.splitlines() if line.startswith("config_public_key"))
    seal_line = next(line for line in printed.splitlines() if line.startswith("seal_public_key"))
    values = {"config_public_key": config_line.split('"')[1], "seal_public_key": seal_line.split('"')[1]}
    KioskConfig.model_validate({"uplink": values})  # what keygen prints is what kiosk.toml accepts
    assert (tmp_path / "keys" / "seal.pem").stat().st_mode & 0o777 == 0o600
    assert main(["keygen", str(tmp_path / "keys")]) == 1  # never overwrites
    sealed = SubjectOpener.from_pem((tmp_path / "keys" / "seal.pem").read_bytes())
    from kiosk.feed.sealing import SubjectSealer

    assert sealed.open(SubjectSealer.from_text(values["seal_public_key"]).seal("x")) == "x"


def test_shared_subscription_members_split_the_feed_and_store_each_event_once(broker: Broker, tmp_path: Path,
                                                                               opener: SubjectOpener) -> None:
    """Two listeners in one `$share` group, one database: each event stored once, both did work."""
    config, topics = kiosk_config("s1", "k1"), KioskTopics("t1", "s1", "k1")
    address = BrokerAddress(broker.host, broker.port, False)
    db = tmp_path / "t.sqlite"
    with EventStore(db) as store_a, EventStore(db) as store_b, Outbox(tmp_path / "k1.sqlite") as outbox:
        members = [Listener(store, address, township="t1", client_id=f"member-{i}", share="township-t1",
                            out=io.StringIO()) for i, store in enumerate((store_a, store_b))]
        for m in members:
            m.start()
        assert members[0].filter == "$share/township-t1/checkpoint/v1/t1/+/+/entry"
        assert "checkpoint/v1/t1/+/+/status" in members[0].filters  # unshared: every member, retained too
        daily = DailyReporter(outbox, config)
        events = [event(config, NOON + i, alert=False, sid="p", opener=opener) for i in range(40)]
        for e in events:
            store_event(outbox, e, daily)
        drain(outbox, broker, topics)
        try:
            assert wait_until(lambda: sum(m.stored for m in members) >= 40, 10,
                              step=lambda: [m.poll() for m in members])
        finally:
            for m in members:
                m.close()
        assert all(m.stored > 0 for m in members), [m.stored for m in members]
        assert sorted(store_a.event_ids("entry")) == sorted(e.event_id for e in events)


def test_a_simulated_kiosk_day_end_to_end(broker: Broker, tmp_path: Path) -> None:
    """`kiosk simulate --broker`'s path into the township listener, then the report of that day."""
    from kiosk.feed.sealing import public_key_text
    from kiosk.simulation.runner import simulate

    private = X25519PrivateKey.generate()
    base = KioskConfig()
    config = base.model_copy(update={"uplink": base.uplink.model_copy(update={
        "seal_public_key": public_key_text(private.public_key())})})
    scenario = _first_visitors(4, tmp_path)
    out = io.StringIO()
    with EventStore(tmp_path / "t.sqlite") as store:
        listener = Listener(store, BrokerAddress(broker.host, broker.port, False), township=config.site.township,
                            opener=SubjectOpener(private), out=out, client_id="e2e")
        listener.start()
        try:
            result = simulate(scenario, config, broker=f"mqtt://{broker.host}:{broker.port}",
                              data_dir=str(tmp_path / "kiosk"))
            assert not result.mismatches()
            assert wait_until(lambda: store.count("daily") == 1, 10, step=listener.poll)
            listener.poll(0.3)
        finally:
            listener.close()
        n = len(scenario.visitors)
        assert store.count("entry") + store.count("alert") == n
        alerts = [json.loads(line) for line in out.getvalue().splitlines()]
        assert len(alerts) == store.count("alert") >= 1
        sids = {r["sid"] for r in store.rows("SELECT sid FROM events WHERE sid IS NOT NULL")}
        assert sids and sids <= {f"sim-{v.id}" for v in scenario.visitors}
        as_delivered = " ".join(r["payload"] for r in store.rows("SELECT payload FROM events"))
        assert not any(f"sim-{v.id}" in as_delivered for v in scenario.visitors)  # the broker carried no sid in clear
        day = datetime.fromtimestamp(scenario.start, ZoneInfo(config.uplink.timezone)).date().isoformat()
        report = daily_report(store, day)
    (site,) = report["sites"]
    assert site["reported"] == [config.site.kiosk_id] and site["missing"] == []
    assert site["counts"]["visitors"] == n and site["entries_received"] == n
    assert site["counts"]["alerts"] == site["alerts_received"] == len(alerts)


def _first_visitors(n: int, tmp_path: Path) -> Any:
    """The first `n` visitors of every-reason.json (PASS, fever, yellow, red+star, risk area, ...)."""
    from kiosk.simulation.scenario import load_scenario

    data = json.loads((SCENARIOS / "every-reason.json").read_text())
    data["visitors"] = data["visitors"][:n]
    path = tmp_path / "first-visitors.json"
    path.write_text(json.dumps(data))
    return load_scenario(path)


# ----------------------------------------------------------------------------- poison messages, identity
class _Acks:
    """Stands in for paho's client in `Listener._handle`: records what was acknowledged."""

    def __init__(self) -> None:
        self.acked: list[int] = []
        self.published: list[tuple[str, bytes]] = []

    def ack(self, mid: int, qos: int) -> None:
        self.acked.append(mid)

    def publish(self, topic: str, payload: bytes, qos: int = 0) -> None:
        self.published.append((topic, payload))


def _queued(listener: Listener, topic: str, payload: bytes, mid: int) -> None:
    from township.listener import _Message

    listener._inbox.put(_Message(topic, payload, mid, 1, None))


def _body(config: KioskConfig, **changes: Any) -> bytes:
    opener = SubjectOpener(X25519PrivateKey.generate())
    body = json.loads(event(config, NOON, alert=False, sid="p", opener=opener).to_json())
    return json.dumps({**body, **changes}, ensure_ascii=False).encode()


def test_utf16_json_is_malformed_not_a_crash(tmp_path: Path) -> None:
    """json.loads takes UTF-16/32 bytes; the store must not then fail on decoding them as UTF-8."""
    payload = _body(kiosk_config("s1", "k1")).decode().encode("utf-16")
    with EventStore(tmp_path / "t.sqlite") as store:
        for poison in (payload, _body(kiosk_config("s1", "k1")).decode().encode("utf-32"), b"[" * 100_000):
            assert not store.add("t1", "s1", "k1", "entry", poison, received_at=NOON).new
        assert store.add("t1", "s1", "k1", "entry", b'{"at": 1' + b"0" * 400 + b"}", received_at=NOON).new
        assert store.counter("malformed") == 3 and store.count() == 1  # the 400-digit `at` is stored, as None
        assert store.rows("SELECT at FROM events")[0]["at"] is None


def test_a_poison_message_is_counted_logged_without_content_and_acknowledged(tmp_path: Path, caplog: Any,
                                                                              monkeypatch: Any) -> None:
    import sqlite3

    topic = f"{KioskTopics('t1', 's1', 'k1').prefix}/entry"
    with EventStore(tmp_path / "t.sqlite") as store:
        listener = Listener(store, BrokerAddress("127.0.0.1", 1, False), township="t1", out=io.StringIO())
        listener._client = _Acks()  # type: ignore[assignment]
        _queued(listener, topic, _body(kiosk_config("s1", "k1"), name="张*三").decode().encode("utf-16"), 1)
        _queued(listener, topic, _body(kiosk_config("s1", "k1")), 2)
        assert listener.poll() == 2
        assert listener._client.acked == [1, 2] and listener.stored == 1 and listener.rejected == 1
        assert store.counter("malformed") == 1

        def explode(*_: Any, **__: Any) -> Any:
            raise ValueError("张三 inside")

        monkeypatch.setattr(store, "add", explode)
        _queued(listener, topic, _body(kiosk_config("s1", "k1"), name="张*三"), 3)
        with caplog.at_level("WARNING"):
            assert listener.poll() == 1  # the handler raised: still counted and acknowledged
        assert listener._client.acked == [1, 2, 3] and listener.rejected == 2 and store.counter("rejected") == 1
        assert "张" not in caplog.text and "rejected" in caplog.text

        def locked(*_: Any, **__: Any) -> Any:
            raise sqlite3.OperationalError("database is locked")

        monkeypatch.setattr(store, "add", locked)
        _queued(listener, topic, _body(kiosk_config("s1", "k1")), 4)
        with pytest.raises(sqlite3.OperationalError):  # the store failed, not the message: redelivered later
            listener.poll()
        assert listener._client.acked == [1, 2, 3]


def test_a_malformed_message_does_not_stop_a_real_listener_nor_come_back(broker: Broker, tmp_path: Path,
                                                                         opener: SubjectOpener) -> None:
    config, topics = kiosk_config("s1", "k1"), KioskTopics("t1", "s1", "k1")
    address = BrokerAddress(broker.host, broker.port, False)
    with EventStore(tmp_path / "t.sqlite") as store, Outbox(tmp_path / "k1.sqlite") as outbox:
        first = Listener(store, address, township="t1", client_id="township-poison", out=io.StringIO())
        first.start()
        republish(broker, f"{topics.prefix}/entry", _body(config).decode().encode("utf-16"))
        store_event(outbox, event(config, NOON, alert=False, sid="p", opener=opener), DailyReporter(outbox, config))
        drain(outbox, broker, topics)
        try:
            assert wait_until(lambda: first.stored == 1, 10, step=first.poll)
        finally:
            first.close()
        assert first.rejected == 1 and store.counter("malformed") == 1
        again = Listener(store, address, township="t1", client_id="township-poison", out=io.StringIO())
        again.start()
        try:
            again.poll(1.0)
        finally:
            again.close()
        assert again.rejected == 0 and store.counter("malformed") == 1  # acknowledged: not delivered again


def test_event_ids_are_per_kiosk_and_a_kiosk_cannot_speak_for_another(tmp_path: Path) -> None:
    k1, k2 = kiosk_config("s1", "k1"), kiosk_config("s1", "k2")
    with EventStore(tmp_path / "t.sqlite") as store:
        mine = _body(k1)
        event_id = json.loads(mine)["event_id"]
        assert store.add("t1", "s1", "k1", "entry", mine, received_at=NOON).new
        # k2 re-using k1's event id for its own event: its own event, k1's stays as it was
        assert store.add("t1", "s1", "k2", "entry", _body(k2, event_id=event_id), received_at=NOON).new
        # k2 publishing an event that names k1 (on its own topic, all the ACL lets it): rejected
        forged = _body(k1, event_id="forged-1")
        assert not store.add("t1", "s1", "k2", "entry", forged, received_at=NOON).new
        assert not store.add("t1", "s2", "k1", "entry", _body(k1, event_id="forged-2"), received_at=NOON).new
        assert store.counter("mismatched") == 2 and store.count() == 2
        rows = store.rows("SELECT kiosk, payload FROM events WHERE event_id = ? ORDER BY kiosk", (event_id,))
        assert [(r["kiosk"], json.loads(r["payload"])["kiosk"]) for r in rows] == [("k1", "k1"), ("k2", "k2")]
        assert not store.add("t1", "s1", "k1", "entry", mine, received_at=NOON).new  # still a duplicate


def test_a_database_of_the_first_schema_is_rekeyed_with_its_rows(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "old.sqlite"
    con = sqlite3.connect(db)
    con.execute("""CREATE TABLE events (event_id TEXT PRIMARY KEY, township TEXT NOT NULL, site TEXT NOT NULL,
        kiosk TEXT NOT NULL, kind TEXT NOT NULL, at REAL, day TEXT, received_at REAL NOT NULL,
        payload TEXT NOT NULL, sid TEXT)""")
    con.execute("CREATE INDEX events_kind_day ON events (kind, day)")
    con.execute("INSERT INTO events VALUES ('e1', 't1', 's1', 'k1', 'entry', 1.0, NULL, 2.0, '{}', NULL)")
    con.commit()
    con.close()
    with EventStore(db) as store:
        assert store.event_ids() == ["e1"]
        assert store.add("t1", "s1", "k2", "entry", b'{"event_id": "e1"}', received_at=3.0).new
        assert not store.add("t1", "s1", "k1", "entry", b'{"event_id": "e1"}', received_at=3.0).new
    with EventStore(db) as store:
        assert store.count() == 2
