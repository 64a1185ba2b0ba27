"""Township → kiosk configuration: signed, newer, valid, applied atomically, persisted, acknowledged.

The first tests judge messages directly; the last ones go through a real mosquitto, the kiosk's
real uplink and outbox, and `kiosk township push-config`'s code path.
"""

from __future__ import annotations

import base64
import json
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.config import KioskConfig, Mode
from kiosk.feed import AckSink, KioskTopics, PolicyState, RemoteConfig, listen_for_config, sign_config
from kiosk.feed.config_message import (
    BAD_SIGNATURE,
    INVALID,
    MALFORMED,
    NO_KEY,
    STALE,
    UNSIGNED,
    WRONG_TARGET,
    public_key_text,
)
from kiosk.feed.remote_config import STATE_FILE, VERSION_FILE
from kiosk.healthpass.issuer import TestIssuer
from kiosk.outbox import Outbox
from kiosk.simulation import play
from kiosk.uplink import MqttUplink
from tests.loop.rig import SimulatedKiosk
from tests.mosquitto import Broker, Subscriber, wait_until
from tests.simulation.rig import first_visitors
from township.broker import BrokerAddress
from township.push import config_payload, push_config

TOPICS = KioskTopics("t1", "s1", "k1")
WIDE = TOPICS.township_config
MINE = TOPICS.kiosk_config
NOW = 1_764_000_000


def payload(config_version: int, *, kiosk: str | None = None, township: str = "t1",
            **policy: Any) -> dict[str, Any]:
    return {"version": config_version, "issued_at": NOW, "township": township, "kiosk": kiosk,
            "policy": {"mode": "risk-areas", "risk_areas": ["440104"], "fever_c": 37.5, **policy}}


def remote(key: Ed25519PrivateKey | None, state_dir: Path) -> RemoteConfig:
    return RemoteConfig(key.public_key() if key else None, state_dir, PolicyState.from_config(KioskConfig()),
                        topics=TOPICS)


def test_signed_newer_config_is_applied_atomically_and_persisted(key: Ed25519PrivateKey, tmp_path: Path) -> None:
    rc = remote(key, tmp_path)
    before = rc.current
    seen: list[PolicyState] = []
    rc.on_apply.append(seen.append)
    issuer = TestIssuer("EdDSA", iss="CN-T1")
    message = payload(5, mode="no-risk-areas", version="t1-2026-11")
    message["trust_list"] = issuer.trust_list_json(version=9)
    ack = rc.handle(WIDE, sign_config(key, message), True)
    assert (ack.status, ack.version, ack.applied_version, ack.reason, ack.persisted) == ("applied", 5, 5, None, True)
    state = rc.current
    assert state is not before and seen == [state]
    assert state.policy.mode is Mode.NO_RISK_AREAS and state.policy.fever_c == 37.5
    assert state.policy.risk_areas == ("440104",) and state.policy.version == "t1-2026-11"
    assert state.trust_list.version == 9 and state.verifier.trust_list is state.trust_list
    # the new verifier accepts the new issuer's codes
    code = issuer.issue("G", sid="s", iat=NOW, exp=NOW + 600)
    assert state.verifier.verify(code, NOW + 1).valid
    assert before.policy.mode is Mode.RISK_AREAS  # the old state was not touched
    # persisted: a new kiosk process (same data dir) starts with it, re-verified
    assert (tmp_path / STATE_FILE).exists()
    reborn = remote(key, tmp_path)
    assert reborn.current.version == 5 and reborn.current.policy.mode is Mode.NO_RISK_AREAS
    assert reborn.current.verifier.verify(code, NOW + 1).valid
    # the retained message coming back after boot is recognised: no second ack on the feed
    again = reborn.handle(WIDE, sign_config(key, message), True)  # Ed25519 is deterministic: the same bytes
    assert (again.status, again.publish, again.applied_version) == ("unchanged", False, 5)
    resigned = dict(message, issued_at=NOW + 1)  # the same version signed again with other content: stale
    stale = reborn.handle(WIDE, sign_config(key, resigned), True)
    assert (stale.status, stale.reason, stale.publish) == ("refused", STALE, True)


def test_a_policy_without_its_own_version_names_the_config_version(key: Ed25519PrivateKey, tmp_path: Path) -> None:
    rc = remote(key, tmp_path)
    assert rc.handle(WIDE, sign_config(key, payload(12)), True).status == "applied"
    assert rc.current.policy.version == "remote-12"


def test_the_same_retained_message_again_is_not_reported_twice(key: Ed25519PrivateKey, tmp_path: Path) -> None:
    rc = remote(key, tmp_path)
    signed = sign_config(key, payload(3))
    first, second = rc.handle(WIDE, signed, True), rc.handle(WIDE, signed, True)
    assert first.publish and first.status == "applied"
    assert not second.publish and second.status == "unchanged" and rc.current.version == 3
    bad = json.dumps({"policy": {}}).encode()
    r1, r2 = rc.handle(WIDE, bad, True), rc.handle(WIDE, bad, True)
    assert r1.publish and not r2.publish and r2.reason == r1.reason == UNSIGNED


def _forged(key: Ed25519PrivateKey, body: dict[str, Any]) -> bytes:
    envelope = json.loads(sign_config(key, body))
    tampered = dict(body, policy={**body["policy"], "fever_c": 39.5})
    envelope["payload"] = base64.b64encode(json.dumps(tampered).encode()).decode()
    return json.dumps(envelope).encode()


def refusals(key: Ed25519PrivateKey) -> list[tuple[str, str, bytes]]:
    other = Ed25519PrivateKey.generate()
    good = payload(20)
    return [
        ("plain json, unsigned", UNSIGNED, json.dumps(good).encode()),
        ("not json", MALFORMED, b"\xff\x00garbage"),
        ("a list", MALFORMED, b"[1,2]"),
        ("other key", BAD_SIGNATURE, sign_config(other, good)),
        ("altered after signing", BAD_SIGNATURE, _forged(key, good)),
        ("wrong alg", BAD_SIGNATURE, json.dumps({**json.loads(sign_config(key, good)), "alg": "none"}).encode()),
        ("signature not base64", MALFORMED, json.dumps({**json.loads(sign_config(key, good)),
                                                         "signature": "***"}).encode()),
        ("fever out of range", INVALID, sign_config(key, payload(20, fever_c=45.0))),
        ("unknown policy key", INVALID, sign_config(key, payload(20, fever_threshold=37.0))),
        ("bad area code", INVALID, sign_config(key, payload(20, risk_areas=["4401"]))),
        ("unknown top-level key", INVALID, sign_config(key, {**good, "extra": 1})),
        ("version zero", INVALID, sign_config(key, payload(0))),
        ("bad trust list", INVALID, sign_config(key, {**good, "trust_list": {"version": 1, "keys": [{"kid": "x"}]}})),
        ("trust list with no keys", INVALID, sign_config(key, {**good, "trust_list": {"version": 1, "keys": []}})),
        ("other township", WRONG_TARGET, sign_config(key, payload(20, township="t2"))),
        ("kiosk payload on the township topic", WRONG_TARGET, sign_config(key, payload(20, kiosk="t1/s1/k1"))),
    ]


def test_unsigned_forged_invalid_and_misdirected_config_is_refused(key: Ed25519PrivateKey, tmp_path: Path) -> None:
    rc = remote(key, tmp_path)
    for label, reason, message in refusals(key):
        before = rc.current
        ack = rc.handle(WIDE, message, True)
        assert (ack.status, ack.reason) == ("refused", reason), label
        assert rc.current is before, label
        assert ack.applied_version == 0 and ack.detail, label
    assert not (tmp_path / STATE_FILE).exists()
    # another kiosk's config on my topic
    ack = rc.handle(MINE, sign_config(key, payload(20, kiosk="t1/s1/k2")), True)
    assert ack.reason == WRONG_TARGET
    ack = rc.handle("checkpoint/v1/t1/s1/k2/config", sign_config(key, payload(20, kiosk="t1/s1/k2")), True)
    assert ack.reason == WRONG_TARGET


def test_stale_versions_are_refused_across_both_topics(key: Ed25519PrivateKey, tmp_path: Path) -> None:
    rc = remote(key, tmp_path)
    assert rc.handle(MINE, sign_config(key, payload(10, kiosk="t1/s1/k1", fever_c=37.2)), True).status == "applied"
    ack = rc.handle(WIDE, sign_config(key, payload(9)), True)
    assert (ack.status, ack.reason, ack.version, ack.applied_version) == ("refused", STALE, 9, 10)
    ack = rc.handle(WIDE, sign_config(key, payload(10)), True)
    assert ack.reason == STALE
    assert rc.current.policy.fever_c == 37.2
    assert rc.handle(WIDE, sign_config(key, payload(11)), True).status == "applied"
    assert rc.current.policy.fever_c == 37.5 and rc.current.source == WIDE


def test_a_kiosk_without_the_township_key_accepts_nothing(key: Ed25519PrivateKey, tmp_path: Path) -> None:
    rc = remote(None, tmp_path)
    ack = rc.handle(WIDE, sign_config(key, payload(1)), True)
    assert (ack.status, ack.reason) == ("refused", NO_KEY)


def test_a_saved_config_tampered_with_on_the_sd_card_is_ignored(key: Ed25519PrivateKey, tmp_path: Path) -> None:
    rc = remote(key, tmp_path)
    rc.handle(WIDE, sign_config(key, payload(4, fever_c=37.4)), True)
    saved = json.loads((tmp_path / STATE_FILE).read_text())
    message = json.loads(base64.b64decode(saved["message"]))
    body = json.loads(base64.b64decode(message["payload"]))
    body["policy"]["fever_c"] = 37.5
    message["payload"] = base64.b64encode(json.dumps(body).encode()).decode()
    saved["message"] = base64.b64encode(json.dumps(message).encode()).decode()
    (tmp_path / STATE_FILE).write_text(json.dumps(saved))
    assert remote(key, tmp_path).current.version == 0  # back to the local file's rules
    (tmp_path / STATE_FILE).write_text("{ not json")
    assert remote(key, tmp_path).current.version == 0


def test_ack_event_names_the_kiosk_and_the_versions(key: Ed25519PrivateKey, tmp_path: Path) -> None:
    rc = remote(key, tmp_path)
    ack = rc.handle(WIDE, sign_config(key, payload(7)), True)
    stream, event_id, body = ack.event(TOPICS, wall=NOW)
    data = json.loads(body)
    assert stream == "config/ack" and data["event_id"] == event_id
    assert {k: data[k] for k in ("township", "site", "kiosk", "status", "version", "applied_version",
                                 "policy_version", "reason", "topic")} == {
        "township": "t1", "site": "s1", "kiosk": "k1", "status": "applied", "version": 7, "applied_version": 7,
        "policy_version": "remote-7", "reason": None, "topic": WIDE}


# ------------------------------------------------------------------------------------ real broker
def _kiosk(broker: Broker, key: Ed25519PrivateKey, tmp_path: Path) -> tuple[MqttUplink, RemoteConfig, Outbox]:
    outbox = Outbox(tmp_path / "outbox.sqlite")
    uplink = MqttUplink(outbox, host=broker.host, port=broker.port, client_id="t1-s1-k1", topic_prefix=TOPICS.prefix,
                        backoff_s=(0.05, 0.2), rng=random.Random(0))
    rc = remote(key, tmp_path / "state")
    listen_for_config(rc, uplink, outbox, time.time)
    return uplink, rc, outbox


def _acks(sub: Subscriber) -> list[dict[str, Any]]:
    return [json.loads(m.payload) for m in sub.received(f"{TOPICS.prefix}/config/ack")]


def test_over_a_real_broker_applied_acked_refused_and_reported(broker: Broker, subscribe: Any,
                                                               key: Ed25519PrivateKey, tmp_path: Path) -> None:
    township = subscribe(broker, "checkpoint/v1/t1/+/+/config/ack")
    address = BrokerAddress(broker.host, broker.port, tls=False)
    # retained before the kiosk even connects: it arrives on subscribe
    topic, body = config_payload({"policy": {"risk_areas": ["110105"], "version": "t1-a"}}, township="t1", version=100)
    assert topic == WIDE
    push_config(address, key, topic, body)
    uplink, rc, outbox = _kiosk(broker, key, tmp_path)
    try:
        assert wait_until(lambda: len(_acks(township)) >= 1, 10, step=uplink.poll)
        assert rc.current.version == 100 and rc.current.policy.risk_areas == ("110105",)
        ack = _acks(township)[0]
        assert (ack["status"], ack["version"], ack["applied_version"], ack["policy_version"]) == \
            ("applied", 100, 100, "t1-a")
        # a kiosk-specific one, newer: applied
        topic, body = config_payload({"policy": {"fever_c": 37.1}}, kiosk="t1/s1/k1", version=101)
        push_config(address, key, topic, body)
        assert wait_until(lambda: len(_acks(township)) >= 2, 10, step=uplink.poll)
        assert _acks(township)[1]["applied_version"] == 101 and rc.current.policy.fever_c == 37.1
        # unsigned, published by someone on the broker: refused and reported, rules unchanged
        rogue = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="rogue", protocol=mqtt.MQTTv5)
        rogue.connect(broker.host, broker.port)
        rogue.loop_start()
        rogue.publish(WIDE, json.dumps(body).encode(), qos=1, retain=True).wait_for_publish(5)
        assert wait_until(lambda: len(_acks(township)) >= 3, 10, step=uplink.poll)
        assert (_acks(township)[2]["status"], _acks(township)[2]["reason"]) == ("refused", UNSIGNED)
        # stale (signed, older version) on the township topic: refused and reported
        topic, body = config_payload({"policy": {"fever_c": 37.4}}, township="t1", version=99)
        push_config(address, key, topic, body)
        assert wait_until(lambda: len(_acks(township)) >= 4, 10, step=uplink.poll)
        last = _acks(township)[3]
        assert (last["status"], last["reason"], last["version"], last["applied_version"]) == \
            ("refused", STALE, 99, 101)
        rogue.disconnect()
        rogue.loop_stop()
        assert rc.current.version == 101 and rc.current.policy.fever_c == 37.1
        # a reconnect re-delivers the retained messages: judged again silently, no new acks
        broker.stop()
        broker.start()
        township.wait_subscribed(10)
        assert wait_until(lambda: uplink.stats().connects >= 2, 10, step=uplink.poll)
        end = time.monotonic() + 1.0
        while time.monotonic() < end:
            uplink.poll()
            time.sleep(0.01)
        # (the broker came back without the kiosk's session, so the acks it had, still awaiting the township's
        # receipt, go again: the same events, dropped by their id; none is a new ack)
        assert len({a["event_id"] for a in _acks(township)}) == 4 and outbox.pending_count() == 0
    finally:
        uplink.close()
        outbox.close()
    # the next boot starts with version 101, before any network
    assert remote(key, tmp_path / "state").current.policy.fever_c == 37.1


def test_push_config_cli_signs_and_publishes_retained(broker: Broker, key: Ed25519PrivateKey, tmp_path: Path,
                                                      subscribe: Any) -> None:
    from cryptography.hazmat.primitives import serialization

    from township.cli import main

    key_file = tmp_path / "signing.pem"
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    doc = tmp_path / "config.json"
    doc.write_text(json.dumps({"policy": {"mode": "no-risk-areas"}}))
    url = f"mqtt://{broker.host}:{broker.port}"
    assert main(["push-config", "--broker", url, "--key", str(key_file), "--file", str(doc),
                 "--kiosk", "t1/s1/k1", "--version", "42"]) == 0
    late = subscribe(broker, MINE)  # subscribes after: gets the retained copy
    assert wait_until(lambda: len(late.received(MINE)) == 1, 5)
    assert late.received(MINE)[0].retain
    rc = remote(key, tmp_path / "s")
    ack = rc.handle(MINE, late.received(MINE)[0].payload, True)
    assert (ack.status, ack.applied_version) == ("applied", 42)
    assert rc.current.policy.mode is Mode.NO_RISK_AREAS
    assert public_key_text(key.public_key())  # what kiosk.toml's uplink.config_public_key holds


def test_an_applied_config_decides_the_next_visitors_and_names_its_version(
        key: Ed25519PrivateKey, simulated: Callable[..., SimulatedKiosk], tmp_path: Path) -> None:
    """Through the real runtime: the township switches to no-risk-areas; the risk-area visitor passes."""
    import sqlite3

    scenario = first_visitors(5, tmp_path)
    base = KioskConfig()
    config = base.model_copy(update={"uplink": base.uplink.model_copy(
        update={"config_public_key": public_key_text(key.public_key())})})
    sim = simulated(scenario, config=config)  # assembled as app.run_kiosk assembles it
    rc, sink, feed = sim.assembly.remote, sim.assembly.acks, sim.feed
    site = sim.kiosk.config.site
    wide = rc.topics.township_config
    ack = rc.handle(wide, sign_config(key, {
        "version": 3, "issued_at": NOW, "township": site.township, "kiosk": None,
        "policy": {**sim.kiosk.config.policy.model_dump(mode="json"), "mode": "no-risk-areas",
                   "version": "township-3"}}), True)
    sink(ack)
    assert ack.status == "applied" and len(sink.sent) == 1
    database = feed.outbox.path
    try:
        play(sim.kiosk, sim.world, sim.device, sim.clock, scenario)
        day = feed.daily.local_day(scenario.start)
        summary = feed.daily.summary(day, sim.clock.wall())
        assert summary["policy_version"] == "township-3" and summary["policy_versions"] == ["township-3"]
    finally:
        sim.close()
    with sqlite3.connect(database) as con:
        rows = [(s, json.loads(p)) for s, p in con.execute("SELECT stream, payload FROM outbox ORDER BY seq")]
    entries = [p for s, p in rows if s in ("entry", "alert")]
    assert entries and all(p["policy_version"] == "township-3" and p["mode"] == "no-risk-areas" for p in entries)
    assert not any("trip_risk_area" in p["reasons"] or "trip_star" in p["reasons"] for p in entries)
    acks = [p for s, p in rows if s == "config/ack"]
    assert len(acks) == 1 and acks[0]["applied_version"] == 3


def test_an_ack_overtakes_a_backlog_of_entries(key: Ed25519PrivateKey, tmp_path: Path) -> None:
    with Outbox(tmp_path / "o.sqlite") as outbox:
        for i in range(50):
            outbox.append("entry", f"e-{i}", b"{}")
        rc = remote(key, tmp_path / "state")
        sink = AckSink(outbox, TOPICS, wall=time.time)
        sink(rc.handle(WIDE, sign_config(key, payload(2)), True))
        sink(rc.handle(WIDE, sign_config(key, payload(2)), True))  # the repeat is not stored
        first = outbox.pending(2)
        assert first[0].stream == "config/ack" and first[1].stream == "entry"
        assert outbox.pending_count() == 51 and len(sink.sent) == 1


def test_whatever_arrives_handle_never_raises(key: Ed25519PrivateKey, tmp_path: Path) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    rc = remote(key, tmp_path)
    deep = b"[" * 100_000 + b"]" * 100_000
    nested_payload = {"alg": "Ed25519", "payload": base64.b64encode(b'{"a":' * 5000 + b"1" + b"}" * 5000).decode(),
                      "signature": "x"}
    for message in (deep, json.dumps(nested_payload).encode(), b'{"alg":"Ed25519","payload":5,"signature":[]}',
                    sign_config(key, {"version": 9, "issued_at": 1, "township": "t1", "kiosk": None,
                                      "policy": {"risk_areas": "440104"}})):
        assert rc.handle(WIDE, message, True).status == "refused"

    @settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
    @given(st.binary(max_size=400) | st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    ).map(lambda v: json.dumps(v).encode()))
    def judge(message: bytes) -> None:
        ack = rc.handle(WIDE, message, True)
        assert ack.status in ("refused", "unchanged") and rc.current.version == 0

    judge()


# ----------------------------------------------------------------------------- replay after reboot, issued_at
def test_after_a_reboot_without_the_saved_config_no_older_one_can_be_replayed(key: Ed25519PrivateKey,
                                                                              tmp_path: Path) -> None:
    rc = remote(key, tmp_path)
    old, latest = sign_config(key, payload(5, fever_c=37.4)), sign_config(key, payload(6, fever_c=37.1))
    assert rc.handle(WIDE, old, True).status == "applied"
    assert rc.handle(WIDE, latest, True).status == "applied"
    (tmp_path / STATE_FILE).unlink()  # the configuration file lost (SD card, a failed write)
    reborn = remote(key, tmp_path)
    assert reborn.current.version == 0  # the local rules until the township's latest comes back
    ack = reborn.handle(WIDE, old, True)  # an attacker on the broker replaying the older signed message
    assert (ack.status, ack.reason) == ("refused", STALE) and reborn.current.version == 0
    other = reborn.handle(WIDE, sign_config(key, payload(6, fever_c=37.0)), True)  # signed 6, other content
    assert (other.status, other.reason) == ("refused", STALE)
    back = reborn.handle(WIDE, latest, True)  # the latest itself, retained on the broker: restored
    assert (back.status, back.applied_version) == ("applied", 6) and reborn.current.policy.fever_c == 37.1
    assert reborn.handle(WIDE, sign_config(key, payload(7)), True).status == "applied"


def test_a_version_that_cannot_be_saved_is_reported_on_the_ack(key: Ed25519PrivateKey, tmp_path: Path,
                                                              caplog: Any) -> None:
    (tmp_path / VERSION_FILE).mkdir()  # the tiny file cannot be written
    rc = remote(key, tmp_path)
    with caplog.at_level("ERROR"):
        ack = rc.handle(WIDE, sign_config(key, payload(5)), True)
    assert (ack.status, ack.persisted) == ("applied", False) and "version" in ack.detail
    assert json.loads(ack.event(TOPICS, wall=NOW)[2])["persisted"] is False
    assert any(r.levelname == "ERROR" and "replayed" in r.getMessage() for r in caplog.records)
    assert rc.handle(WIDE, sign_config(key, payload(4)), True).reason == STALE  # still refused in this run


def test_absurd_issued_at_is_refused(key: Ed25519PrivateKey, tmp_path: Path) -> None:
    rc = remote(key, tmp_path)
    for issued_at in (-1, 0, 1, 10**12):
        ack = rc.handle(WIDE, sign_config(key, dict(payload(5), issued_at=issued_at)), True)
        assert (ack.status, ack.reason) == ("refused", INVALID) and "issued_at" in ack.detail


def test_issued_in_the_future_is_refused_only_on_a_synchronised_clock(key: Ed25519PrivateKey,
                                                                      tmp_path: Path) -> None:
    clock = {"wall": float(NOW), "synced": True}
    rc = RemoteConfig(key.public_key(), tmp_path, PolicyState.from_config(KioskConfig()), topics=TOPICS,
                      wall=lambda: clock["wall"], clock_synced=lambda: bool(clock["synced"]))
    ahead = sign_config(key, dict(payload(5), issued_at=NOW + 3600))
    ack = rc.handle(WIDE, ahead, True)
    assert (ack.status, ack.reason) == ("refused", INVALID) and "future" in ack.detail
    near = sign_config(key, dict(payload(6), issued_at=NOW + 60))  # within the skew
    assert rc.handle(WIDE, near, True).status == "applied"
    clock["synced"] = False  # a Pi booted in the past: its clock says nothing about the township's
    later = sign_config(key, dict(payload(7), issued_at=NOW + 86_400))
    assert rc.handle(WIDE, later, True).status == "applied"
    clock.update(synced=True, wall=NOW + 3600.0)  # not remembered as refused: in time, the same bytes pass
    rc2 = RemoteConfig(key.public_key(), tmp_path / "other", PolicyState.from_config(KioskConfig()), topics=TOPICS,
                       wall=lambda: clock["wall"], clock_synced=lambda: bool(clock["synced"]))
    clock["wall"] = float(NOW)
    assert rc2.handle(WIDE, ahead, True).reason == INVALID
    clock["wall"] = NOW + 3600.0
    assert rc2.handle(WIDE, ahead, True).status == "applied"
