"""Drain a backlog of buffered events to a local mosquitto: the kiosk's uplink vs a naive loop.

    .venv/bin/python bench/uplink_drain.py [--events 50000] [--naive-events 2000]

Both paths are durable in the same sense: a row is marked sent in the outbox (SQLite WAL,
synchronous=FULL) only after its PUBACK.

* `uplink`  kiosk.uplink.MqttUplink driven by `poll()` as the kiosk loop drives it: QoS 1, a
            window of in-flight publishes (mosquitto's Receive Maximum, 20 by default), acks
            recorded in one transaction per batch;
* `naive`   publish one row, wait for its PUBACK, mark it sent (one transaction), next row.
            It is measured on `--naive-events` rows (fewer: it is slow) and its rate
            extrapolated to the full backlog, as printed.  The same loop recording nothing is
            timed too, to show what the round trips alone cost.

The backlog is written to the outbox in one transaction beforehand (the set-up, not measured).
A real mosquitto runs on a free port with its default limits; a subscriber in its own process
(`mosquitto_sub`, as the township's consumer would be) counts what arrives.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kiosk.outbox import Outbox
from kiosk.uplink import MqttUplink
from tests.mosquitto import Broker

PREFIX = "checkpoint/v1/bench/site/kiosk"


def backlog(path: Path, n: int) -> Outbox:
    ob = Outbox(path)
    rows = []
    for i in range(n):
        event_id = str(uuid.uuid4())
        body = {"event_id": event_id, "at": 1764032400.0 + i, "decision": "PASS", "reasons": [],
                "policy_version": "bench", "padding": "x" * 400}
        rows.append((event_id, "entry", 0, time.time(), json.dumps(body).encode()))
    con = ob._db
    con.execute("BEGIN IMMEDIATE")
    con.executemany("INSERT INTO outbox (event_id, stream, priority, created, payload) VALUES (?, ?, ?, ?, ?)", rows)
    con.execute("COMMIT")
    ob.housekeeping(clock_synced=False)  # re-counts the totals (ages nothing)
    return ob


def start_subscriber(b: Broker, out: Path, count: int) -> subprocess.Popen[bytes]:
    """mosquitto_sub in its own process, exiting after `count` entries (plus probes); subscribed on return."""
    sub = subprocess.Popen([shutil.which("mosquitto_sub") or "mosquitto_sub", "-h", b.host, "-p", str(b.port),
                            "-V", "mqttv5", "-q", "1", "-v", "-t", f"{PREFIX}/entry", "-t", f"{PREFIX}/probe"],
                           stdout=out.open("wb"))
    probe = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-probe", protocol=mqtt.MQTTv5)
    probe.connect(b.host, b.port)
    probe.loop_start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and b"probe" not in out.read_bytes():
        probe.publish(f"{PREFIX}/probe", b"probe", qos=1).wait_for_publish(5)
        time.sleep(0.1)
    probe.disconnect()
    probe.loop_stop()
    return sub


def wait_for_lines(path: Path, prefix: bytes, count: int, timeout_s: float) -> int:
    deadline = time.monotonic() + timeout_s
    while True:
        with path.open("rb") as f:
            n = sum(1 for line in f if line.startswith(prefix))
        if n >= count or time.monotonic() > deadline:
            return n
        time.sleep(0.2)


def drain_uplink(ob: Outbox, b: Broker, n: int) -> float:
    up = MqttUplink(ob, host=b.host, port=b.port, client_id="bench-uplink", topic_prefix=PREFIX, max_inflight=20)
    try:
        while not up.online:
            up.poll()
            time.sleep(0.001)
        start = time.perf_counter()
        while up.stats().acknowledged < n:  # (the outbox is counted only at the end: that is the bench's cost)
            up.poll()
            up.wait(0.05)  # until paho reports an ack: a spinning loop would starve its thread of the GIL
        while ob.pending_count() > 0:  # the last acks recorded
            up.poll()
            up.wait(0.05)
        elapsed = time.perf_counter() - start
        stats = up.stats()
        print(f"uplink: window {stats.max_inflight_seen}, {stats.published} published, "
              f"{stats.acknowledged} acknowledged")
    finally:
        up.close()
    return elapsed


def drain_naive(ob: Outbox, b: Broker, n: int, *, durable: bool = True) -> float:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-naive", protocol=mqtt.MQTTv5)
    client.connect(b.host, b.port)
    client.loop_start()
    try:
        start = time.perf_counter()
        done = 0
        while done < n:
            (row,) = ob.pending(1) if durable else ob.pending(1, after={0: done})
            info = client.publish(f"{PREFIX}/{row.stream}", row.payload, qos=1)
            info.wait_for_publish(10)
            if durable:  # (a dry run records nothing: it times the round trips alone)
                ob.mark_sent([row.seq])
            done += 1
        return time.perf_counter() - start
    finally:
        client.disconnect()
        client.loop_stop()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=50_000)
    ap.add_argument("--naive-events", type=int, default=2_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-uplink-", dir=Path(__file__).resolve().parent) as tmp:
        workdir = Path(tmp)
        (workdir / "broker").mkdir()
        b = Broker(workdir / "broker", config="max_queued_messages 0")  # the counting subscriber may lag
        b.start()
        sub = start_subscriber(b, workdir / "received.txt", args.events + args.naive_events)
        try:
            with backlog(workdir / "ours.sqlite", args.events) as ob:
                t_ours = drain_uplink(ob, b, args.events)
                assert ob.pending_count() == 0
            with backlog(workdir / "naive.sqlite", args.naive_events) as ob:
                t_naive = drain_naive(ob, b, args.naive_events)
            with backlog(workdir / "dry.sqlite", args.naive_events) as ob:
                t_dry = drain_naive(ob, b, args.naive_events, durable=False)
            arrived = wait_for_lines(workdir / "received.txt", f"{PREFIX}/entry ".encode(),
                                     args.events + 2 * args.naive_events, 60)
        finally:
            sub.kill()
            sub.wait()
            b.stop()
    ours = args.events / t_ours
    naive = args.naive_events / t_naive
    print(f"uplink  {args.events:6d} events in {t_ours:7.2f} s = {ours:8.0f} events/s")
    print(f"naive   {args.naive_events:6d} events in {t_naive:7.2f} s = {naive:8.0f} events/s "
          f"(extrapolated to {args.events}: {args.events / naive:.0f} s)")
    dry = args.naive_events / t_dry
    print(f"naive without recording anything (round trips alone): {dry:8.0f} events/s")
    print(f"ratio   {ours / naive:.1f}x   (subscriber received {arrived} of {args.events + 2 * args.naive_events})")
    print("(the naive loop pays one round trip and one fsync per event: its rate, and the ratio, depend on the "
          "disk's fsync latency, far higher on an SD card than here)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
