"""The uplink: publishes the outbox to the township's MQTT broker, at least once and in order.

The outbox is the only queue.  A row is published with QoS 1; its PUBACK only says the broker
has it, so it stays in the outbox, awaiting the township's receipt (`kiosk.uplink.receipts`),
and is published again if none comes in time (`kiosk.outbox.delivery`, alerts first).  So a
reboot, a dead link, a dead broker, even one that lost what it had queued, loses nothing.  The
price is duplicates, which consumers drop by event id (also sent as the `event_id` user
property, so they need not parse the payload).  From a township that sends no receipts the
PUBACK frees the row, as before receipts existed.

Why it is built the way it is:

* **Driven from the kiosk loop.**  `poll()` never blocks: paho's network I/O (and the TCP
  connect) runs in paho's own thread (`loop_start`); `poll` only hands it publishes and reads
  what its callbacks left on a `queue.SimpleQueue`.  Callbacks run under paho's locks, so they
  do nothing else, and each is wrapped in try/except because an exception there kills paho's
  network thread without a word.
* **One paho client per connection**, reconnecting with exponential back-off and jitter:
  see `kiosk.uplink.connection`, whose `Connection` (a part the uplink holds) builds the client,
  receives paho's callbacks and times the next attempt.
* **Nothing is handed to paho while disconnected**, and never more than the in-flight window:
  `max_inflight`, or less if the broker's CONNACK announces a smaller Receive Maximum (paho 2.x
  does not honour that by itself; a strict broker disconnects a client that exceeds it).
* **A refused PUBACK (reason >= 0x80, e.g. not authorised) is final**: the row is set aside as
  rejected in the outbox and logged; retrying cannot change the broker's mind.
* **Availability** is the retained `{topic_prefix}/status`: "online" after each connect,
  "offline" from `close()` or, if the kiosk dies, from the broker as our Last Will.  No message
  expiry on it: "offline" must stay true until the kiosk says otherwise.
* **A broker that refuses us** (CONNACK reason >= 0x80: bad certificate, not authorised, banned)
  is logged once as an error, reported in `stats().refused`/`last_reason` (and so in health),
  and retried with the same back-off: an operator may fix the ACL without touching the kiosk.
* **Draining fast without cheating on durability**: rows are read ahead in batches (re-read at
  once when anything is appended, so an alert still goes next), and while a backlog drains the
  acks and receipts are recorded together in batches (`kiosk.uplink.recorder`), one fsync each;
  an ack not yet recorded at a power cut costs a duplicate, never a loss.  With mosquitto's
  receive maximum of 20 that drains over 5,000 events/s even at an SD card's fsync cost
  (bench/uplink_drain.py).
* **Receipts** arrive on `{topic_prefix}/receipt` (subscribed on every connect, QoS 1) and are
  applied on the kiosk loop's thread with the acks.  The session is persistent
  (`kiosk.uplink.connection`), so receipts published while the kiosk was away reach it when it
  comes back.  Rows awaiting a receipt too long go again (`kiosk.uplink.resender`).
* **Township → kiosk messages** (`subscribe`; the `Subscriptions` part, in
  `kiosk.uplink.subscriptions`): paho's thread only queues them; handlers run in `poll()` on the
  kiosk loop's thread, each guarded.  Subscriptions are made on every connect.
* **Health** goes out through `publish_direct` (not stored; `kiosk.feed.health`), in the window.
* **An event's properties** (content type, `event_id`) are packed once, by hand, for speed
  (`kiosk.uplink.properties`).

Payloads are never logged: they describe people.
"""

from __future__ import annotations

import random
import sqlite3
import ssl
from collections import deque
from dataclasses import dataclass
from types import TracebackType

from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from kiosk.clock import RealClock
from kiosk.outbox import Outbox, OutboxRow
from kiosk.ports import Clock
from kiosk.uplink.connection import BACKOFF_MAX_S, BACKOFF_MIN_S, OFFLINE, ONLINE, STATUS_LEVEL, Connection, Note, log
from kiosk.uplink.properties import CONTENT_TYPE, event_properties
from kiosk.uplink.receipts import ABSENT_AFTER_S, RECEIPT_LEVEL, Receipts
from kiosk.uplink.recorder import ACK_BATCH, ACK_DELAY_S, Recorder
from kiosk.uplink.resender import Resender
from kiosk.uplink.subscriptions import MessageHandler, Subscriptions

__all__ = ["ACK_BATCH", "ACK_DELAY_S", "CLOSE_TIMEOUT_S", "LOCAL_REJECT", "READ_AHEAD", "MqttUplink", "UplinkStats"]

CLOSE_TIMEOUT_S = 2.0  # how long close() waits for the broker to take "offline"
READ_AHEAD = 200  # rows read from the outbox at once while draining
LOCAL_REJECT = 0x83  # "implementation specific error": a row we refuse to publish ourselves


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
    last_reason: int = 0  # MQTT reason code of the last failed or lost connection (0x87: not authorised)
    refused: bool = False  # the broker answered our last CONNECT with a refusal (credentials, ACL, ban)
    direct_published: int = 0  # health messages published without the outbox
    receipts: str = "expected"  # "expected", "present" or "absent" (kiosk.uplink.receipts)
    receipted: int = 0  # rows freed by the township's receipts
    resent: int = 0  # rows published again: no receipt in time, or receipts came back
    probing: bool = False  # no receipt for longer than the longest back-off: re-sends are small probes


class MqttUplink:
    """Publishes pending outbox rows to `{topic_prefix}/{stream}` over MQTT v5, QoS 1.

    It holds two parts: a `Connection` (paho's client, its callbacks, the back-off) and the
    `Subscriptions` (township → kiosk handlers).  What it keeps itself is the outbox's side:
    the in-flight window, the read-ahead, the acks and refusals waiting to be recorded.
    """

    def __init__(self, outbox: Outbox, *, host: str, port: int = 1883, client_id: str, topic_prefix: str,
                 clock: Clock | None = None, keepalive: int = 30, max_inflight: int = 20,
                 tls: ssl.SSLContext | None = None, username: str | None = None, password: str | None = None,
                 backoff_s: tuple[float, float] = (BACKOFF_MIN_S, BACKOFF_MAX_S),
                 rng: random.Random | None = None, receipts_absent_after_s: float = ABSENT_AFTER_S) -> None:
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
        self._clock: Clock = clock or RealClock()
        self._connection = Connection(host=host, port=port, client_id=client_id, keepalive=keepalive,
                                      max_inflight=max_inflight, status_topic=self.status_topic, tls=tls,
                                      username=username, password=password, backoff_s=backoff_s, rng=rng)
        self._subscriptions = Subscriptions()
        seen = awaiting = False
        try:
            seen = outbox.receipts_seen()  # this kiosk's township sends receipts: it never degrades
            awaiting = outbox.awaiting_count() > 0  # left by an earlier run
        except sqlite3.Error:
            log.exception("uplink: outbox unreadable at start")
        self.receipts = Receipts(absent_after_s=receipts_absent_after_s, seen=seen)
        self.receipts.awaiting = awaiting
        self._recorder = Recorder(outbox, self.receipts, self._clock)
        self._subscriptions.add(f"{self.topic_prefix}/{RECEIPT_LEVEL}", self.receipts.on_message)
        self._resender = Resender(outbox, self.receipts, self._clock)
        self._connected = False
        self._connected_at = 0.0
        self._window = max_inflight
        self._inflight: dict[int, int | None] = {}  # mid -> outbox seq (None: our status message)
        self._cursor: dict[int, int] = {}  # priority -> last seq handed to paho on this connection
        self._drained = True  # the last look at the outbox found fewer rows than the window had room for
        self._ahead: deque[OutboxRow] = deque()  # rows read ahead, in publishing order
        self._ahead_version: int | None = None
        self._closed = False
        self._max_inflight_seen = self._published = self._acknowledged = self._rejected = self._connects = 0
        self._last_reason = 0
        self._client_refused = False
        self._logged_reason: int | None = None  # a failure is logged once until something changes
        self._direct = 0
        self._unheard_logged = False  # "no matching subscribers" is logged once until a subscriber has one

    # ----------------------------------------------------------------------------- state
    @property
    def online(self) -> bool:
        """Connected to the broker (as of the last `poll`)."""
        return self._connected

    def stats(self) -> UplinkStats:
        return UplinkStats(online=self._connected, in_flight=len(self._inflight),
                           max_inflight_seen=self._max_inflight_seen, published=self._published,
                           acknowledged=self._acknowledged, rejected=self._rejected, connects=self._connects,
                           attempts=self._connection.generation, last_reason=self._last_reason,
                           refused=self._client_refused, direct_published=self._direct,
                           receipts=self.receipts.mode, receipted=self._recorder.receipted,
                           resent=self._resender.resent + self._recorder.requeued,
                           probing=self._resender.probing)

    def subscribe(self, topic: str, handler: MessageHandler) -> None:
        """Receive messages on `topic` (a filter; QoS 1): `handler(topic, payload, retained)`.

        Subscriptions are made again on every connect (each connection is a clean session), so
        retained messages (the township's signed configuration) arrive again after each
        reconnect: handlers must be idempotent.  paho's thread only queues what arrives; the
        handlers run inside `poll()` on the caller's thread, each guarded, so a failing handler
        is logged and neither stops the others nor paho's network thread.  A message matching
        two overlapping filters reaches each filter's handlers once (`kiosk.uplink.subscriptions`).
        """
        client = self._connection.client
        if self._subscriptions.add(topic, handler) and self._connected and client is not None:
            self._subscriptions.subscribe(client, topic)

    def publish_direct(self, stream: str, payload: bytes, *, retain: bool = False,
                       expiry_s: int | None = None) -> bool:
        """Publish a message that need not survive a reboot (health), bypassing the outbox.

        Only when connected and only within the in-flight window (it takes one slot like an
        event); False if it was not handed over, and then it is simply not sent: the next one
        will describe the kiosk as it is then.  `expiry_s` sets the MQTT 5 message expiry, so
        a consumer connecting late is not shown stale health as current.
        """
        client = self._connection.client
        if self._closed or not self._connected or client is None or len(self._inflight) >= self._window:
            return False
        if stream == STATUS_LEVEL or not stream:
            raise ValueError(f"stream {stream!r} is reserved or empty")
        props = Properties(PacketTypes.PUBLISH)
        props.ContentType = CONTENT_TYPE
        if expiry_s is not None:
            props.MessageExpiryInterval = int(expiry_s)
        info = client.publish(f"{self.topic_prefix}/{stream}", payload, qos=1, retain=retain, properties=props)
        if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            return False
        self._track(info.mid, None)
        self._direct += 1
        return True

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
        if self._connection.due(now):
            self._connection.connect()
        self.receipts.tick(now, connected=self._connected)
        try:
            self._record()
            if self._connected:
                self._resend(now)
                self._fill_window()
            self._record()
        except sqlite3.Error:
            log.exception("uplink: outbox unusable; retrying on the next poll")

    def _resend(self, now: float) -> None:
        if self._resender.step(now):
            self._rewind()

    def resend_awaiting(self) -> None:
        """Publish again, on the next poll, every row still awaiting a receipt (not waiting for its time): for
        a run about to end whose township receipts (the simulation's last drain), never the kiosk's loop."""
        self._resender.everything("the run is ending")

    def _rewind(self) -> None:
        """Rows behind the cursor are to publish again: read the queue from its start."""
        self._cursor.clear()
        self._ahead.clear()

    def wait(self, timeout_s: float) -> None:
        """Block until the network thread reports something (an ack, a message) or `timeout_s` passed.

        For loops that only drain (the simulation's end, the benchmark): polling in a tight loop
        would hold the GIL against paho's network thread.  The kiosk loop never calls it.
        """
        self._connection.wait(timeout_s)

    def _handle_notes(self, now: float) -> None:
        """Apply the network thread's reports in order.  Touches no disk, so it cannot fail halfway."""
        connection = self._connection
        while (note := connection.next_note()) is not None:
            if note.generation != connection.generation or connection.client is None:
                continue  # from a client already given up
            if note.kind == "acked":
                self._on_ack(note)
            elif note.kind == "connected":
                self._on_connected(note, now)
            elif note.kind in ("lost", "refused"):
                self._on_lost(note, now)
            elif note.kind == "message":
                self._subscriptions.dispatch(note)

    def _on_ack(self, note: Note) -> None:
        if note.mid not in self._inflight:
            return
        seq = self._inflight.pop(note.mid)
        if seq is None:
            return
        if note.code == 0x10:  # no matching subscribers: the broker has it, for nobody; never freed on this
            self._recorder.acked(seq, heard=False)
            self._acknowledged += 1
            if not self._unheard_logged:
                self._unheard_logged = True
                log.warning("uplink: the broker has no subscriber for our events (reason 0x10: the township's "
                            "listener is away or lost its session); they are kept and published again")
        elif note.code < 0x80:  # 0x00 success: the broker has it for a subscriber
            self._recorder.acked(seq)
            self._acknowledged += 1
            self._unheard_logged = False
        else:
            self._reject(seq, note.code, "refused by the broker")

    def _reject(self, seq: int, code: int, why: str) -> None:
        self._recorder.refused(seq, code)
        self._rejected += 1
        log.error("uplink: outbox row %d %s (reason 0x%02x); set aside, not retried", seq, why, code)

    def _record(self, *, force: bool = False) -> None:
        """Write acks, refusals and receipts to the outbox (`kiosk.uplink.recorder`): in batches while
        a backlog drains, at once when nothing is in flight; kept for the next poll if it fails."""
        requeued = self._recorder.requeued
        self._recorder.record(force=force, idle=self._drained and not self._inflight)
        if self._recorder.requeued != requeued:
            self._rewind()

    def _on_connected(self, note: Note, now: float) -> None:
        self._connected, self._connected_at = True, now
        self._connects += 1
        self._client_refused, self._logged_reason = False, None
        self._window = min(self.max_inflight, note.receive_maximum or self.max_inflight)
        self._inflight.clear()
        self._cursor.clear()  # what the last connection handed over but did not get acked goes again
        self._ahead.clear()
        log.info("uplink: connected to %s:%d (window %d)", self.host, self.port, self._window)
        if not note.session_present and self.receipts.awaiting:
            self._resender.everything("the broker lost our session")  # and maybe what it queued for the township
        client = self._connection.client
        assert client is not None
        info = client.publish(self.status_topic, ONLINE, qos=1, retain=True)
        if info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS:
            self._track(info.mid, None)
        self._subscriptions.subscribe_all(client)

    def _on_lost(self, note: Note, now: float) -> None:
        was_connected = self._connected
        delay = self._connection.lost(now, held=was_connected and now - self._connected_at >= self.keepalive)
        self._connected = False
        self._inflight.clear()  # those rows are still pending in the outbox; sent again after reconnect
        self._last_reason = note.code
        self._client_refused = note.kind == "refused"
        # Logged once per kind of failure: a kiosk behind a dead router must not fill its log every minute.
        if was_connected:
            log.warning("uplink: lost %s:%d (reason 0x%02x); reconnecting", self.host, self.port, note.code)
        elif self._logged_reason != note.code:
            if self._client_refused:
                log.error("uplink: %s:%d refuses this kiosk (reason 0x%02x); check its credentials and ACL; "
                          "retrying with back-off", self.host, self.port, note.code)
            else:
                log.warning("uplink: cannot reach %s:%d (reason 0x%02x); retrying with back-off",
                            self.host, self.port, note.code)
        else:
            log.debug("uplink: still failing (reason 0x%02x); next attempt in %.1f s", note.code, delay)
        self._logged_reason = note.code

    def _fill_window(self) -> None:
        free = self._window - len(self._inflight)
        if free <= 0:
            return
        inflight = {seq for seq in self._inflight.values() if seq is not None}  # at most the window
        done = self._recorder.done  # acked or refused, though not yet on disk (not copied: it may be thousands)
        # Rows already handed over on this connection are skipped in SQL (by the index alone), so a
        # poll reads only the rows it will publish however many acks wait to be recorded.
        # Read ahead a batch of rows, so that a draining backlog costs one query per batch, not per
        # ack.  An append (an alert!) makes the batch stale: it is read again, in priority order.
        appended = self.outbox.appended
        if not self._ahead or appended != self._ahead_version:
            limit = max(free, READ_AHEAD) + (len(inflight) + len(done) if not self._cursor else 0)
            self._ahead = deque(self.outbox.pending(limit, after=self._cursor))
            self._ahead_version = appended
            self._drained = len(self._ahead) < limit  # nothing more waits: acks may be recorded at once
        while free > 0 and self._ahead:
            row = self._ahead[0]
            if row.seq in inflight or row.seq in done or row.seq <= self._cursor.get(row.priority, 0):
                self._ahead.popleft()
                continue
            if not self._publish(row):
                break
            self._ahead.popleft()
            free -= 1

    def _publish(self, row: OutboxRow) -> bool:
        """Hand one row to paho; False if the connection is gone (the row stays pending)."""
        if row.stream == STATUS_LEVEL:
            self._reject(row.seq, LOCAL_REJECT, f"uses the reserved stream {STATUS_LEVEL!r}")
            return True
        client = self._connection.client
        assert client is not None
        info = client.publish(f"{self.topic_prefix}/{row.stream}", row.payload, qos=1,
                              properties=event_properties(row.event_id))  # type: ignore[arg-type]
        if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            return False  # paho keeps it in a client that is about to be dropped; the "lost" note follows
        self._track(info.mid, row.seq)
        self._cursor[row.priority] = max(row.seq, self._cursor.get(row.priority, 0))
        self._published += 1
        return True

    def _track(self, mid: int, seq: int | None) -> None:
        self._inflight[mid] = seq
        self._max_inflight_seen = max(self._max_inflight_seen, len(self._inflight))

    # ----------------------------------------------------------------------------- shutdown
    def close(self, timeout_s: float = CLOSE_TIMEOUT_S) -> None:
        """Say "offline" (retained), record the acks that arrived, disconnect cleanly.

        Blocks for at most about `timeout_s` plus a connect timeout; rows still in flight stay
        pending and go out after the next start.
        """
        if self._closed:
            return
        client = self._connection.client
        if client is not None and self._connected:
            info = client.publish(self.status_topic, OFFLINE, qos=1, retain=True)
            try:
                info.wait_for_publish(timeout_s)
            except (RuntimeError, ValueError):
                log.warning("uplink: could not publish offline status")
        self._handle_notes(self._clock.monotonic())
        try:
            self._record(force=True)
        except sqlite3.Error:
            log.exception("uplink: outbox unusable while closing")
        self._closed = True
        self._connected = False
        self._inflight.clear()
        self._connection.close(client)  # a clean DISCONNECT: the broker discards our Last Will

    def __enter__(self) -> MqttUplink:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
