"""`kiosk township listen`: subscribe to a whole township, store every event once, print alerts.

* **Persistent session** (MQTT 5 `clean_start=False`, a session expiry interval, a fixed client
  id): while the listener is down the broker queues the township's QoS 1 messages for it, so a
  consumer that restarts, or connects late, still gets everything published since it first
  subscribed.
* **Acknowledged after the commit**: paho's manual acks are on, so a PUBACK goes to the broker
  only once the event is in SQLite.  A listener killed in between gets the message again, and
  the event id drops the duplicate.
* **Scale-out**: with `--share GROUP` it subscribes `$share/GROUP/...`, so several listeners
  behind a clustered broker split the township's traffic (see config/mosquitto/README.md); each
  also subscribes the kiosks' statuses unshared, since a shared subscription gets no retained
  message and would split one kiosk's online/offline among members.  Every message is stamped with
  the time paho handed it over, so the store keeps the newest status whatever batch it comes in.
* paho's thread only queues; storing, unsealing and printing happen on the caller's thread.
* **No poison message**: a message that cannot be handled (not UTF-8 JSON, or anything else that
  raises) is counted, logged without its content, and acknowledged, so the broker does not hand it
  back forever.  Only the store itself failing (a locked or full database) leaves it unacknowledged.
* **Batches**: what is queued is handled in batches of up to `batch` messages; a store that can
  (`add_many`, PostgreSQL) commits a batch in one transaction, then every message of it is acked.
* **Receipts** (`township.receipts`): after the commit, each kiosk is told which of its event ids
  the township now holds, new or duplicate, on its `receipt` topic (QoS 1), and which it refused
  for good (`refused`: malformed, mismatched, a bad id), so that the kiosk stops sending those.
* **Only the kiosks' topics**: it subscribes each kind a kiosk publishes (`UPLINK_LEVELS`), not the
  whole township tree, so its own receipts are not delivered back to it.
* **Waits for the broker** at start (`start(wait=True)`: a log line, retrying with back-off) and
  reconnects after an outage within seconds (paho's back-off, 0.5 s doubling to 5 s).
"""

from __future__ import annotations

import json
import logging
import queue
import sqlite3
import ssl
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TextIO

from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from kiosk.feed.sealing import SealError, SubjectOpener
from kiosk.feed.topics import ROOT, UPLINK_LEVELS, check_id, parse, township_filter
from township.broker import BrokerAddress, BrokerUnreachable, connect, new_client
from township.receipts import group_held, receipt_messages
from township.store import EventStore, Incoming, Stored

log = logging.getLogger(__name__)

SESSION_EXPIRY_S = 7 * 24 * 3600  # the broker keeps our queue this long while we are away
BACKOFF_S = (0.5, 5.0)  # reconnecting: first delay, doubling up to the last
BATCH = 500
# A batch waits this long for more messages after its first: a backlog arriving at thousands a
# second is then stored, acked and receipted in batches of hundreds, not of the few that happened to
# be queued, so that each kiosk gets one receipt per batch (a receipt costs the kiosk ~0.1 ms of CPU
# and a PUBACK: a few ids each would cost a draining kiosk a third of its CPU; bench/uplink_drain.py).
LINGER_S = 0.05


@dataclass(frozen=True, slots=True)
class _Message:
    topic: str
    payload: bytes
    mid: int
    qos: int
    event_id: str | None
    received_at: float | None = None  # when paho handed it over: the order of statuses, whatever a batch waits


class Listener:
    """One township consumer.  `poll()` stores what arrived; `run()` loops until told to stop."""

    def __init__(self, store: EventStore | Any, address: BrokerAddress, *, township: str = "+",
                 client_id: str | None = None, opener: SubjectOpener | None = None,
                 share: str | None = None, tls: ssl.SSLContext | None = None,
                 out: TextIO | None = None, clock: Callable[[], float] = time.time,
                 batch: int = BATCH, receipts: bool = True, linger_s: float = LINGER_S) -> None:
        self.store = store
        self.batch = max(1, batch)
        self.linger_s = max(0.0, linger_s)
        self.receipts = receipts
        self.transient: tuple[type[BaseException], ...] = getattr(store, "transient_errors",
                                                                  (sqlite3.OperationalError,))
        self.address = address
        self.township = township
        self.opener = opener
        self.out = out if out is not None else sys.stdout
        self.clock = clock
        # Only what kiosks publish (`UPLINK_LEVELS`), not `{ROOT}/{township}/#`: that would bring the
        # listener its own receipts (and the township's configuration) back, a message each for nothing.
        if township != "+":
            check_id(township)
        kinds = [f"{ROOT}/{township}/+/+/{level}" for level in UPLINK_LEVELS]
        # A shared subscription gets no retained messages and splits the statuses among the members, so
        # a Last Will could land after a later "online" on another member: each member takes every
        # status itself (retained ones included), in the broker's order, and shares the rest.
        self.filters = [f"$share/{share}/{k}" if share and not k.endswith("/status") else k for k in kinds]
        self.filter = self.filters[0]
        # What a listener from before subscribed (its persistent session may still hold it): dropped at start.
        base = township_filter(township) if township != "+" else f"{ROOT}/+/#"
        self._legacy = [f"$share/{share}/{base}" if share else base]
        self.client_id = client_id or f"township-listener-{township if township != '+' else 'all'}"
        self._inbox: queue.SimpleQueue[_Message] = queue.SimpleQueue()
        self.stored = self.duplicates = self.alerts = self.rejected = 0
        self._client = new_client(self.client_id)
        self._client.manual_ack_set(True)
        self._client.on_message = self._on_message
        self._client.on_subscribe = lambda *_: None
        self._client.reconnect_delay_set(BACKOFF_S[0], BACKOFF_S[1])  # type: ignore[arg-type]
        self._tls = tls
        self.receipts_sent = 0

    def start(self, *, wait: bool = False, should_stop: Callable[[], bool] = lambda: False,
              sleep: Callable[[float], None] = time.sleep) -> bool:
        """Connect (persistent session) and subscribe; paho reconnects by itself after that.

        With `wait`, an unreachable broker is retried (0.5 s doubling to 5 s, one log line per try)
        until it answers or `should_stop()`; returns False if stopped before connecting.  A broker
        that *refuses* us (`BrokerError`) is not retried: that needs a person, not patience.
        """
        delay = BACKOFF_S[0]
        while True:
            try:
                connect(self._client, self.address, tls=self._tls, clean_start=False,
                        session_expiry_s=SESSION_EXPIRY_S, receive_maximum=max(self.batch * 2, 20))
                break
            except BrokerUnreachable as exc:
                if not wait:
                    raise
                log.warning("township listen: waiting for the broker (%s); retrying in %.1f s", exc, delay)
                end = time.monotonic() + delay
                while time.monotonic() < end:
                    if should_stop():
                        return False
                    sleep(min(0.1, max(0.0, end - time.monotonic())))
                delay = min(delay * 2, BACKOFF_S[1])
        log.info("township listen: connected to %s:%d", self.address.host, self.address.port)
        self._client.on_connect = self._on_reconnect
        subscribed = threading.Event()
        self._client.on_subscribe = lambda *_: subscribed.set()
        self._subscribe()
        if not subscribed.wait(10):
            log.warning("township listen: no SUBACK within 10 s; paho keeps trying")
        return True

    def _subscribe(self) -> None:
        self._client.unsubscribe(self._legacy)  # a session from before may still hold it: no receipts echoed
        self._client.subscribe([(f, 1) for f in self.filters])

    def _on_reconnect(self, client: Any, _u: Any, flags: Any, reason: Any, _p: Any) -> None:
        try:
            if not reason.is_failure and not getattr(flags, "session_present", False):
                self._subscribe()
        except Exception:  # an exception here would silently kill paho's thread
            log.exception("listener: resubscribing failed")

    def _on_message(self, _c: Any, _u: Any, msg: Any) -> None:
        try:
            props = getattr(msg, "properties", None)
            event_id = dict(getattr(props, "UserProperty", None) or ()).get("event_id")
            self._inbox.put(_Message(str(msg.topic), bytes(msg.payload), int(msg.mid), int(msg.qos), event_id,
                                     self.clock()))
        except Exception:
            log.exception("listener: could not queue a message")

    def close(self) -> None:
        self._client.disconnect(properties=_keep_session())
        self._client.loop_stop()

    def poll(self, timeout_s: float = 0.0) -> int:
        """Store (and acknowledge) everything queued; wait up to `timeout_s` for the first.  Returns how many."""
        handled = 0
        try:
            first = self._inbox.get(timeout=timeout_s) if timeout_s > 0 else self._inbox.get_nowait()
        except queue.Empty:
            return 0
        batch = [first]
        while True:
            self._fill(batch)
            self._handle_batch(batch)
            handled += len(batch)
            if len(batch) < self.batch:
                return handled
            batch = []
            try:
                batch.append(self._inbox.get_nowait())
            except queue.Empty:
                return handled

    def _fill(self, batch: list[_Message]) -> None:
        """Add to `batch` what is queued, and what comes within `linger_s` of starting, up to `self.batch`."""
        until = time.monotonic() + self.linger_s
        while len(batch) < self.batch:
            try:
                batch.append(self._inbox.get_nowait())
            except queue.Empty:
                left = until - time.monotonic()
                if left <= 0:
                    return
                try:
                    batch.append(self._inbox.get(timeout=left))
                except queue.Empty:
                    return

    def run(self, *, duration_s: float = 0.0, should_stop: Callable[[], bool] = lambda: False) -> None:
        """Poll until `should_stop()` (checked between batches: a batch in hand is committed and acked)."""
        deadline = time.monotonic() + duration_s if duration_s > 0 else float("inf")
        while not should_stop() and time.monotonic() < deadline:
            self.poll(timeout_s=min(0.5, max(0.01, deadline - time.monotonic())))

    def _handle_batch(self, batch: list[_Message]) -> None:
        results = self._store_all(batch)
        for message in batch:
            if message.qos > 0:
                self._client.ack(message.mid, message.qos)  # only now: committed (or rejected)
        if self.receipts:
            self._send_receipts(batch, results)
        for message, stored in zip(batch, results, strict=True):
            if stored is not None:
                where = parse(message.topic)
                assert where is not None
                self._after(stored, where[1], where[2])

    def _incoming(self, message: _Message) -> Incoming | None:
        where = parse(message.topic)
        if where is None:
            return None  # the township's own retained configuration, echoed to a township-wide subscription
        township, site, kiosk, kind = where
        received = message.received_at if message.received_at is not None else self.clock()
        return Incoming(township, site, kiosk, kind, message.payload, received, message.event_id,
                        self._unseal(message.payload, kind))

    def _store_all(self, batch: list[_Message]) -> list[Stored | None]:
        """Each message's `Stored`, None if it was not for the store or was rejected."""
        items: list[Incoming | None] = []
        for message in batch:
            try:
                items.append(self._incoming(message))
            except Exception as exc:
                self._reject(message, exc)
                items.append(None)
        add_many = getattr(self.store, "add_many", None)
        wanted = [item for item in items if item is not None]
        if add_many is not None and wanted:
            try:
                stored = iter(add_many(wanted))
                return [None if item is None else next(stored) for item in items]
            except self.transient:
                raise  # the store, not a message: nothing acked, the broker delivers it all again
            except Exception:
                log.warning("listener: a batch of %d failed; storing its messages one by one", len(wanted))
        results: list[Stored | None] = []
        for message, item in zip(batch, items, strict=True):
            results.append(None if item is None else self._store_one(message, item, add_many))
        return results

    def _store_one(self, message: _Message, item: Incoming, add_many: Any) -> Stored | None:
        try:
            if add_many is not None:
                return add_many([item])[0]  # type: ignore[no-any-return]
            return self.store.add(item.township, item.site, item.kiosk, item.kind, item.payload,
                                  received_at=item.received_at, event_id=item.event_id, sid=item.sid)
        except self.transient:
            raise
        except Exception as exc:
            self._reject(message, exc)
            return None

    def _reject(self, message: _Message, exc: Exception) -> None:
        self.rejected += 1
        log.error("listener: rejected a message on %s (%d bytes): %s", message.topic, len(message.payload),
                  type(exc).__name__)  # never the payload: it may carry a name
        try:
            self.store.count_rejected("rejected")
        except Exception:
            log.exception("listener: could not count a rejected message")

    def _send_receipts(self, batch: list[_Message], results: list[Stored | None]) -> None:
        held = group_held((s.township, s.site, s.kiosk, s.event_id) for s in results if s is not None and s.event_id)
        refused = group_held(_refused(batch, results))
        for topic, payload in receipt_messages(held, self.clock(), refused):
            try:
                self._client.publish(topic, payload, qos=1)
                self.receipts_sent += 1
            except Exception:  # a lost receipt costs a re-send by the kiosk, never an event
                log.exception("listener: could not publish a receipt")

    def _unseal(self, payload: bytes, kind: str) -> str | None:
        if self.opener is None or kind not in ("entry", "alert"):
            return None
        try:
            sealed = json.loads(payload).get("sid_sealed")
        except (ValueError, AttributeError, RecursionError):
            return None
        if not isinstance(sealed, str):
            return None
        try:
            return self.opener.open(sealed)
        except SealError:
            log.warning("listener: a subject id could not be unsealed with this key; stored sealed")
            return None

    def _after(self, stored: Stored, site: str, kiosk: str) -> None:
        if not stored.event_id:
            if stored.kind != "status":  # not stored: malformed, or another kiosk's identity in the body
                self.rejected += 1
                log.warning("listener: a %s message from %s/%s was not stored (see the store's counters)",
                            stored.kind, site, kiosk)
            return
        if not stored.new:
            self.duplicates += 1
            return
        self.stored += 1
        if stored.kind == "alert" and stored.body is not None:
            self.alerts += 1
            body = stored.body
            line = {"alert": stored.event_id, "at": body.get("at"), "site": site, "kiosk": kiosk,
                    "decision": body.get("decision"), "reasons": body.get("reasons"),
                    "temperature_c": body.get("temperature_c"), "name": body.get("name"),
                    "policy_version": body.get("policy_version")}
            self.out.write(json.dumps(line, ensure_ascii=False) + "\n")
            self.out.flush()


def _refused(batch: list[_Message], results: list[Stored | None]) -> Iterator[tuple[str, str, str, str]]:
    """(township, site, kiosk, event id) of each kiosk event acked but not stored: refused for good (malformed,
    mismatched, a bad id, or it raised), named by its `event_id` user property, so the kiosk stops re-sending it."""
    for message, stored in zip(batch, results, strict=True):
        where = parse(message.topic)
        if where is None or where[3] == "status" or not message.event_id:
            continue
        if stored is None or not stored.event_id:
            yield where[0], where[1], where[2], message.event_id


def _keep_session() -> Properties:
    """A DISCONNECT that keeps the session (and its queue) on the broker."""
    props = Properties(PacketTypes.DISCONNECT)
    props.SessionExpiryInterval = SESSION_EXPIRY_S
    return props
