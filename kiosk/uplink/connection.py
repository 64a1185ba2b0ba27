"""The uplink's connection to the broker: one paho client per connection, and its callbacks.

`kiosk.uplink.mqtt` decides what to publish and when; this is how it reaches the broker.  It is kept
apart because it is the one part that runs on paho's network thread, and the reasons for how it
is built are about paho, not about the outbox:

* **One paho client per connection.**  paho keeps un-acknowledged QoS 1 messages and re-sends
  them itself on reconnect; with the outbox re-sending the same rows, that would double the
  duplicates and overflow the broker's receive window.  So paho's own reconnect is off, a
  client lives for exactly one connection, and its leftovers die with it.  Reconnecting is ours:
  exponential back-off with jitter (a township's kiosks must not all hit the broker in step
  after an outage), timed on the injected `Clock`.
* **Callbacks only leave notes.**  paho calls them on its own thread, under its locks, so each
  only puts a `Note` on the uplink's `queue.SimpleQueue` for `poll()` to apply on the kiosk
  loop's thread.  Each is wrapped in try/except, because an exception there kills paho's
  network thread without a word.  A note carries the client's `generation`, so what a client
  already given up reports late is ignored.
* **The Last Will** is set on every client: the broker publishes "offline" on the retained
  `{topic_prefix}/status` if the kiosk dies.
"""

from __future__ import annotations

import logging
import queue
import random
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

log = logging.getLogger("kiosk.uplink.mqtt")  # one logger for the whole uplink, as operators filter it

STATUS_LEVEL = "status"  # `{topic_prefix}/status`; no stream may be called that
ONLINE = b"online"
OFFLINE = b"offline"
BACKOFF_MIN_S = 0.5
BACKOFF_MAX_S = 60.0
CONNECT_TIMEOUT_S = 10.0  # TCP (and TLS) connect, in paho's thread


def backoff_delay(failures: int, rng: random.Random, *, low_s: float = BACKOFF_MIN_S,
                  high_s: float = BACKOFF_MAX_S) -> float:
    """Seconds to wait before attempt `failures + 1`: doubling, capped, with 50-100 % jitter."""
    return min(high_s, low_s * 2.0 ** min(failures, 32)) * rng.uniform(0.5, 1.0)


@dataclass(frozen=True, slots=True)
class Note:
    """What a paho callback tells the kiosk loop; `generation` says which client it came from."""

    kind: str  # "connected", "lost", "acked" or "message"
    generation: int
    mid: int = 0
    code: int = 0
    receive_maximum: int = 0
    topic: str = ""  # "message": what arrived
    payload: bytes = b""
    retained: bool = False
    subscription_ids: tuple[int, ...] = ()


class Connection:
    """The part of `MqttUplink` that starts a client and turns paho's callbacks into `Note`s.

    Mixed into `MqttUplink`, which owns the attributes below; nothing here touches the outbox.
    """

    host: str
    port: int
    client_id: str
    keepalive: int
    max_inflight: int
    status_topic: str
    _tls: ssl.SSLContext | None
    _username: str | None
    _password: str | None
    _notes: queue.SimpleQueue[Note]
    _client: mqtt.Client | None
    _generation: int

    def _connect(self) -> None:
        """Start one connection attempt in a fresh client; paho's thread does the blocking part."""
        self._generation += 1
        gen = self._generation
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=self.client_id, protocol=mqtt.MQTTv5,
                             reconnect_on_failure=False)
        client.connect_timeout = CONNECT_TIMEOUT_S
        client.reconnect_delay_set(0, 0)  # paho's reconnect is off; this only lets a failed client's thread end
        client.max_inflight_messages_set(self.max_inflight)  # a second guard; our window is never larger
        client.will_set(self.status_topic, OFFLINE, qos=1, retain=True)
        if self._username is not None:
            client.username_pw_set(self._username, self._password)
        if self._tls is not None:
            client.tls_set_context(self._tls)
        client.on_connect = self._guarded(gen, self._cb_connect)
        client.on_connect_fail = self._guarded(gen, self._cb_connect_fail)
        client.on_disconnect = self._guarded(gen, self._cb_disconnect)
        client.on_publish = self._guarded(gen, self._cb_publish)
        client.on_message = self._guarded(gen, self._cb_message)
        self._client = client
        try:
            client.connect_async(self.host, self.port, keepalive=self.keepalive, clean_start=True)
            client.loop_start()
        except (OSError, ValueError) as exc:
            self._notes.put(Note("lost", gen, code=0x80))
            log.warning("uplink: cannot start connecting to %s:%d: %s", self.host, self.port, exc)

    def _guarded(self, gen: int, body: Callable[..., None]) -> Callable[..., None]:
        def callback(*args: Any) -> None:
            try:
                body(gen, *args)
            except Exception:
                log.exception("uplink: error in a paho callback")

        return callback

    def _cb_connect(self, gen: int, _client: Any, _userdata: Any, _flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            self._notes.put(Note("refused", gen, code=int(reason.value)))
        else:
            self._notes.put(Note("connected", gen, receive_maximum=int(getattr(props, "ReceiveMaximum", 0) or 0)))

    def _cb_connect_fail(self, gen: int, _client: Any, _userdata: Any) -> None:
        self._notes.put(Note("lost", gen, code=0x80))

    def _cb_disconnect(self, gen: int, _client: Any, _userdata: Any, _flags: Any, reason: Any, _props: Any) -> None:
        self._notes.put(Note("lost", gen, code=int(getattr(reason, "value", 0x80))))

    def _cb_publish(self, gen: int, _client: Any, _userdata: Any, mid: int, reason: Any, _props: Any) -> None:
        self._notes.put(Note("acked", gen, mid=mid, code=int(getattr(reason, "value", 0))))

    def _cb_message(self, gen: int, _client: Any, _userdata: Any, msg: Any) -> None:
        ids = getattr(getattr(msg, "properties", None), "SubscriptionIdentifier", None) or ()
        self._notes.put(Note("message", gen, topic=str(msg.topic), payload=bytes(msg.payload),
                             retained=bool(msg.retain),
                             subscription_ids=tuple(ids) if isinstance(ids, list) else (int(ids),)))
