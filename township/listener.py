"""`kiosk township listen`: subscribe to a whole township, store every event once, print alerts.

* **Persistent session** (MQTT 5 `clean_start=False`, a session expiry interval, a fixed client
  id): while the listener is down the broker queues the township's QoS 1 messages for it, so a
  consumer that restarts, or connects late, still gets everything published since it first
  subscribed.
* **Acknowledged after the commit**: paho's manual acks are on, so a PUBACK goes to the broker
  only once the event is in SQLite.  A listener killed in between gets the message again, and
  the event id drops the duplicate.
* **Scale-out**: with `--share GROUP` it subscribes `$share/GROUP/...`, so several listeners
  behind a clustered broker split the township's traffic (see config/mosquitto/README.md).
* paho's thread only queues; storing, unsealing and printing happen on the caller's thread.
* **No poison message**: a message that cannot be handled (not UTF-8 JSON, or anything else that
  raises) is counted, logged without its content, and acknowledged, so the broker does not hand it
  back forever.  Only the store itself failing (a locked or full database) leaves it unacknowledged.
"""

from __future__ import annotations

import json
import logging
import queue
import sqlite3
import ssl
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from kiosk.feed.sealing import SealError, SubjectOpener
from kiosk.feed.topics import ROOT, parse, township_filter
from township.broker import BrokerAddress, connect, new_client
from township.store import EventStore, Stored

log = logging.getLogger(__name__)

SESSION_EXPIRY_S = 7 * 24 * 3600  # the broker keeps our queue this long while we are away


@dataclass(frozen=True, slots=True)
class _Message:
    topic: str
    payload: bytes
    mid: int
    qos: int
    event_id: str | None


class Listener:
    """One township consumer.  `poll()` stores what arrived; `run()` loops until told to stop."""

    def __init__(self, store: EventStore, address: BrokerAddress, *, township: str = "+",
                 client_id: str | None = None, opener: SubjectOpener | None = None,
                 share: str | None = None, tls: ssl.SSLContext | None = None,
                 out: TextIO | None = None, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.address = address
        self.township = township
        self.opener = opener
        self.out = out if out is not None else sys.stdout
        self.clock = clock
        base = township_filter(township) if township != "+" else f"{ROOT}/+/#"
        self.filter = f"$share/{share}/{base}" if share else base
        self.client_id = client_id or f"township-listener-{township if township != '+' else 'all'}"
        self._inbox: queue.SimpleQueue[_Message] = queue.SimpleQueue()
        self.stored = self.duplicates = self.alerts = self.rejected = 0
        self._client = new_client(self.client_id)
        self._client.manual_ack_set(True)
        self._client.on_message = self._on_message
        self._client.on_subscribe = lambda *_: None
        self._tls = tls

    def start(self) -> None:
        """Connect (persistent session) and subscribe; paho reconnects by itself after that."""
        connect(self._client, self.address, tls=self._tls, clean_start=False, session_expiry_s=SESSION_EXPIRY_S)
        self._client.on_connect = self._on_reconnect
        self._subscribe()

    def _subscribe(self) -> None:
        self._client.subscribe(self.filter, qos=1)

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
            self._inbox.put(_Message(str(msg.topic), bytes(msg.payload), int(msg.mid), int(msg.qos), event_id))
        except Exception:
            log.exception("listener: could not queue a message")

    def close(self) -> None:
        self._client.disconnect(properties=_keep_session())
        self._client.loop_stop()

    def poll(self, timeout_s: float = 0.0) -> int:
        """Store (and acknowledge) everything queued; wait up to `timeout_s` for the first.  Returns how many."""
        handled = 0
        try:
            message = self._inbox.get(timeout=timeout_s) if timeout_s > 0 else self._inbox.get_nowait()
            while True:
                self._handle(message)
                handled += 1
                message = self._inbox.get_nowait()
        except queue.Empty:
            return handled

    def run(self, *, duration_s: float = 0.0, should_stop: Callable[[], bool] = lambda: False) -> None:
        deadline = time.monotonic() + duration_s if duration_s > 0 else float("inf")
        while not should_stop() and time.monotonic() < deadline:
            self.poll(timeout_s=min(0.5, max(0.01, deadline - time.monotonic())))

    def _handle(self, message: _Message) -> None:
        try:
            self._store(message)
        except sqlite3.OperationalError:
            raise  # the store, not the message: unacknowledged, so the broker delivers it again
        except Exception as exc:
            self.rejected += 1
            log.error("listener: rejected a message on %s (%d bytes): %s", message.topic, len(message.payload),
                      type(exc).__name__)  # never the payload: it may carry a name
            try:
                self.store.count_rejected("rejected")
            except sqlite3.Error:
                log.exception("listener: could not count a rejected message")
        if message.qos > 0:
            self._client.ack(message.mid, message.qos)  # only now: the event is committed (or rejected)

    def _store(self, message: _Message) -> None:
        where = parse(message.topic)
        if where is not None:
            township, site, kiosk, kind = where
            stored = self.store.add(township, site, kiosk, kind, message.payload, received_at=self.clock(),
                                    event_id=message.event_id, sid=self._unseal(message.payload, kind))
            self._after(stored, site, kiosk)
        # else: the township's own retained configuration, echoed to a township-wide subscription

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


def _keep_session() -> Properties:
    """A DISCONNECT that keeps the session (and its queue) on the broker."""
    props = Properties(PacketTypes.DISCONNECT)
    props.SessionExpiryInterval = SESSION_EXPIRY_S
    return props
