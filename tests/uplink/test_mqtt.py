"""The uplink against a real mosquitto, watched by a real paho subscriber.

Every test drives `poll()` the way the kiosk loop does.  The uplink only (re)connects inside
`poll`, which is what lets a test bring the subscriber back before the uplink returns.
"""

from __future__ import annotations

import json
import logging
import os
import random
import select
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from kiosk.outbox import Outbox
from kiosk.uplink import MqttUplink
from kiosk.uplink.connection import backoff_delay
from tests.mosquitto import Broker, Subscriber, wait_until
from tests.paths import ROOT
from tests.uplink.conftest import PREFIX

Connect = Callable[..., MqttUplink]


def append(outbox: Outbox, ids: list[str], n: int, *, stream: str = "entry", priority: int = 0) -> None:
    for _ in range(n):
        event_id = f"{stream}-{len(ids):04d}"
        ids.append(event_id)
        outbox.append(stream, event_id, json.dumps({"event_id": event_id}).encode(), priority=priority)


def event_ids(sub: Subscriber, stream: str = "entry") -> list[str]:
    return [json.loads(m.payload)["event_id"] for m in sub.received(f"{PREFIX}/{stream}")]


def first_occurrences(ids: list[str]) -> list[str]:
    return list(dict.fromkeys(ids))


def test_backoff_doubles_up_to_the_cap_with_jitter() -> None:
    rng = random.Random(3)
    delays = [backoff_delay(n, rng, low_s=1.0, high_s=30.0) for n in range(12)]
    for n, d in enumerate(delays):
        ceiling = min(30.0, 2.0**n)
        assert ceiling / 2 <= d <= ceiling
    assert len({round(d, 6) for d in delays[6:]}) > 1  # capped, yet not in lock-step


def test_200_events_arrive_in_order_exactly_once(broker: Broker, subscribe: Callable[..., Subscriber],
                                                 outbox: Outbox, connect: Connect) -> None:
    sub = subscribe(broker, f"{PREFIX}/#")
    ids: list[str] = []
    with connect(broker, max_inflight=20) as up:
        append(outbox, ids, 200)
        assert wait_until(lambda: outbox.pending_count() == 0 and len(event_ids(sub)) >= 200, 10, step=up.poll)
        time.sleep(0.05)  # a duplicate would arrive now
        assert event_ids(sub) == ids
        stats, kept = up.stats(), outbox.stats()
        assert (kept.pending, kept.published, kept.sent) == (0, 200, 0)  # the broker has them: awaiting receipts
        assert all(r.published_at is not None and r.sent_at is None for r in outbox.tail(200))
        assert (stats.published, stats.acknowledged, stats.rejected, stats.connects) == (200, 200, 0, 1)
        assert 1 < stats.max_inflight_seen <= 20
    entry = sub.received(f"{PREFIX}/entry")[0]
    assert entry.content_type == "application/json"
    assert entry.user_properties == (("event_id", ids[0]),)


def test_an_alert_overtakes_the_backlog(broker: Broker, subscribe: Callable[..., Subscriber],
                                        outbox: Outbox, connect: Connect) -> None:
    sub = subscribe(broker, f"{PREFIX}/#")
    ids: list[str] = []
    with connect(broker) as up:
        append(outbox, ids, 50)
        append(outbox, ids, 1, stream="alert", priority=10)
        assert wait_until(lambda: outbox.pending_count() == 0, 10, step=up.poll)
        assert wait_until(lambda: len(sub.received()) >= 52)  # 51 events and the retained status
    streams = [m.topic.rsplit("/", 1)[1] for m in sub.received() if not m.topic.endswith("/status")]
    assert streams[0] == "alert" and streams[1:] == ["entry"] * 50


def test_window_shrinks_to_the_brokers_receive_maximum(make_broker: Callable[..., Broker],
                                                      subscribe: Callable[..., Subscriber], outbox: Outbox,
                                                      connect: Connect) -> None:
    b = make_broker("max_inflight_messages 5")  # mosquitto announces it as Receive Maximum
    sub = subscribe(b, f"{PREFIX}/#")
    ids: list[str] = []
    with connect(b, max_inflight=20) as up:
        append(outbox, ids, 60)
        assert wait_until(lambda: outbox.pending_count() == 0 and len(event_ids(sub)) >= 60, 10, step=up.poll)
        assert up.stats().max_inflight_seen == 5
    assert event_ids(sub) == ids


def test_broker_stalls_dies_and_returns_nothing_lost(broker: Broker, subscribe: Callable[..., Subscriber],
                                                     outbox: Outbox, connect: Connect) -> None:
    sub = subscribe(broker, f"{PREFIX}/#")
    ids: list[str] = []
    with connect(broker, max_inflight=10) as up:
        append(outbox, ids, 30)
        assert wait_until(lambda: outbox.pending_count() == 0 and len(event_ids(sub)) >= 30, 10, step=up.poll)

        broker.freeze()  # accepts bytes, never acknowledges: the window fills and stays full
        append(outbox, ids, 40)
        assert wait_until(lambda: up.stats().in_flight == 10, 5, step=up.poll)
        published = up.stats().published
        wait_until(lambda: False, 0.2, step=up.poll)
        assert up.stats().published == published and up.stats().in_flight == 10
        assert outbox.pending_count() == 40  # handed to paho is not sent: only a PUBACK marks a row

        broker.stop(kill=True)  # the broker host loses power
        assert wait_until(lambda: not up.online, 5, step=up.poll)
        assert up.stats().in_flight == 0
        append(outbox, ids, 30)  # the kiosk goes on deciding while the link is down
        wait_until(lambda: False, 0.5, step=up.poll)  # several failed attempts
        assert not up.online and up.stats().published == published and outbox.pending_count() == 70

        broker.start()  # same port
        sub.wait_subscribed()  # the township server is back before the kiosk
        assert wait_until(lambda: outbox.pending_count() == 0 and set(event_ids(sub)) >= set(ids), 10, step=up.poll)
        stats = up.stats()
    # every client given up on has ended its network thread: a week of outages leaks nothing
    assert wait_until(lambda: not [t for t in threading.enumerate() if t.name == "paho-mqtt-client-kiosk-1"], 3)
    received = event_ids(sub)
    assert first_occurrences(received) == ids  # none lost, order kept
    # re-sent across the one disconnect: at most the window, and the 30 rows awaiting a receipt (this township sends
    # none), since the broker came back without the kiosk's session and may have lost what it had queued
    assert len(received) - len(ids) <= 10 + 30
    assert stats.max_inflight_seen <= 10 and stats.connects == 2 and stats.rejected == 0


def test_a_refused_event_is_set_aside_not_retried(make_broker: Callable[..., Broker],
                                                  subscribe: Callable[..., Subscriber], tmp_path: Path,
                                                  outbox: Outbox, connect: Connect) -> None:
    acl = tmp_path / "acl"
    acl.write_text(f"topic readwrite {PREFIX}/entry\ntopic readwrite {PREFIX}/status\n")  # alerts not allowed
    b = make_broker(f"acl_file {acl}")
    sub = subscribe(b, f"{PREFIX}/#")
    ids: list[str] = []
    with connect(b) as up:
        append(outbox, ids, 2)
        append(outbox, ids, 1, stream="alert", priority=10)
        assert wait_until(lambda: outbox.pending_count() == 0, 5, step=up.poll)
        wait_until(lambda: False, 0.2, step=up.poll)
        stats, kept = up.stats(), outbox.stats()
        alert = next(r for r in outbox.tail(3) if r.stream == "alert")
    assert alert.rejected == 0x87 and alert.sent_at is None  # "not authorised", kept as a dead letter
    assert (kept.published, kept.rejected, kept.pending) == (2, 1, 0)
    assert (stats.published, stats.rejected) == (3, 1)  # published once, never again
    assert event_ids(sub) == ids[:2]


def test_close_says_offline_and_a_killed_kiosk_leaves_its_last_will(broker: Broker,
                                                                    subscribe: Callable[..., Subscriber],
                                                                    tmp_path: Path, connect: Connect) -> None:
    status = f"{PREFIX}/status"
    up = connect(broker, client_id="kiosk-clean")
    assert wait_until(lambda: up.online, 5, step=up.poll)
    watcher = subscribe(broker, status)
    assert wait_until(lambda: [m.payload for m in watcher.received()] == [b"online"])
    up.close()
    assert not up.online
    assert wait_until(lambda: [m.payload for m in watcher.received()] == [b"online", b"offline"])

    child = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\n"
         "from kiosk.outbox import Outbox\n"
         "from kiosk.uplink import MqttUplink\n"
         "up = MqttUplink(Outbox(sys.argv[1]), host=sys.argv[2], port=int(sys.argv[3]), client_id='kiosk-1',\n"
         f"                topic_prefix={PREFIX!r})\n"
         "while not up.online:\n"
         "    up.poll(); time.sleep(0.005)\n"
         "print('online', flush=True)\n"
         "while True:\n"
         "    up.poll(); time.sleep(0.01)\n",
         str(tmp_path / "killed.sqlite"), broker.host, str(broker.port)],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE)
    try:
        assert child.stdout is not None
        ready, _, _ = select.select([child.stdout], [], [], 10)
        assert ready and child.stdout.readline() == b"online\n"
        watcher = subscribe(broker, status)
        assert wait_until(lambda: [m.payload for m in watcher.received()] == [b"online"])
        assert watcher.received()[0].retain  # a newcomer learns the state from the retained message
        os.kill(child.pid, signal.SIGKILL)
        assert wait_until(lambda: [m.payload for m in watcher.received()] == [b"online", b"offline"], 5)
    finally:
        child.kill()
        child.wait()
    late = subscribe(broker, status)
    assert wait_until(lambda: [(m.payload, m.retain) for m in late.received()] == [(b"offline", True)])


def test_the_status_stream_name_is_reserved(broker: Broker, outbox: Outbox, connect: Connect) -> None:
    with connect(broker) as up:
        outbox.append("status", "x", b"{}")
        assert wait_until(lambda: outbox.pending_count() == 0, 5, step=up.poll)
        assert outbox.stats().rejected == 1 and up.stats().published == 0


class FlakyOutbox(Outbox):
    """A disk that fails the first time the uplink records acknowledgements."""

    failures = 1

    def mark_published(self, seqs: Iterable[int], *, at: float, receipted: Iterable[str] = (),
                       unheard: Iterable[int] = (), refused: Iterable[str] = ()) -> tuple[int, int]:
        if self.failures:
            self.failures -= 1
            raise sqlite3.OperationalError("disk I/O error")
        return super().mark_published(seqs, at=at, receipted=receipted, unheard=unheard, refused=refused)


def test_a_failing_disk_delays_the_record_but_sends_nothing_twice(broker: Broker,
                                                                  subscribe: Callable[..., Subscriber],
                                                                  tmp_path: Path, connect: Connect) -> None:
    sub = subscribe(broker, f"{PREFIX}/#")
    ids: list[str] = []
    with FlakyOutbox(tmp_path / "flaky.sqlite") as ob, connect(broker, outbox=ob) as up:
        append(ob, ids, 30)
        assert wait_until(lambda: ob.pending_count() == 0 and len(event_ids(sub)) >= 30, 5, step=up.poll)
        wait_until(lambda: False, 0.1, step=up.poll)
        assert ob.failures == 0 and up.stats().published == 30
    assert event_ids(sub) == ids


def test_a_broker_that_refuses_us_is_retried_with_back_off(make_broker: Callable[..., Broker], outbox: Outbox,
                                                           connect: Connect, caplog: pytest.LogCaptureFixture) -> None:
    b = make_broker("allow_anonymous false")  # every CONNECT is answered "not authorised"
    caplog.set_level(logging.INFO, logger="kiosk.uplink.mqtt")
    with connect(b, backoff_s=(0.02, 0.1)) as up:
        outbox.append("entry", "e", b"{}")
        wait_until(lambda: False, 1.0, step=up.poll)
        stats = up.stats()
        assert not up.online and stats.connects == 0 and outbox.pending_count() == 1
        assert stats.refused and stats.last_reason in (0x86, 0x87)  # bad credentials / not authorised
        refusals = [r for r in caplog.records if "refuses this kiosk" in r.getMessage()]
        assert len(refusals) == 1 and refusals[0].levelno == logging.ERROR  # logged once, not per attempt
        assert 4 <= stats.attempts <= 40  # retried, but not in a tight loop
        assert len([t for t in threading.enumerate() if t.name == "paho-mqtt-client-kiosk-1"]) <= 2
