"""A kiosk process for the crash tests: writes events and/or drains the outbox, and dies on cue.

    python tests/feed/feed_child.py DB HOST PORT MODE [CRASH]

MODE   `write:N` appends N events (polling the uplink between them), then drains;
       `drain` only drains.  Either way it exits 0 once nothing is pending or in flight.
CRASH  `commit:K`  os._exit right after the K-th append has committed (before anyone learns of it);
       `publish:K` os._exit right after paho accepted the K-th publish (maybe sent, maybe not);
       `puback:K`  os._exit in paho's thread when the K-th PUBACK arrives (before the outbox knows).
os._exit skips every `finally`, flush and close: for the outbox it is a power cut.

Prints `ready` once started, so that a test killing it from outside knows it is running.
"""

from __future__ import annotations

import os
import random
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from kiosk.outbox import Outbox
from kiosk.uplink import MqttUplink

PREFIX = "checkpoint/v1/t/s/k"


def main() -> None:
    db, host, port, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    crash = sys.argv[5] if len(sys.argv) > 5 else ""
    point, _, at = crash.partition(":")
    k = int(at or 0)
    counts = {"commit": 0, "publish": 0, "puback": 0}

    def hit(name: str) -> None:
        if point == name:
            counts[name] += 1
            if counts[name] >= k:
                os._exit(3)

    ob = Outbox(db)
    up = MqttUplink(ob, host=host, port=port, client_id="k", topic_prefix=PREFIX, backoff_s=(0.05, 0.3),
                    rng=random.Random())
    original_publish, original_cb = up._publish, up._connection._cb_publish

    def publish(row):  # type: ignore[no-untyped-def]
        ok = original_publish(row)
        hit("publish")
        return ok

    def cb_publish(gen, *args):  # type: ignore[no-untyped-def]
        hit("puback")  # paho's thread: the process dies before the ack reaches the outbox
        original_cb(gen, *args)

    up._publish = publish  # type: ignore[method-assign]
    up._connection._cb_publish = cb_publish  # type: ignore[method-assign]
    print("ready", flush=True)
    if mode.startswith("write:"):
        for i in range(int(mode.split(":")[1])):
            stream = "alert" if i % 7 == 3 else "entry"
            event_id = str(uuid.uuid4())
            ob.append(stream, event_id, f'{{"event_id":"{event_id}"}}'.encode(), priority=10 if stream == "alert"
                      else 0)
            hit("commit")
            up.poll()
            time.sleep(0.0005)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        up.poll()
        if ob.pending_count() == 0 and up.stats().in_flight == 0:
            break
        time.sleep(0.001)
    up.close()
    ob.close()
    sys.exit(0 if time.monotonic() < deadline else 4)


if __name__ == "__main__":
    main()
