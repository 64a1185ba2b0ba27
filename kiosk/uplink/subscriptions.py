"""Township → kiosk messages: the uplink's subscriptions and their handlers.

The township sends the kiosk a few things (its signed configuration, above all) over the same
MQTT connection the kiosk publishes on.  What arrives must reach the kiosk loop's code, never
run on paho's network thread, and never stop the uplink: paho's thread only queues a message (a
`Note`, see `kiosk.uplink.connection`), and `MqttUplink.poll` hands it to the handlers here, on
the kiosk loop's thread, each guarded.  Subscriptions are made again on every connect.

Each filter carries an MQTT 5 subscription identifier (its place in the order the filters were
first given, from 1), so a message matching two overlapping filters, which the broker may
deliver once per filter, reaches each filter's handlers once.
"""

from __future__ import annotations

from collections.abc import Callable

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from kiosk.uplink.connection import Note, log

MessageHandler = Callable[[str, bytes, bool], None]  # (topic, payload, retained)


class Subscriptions:
    """The filters the uplink subscribes to, their handlers, and the dispatch of what arrives.

    A part of `MqttUplink`, which holds one: `add` records a handler (and says whether its filter
    is new, so the uplink subscribes it at once when connected), `subscribe_all` subscribes every
    filter on a fresh connection, `dispatch` hands a message note to the handlers it is for.
    The client to subscribe on is passed in; nothing here keeps one or knows about connecting.
    """

    def __init__(self) -> None:
        self._handlers: dict[str, list[MessageHandler]] = {}  # filter -> handlers; its id is its index + 1

    def add(self, topic: str, handler: MessageHandler) -> bool:
        """Record `handler` for the filter `topic`; True if the filter is new (not yet subscribed)."""
        if not topic or "\0" in topic:
            raise ValueError(f"bad topic filter {topic!r}")
        first = topic not in self._handlers
        self._handlers.setdefault(topic, []).append(handler)
        return first

    def subscribe(self, client: mqtt.Client, topic: str) -> None:
        """Subscribe one filter on `client` (QoS 1), with its subscription identifier."""
        props = Properties(PacketTypes.SUBSCRIBE)
        props.SubscriptionIdentifier = list(self._handlers).index(topic) + 1
        client.subscribe(topic, qos=1, properties=props)

    def subscribe_all(self, client: mqtt.Client) -> None:
        """Subscribe every filter on a fresh connection (each one is a clean session)."""
        for topic in self._handlers:
            self.subscribe(client, topic)

    def dispatch(self, note: Note) -> None:
        """Call the handlers of every filter `note` (a "message") was delivered for, each guarded."""
        for number, (pattern, handlers) in enumerate(list(self._handlers.items()), start=1):
            if note.subscription_ids and number not in note.subscription_ids:
                continue  # this copy was delivered for another of our filters
            if not note.subscription_ids and not mqtt.topic_matches_sub(pattern, note.topic):
                continue
            for handler in list(handlers):
                try:
                    handler(note.topic, note.payload, note.retained)
                except Exception:  # one bad handler must not stop the uplink or the other handlers
                    log.exception("uplink: handler for %s failed", pattern)
