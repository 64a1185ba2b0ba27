"""A tiny township consumer that sends receipts exactly as the contract says, for the kiosk's tests.

    python -m tests.feed.township_stub --host H --port P --db FILE [--client-id ID] [--filter F] [--no-receipts]

It stands in for `kiosk township listen` until the township's own listener (branch wt-t14)
sends receipts on main: a real paho client in its own process (or thread: `ReceiptingConsumer`),
with a persistent session (MQTT 5, `clean_start` only the first time it ever connects, a
session expiry), manual acknowledgements, and this order for each batch of what arrived:

1. store every event in SQLite, once per event id (`INSERT OR IGNORE`), counting the copies
   that arrived (`copies`: what the township's deduplication dropped), and commit;
2. acknowledge the messages to the broker (only now: a consumer killed before its commit gets
   them again);
3. publish, per kiosk, on `{kiosk prefix}/receipt` (QoS 1, not retained)
   `{"schema": 1, "at": <epoch s>, "ids": [...]}`: every event id of that kiosk in the batch, new
   or already stored, at most 500 per message (BRIEF.md, "Township receipts").

The kiosk prefix is the first `levels` levels of the topic (5 for `checkpoint/v1/T/S/K`); what
follows is the stream.  `status` (no event id) is not stored.  SIGTERM ends it cleanly.
"""

from __future__ import annotations

import argparse
import json
import queue
import signal
import socket
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

MAX_IDS = 500
LINGER_S = 0.05  # = township.listener.LINGER_S
SESSION_EXPIRY_S = 3600


@dataclass(frozen=True, slots=True)
class _Message:
    topic: str
    payload: bytes
    mid: int
    qos: int


def open_store(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(path, isolation_level=None, timeout=10, check_same_thread=False)
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("CREATE TABLE IF NOT EXISTS events (event_id TEXT PRIMARY KEY, kiosk TEXT NOT NULL, "
                "stream TEXT NOT NULL, copies INTEGER NOT NULL DEFAULT 1)")
    return con


def stored(path: Path) -> dict[str, tuple[str, int]]:
    """{event_id: (stream, copies received)} of a consumer's database."""
    con = sqlite3.connect(path, timeout=10)
    try:
        return {e: (s, c) for e, s, c in con.execute("SELECT event_id, stream, copies FROM events")}
    finally:
        con.close()


class ReceiptingConsumer:
    """The consumer described above; `start()` connects and runs its worker thread, `stop()` ends both."""

    def __init__(self, host: str, port: int, db: Path, *, client_id: str | None = None,
                 topic_filter: str = "checkpoint/v1/#", levels: int = 5, receipts: bool = True) -> None:
        self.host, self.port, self.db = host, port, db
        self.client_id = client_id or f"township-stub-{uuid.uuid4().hex[:8]}"
        self.topic_filter = topic_filter
        self.levels = levels
        self.receipts = receipts
        self._inbox: queue.SimpleQueue[_Message] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._subscribed = threading.Event()
        self._worker: threading.Thread | None = None
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=self.client_id, protocol=mqtt.MQTTv5)
        self.client.manual_ack_set(True)
        self.client.reconnect_delay_set(0.1, 1.0)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *_: self._subscribed.set()
        self.client.on_message = self._on_message
        self.client.on_socket_open = lambda _c, _u, sock: sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.stored = self.duplicates = self.receipts_sent = 0

    def start(self, timeout_s: float = 10.0) -> None:
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = SESSION_EXPIRY_S
        deadline = time.monotonic() + timeout_s
        while True:  # wait for the broker (it may be restarting)
            try:
                self.client.connect(self.host, self.port, keepalive=10, clean_start=mqtt.MQTT_CLEAN_START_FIRST_ONLY,
                                    properties=props)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self.client.loop_start()
        if not self._subscribed.wait(timeout_s):
            raise TimeoutError("the consumer's subscription was not confirmed")
        self._worker = threading.Thread(target=self._work, name="township-stub", daemon=True)
        self._worker.start()

    def stop(self) -> None:
        self._stop.set()
        if self._worker is not None:
            self._worker.join(10)
        props = Properties(PacketTypes.DISCONNECT)
        props.SessionExpiryInterval = SESSION_EXPIRY_S  # keep the session (and its queue) on the broker
        self.client.disconnect(properties=props)
        self.client.loop_stop()

    # ----------------------------------------------------------------------------- paho's thread
    def _on_connect(self, client: mqtt.Client, _u: Any, flags: Any, reason: Any, _p: Any) -> None:
        if not reason.is_failure and not getattr(flags, "session_present", False):
            client.subscribe(self.topic_filter, qos=1)
        elif not reason.is_failure:
            self._subscribed.set()

    def _on_message(self, _c: Any, _u: Any, msg: Any) -> None:
        self._inbox.put(_Message(str(msg.topic), bytes(msg.payload), int(msg.mid), int(msg.qos)))

    # ----------------------------------------------------------------------------- the worker
    def _work(self) -> None:
        con = open_store(self.db)
        try:
            while not self._stop.is_set():
                try:
                    batch = [self._inbox.get(timeout=0.05)]
                except queue.Empty:
                    continue
                until = time.monotonic() + LINGER_S  # as township.listener: a batch waits a moment for more
                while len(batch) < 2000:
                    try:
                        batch.append(self._inbox.get(timeout=max(0.0, until - time.monotonic())))
                    except queue.Empty:
                        break
                self._handle(con, batch)
        finally:
            con.close()

    def _handle(self, con: sqlite3.Connection, batch: list[_Message]) -> None:
        held: dict[str, list[str]] = {}
        con.execute("BEGIN IMMEDIATE")
        for m in batch:
            parts = m.topic.split("/")
            kiosk, stream = "/".join(parts[:self.levels]), "/".join(parts[self.levels:])
            if stream in ("status", "receipt") or not stream:
                continue
            try:
                event_id = json.loads(m.payload)["event_id"]
            except (ValueError, KeyError, TypeError):
                continue
            new = con.execute("INSERT OR IGNORE INTO events (event_id, kiosk, stream) VALUES (?, ?, ?)",
                              (event_id, kiosk, stream)).rowcount
            if not new:
                con.execute("UPDATE events SET copies = copies + 1 WHERE event_id = ?", (event_id,))
                self.duplicates += 1
            self.stored += new
            held.setdefault(kiosk, []).append(event_id)
        con.execute("COMMIT")
        for m in batch:
            if m.qos:
                self.client.ack(m.mid, m.qos)
        if not self.receipts:
            return
        for kiosk, ids in held.items():
            unique = list(dict.fromkeys(ids))
            for i in range(0, len(unique), MAX_IDS):
                body = {"schema": 1, "at": round(time.time(), 3), "ids": unique[i:i + MAX_IDS]}
                self.client.publish(f"{kiosk}/receipt", json.dumps(body).encode(), qos=1)
                self.receipts_sent += 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--db", required=True)
    ap.add_argument("--client-id", default="township-stub")
    ap.add_argument("--filter", default="checkpoint/v1/#")
    ap.add_argument("--no-receipts", action="store_true", help="a township from before receipts")
    args = ap.parse_args()
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    consumer = ReceiptingConsumer(args.host, args.port, Path(args.db), client_id=args.client_id,
                                  topic_filter=args.filter, receipts=not args.no_receipts)
    consumer.start(timeout_s=60)
    print("ready", flush=True)
    stopping.wait()
    consumer.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
