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
  only puts a `Note` on the connection's `queue.SimpleQueue`, for the uplink's `poll()` to take
  (`next_note`) and apply on the kiosk loop's thread.  Each is wrapped in try/except, because
  an exception there kills paho's network thread without a word.  A note carries the client's
  `generation`, so what a client already given up reports late is ignored.
* **The Last Will** is set on every client: the broker publishes "offline" on the retained
  `{topic_prefix}/status` if the kiosk dies.
* **A persistent session** (`clean_start=False`, expiring `SESSION_EXPIRY_S` after the kiosk
  leaves): the broker keeps the kiosk's subscriptions and queues what is published for it while
  it is away, above all the township's receipts (`kiosk.uplink.receipts`), which would otherwise
  be lost with every reconnect or restart and cost a re-send each.  Only the broker keeps state:
  the fresh paho client of each connection has none to replay.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import random
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

# One logger for the whole uplink (its parts included): operators filter on this name.
log = logging.getLogger("kiosk.uplink.mqtt")

STATUS_LEVEL = "status"  # `{topic_prefix}/status`; no stream may be called that
ONLINE = b"online"
OFFLINE = b"offline"
BACKOFF_MIN_S = 0.5
BACKOFF_MAX_S = 60.0
CONNECT_TIMEOUT_S = 10.0  # TCP (and TLS) connect, in paho's thread
SESSION_EXPIRY_S = 3600  # the broker keeps our session (and queues our receipts) this long after we leave


def backoff_delay(failures: int, rng: random.Random, *, low_s: float = BACKOFF_MIN_S,
                  high_s: float = BACKOFF_MAX_S) -> float:
    """Seconds to wait before attempt `failures + 1`: doubling, capped, with 50-100 % jitter."""
    return min(high_s, low_s * 2.0 ** min(failures, 32)) * rng.uniform(0.5, 1.0)


@dataclass(frozen=True, slots=True)
class Note:
    """What a paho callback tells the kiosk loop; `generation` says which client it came from."""

    kind: str  # "connected", "refused", "lost", "acked" or "message"
    generation: int
    mid: int = 0
    code: int = 0
    receive_maximum: int = 0
    topic: str = ""  # "message": what arrived
    payload: bytes = b""
    retained: bool = False
    subscription_ids: tuple[int, ...] = ()
    session_present: bool = False  # "connected": the broker still had our session


class Connection:
    """One paho client per connection attempt, its callbacks turned into `Note`s, and when to retry.

    A part of `MqttUplink`, which holds one and drives it from `poll()`: `due` says whether a new
    attempt may start, `connect` starts one, `next_note` hands over what paho's thread reported,
    `lost` gives the client up and schedules the next attempt, `close` disconnects cleanly.
    `client` is the current client (the uplink publishes through it), None between connections;
    `generation` counts attempts, and a note from an earlier one is stale.  Nothing here touches
    the outbox or decides what to publish.
    """

    def __init__(self, *, host: str, port: int, client_id: str, keepalive: int, max_inflight: int,
                 status_topic: str, tls: ssl.SSLContext | None = None, username: str | None = None,
                 password: str | None = None, backoff_s: tuple[float, float] = (BACKOFF_MIN_S, BACKOFF_MAX_S),
                 rng: random.Random | None = None) -> None:
        self.host, self.port, self.client_id = host, port, client_id
        self.keepalive = keepalive
        self.max_inflight = max_inflight
        self.status_topic = status_topic
        self._tls, self._username, self._password = tls, username, password
        self._backoff_s = backoff_s
        self._rng = rng or random.Random()
        self._notes: queue.SimpleQueue[Note] = queue.SimpleQueue()
        self._early: list[Note] = []  # taken off the queue by `wait`, handed over first by `next_note`
        self.client: mqtt.Client | None = None
        self.generation = 0
        self._failures = 0
        self._next_attempt = float("-inf")

    # ----------------------------------------------------------------------------- driven by the uplink
    def due(self, now: float) -> bool:
        """No client, and the back-off since the last failure has passed: time for an attempt."""
        return self.client is None and now >= self._next_attempt

    def connect(self) -> None:
        """Start one connection attempt in a fresh client; paho's thread does the blocking part."""
        self.generation += 1
        gen = self.generation
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
        client.on_socket_open = _no_delay
        self.client = client
        try:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = SESSION_EXPIRY_S
            client.connect_async(self.host, self.port, keepalive=self.keepalive, clean_start=False, properties=props)
            client.loop_start()
        except (OSError, ValueError) as exc:
            self._notes.put(Note("lost", gen, code=0x80))
            log.warning("uplink: cannot start connecting to %s:%d: %s", self.host, self.port, exc)

    def lost(self, now: float, *, held: bool) -> float:
        """Give the client up (its thread ends by itself: paho's reconnect is off) and schedule the
        next attempt; returns the delay.  `held`: the connection lasted a keepalive period, which
        counts as a success, so the back-off starts over at the short delay."""
        if held:
            self._failures = 0
        delay = backoff_delay(self._failures, self._rng, low_s=self._backoff_s[0], high_s=self._backoff_s[1])
        self._failures += 1
        self._next_attempt = now + delay
        self.client = None
        return delay

    def next_note(self) -> Note | None:
        """The oldest note paho's thread left, or None if there is none."""
        if self._early:
            return self._early.pop(0)
        try:
            return self._notes.get_nowait()
        except queue.Empty:
            return None

    def wait(self, timeout_s: float) -> None:
        """Block until paho's thread leaves a note or `timeout_s` passed (the note stays for `next_note`)."""
        with contextlib.suppress(queue.Empty):
            self._early.append(self._notes.get(timeout=max(0.0, timeout_s)))

    def close(self, client: mqtt.Client | None) -> None:
        """Give up the current client; send `client` a clean DISCONNECT (the broker then discards
        our Last Will) and end its thread.  `client` is the one that was current when the uplink
        began closing, which may have been lost (and given up) since."""
        self.client = None
        if client is not None:
            client.disconnect()
            client.loop_stop()

    # ----------------------------------------------------------------------------- paho's thread
    def _guarded(self, gen: int, body: Callable[..., None]) -> Callable[..., None]:
        def callback(*args: Any) -> None:
            try:
                body(gen, *args)
            except Exception:
                log.exception("uplink: error in a paho callback")

        return callback

    def _cb_connect(self, gen: int, _client: Any, _userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            self._notes.put(Note("refused", gen, code=int(reason.value)))
        else:
            self._notes.put(Note("connected", gen, receive_maximum=int(getattr(props, "ReceiveMaximum", 0) or 0),
                                 session_present=bool(getattr(flags, "session_present", False))))

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


def _no_delay(_client: Any, _userdata: Any, sock: Any) -> None:
    """Send each packet at once (TCP_NODELAY).  paho leaves Nagle's algorithm on; with acks and receipts
    flowing both ways a small packet then waits for the peer's delayed TCP ACK, up to 40 ms a time."""
    with contextlib.suppress(OSError, AttributeError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
