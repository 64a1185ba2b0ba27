"""The uplink: publishes the outbox to the township's MQTT broker, at least once and in order.

The outbox is the only queue.  A row is published with QoS 1 and marked sent only when its
PUBACK arrives; until then it stays pending on disk, so a reboot, a dead link or a dead broker
loses nothing.  The price is duplicates across a disconnect, which consumers drop by event id
(also sent as the `event_id` user property, so they need not parse the payload).

Why it is built the way it is:

* **Driven from the kiosk loop.**  `poll()` never blocks: paho's network I/O (and the TCP
  connect) runs in paho's own thread (`loop_start`); `poll` only hands it publishes and reads
  what its callbacks left on a `queue.SimpleQueue`.  Callbacks run under paho's locks, so they
  do nothing else, and each is wrapped in try/except because an exception there kills paho's
  network thread without a word.
* **One paho client per connection.**  paho keeps un-acknowledged QoS 1 messages and re-sends
  them itself on reconnect; with the outbox re-sending the same rows, that would double the
  duplicates and overflow the broker's receive window.  So paho's own reconnect is off, a
  client lives for exactly one connection, and its leftovers die with it.  Reconnecting is ours:
  exponential back-off with jitter (a township's kiosks must not all hit the broker in step
  after an outage), timed on the injected `Clock`.
* **Nothing is handed to paho while disconnected**, and never more than the in-flight window:
  `max_inflight`, or less if the broker's CONNACK announces a smaller Receive Maximum (paho 2.x
  does not honour that by itself; a strict broker disconnects a client that exceeds it).
* **A refused PUBACK (reason >= 0x80, e.g. not authorised) is final**: the row is set aside as
  rejected in the outbox and logged; retrying cannot change the broker's mind.
* **Availability** is the retained `{topic_prefix}/status`: "online" after each connect,
  "offline" from `close()` or, if the kiosk dies, from the broker as our Last Will.

Payloads are never logged: they describe people.
"""

from __future__ import annotations

import logging
import queue
import random
import sqlite3
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from kiosk.clock import RealClock
from kiosk.outbox import Outbox, OutboxRow
from kiosk.ports import Clock

log = logging.getLogger(__name__)

STATUS_LEVEL = "status"  # `{topic_prefix}/status`; no stream may be called that
ONLINE = b"online"
OFFLINE = b"offline"
CONTENT_TYPE = "application/json"
BACKOFF_MIN_S = 0.5
BACKOFF_MAX_S = 60.0
CONNECT_TIMEOUT_S = 10.0  # TCP (and TLS) connect, in paho's thread
CLOSE_TIMEOUT_S = 2.0  # how long close() waits for the broker to take "offline"
LOCAL_REJECT = 0x83  # "implementation specific error": a row we refuse to publish ourselves


def backoff_delay(failures: int, rng: random.Random, *, low_s: float = BACKOFF_MIN_S,
                  high_s: float = BACKOFF_MAX_S) -> float:
    """Seconds to wait before attempt `failures + 1`: doubling, capped, with 50-100 % jitter."""
    return min(high_s, low_s * 2.0 ** min(failures, 32)) * rng.uniform(0.5, 1.0)


@dataclass(frozen=True, slots=True)
class UplinkStats:
    """Counters for the status strip, the CLI and the tests (the window must never be exceeded)."""

    online: bool
    in_flight: int
    max_inflight_seen: int  # the most publishes ever awaiting their PUBACK at once
    published: int
    acknowledged: int
    rejected: int
    connects: int  # connections made
    attempts: int  # connections tried


@dataclass(frozen=True, slots=True)
class _Note:
    """What a paho callback tells the kiosk loop; `generation` says which client it came from."""

    kind: str  # "connected", "lost" or "acked"
    generation: int
    mid: int = 0
    code: int = 0
    receive_maximum: int = 0


class MqttUplink:
    """Publishes pending outbox rows to `{topic_prefix}/{stream}` over MQTT v5, QoS 1."""

    def __init__(self, outbox: Outbox, *, host: str, port: int = 1883, client_id: str, topic_prefix: str,
                 clock: Clock | None = None, keepalive: int = 30, max_inflight: int = 20,
                 tls: ssl.SSLContext | None = None, username: str | None = None, password: str | None = None,
                 backoff_s: tuple[float, float] = (BACKOFF_MIN_S, BACKOFF_MAX_S),
                 rng: random.Random | None = None) -> None:
        if max_inflight < 1:
            raise ValueError("max_inflight must be at least 1")
        if not 0 < backoff_s[0] <= backoff_s[1]:
            raise ValueError("backoff_s must be (shortest, longest) delay, both > 0")
        self.outbox = outbox
        self.host, self.port, self.client_id = host, port, client_id
        self.topic_prefix = topic_prefix.rstrip("/")
        self.status_topic = f"{self.topic_prefix}/{STATUS_LEVEL}"
        self.keepalive = keepalive
        self.max_inflight = max_inflight
        self._tls, self._username, self._password = tls, username, password
        self._clock: Clock = clock or RealClock()
        self._backoff_s = backoff_s
        self._rng = rng or random.Random()
        self._notes: queue.SimpleQueue[_Note] = queue.SimpleQueue()
        self._client: mqtt.Client | None = None
        self._generation = 0
        self._connected = False
        self._connected_at = 0.0
        self._window = max_inflight
        self._inflight: dict[int, int | None] = {}  # mid -> outbox seq (None: our status message)
        self._acked: list[int] = []  # acknowledged, not yet recorded in the outbox
        self._refused: list[tuple[int, int]] = []  # (seq, reason code) refused, not yet recorded
        self._failures = 0
        self._next_attempt = float("-inf")
        self._closed = False
        self._max_inflight_seen = self._published = self._acknowledged = self._rejected = self._connects = 0

    # ----------------------------------------------------------------------------- state
    @property
    def online(self) -> bool:
        """Connected to the broker (as of the last `poll`)."""
        return self._connected

    def stats(self) -> UplinkStats:
        return UplinkStats(online=self._connected, in_flight=len(self._inflight),
                           max_inflight_seen=self._max_inflight_seen, published=self._published,
                           acknowledged=self._acknowledged, rejected=self._rejected, connects=self._connects,
                           attempts=self._generation)

    # ----------------------------------------------------------------------------- the loop
    def poll(self, now: float | None = None) -> None:
        """Handle what the network thread reported, (re)connect when due, fill the window.

        Called from the kiosk loop on every step; returns at once.  A broken outbox is logged
        and retried on the next call: the uplink never stops the checkpoint.
        """
        if self._closed:
            return
        now = self._clock.monotonic() if now is None else now
        self._handle_notes(now)
        if self._client is None and now >= self._next_attempt:
            self._connect()
        try:
            self._record()
            if self._connected:
                self._fill_window()
            self._record()
        except sqlite3.Error:
            log.exception("uplink: outbox unusable; retrying on the next poll")

    def _handle_notes(self, now: float) -> None:
        """Apply the network thread's reports in order.  Touches no disk, so it cannot fail halfway."""
        try:
            while True:
                note = self._notes.get_nowait()
                if note.generation != self._generation or self._client is None:
                    continue  # from a client already given up
                if note.kind == "acked":
                    self._on_ack(note)
                elif note.kind == "connected":
                    self._on_connected(note, now)
                elif note.kind == "lost":
                    self._on_lost(note, now)
        except queue.Empty:
            pass

    def _on_ack(self, note: _Note) -> None:
        if note.mid not in self._inflight:
            return
        seq = self._inflight.pop(note.mid)
        if seq is None:
            return
        if note.code < 0x80:  # 0x00 success, 0x10 no matching subscribers: the broker has it
            self._acked.append(seq)
            self._acknowledged += 1
        else:
            self._reject(seq, note.code, "refused by the broker")

    def _reject(self, seq: int, code: int, why: str) -> None:
        self._refused.append((seq, code))
        self._rejected += 1
        log.error("uplink: outbox row %d %s (reason 0x%02x); set aside, not retried", seq, why, code)

    def _record(self) -> None:
        """Write acks and refusals to the outbox: one transaction each, kept for the next poll if it fails."""
        if self._acked:
            self.outbox.mark_sent(self._acked)
            self._acked = []
        while self._refused:
            seq, code = self._refused[0]
            self.outbox.mark_rejected([seq], code)
            self._refused.pop(0)

    def _on_connected(self, note: _Note, now: float) -> None:
        self._connected, self._connected_at = True, now
        self._connects += 1
        self._window = min(self.max_inflight, note.receive_maximum or self.max_inflight)
        self._inflight.clear()
        log.info("uplink: connected to %s:%d (window %d)", self.host, self.port, self._window)
        assert self._client is not None
        info = self._client.publish(self.status_topic, ONLINE, qos=1, retain=True)
        if info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS:
            self._track(info.mid, None)

    def _on_lost(self, note: _Note, now: float) -> None:
        was_connected = self._connected
        # A connection that held for a keepalive period counts as a success: start over at the short delay.
        if was_connected and now - self._connected_at >= self.keepalive:
            self._failures = 0
        delay = backoff_delay(self._failures, self._rng, low_s=self._backoff_s[0], high_s=self._backoff_s[1])
        self._failures += 1
        self._next_attempt = now + delay
        self._connected = False
        self._client = None  # its thread ends by itself: paho's reconnect is off
        self._inflight.clear()  # those rows are still pending in the outbox; sent again after reconnect
        level = logging.WARNING if was_connected else logging.INFO
        log.log(level, "uplink: %s %s:%d (reason 0x%02x); next attempt in %.1f s",
                "lost" if was_connected else "cannot reach", self.host, self.port, note.code, delay)

    def _fill_window(self) -> None:
        free = self._window - len(self._inflight)
        if free <= 0:
            return
        busy = {seq for seq in self._inflight.values() if seq is not None}
        busy.update(self._acked, (seq for seq, _ in self._refused))  # done, though not yet on disk
        for row in self.outbox.pending(len(busy) + free):
            if free <= 0:
                break
            if row.seq in busy:
                continue
            if not self._publish(row):
                break
            free -= 1

    def _publish(self, row: OutboxRow) -> bool:
        """Hand one row to paho; False if the connection is gone (the row stays pending)."""
        if row.stream == STATUS_LEVEL:
            self._reject(row.seq, LOCAL_REJECT, f"uses the reserved stream {STATUS_LEVEL!r}")
            return True
        assert self._client is not None
        props = Properties(PacketTypes.PUBLISH)
        props.ContentType = CONTENT_TYPE
        props.UserProperty = ("event_id", row.event_id)
        info = self._client.publish(f"{self.topic_prefix}/{row.stream}", row.payload, qos=1, properties=props)
        if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            return False  # paho keeps it in a client that is about to be dropped; the "lost" note follows
        self._track(info.mid, row.seq)
        self._published += 1
        return True

    def _track(self, mid: int, seq: int | None) -> None:
        self._inflight[mid] = seq
        self._max_inflight_seen = max(self._max_inflight_seen, len(self._inflight))

    # ----------------------------------------------------------------------------- paho
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
        self._client = client
        try:
            client.connect_async(self.host, self.port, keepalive=self.keepalive, clean_start=True)
            client.loop_start()
        except (OSError, ValueError) as exc:
            self._notes.put(_Note("lost", gen, code=0x80))
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
            self._notes.put(_Note("lost", gen, code=int(reason.value)))
        else:
            self._notes.put(_Note("connected", gen, receive_maximum=int(getattr(props, "ReceiveMaximum", 0) or 0)))

    def _cb_connect_fail(self, gen: int, _client: Any, _userdata: Any) -> None:
        self._notes.put(_Note("lost", gen, code=0x80))

    def _cb_disconnect(self, gen: int, _client: Any, _userdata: Any, _flags: Any, reason: Any, _props: Any) -> None:
        self._notes.put(_Note("lost", gen, code=int(getattr(reason, "value", 0x80))))

    def _cb_publish(self, gen: int, _client: Any, _userdata: Any, mid: int, reason: Any, _props: Any) -> None:
        self._notes.put(_Note("acked", gen, mid=mid, code=int(getattr(reason, "value", 0))))

    # ----------------------------------------------------------------------------- shutdown
    def close(self, timeout_s: float = CLOSE_TIMEOUT_S) -> None:
        """Say "offline" (retained), record the acks that arrived, disconnect cleanly.

        Blocks for at most about `timeout_s` plus a connect timeout; rows still in flight stay
        pending and go out after the next start.
        """
        if self._closed:
            return
        client = self._client
        if client is not None and self._connected:
            info = client.publish(self.status_topic, OFFLINE, qos=1, retain=True)
            try:
                info.wait_for_publish(timeout_s)
            except (RuntimeError, ValueError):
                log.warning("uplink: could not publish offline status")
        self._handle_notes(self._clock.monotonic())
        try:
            self._record()
        except sqlite3.Error:
            log.exception("uplink: outbox unusable while closing")
        self._closed = True
        self._connected = False
        self._client = None
        self._inflight.clear()
        if client is not None:
            client.disconnect()  # a clean DISCONNECT: the broker discards our Last Will
            client.loop_stop()

    def __enter__(self) -> MqttUplink:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
