"""The whole feed of a kiosk, end to end against a real mosquitto, checked against the AsyncAPI
document's payload schemas (`kiosk.feed.schema`, written from config/asyncapi.yaml).

* `kiosk simulate SCENARIO --headless --broker mqtt://…` publishes a run's entries, alerts,
  health, daily summary and status through the kiosk's own outbox and uplink;
* health is retained with a message expiry, and reports what the outbox dropped.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from kiosk.checkpoint import ALERT_REASONS, REASONS
from kiosk.clock import VirtualClock
from kiosk.config import KioskConfig
from kiosk.feed import Feed, KioskTopics, validate_message
from kiosk.outbox import Limits, Outbox
from kiosk.uplink import MqttUplink
from tests.mosquitto import Broker, Subscriber, wait_until
from tests.paths import ROOT
from tests.simulation.rig import first_visitors_file

TOPICS = KioskTopics("demo-township", "demo-site", "kiosk-1")


def test_simulate_with_a_broker_publishes_the_whole_feed(broker: Broker, subscribe: Callable[..., Subscriber],
                                                         tmp_path: Path) -> None:
    sub = subscribe(broker, "checkpoint/v1/#")
    out = tmp_path / "visitors.jsonl"
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy"}
    scenario = first_visitors_file(tmp_path / "scenario.json")
    done = subprocess.run([sys.executable, "-m", "kiosk.cli", "simulate", str(scenario), "--headless", "--out",
                           str(out), "--broker", f"mqtt://{broker.host}:{broker.port}"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    visitors = [json.loads(line) for line in out.read_text().splitlines()]
    feed_line = next(line for line in done.stderr.splitlines() if line.startswith("feed: "))
    assert "pending 0" in feed_line and "rejected 0" in feed_line
    assert wait_until(lambda: any(m.payload == b"offline" for m in sub.received(TOPICS.status)), 5)
    messages = sub.received()
    for m in messages:  # every message matches its schema in config/asyncapi.yaml
        validate_message(m.topic, m.payload)
    events = {}
    for m in messages:
        if m.topic in (TOPICS.stream("entry"), TOPICS.stream("alert")):
            body = json.loads(m.payload)
            events[body["event_id"]] = (m.topic.rsplit("/", 1)[1], body)
    assert len(events) == len(visitors) == 5
    alerts = [b for stream, b in events.values() if stream == "alert"]
    assert len(alerts) == sum(any(r in ALERT_REASONS for r in v["reasons"]) for v in visitors)
    assert all(b["policy_version"] for _, b in events.values())
    (daily,) = [json.loads(m.payload) for m in messages if m.topic == TOPICS.stream("daily")]
    assert daily["visitors"] == len(visitors) and daily["alerts"] == len(alerts)  # the day's tally, per reason:
    assert daily["decisions"]["STOP"] == sum(v["decision"] == "STOP" for v in visitors)
    assert daily["reasons"] == {r: sum(r in v["reasons"] for v in visitors) for r in REASONS}
    assert daily["seconds_per_visitor"] is not None and 0 < daily["seconds_per_visitor"] < 60
    health = [json.loads(m.payload) for m in messages if m.topic == TOPICS.stream("health")]
    assert health and health[0]["outbox"]["dropped"] == 0
    assert [m.payload for m in sub.received(TOPICS.status)][-1] == b"offline"


def retained_health(b: Broker) -> tuple[dict, int | None]:
    """What a dashboard connecting now is given: the retained health and its remaining expiry.

    The kiosk's report counts as sent once handed to its MQTT client; under load the dashboard may
    subscribe before it reaches the broker, and is then given it live (not flagged retained): it then
    connects again, as a dashboard opened a moment later would, and is given the retained one."""
    for _ in range(5):
        got: list[mqtt.MQTTMessage] = []
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="dashboard", protocol=mqtt.MQTTv5)
        client.on_connect = lambda c, *_: c.subscribe(TOPICS.stream("health"), qos=1)
        client.on_message = lambda _c, _u, msg, got=got: got.append(msg)
        client.connect(b.host, b.port)
        client.loop_start()
        try:
            wait_until(lambda got=got: any(m.retain for m in got), 3)
        finally:
            client.disconnect()
            client.loop_stop()
        msg = next((m for m in got if m.retain), None)
        if msg is not None:
            return json.loads(msg.payload), getattr(msg.properties, "MessageExpiryInterval", None)
    raise AssertionError("no retained health report on the broker")


def test_health_is_retained_expires_and_reports_drops(broker: Broker, tmp_path: Path) -> None:
    config = KioskConfig()
    clock = VirtualClock(wall_start=time.time())
    outbox = Outbox(tmp_path / "o.sqlite", clock=clock, limits=Limits(max_rows=100))
    uplink = MqttUplink(outbox, host=broker.host, port=broker.port, client_id="k", topic_prefix=TOPICS.prefix,
                        backoff_s=(0.05, 0.2), rng=random.Random(1))
    feed = Feed.build(config, clock, outbox, uplink)
    try:
        for i in range(130):  # while offline: more than the outbox may hold
            feed.entries.append("entry", f"e{i}", json.dumps({"event_id": f"e{i}"}).encode())
        assert outbox.stats().dropped == 30  # three times a tenth of the bound made room
        assert wait_until(lambda: feed.pump.health_sent == 1, 5, step=feed.pump.poll)
        report, expiry = retained_health(broker)
        validate_message(TOPICS.stream("health"), json.dumps(report).encode())
        assert report["dropped"] == 30 and report["outbox"]["dropped"] == 30
        assert expiry is not None and 0 < expiry <= 3 * config.uplink.health_interval_s
        clock.advance(config.uplink.health_interval_s - 1)
        wait_until(lambda: False, 0.2, step=feed.pump.poll)
        assert feed.pump.health_sent == 1  # not before its interval ...
        clock.advance(2)
        assert wait_until(lambda: feed.pump.health_sent == 2, 5, step=feed.pump.poll)  # ... then again
    finally:
        feed.close()
