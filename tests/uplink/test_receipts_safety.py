"""Receipts that cannot be talked out of: a restart, a PUBACK for nobody, a refusal, a long silence.

The reviewer's cases against issue 13, each with a real mosquitto, a real outbox file and the
receipting consumer of `tests/feed/township_stub.py`:

* a kiosk that has had a receipt remembers it in its outbox: restarted while the township's
  listener is away, it never concludes that the township sends none (`receipts: absent`);
* a PUBACK saying "no matching subscribers" (0x10) frees nothing, even from a township that
  sends no receipts, and the bounds then push out entries (counted), never those alerts;
* a receipt's `refused` ids become dead letters: counted, not sent again;
* a township silent for longer than the longest back-off gets probes, not the whole backlog
  every round, and everything is receipted once it is back.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from kiosk.feed.health import attention
from kiosk.outbox import Limits, Outbox, Resend
from kiosk.uplink import MqttUplink
from kiosk.uplink.resender import PROBE_ROWS
from tests.feed.township_stub import ReceiptingConsumer, stored
from tests.mosquitto import Broker, Subscriber, wait_until
from tests.uplink.conftest import PREFIX

Connect = Callable[..., MqttUplink]


def append(ob: Outbox, n: int, *, stream: str = "entry", priority: int = 0, tag: str = "") -> list[str]:
    ids = []
    for i in range(n):
        event_id = f"{stream}-{tag}{ob.appended:05d}-{i}"
        ob.append(stream, event_id, json.dumps({"event_id": event_id}).encode(), priority=priority)
        ids.append(event_id)
    return ids


def test_a_kiosk_that_had_a_receipt_never_degrades_after_a_restart(
        broker: Broker, township: Callable[..., ReceiptingConsumer], tmp_path: Path, connect: Connect) -> None:
    """The reviewer's HIGH: the mode was per process, so after a reboot 30 min of listener outage made it
    `absent` and rows were freed on the PUBACK of a broker that could still lose them."""
    consumer = township(broker)
    with Outbox(tmp_path / "k.sqlite", resend=Resend(after_s=0.2, max_s=0.4)) as ob:
        with connect(broker, outbox=ob) as up:
            first = append(ob, 3)
            assert wait_until(lambda: ob.stats().rows == 0, 5, step=up.poll)
        assert ob.receipts_seen()
        consumer.stop()  # away; its session (a subscriber, so PUBACKs say 0x00) stays on the broker
        with connect(broker, outbox=ob, receipts_absent_after_s=0.3) as up:  # the kiosk restarted
            assert up.stats().receipts == "present"
            second = append(ob, 10, tag="b")
            wait_until(lambda: False, 2.0, step=up.poll)  # far past receipts_absent_after_s, connected
            stats = ob.stats()
            assert up.stats().receipts == "present" and stats.sent == 0 and stats.rows == 10
            township(broker)  # back: its queue is delivered and receipted
            assert wait_until(lambda: ob.stats().rows == 0, 10, step=up.poll)
    assert set(first + second) <= set(stored(tmp_path / "township.sqlite"))


def test_a_puback_for_nobody_frees_nothing_and_entries_never_push_out_those_alerts(
        make_broker: Callable[..., Broker], township: Callable[..., ReceiptingConsumer], tmp_path: Path,
        connect: Connect) -> None:
    """The reviewer's repro (/tmp/rev13/exp_absent.py) on a township that sends no receipts: degraded to
    freeing on the PUBACK, then the broker restarts without the listener's session, so alerts get PUBACK
    0x10 (no matching subscribers).  They must stay, go again, and never make room for entries."""
    b = make_broker("persistence false")
    old = township(b, client_id="old-township", receipts=False)
    with Outbox(tmp_path / "k.sqlite", resend=Resend(after_s=0.3, max_s=0.6)) as ob, \
            connect(b, outbox=ob, receipts_absent_after_s=0.5) as up:
        before = append(ob, 2)
        assert wait_until(lambda: up.stats().receipts == "absent", 5, step=up.poll)
        assert wait_until(lambda: ob.stats().sent == 2, 5, step=up.poll)
        old.stop()
        b.stop()
        b.start()  # its sessions gone: nobody subscribes to the kiosk's events now
        assert wait_until(lambda: up.stats().connects == 2, 10, step=up.poll)
        alerts = append(ob, 20, stream="alert", priority=10)
        assert wait_until(lambda: ob.stats().published == 20, 5, step=up.poll)  # 0x10: awaiting, not freed
        wait_until(lambda: False, 1.0, step=up.poll)
        assert ob.stats().sent == 2 and ob.stats().published + ob.stats().pending == 20
        ob.limits = Limits(max_rows=30)
        entries = append(ob, 20, tag="e")
        held = {r.event_id for r in ob.tail(100)}
        stats = ob.stats()
        assert set(alerts) <= held  # not one alert pushed out for an entry
        assert stats.dropped == len(before + entries) - (len(held) - len(alerts))  # every loss counted
        assert set(dict(stats.dropped_by_stream)) == {"entry"}
        township(b, client_id="old-township", receipts=False)  # the old listener is back
        assert wait_until(lambda: ob.stats().published == ob.stats().pending == 0, 10, step=up.poll)
        assert up.stats().receipts == "absent"
    assert set(alerts) <= set(stored(tmp_path / "township.sqlite"))


def test_refused_ids_become_dead_letters_not_sent_again(broker: Broker, township: Callable[..., ReceiptingConsumer],
                                                        tmp_path: Path, connect: Connect,
                                                        subscribe: Callable[..., Subscriber]) -> None:
    sender = township(broker, client_id="township-refusing", receipts=False)
    spy = subscribe(broker, f"{PREFIX}/entry")
    with Outbox(tmp_path / "k.sqlite", resend=Resend(after_s=0.2, max_s=0.4)) as ob, \
            connect(broker, outbox=ob) as up:
        ids = append(ob, 4)
        assert wait_until(lambda: ob.stats().published == 4, 5, step=up.poll)
        body = {"schema": 1, "at": 1.0, "ids": ids[:2], "refused": ids[2:]}
        sender.client.publish(f"{PREFIX}/receipt", json.dumps(body).encode(), qos=1).wait_for_publish(5)
        assert wait_until(lambda: ob.stats().refused == 2, 5, step=up.poll)
        copies = len(spy.received())
        wait_until(lambda: False, 1.5, step=up.poll)  # several re-send times pass
        stats = ob.stats()
        assert stats.rows == 2 and stats.refused == 2 and stats.rejected == 0 and stats.published == 0
        assert len(spy.received()) == copies  # not one sent again
        assert {r.event_id for r in ob.tail(10)} == set(ids[2:])
        assert up.stats().receipts == "present" and ob.receipts_seen()
        assert any("refused 2 events" in note for note in attention(ob.stats(), up.stats()))  # the health says why


def test_a_silent_township_gets_probes_not_the_backlog_then_everything_is_receipted(
        broker: Broker, township: Callable[..., ReceiptingConsumer], tmp_path: Path, connect: Connect,
        subscribe: Callable[..., Subscriber]) -> None:
    """The reviewer's storm: with the listener away in `present` mode every awaiting row went again every
    `max_s` forever (200 kiosks x 500 rows fill the broker's 100k queue).  Now only a probe goes."""
    consumer = township(broker)
    spy = subscribe(broker, f"{PREFIX}/entry")
    with Outbox(tmp_path / "k.sqlite", resend=Resend(after_s=0.2, max_s=0.5)) as ob, \
            connect(broker, outbox=ob) as up:
        append(ob, 1)
        assert wait_until(lambda: ob.stats().rows == 0, 5, step=up.poll)
        # A loaded machine may have sent that row twice (after_s is short): its second receipt comes later and
        # would rightly end the silence. Let it come, then the township goes away.
        wait_until(lambda: False, 1.0, step=up.poll)
        consumer.stop()  # away (its queue kept on the broker)
        heard = up.receipts.messages
        ids = append(ob, 200, tag="s")
        assert wait_until(lambda: ob.stats().published == 200, 5, step=up.poll)
        assert wait_until(lambda: up.stats().probing, 5, step=up.poll)
        # Before the silence was long enough the rows went again once, as due (the back-off): what was sent
        # until now (the first row, the 200, that round and the first probe) is counted out once it has all
        # arrived, however late a loaded machine delivers it.
        start = 1 + 200 + up.stats().resent
        assert wait_until(lambda: len(spy.received()) >= start, 10, step=up.poll)
        wait_until(lambda: False, 3.0, step=up.poll)  # six rounds of `max_s`
        copies = len(spy.received()) - start
        assert up.receipts.messages == heard  # the township really was silent
        assert 0 < copies <= 7 * PROBE_ROWS  # without probes: 200 a round, 1,200
        township(broker)  # back: the probes (and its queue) are receipted, then everything
        t0 = time.monotonic()
        assert wait_until(lambda: ob.stats().rows == 0, 15, step=up.poll)
        print(f"receipted all in {time.monotonic() - t0:.1f} s; {copies} copies in six rounds")
        assert wait_until(lambda: not up.stats().probing, 3, step=up.poll)
    assert set(ids) <= set(stored(tmp_path / "township.sqlite"))
