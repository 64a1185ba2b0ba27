"""`MqttUplink.subscribe`: township → kiosk messages, handled on the kiosk loop's thread.

Against a real mosquitto: retained messages arrive on subscribe and again after a reconnect
(each connection is a clean session), handlers run inside `poll()` on the calling thread, and a
failing handler neither stops the others nor the uplink.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from kiosk.uplink import MqttUplink
from tests.mosquitto import Broker, wait_until

PREFIX = "checkpoint/v1/t/s/k"
CONFIG = "checkpoint/v1/t/config"


def publish(b: Broker, topic: str, payload: bytes, *, retain: bool) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="township", protocol=mqtt.MQTTv5)
    client.connect(b.host, b.port)
    client.loop_start()
    client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)
    client.disconnect()
    client.loop_stop()


def test_retained_and_live_messages_reach_handlers_on_the_polling_thread(
        broker: Broker, connect: Callable[..., MqttUplink]) -> None:
    publish(broker, CONFIG, b"v1", retain=True)
    got: list[tuple[str, bytes, bool, int]] = []
    calls_of_bad: list[int] = []

    def bad(topic: str, payload: bytes, retained: bool) -> None:
        calls_of_bad.append(1)
        raise RuntimeError("handler bug")

    def good(topic: str, payload: bytes, retained: bool) -> None:
        got.append((topic, payload, retained, threading.get_ident()))

    with connect(broker, client_id="k", topic_prefix=PREFIX, backoff_s=(0.05, 0.2), rng=random.Random(1)) as up:
        up.subscribe("checkpoint/v1/t/#", bad)
        up.subscribe(CONFIG, good)
        assert wait_until(lambda: len(got) == 1, 5, step=up.poll)
        assert got[0][:3] == (CONFIG, b"v1", True)
        assert got[0][3] == threading.get_ident()
        publish(broker, CONFIG, b"v2", retain=True)
        assert wait_until(lambda: len(got) == 2, 5, step=up.poll)
        assert got[1][:3] == (CONFIG, b"v2", False)  # live delivery to a subscriber: not flagged retained
        broker.stop()
        broker.start()
        publish(broker, CONFIG, b"v3", retain=True)  # the restarted broker kept nothing (no persistence)
        assert wait_until(lambda: len(got) == 3, 10, step=up.poll)
        assert got[2][:3] == (CONFIG, b"v3", True)  # re-subscribed on reconnect: the retained copy
        assert len(calls_of_bad) >= 3 and up.stats().connects == 2


def test_event_properties_are_packed_as_paho_would() -> None:
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    from kiosk.uplink.properties import event_properties

    for event_id in ("019ab886-4b48-7cfa-9c8f-f4906a76e7b3", "x" * 300, "事件"):
        props = Properties(PacketTypes.PUBLISH)
        props.ContentType = "application/json"
        props.UserProperty = ("event_id", event_id)
        assert event_properties(event_id).pack() == props.pack()


def test_direct_publishes_wait_for_a_connection_and_a_free_slot(broker: Broker,
                                                                connect: Callable[..., MqttUplink]) -> None:
    with connect(broker, client_id="k", topic_prefix=PREFIX, max_inflight=2, backoff_s=(0.05, 0.2)) as up:
        assert not up.publish_direct("health", b"{}")  # not connected yet: not sent, not queued
        assert wait_until(lambda: up.online and up.stats().in_flight == 0, 5, step=up.poll)
        assert up.publish_direct("health", b"{}", retain=True, expiry_s=30)
        assert up.publish_direct("health", b"{}")
        assert not up.publish_direct("health", b"{}")  # the window (2) is full
        assert wait_until(lambda: up.stats().in_flight == 0, 5, step=up.poll)
        assert up.stats().direct_published == 2
