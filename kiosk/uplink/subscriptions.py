"""Township → kiosk messages: the uplink's subscriptions and their handlers.

The township sends the kiosk a few things (its signed configuration, above all) over the same
MQTT connection the kiosk publishes on.  What arrives must reach the kiosk loop's code, never
run on paho's network thread, and never stop the uplink: paho's thread only queues a message (a
`Note`, see `kiosk.uplink.connection`), and `MqttUplink.poll` hands it to the handlers here, on
the kiosk loop's thread, each guarded.  Subscriptions are made again on every connect.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from kiosk.uplink.connection import Note

log = logging.getLogger("kiosk.uplink.mqtt")  # one logger for the whole uplink, as operators filter it

MessageHandler = Callable[[str, bytes, bool], None]  # (topic, payload, retained)


class Subscriptions:
    """The part of `MqttUplink` that subscribes and dispatches what arrives to its handlers.

    Mixed into `MqttUplink`, which owns the attributes below and calls `_subscribe` for every
    filter on each connect and `_dispatch` for every message note.
    """

    _subscriptions: dict[str, list[MessageHandler]]  # filter -> handlers; its id is its index + 1
    _connected: bool
    _client: mqtt.Client | None

    def subscribe(self, topic: str, handler: MessageHandler) -> None:
        """Receive messages on `topic` (a filter; QoS 1): `handler(topic, payload, retained)`.

        Subscriptions are made again on every connect (each connection is a clean session), so
        retained messages (the township's signed configuration) arrive again after each
        reconnect: handlers must be idempotent.  paho's thread only queues what arrives; the
        handlers run inside `poll()` on the caller's thread, each guarded, so a failing handler
        is logged and neither stops the others nor paho's network thread.  Each filter carries an
        MQTT 5 subscription identifier, so a message matching two overlapping filters (which the
        broker may deliver once per filter) reaches each filter's handlers once.
        """
        if not topic or "\0" in topic:
            raise ValueError(f"bad topic filter {topic!r}")
        first = topic not in self._subscriptions
        self._subscriptions.setdefault(topic, []).append(handler)
        if first and self._connected and self._client is not None:
            self._subscribe(self._client, topic)

    def _subscribe(self, client: mqtt.Client, topic: str) -> None:
        props = Properties(PacketTypes.SUBSCRIBE)
        props.SubscriptionIdentifier = list(self._subscriptions).index(topic) + 1
        client.subscribe(topic, qos=1, properties=props)

    def _dispatch(self, note: Note) -> None:
        for number, (pattern, handlers) in enumerate(list(self._subscriptions.items()), start=1):
            if note.subscription_ids and number not in note.subscription_ids:
                continue  # this copy was delivered for another of our filters
            if not note.subscription_ids and not mqtt.topic_matches_sub(pattern, note.topic):
                continue
            for handler in list(handlers):
                try:
                    handler(note.topic, note.payload, note.retained)
                except Exception:  # one bad handler must not stop the uplink or the other handlers
                    log.exception("uplink: handler for %s failed", pattern)
