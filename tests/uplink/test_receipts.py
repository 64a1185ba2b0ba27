"""The township's receipts free outbox rows; no receipt in time means a re-send; no receipts at all, the old way.

A real mosquitto and a real receipting consumer (`tests/feed/township_stub.py`: stores each event
once, commits, acks, then publishes the receipt per the contract), driven like the kiosk loop
drives the uplink.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from kiosk.outbox import Outbox, Resend
from kiosk.uplink import MqttUplink
from tests.feed.township_stub import ReceiptingConsumer, stored
from tests.mosquitto import Broker, wait_until
from tests.uplink.conftest import PREFIX

Connect = Callable[..., MqttUplink]


def append(ob: Outbox, n: int, *, stream: str = "entry", priority: int = 0) -> list[str]:
    ids = []
    for _ in range(n):
        event_id = f"{stream}-{ob.appended:05d}-{id(ob) % 1000}"
        ob.append(stream, event_id, json.dumps({"event_id": event_id}).encode(), priority=priority)
        ids.append(event_id)
    return ids


def at_township(tmp_path: Path) -> dict[str, tuple[str, int]]:
    path = tmp_path / "township.sqlite"
    return stored(path) if path.exists() else {}


def test_receipts_free_the_rows(broker: Broker, township: Callable[..., ReceiptingConsumer], outbox: Outbox,
                                connect: Connect, tmp_path: Path) -> None:
    township(broker)
    with connect(broker) as up:
        ids = append(outbox, 300) + append(outbox, 5, stream="alert", priority=10)
        assert wait_until(lambda: outbox.stats().rows == 0, 10, step=up.poll)
        stats = up.stats()
        assert stats.receipts == "present" and stats.receipted == 305 and stats.resent == 0
    assert outbox.stats().receipted == 305
    assert set(at_township(tmp_path)) == set(ids)


def test_no_receipt_in_time_is_published_again_then_freed(broker: Broker,
                                                          township: Callable[..., ReceiptingConsumer],
                                                          tmp_path: Path, connect: Connect) -> None:
    with Outbox(tmp_path / "k.sqlite", resend=Resend(after_s=0.3, max_s=0.6)) as ob, \
            connect(broker, outbox=ob) as up:
        ids = append(ob, 20)
        assert wait_until(lambda: ob.stats().published == 20, 5, step=up.poll)  # the broker has them, nobody else
        assert wait_until(lambda: up.stats().resent >= 20, 5, step=up.poll)  # so they go again
        assert ob.stats().rows == 20
        township(broker)  # the township comes (its session is new: only what is sent from now on)
        assert wait_until(lambda: ob.stats().rows == 0, 10, step=up.poll)
        assert up.stats().receipts == "present"
    assert set(at_township(tmp_path)) == set(ids)


def test_a_broker_crash_with_the_township_away_loses_nothing(make_broker: Callable[..., Broker],
                                                             township: Callable[..., ReceiptingConsumer],
                                                             tmp_path: Path, connect: Connect) -> None:
    """The issue's reproduction: the consumer away, the broker acknowledges, is killed -9 before saving."""
    b = make_broker("persistence false")  # its queue for the consumer dies with it
    consumer = township(b, client_id="township-away")
    consumer.stop()  # away, its session (and queue) on the broker
    with Outbox(tmp_path / "k.sqlite", resend=Resend(after_s=1.0, max_s=2.0)) as ob, connect(b, outbox=ob) as up:
        ids = append(ob, 40)
        assert wait_until(lambda: ob.stats().published == 40, 5, step=up.poll)  # "acknowledged 40, pending 0"
        b.stop(kill=True)
        b.start()
        township(b, client_id="township-away")  # back: its session was lost with the broker
        assert wait_until(lambda: ob.stats().rows == 0, 15, step=up.poll)  # re-sent, receipted, freed
        assert up.stats().resent >= 40
    assert set(at_township(tmp_path)) == set(ids)


def test_receipts_sent_while_the_kiosk_is_away_reach_it_when_it_comes_back(
        broker: Broker, township: Callable[..., ReceiptingConsumer], tmp_path: Path, connect: Connect) -> None:
    """The kiosk's session is persistent: the broker queues its receipts while it is gone."""
    with Outbox(tmp_path / "k.sqlite", resend=Resend(after_s=600, max_s=600)) as ob:
        with connect(broker, outbox=ob) as up:
            append(ob, 10)
            assert wait_until(lambda: ob.stats().published == 10, 5, step=up.poll)
        # gone (cleanly); the township comes, but can only receipt what it gets: nothing was queued for it
        consumer = township(broker)
        with connect(broker, outbox=ob) as up:  # restarted: no re-send is due for ten minutes ...
            ids = append(ob, 5)
            assert wait_until(lambda: ob.stats().rows == 10, 5, step=up.poll)  # ... the new ones are receipted
        assert wait_until(lambda: consumer.receipts_sent > 0 and set(ids) <= set(at_township(tmp_path)), 5)
        consumer.client.publish(f"{PREFIX}/receipt", json.dumps(
            {"schema": 1, "at": 1.0, "ids": [r.event_id for r in ob.tail(10)]}).encode(), qos=1).wait_for_publish(5)
        with connect(broker, outbox=ob) as up:  # the receipt published while it was away is delivered now
            assert wait_until(lambda: ob.stats().rows == 0, 5, step=up.poll)


def test_a_township_that_never_receipts_degrades_to_puback_and_comes_back(
        broker: Broker, township: Callable[..., ReceiptingConsumer], tmp_path: Path, connect: Connect) -> None:
    old = township(broker, client_id="old-township", receipts=False)
    with Outbox(tmp_path / "k.sqlite", resend=Resend(after_s=0.2, max_s=0.4)) as ob, \
            connect(broker, outbox=ob, receipts_absent_after_s=1.0) as up:
        first = append(ob, 10)
        assert wait_until(lambda: ob.stats().published == 10, 5, step=up.poll)
        assert up.stats().receipts == "expected"
        assert wait_until(lambda: up.stats().receipts == "absent", 5, step=up.poll)
        assert wait_until(lambda: ob.stats().sent == 10, 5, step=up.poll)  # freed on the PUBACK, as before receipts
        assert ob.stats().published == ob.stats().pending == 0
        resent = up.stats().resent
        second = append(ob, 5)
        assert wait_until(lambda: ob.stats().sent == 15, 5, step=up.poll)
        wait_until(lambda: False, 0.5, step=up.poll)
        assert up.stats().resent == resent  # nothing re-sent while receipts are absent
        old.stop()
        township(broker, client_id="new-township")  # a receipting listener now
        third = append(ob, 1)
        assert wait_until(lambda: ob.stats().rows == 0, 10, step=up.poll)  # the freed rows went again
        assert up.stats().receipts == "present"
    assert set(first + second + third) <= set(at_township(tmp_path))


def test_a_malformed_receipt_frees_nothing(broker: Broker, township: Callable[..., ReceiptingConsumer],
                                           outbox: Outbox, connect: Connect) -> None:
    sender = township(broker, client_id="prankster", receipts=False)
    with connect(broker) as up:
        ids = append(outbox, 2)
        assert wait_until(lambda: outbox.stats().published == 2, 5, step=up.poll)
        for payload in (b"not json", json.dumps({"schema": 2, "ids": ids}).encode(),
                        json.dumps({"schema": 1, "ids": [1, 2]}).encode(), json.dumps(ids).encode()):
            sender.client.publish(f"{PREFIX}/receipt", payload, qos=1).wait_for_publish(5)
        assert wait_until(lambda: up.receipts.malformed == 4, 5, step=up.poll)
        assert outbox.stats().published == 2 and up.stats().receipts == "expected"


def test_a_broker_that_forgot_the_kiosk_gets_every_awaited_event_again_at_once(
        make_broker: Callable[..., Broker], township: Callable[..., ReceiptingConsumer], tmp_path: Path,
        connect: Connect) -> None:
    """No waiting for the re-send timers (ten minutes here): a broker back without the kiosk's session may have
    lost what it queued for the township, so everything awaiting a receipt goes again."""
    b = make_broker("persistence false")
    consumer = township(b, client_id="township-away")
    consumer.stop()
    with Outbox(tmp_path / "k.sqlite", resend=Resend(after_s=600, max_s=600)) as ob, \
            connect(b, outbox=ob) as up:
        ids = append(ob, 25)
        assert wait_until(lambda: ob.stats().published == 25, 5, step=up.poll)
        b.stop(kill=True)
        b.start()  # its sessions and queues gone
        township(b, client_id="township-away")
        assert wait_until(lambda: ob.stats().rows == 0, 10, step=up.poll)
        assert up.stats().resent == 25 and up.stats().connects == 2
    assert set(at_township(tmp_path)) == set(ids)


def test_a_broker_that_kept_the_session_does_not_get_everything_again(
        make_broker: Callable[..., Broker], tmp_path: Path, connect: Connect) -> None:
    b = make_broker(persistent=True)
    with Outbox(tmp_path / "k.sqlite", resend=Resend(after_s=600, max_s=600)) as ob, \
            connect(b, outbox=ob) as up:
        append(ob, 5)
        assert wait_until(lambda: ob.stats().published == 5, 5, step=up.poll)
        b.stop()
        b.start()  # saved on every change: the kiosk's session (and the township's queue) survive
        assert wait_until(lambda: up.stats().connects == 2, 10, step=up.poll)
        wait_until(lambda: False, 0.5, step=up.poll)
        assert up.stats().resent == 0 and ob.stats().published == 5
