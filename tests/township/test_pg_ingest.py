"""The PostgreSQL ingester under what a county's operation throws at it, with real parts (the session
cluster, mosquitto, the `township listen` process):

* an event without a day of its own is stored once across midnight; an event id that is not an id
  is malformed;
* two listeners writing the same kiosks and events in opposite orders do not deadlock;
* a new day's partition is made while a reader holds the table open; retention keeps two days at
  least, prunes alerts, and a running listener makes a dropped day again;
* a read-only database stops the listener (exit 3) without acking: nothing is lost;
* the webhook posts what its cooldown held, and no alert can break it or the batch;
* an older "offline" never overwrites a newer "online"; share members get the retained statuses;
* the listener waits for a database that does not answer yet, refuses a wrong or unmigrated one,
  and refuses the sealing key with PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import http.server
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import psycopg
import pytest

from kiosk.ids import uuid7
from tests.mosquitto import Broker, broker, wait_until
from tests.paths import ROOT
from tests.township.test_receipts import body, publish_all
from township.broker import BrokerAddress
from township.devdb import Cluster
from township.ingest import PgEventStore
from township.ingest.webhook import Webhook
from township.listener import Listener
from township.store import Incoming

__all__ = ["broker"]

ZONE = ZoneInfo("Asia/Shanghai")
MIDNIGHT = dt.datetime(2026, 11, 25, 0, 0, tzinfo=ZONE).timestamp()
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def _alert(event_id: str, **extra: Any) -> bytes:
    return json.dumps({"event_id": event_id, "decision": "STOP", "reasons": ["fever"], "alert": True,
                       "temperature_c": 38.2, **extra}).encode()


def _dbname(dsn: str) -> str:
    return urlsplit(dsn).path.lstrip("/")


def test_an_event_without_a_day_of_its_own_is_stored_once_across_midnight(pg_dsn: str) -> None:
    posted: list[list[dict[str, Any]]] = []
    no_clock = uuid7(12.0)  # a Pi whose clock never got past 1970: neither `at` nor the id can be believed
    with PgEventStore(pg_dsn, on_alerts=posted.append) as store:
        for event_id, extra in (("no-at-1", {}), (no_clock, {"at": 12.0}), (uuid7(MIDNIGHT - 30), {})):
            first = store.add_many([Incoming("t1", "s1", "k1", "alert", _alert(event_id, **extra), MIDNIGHT - 5)])
            again = store.add_many([Incoming("t1", "s1", "k1", "alert", _alert(event_id, **extra), MIDNIGHT + 5)])
            assert (first[0].new, again[0].new) == (True, False), event_id
        days = store.rows("SELECT event_id, day FROM feed_entry ORDER BY event_id")
        assert [str(r["day"]) for r in days] == ["2026-11-24"] * 3  # each filed once, under its first day
        assert store.counter("duplicates") == 3
    assert len(posted) == 3  # one webhook post per alert, not two


def test_an_event_id_that_is_not_an_id_is_malformed(pg_dsn: str) -> None:
    evil = 'x", "township": "tb'
    with PgEventStore(pg_dsn) as store:
        (got,) = store.add_many([Incoming("t1", "s1", "k1", "entry", _alert(evil, at=MIDNIGHT), MIDNIGHT)])
        assert not got.event_id and store.counter("malformed") == 1 and store.event_ids() == []


def test_two_listeners_writing_the_same_kiosks_in_opposite_orders_do_not_deadlock(pg_dsn: str) -> None:
    kiosks = [f"k{i:02d}" for i in range(20)]
    batches = [[(k, uuid7(MIDNIGHT + 60 * b + i)) for i, k in enumerate(kiosks)] for b in range(150)]
    errors: list[BaseException] = []

    def member(store: PgEventStore, reverse: bool) -> None:
        try:
            for batch in batches:  # what a share group's failover re-delivers: the same events to both
                items = [Incoming("t1", "s1", k, "health", json.dumps({"event_id": e, "at": MIDNIGHT}).encode(),
                                  MIDNIGHT + 1) for k, e in batch]
                items += [Incoming("t1", "s1", k, "status", b"online", MIDNIGHT + 1) for k, _ in batch]
                store.add_many(items[::-1] if reverse else items)
        except BaseException as exc:  # reported below
            errors.append(exc)

    stores = [PgEventStore(pg_dsn), PgEventStore(pg_dsn)]
    threads = [threading.Thread(target=member, args=(s, i == 1)) for i, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    try:
        assert errors == []
        assert stores[0].count("health") == len(batches) * len(kiosks)
        assert stores[0].counter("duplicates") == len(batches) * len(kiosks)
    finally:
        for s in stores:
            s.close()


def test_a_new_days_partition_is_made_while_a_reader_holds_the_table(pg_dsn: str) -> None:
    reader = psycopg.connect(pg_dsn)
    reader.execute("SELECT count(*) FROM feed_entry").fetchone()  # a long search, a pg_dump: the table is held
    done: list[float] = []

    def ingest() -> None:
        t0 = time.monotonic()
        with PgEventStore(pg_dsn) as store:  # makes the coming days' partitions at start
            at = dt.datetime(2025, 6, 1, 12, tzinfo=ZONE).timestamp()  # and an old day's on demand
            store.add_many([Incoming("t1", "s1", "k1", "entry", _alert("e-old", at=at), time.time())])
            store.add_many([Incoming("t1", "s1", "k1", "entry", _alert("e-now", at=time.time()), time.time())])
        done.append(time.monotonic() - t0)

    worker = threading.Thread(target=ingest)
    worker.start()
    worker.join(15)
    still = worker.is_alive()
    reader.rollback()
    worker.join(30)
    reader.close()
    assert not still and done and done[0] < 10, "ingest waited for the reader"
    with psycopg.connect(pg_dsn) as con:
        tomorrow = dt.datetime.now(ZONE).date() + dt.timedelta(days=1)
        assert con.execute("SELECT to_regclass(%s)", (f"feed_entry_{tomorrow:%Y%m%d}",)).fetchone() != (None,)


def test_retention_keeps_two_days_prunes_alerts_and_a_running_store_makes_a_dropped_day_again(pg_dsn: str) -> None:
    from township.ingest.partitions import drop_older_than, existing

    today = dt.datetime.now(ZONE).date()
    old = today - dt.timedelta(days=40)
    at_old = dt.datetime.combine(old, dt.time(12), ZONE).timestamp()
    with PgEventStore(pg_dsn) as store:
        store.add_many([Incoming("t1", "s1", "k1", "alert", _alert("a-old", at=at_old), time.time()),
                        Incoming("t1", "s1", "k1", "daily", json.dumps({"event_id": "d-old", "day": old.isoformat(),
                                                                          "visitors": 1}).encode(), time.time())])
        with psycopg.connect(pg_dsn, autocommit=True) as con:
            for keep in (-1, 0, 1):
                with pytest.raises(ValueError):
                    drop_older_than(con, keep, today)
            assert today - dt.timedelta(days=1) in existing(con)["feed_entry"]
            done = drop_older_than(con, 30, today, keep_summary_days=400)
            assert f"feed_entry_{old:%Y%m%d}" in done and any(d.startswith("console_alert: 1") for d in done)
            assert con.execute("SELECT count(*) FROM console_alert").fetchone() == (0,)
            assert con.execute("SELECT count(*) FROM feed_daily").fetchone() == (1,)  # summaries kept longer
            assert today - dt.timedelta(days=1) in existing(con)["feed_entry"]
        late = store.add_many([Incoming("t1", "s1", "k1", "entry", _alert("e-late", at=at_old + 60), time.time())])
        assert late[0].new and "e-late" in store.event_ids()  # the listener made the day again, no exception
    refused = subprocess.run([sys.executable, "-m", "township", "retention", "--database-url", pg_dsn,
                              "--keep-days", "0"], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "keep at least 2 days" in refused.stderr and "Traceback" not in refused.stderr


def _listen(b: Broker, dsn: str, log: Path, *extra: str, client_id: str = "pg-ingest") -> subprocess.Popen[bytes]:
    with open(log, "ab") as err:
        return subprocess.Popen([sys.executable, "-m", "township", "listen", "--broker",
                                 f"mqtt://{b.host}:{b.port}", "--database-url", dsn, "--township", "t1",
                                 "--client-id", client_id, *extra], stdout=subprocess.DEVNULL, stderr=err, cwd=ROOT,
                                env=ENV)


def _count(dsn: str) -> int:
    with psycopg.connect(dsn) as con:
        return int(con.execute("SELECT count(*) FROM feed_entry").fetchone()[0])  # type: ignore[index]


def test_a_read_only_database_stops_the_listener_without_acking_anything(broker: Broker, pg_dsn: str,
                                                                         pg_cluster: Cluster, tmp_path: Path) -> None:
    admin = pg_cluster.dsn("postgres")
    name = _dbname(pg_dsn)
    with psycopg.connect(admin, autocommit=True) as con:  # a failover onto a standby, say
        con.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
    log = tmp_path / "listen.log"
    proc = _listen(broker, pg_dsn, log)
    try:
        assert wait_until(lambda: "connected to" in log.read_text(errors="replace"), 30, interval_s=0.1)
        publish_all(broker, [("checkpoint/v1/t1/s1/k1/entry", body("k1", uuid7(MIDNIGHT)))])
        assert proc.wait(30) == 3
        text = log.read_text(errors="replace")
        assert "the store failed" in text and "Traceback" not in text
        with psycopg.connect(admin, autocommit=True) as con:
            con.execute(f'ALTER DATABASE "{name}" RESET default_transaction_read_only')
        proc = _listen(broker, pg_dsn, log)  # systemd's restart: the broker kept the unacked message
        assert wait_until(lambda: _count(pg_dsn) == 1, 30, interval_s=0.2)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(15)


def test_the_webhook_posts_what_its_cooldown_held_and_nothing_breaks_it(pg_dsn: str) -> None:
    got: list[str] = []

    class Robot(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            data = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            assert data["msgtype"] == "text"
            got.append(data["text"]["content"])
            self.send_response(200)
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Robot)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    now = [1000.0]
    hook = Webhook(f"http://127.0.0.1:{server.server_port}/robot", cooldown_s=60, clock=lambda: now[0],
                   zone="Asia/Shanghai")
    at = dt.datetime(2026, 11, 25, 12, 0, 1, tzinfo=ZONE).timestamp()
    try:
        with PgEventStore(pg_dsn, on_alerts=hook) as store:
            store.add_many([Incoming("t8", "s1", "k1", "alert", _alert("a1", at=at, name="张*三"), at),
                            Incoming("t8", "s1", "k1", "alert", _alert("a2", at=at + 1, temperature_c=39.1), at),
                            Incoming("t8", "s2", "k1", "alert", _alert("b1", at="soon"), at)])  # no usable `at`
            store.add_many([Incoming("t8", "s1", "k1", "alert", _alert("a1", at=at), at)])  # a duplicate: no post
            assert wait_until(lambda: len(got) == 2, 5)
            now[0] += 61  # the cooldown is over: the held fever is posted with no later alert
            assert wait_until(lambda: len(got) == 3, 5), got
        with PgEventStore(pg_dsn, on_alerts=lambda alerts: 1 / 0) as store:  # a hook that fails
            (stored,) = store.add_many([Incoming("t8", "s3", "k1", "alert", _alert("c1", at=at), at)])
            assert stored.new and "c1" in store.event_ids("alert")
    finally:
        hook.close()
        server.shutdown()
    assert "t8/s1/k1 11-25 12:00:01(Asia/Shanghai) 发热 38.2°C 张*三" in got[0]
    assert "t8/s2/k1" in got[1] and "(Asia/Shanghai)" in got[1]
    assert "t8/s1/k1 11-25 12:00:02(Asia/Shanghai) 发热 39.1°C" in got[2] and "共 1 条" in got[2]


def test_an_older_offline_never_overwrites_a_newer_online_and_share_members_get_retained_statuses(
        broker: Broker, pg_dsn: str) -> None:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    with PgEventStore(pg_dsn) as store:
        store.add_many([Incoming("t1", "s1", "k1", "status", b"online", MIDNIGHT + 100)])
        store.add_many([Incoming("t1", "s1", "k1", "status", b"offline", MIDNIGHT + 50)])  # another member, late
        assert store.rows("SELECT status FROM feed_kiosk")[0]["status"] == "online"
    kiosk = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="kiosk-retained", protocol=mqtt.MQTTv5)
    kiosk.connect(broker.host, broker.port)
    kiosk.loop_start()
    kiosk.publish("checkpoint/v1/t1/s2/k2/status", b"online", qos=1, retain=True).wait_for_publish(5)
    kiosk.disconnect()
    kiosk.loop_stop()
    stores = [PgEventStore(pg_dsn), PgEventStore(pg_dsn)]
    members = [Listener(s, BrokerAddress(broker.host, broker.port, False), township="t1", client_id=f"sh{i}",
                        share="township-t1", out=io.StringIO()) for i, s in enumerate(stores)]
    try:
        for m in members:
            m.start()
        found = lambda: stores[0].rows("SELECT status FROM feed_kiosk WHERE kiosk = 'k2'")  # noqa: E731
        assert wait_until(lambda: bool(found()), 10, step=lambda: [m.poll() for m in members])
        assert found()[0]["status"] == "online"
    finally:
        for m in members:
            m.close()
        for s in stores:
            s.close()


def test_the_listener_waits_for_a_database_and_refuses_a_wrong_one(broker: Broker, pg_dsn: str,
                                                                    pg_cluster: Cluster, tmp_path: Path) -> None:
    later = tmp_path / "sock"  # where the database will answer: nothing there yet
    dsn = f"postgresql://postgres@/{_dbname(pg_dsn)}?host={later}"
    log = tmp_path / "listen.log"
    proc = _listen(broker, dsn, log)
    try:
        assert wait_until(lambda: "waiting for the database" in log.read_text(errors="replace"), 30, interval_s=0.1)
        time.sleep(1.5)
        assert proc.poll() is None  # still waiting, not exit 2
        later.symlink_to(pg_cluster.socket_dir)  # the database comes up
        assert wait_until(lambda: "connected to" in log.read_text(errors="replace"), 30, interval_s=0.1)
        publish_all(broker, [("checkpoint/v1/t1/s1/k1/entry", body("k1", uuid7(MIDNIGHT)))])
        assert wait_until(lambda: _count(pg_dsn) == 1, 20, interval_s=0.2)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
    unmigrated = pg_cluster.create_database(f"bare_{os.getpid()}")
    for url, says in ((pg_cluster.dsn("no_such_database"), "does not exist"),
                      (unmigrated, "township migrate"), ("postgresql:///x?bogus=1", "bogus")):
        done = subprocess.run([sys.executable, "-m", "township", "listen", "--broker",
                               f"mqtt://{broker.host}:{broker.port}", "--database-url", url], cwd=ROOT, env=ENV,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 2 and says in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_the_listener_refuses_the_sealing_key_with_postgres(pg_dsn: str, tmp_path: Path) -> None:
    from township.keys import generate

    generate(tmp_path / "keys")
    try:
        done = subprocess.run([sys.executable, "-m", "township", "listen", "--broker", "mqtt://127.0.0.1:1",
                               "--database-url", pg_dsn, "--seal-key", str(tmp_path / "keys" / "seal.pem")],
                              cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail("the listener took the sealing key with PostgreSQL")
    assert done.returncode == 2 and "--seal-key is for the SQLite store only" in done.stderr


def test_every_copy_of_an_event_is_filed_under_one_day_whenever_it_arrives(pg_dsn: str) -> None:
    """The reviewer's LOW: `at` was believed if within 400 days of the arrival, which changes per re-send, so a
    copy arriving a day later could go into another day's partition (a duplicate).  Now `at` is judged against
    the event id's UUIDv7 time (the same in every copy); an id that is no UUIDv7 is filed by first arrival."""
    late = MIDNIGHT - 399.5 * 86_400  # believed against its id, whenever a copy arrives
    with PgEventStore(pg_dsn) as store:
        for event_id in (uuid7(MIDNIGHT - 30), "plain-1"):
            for arrival in (MIDNIGHT, MIDNIGHT + 86_400, MIDNIGHT + 2 * 86_400):
                store.add_many([Incoming("t1", "s1", "k1", "alert", _alert(event_id, at=late), arrival)])
        rows = store.rows("SELECT event_id, day, count(*) AS n FROM feed_entry GROUP BY event_id, day")
        assert sorted((r["event_id"] == "plain-1", str(r["day"]), r["n"]) for r in rows) == [
            (False, str(dt.datetime.fromtimestamp(late, ZoneInfo("Asia/Shanghai")).date()), 1),
            (True, str(dt.datetime.fromtimestamp(late, ZoneInfo("Asia/Shanghai")).date()), 1)]
        assert store.counter("duplicates") == 4


def test_a_text_with_nul_is_stored_not_refused(pg_dsn: str) -> None:
    """jsonb cannot hold U+0000: such an event was refused (and re-sent by its kiosk forever).  It is stored now,
    U+FFFD in the NUL's place."""
    event_id = uuid7(MIDNIGHT)
    with PgEventStore(pg_dsn) as store:
        (got,) = store.add_many([Incoming("t1", "s1", "k1", "alert", _alert(event_id, at=MIDNIGHT, name="A\u0000*"),
                                          MIDNIGHT)])
        assert got.new and got.event_id == event_id and store.counter("malformed") == 0
        (row,) = store.rows("SELECT name, payload::text AS payload FROM feed_entry")
        assert row["name"] == "A\ufffd*" and "\\u0000" not in row["payload"]
