"""A county day into a database already holding 30 days: ingest rate, Today page and day report p95.

    .venv/bin/python bench/township_day.py [--kiosks 200] [--visitors 2000] [--days 30]
                                           [--backlog 100000] [--documented-backlog 10000]
                                           [--sqlite-days 7] [--runs 20]

1. History: `--days` finished days in PostgreSQL (a throwaway cluster, fsync on), each a county
   day (kiosks × visitors entries, 1 % alerts, health every minute, one daily summary per kiosk),
   written by SQL (`generate_series`) into the day partitions, with the alerts' console rows
   (mostly closed, with dispositions and clinical readings): the set-up, not measured.
2. Backlog after an outage (measured), twice, with the two mosquitto configurations:
   a. the documented one (config/mosquitto: `autosave_on_changes true`, `autosave_interval 1`, the
      queue saved on every change), with `--documented-backlog` messages: mosquitto rewrites its
      whole file on each save, so queueing (and draining) a backlog costs it time that grows with
      the backlog; both rates are printed;
   b. persistence saved on exit only (`autosave_interval 0`), with `--backlog` messages: what the
      listener and PostgreSQL sustain when the broker is not the bottleneck (EMQX's case).
   Each time the listener's persistent session exists and the listener is down; the messages of
   the county day (entries, alerts, health in the day's proportions) are queued; then `township
   listen --database-url` starts and the time until every message is committed (and acked) is the
   sustained ingest rate, through MQTT, paho, the batch commits, the receipts.  The rest of the
   county day is written through the same store (`PgEventStore.add_many`, batches of 500), timed.
3. Reads (measured, `--runs` each, p50/p95): the Today page and the day report page rendered
   by the console's own views (Django test client, a logged-in county user), the .xlsx export;
   beside them the landed SQLite report (`township.report.daily_report`) on the same county day
   plus `--sqlite-days` of history (entries, alerts, summaries: what that report reads).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ZONE = ZoneInfo("Asia/Shanghai")
TOWNSHIPS = 10


def ids(kiosks: int) -> list[tuple[str, str, str]]:
    return [(f"town-{k % TOWNSHIPS:02d}", f"site-{k:03d}", "kiosk-1") for k in range(kiosks)]


def history_sql(day: dt.date, kiosks: int, visitors: int) -> list[str]:
    """One finished county day, written by PostgreSQL itself."""
    d = f"'{day.isoformat()}'::date"
    start = f"('{day.isoformat()} 07:00'::timestamp AT TIME ZONE 'Asia/Shanghai')"
    entry = f"""
INSERT INTO feed_entry (day, township, site, kiosk, event_id, at, received_at, alert, decision, reasons,
                        temperature_c, policy_version, name, sid_sealed, payload)
SELECT {d}, 'town-' || lpad((k % {TOWNSHIPS})::text, 2, '0'), 'site-' || lpad(k::text, 3, '0'), 'kiosk-1',
       md5({d}::text || k || '-' || v), t, t, v % 100 = 0, CASE WHEN v % 100 = 0 THEN 'STOP' ELSE 'PASS' END,
       CASE WHEN v % 100 = 0 THEN ARRAY['fever'] ELSE '{{}}'::text[] END, 36.5 + (v % 100 = 0)::int * 1.8, 'p-1',
       '张*三', 'S1.' || md5(v::text) || md5(k::text), jsonb_build_object('schema', 1, 'event_id',
       md5({d}::text || k || '-' || v), 'at', extract(epoch from t), 'decision', 'PASS', 'reasons', '[]'::jsonb,
       'temperature_c', 36.5, 'code', jsonb_build_object('format', 'THP1', 'valid', true, 'colour', 'G',
       'issuer', 'CN-T1', 'error', null), 'policy_version', 'p-1', 'mode', 'risk-areas', 'alert', false,
       'name', '张*三', 'sid_sealed', 'S1.' || md5(v::text) || md5(k::text) || md5(k::text))
FROM generate_series(0, {kiosks - 1}) k, generate_series(0, {visitors - 1}) v,
     LATERAL (SELECT {start} + (v * interval '21 seconds') AS t) x"""
    health = f"""
INSERT INTO feed_health (day, township, site, kiosk, event_id, at, received_at, payload)
SELECT {d}, 'town-' || lpad((k % {TOWNSHIPS})::text, 2, '0'), 'site-' || lpad(k::text, 3, '0'), 'kiosk-1',
       md5('h' || {d}::text || k || '-' || m), t, t, jsonb_build_object('schema', 1, 'uptime_s', m * 60,
       'sensor', jsonb_build_object('ok', true), 'camera', jsonb_build_object('ok', true), 'outbox',
       jsonb_build_object('pending', 0, 'rows', 10, 'bytes', 4000, 'rejected', 0, 'dropped', 0,
       'oldest_pending_age_s', null), 'dropped', 0, 'clock_synced', true, 'policy_version', 'p-1')
FROM generate_series(0, {kiosks - 1}) k, generate_series(0, 1439) m,
     LATERAL (SELECT ('{day.isoformat()}'::timestamp AT TIME ZONE 'Asia/Shanghai') + m * interval '1 minute' AS t) x"""
    daily = f"""
INSERT INTO feed_daily (township, site, kiosk, event_id, day, received_at, visitors, alerts, in_service_s, payload)
SELECT 'town-' || lpad((k % {TOWNSHIPS})::text, 2, '0'), 'site-' || lpad(k::text, 3, '0'), 'kiosk-1',
       md5('d' || {d}::text || k), {d}, ({d} + 1)::timestamp AT TIME ZONE 'Asia/Shanghai' + interval '5 minutes',
       {visitors}, {visitors // 100}, 86400, jsonb_build_object('day', {d}::text, 'visitors', {visitors},
       'alerts', {visitors // 100}, 'decisions', jsonb_build_object('PASS', {visitors - visitors // 100}, 'STOP',
       {visitors // 100}), 'reasons', jsonb_build_object('fever', {visitors // 100}), 'in_service_s', 86400)
FROM generate_series(0, {kiosks - 1}) k"""
    alerts = f"""
INSERT INTO console_alert (township, site, kiosk, event_id, day, at, received_at, decision, reasons, temperature_c,
                           name, policy_version, state, acknowledged_at, closed_at, disposition, clinical_c, note)
SELECT township, site, kiosk, event_id, day, at, received_at, 'STOP', '["fever"]'::jsonb, temperature_c, name,
       policy_version, 'closed', at + interval '2 minutes', at + interval '20 minutes',
       (ARRAY['remeasured_normal', 'fever_clinic', 'left', 'false_alarm'])[1 + (hashtext(event_id) & 3)],
       CASE WHEN hashtext(event_id) & 3 < 2 THEN temperature_c - 0.1 * (hashtext(event_id) & 7) END, ''
FROM feed_entry WHERE day = {d} AND alert"""
    return [entry, health, daily, alerts]


def county_day(day: dt.date, kiosks: int, visitors: int, rng: random.Random) -> list[tuple[str, bytes]]:
    """The county day as the kiosks publish it (topic, payload), in arrival order; summaries last."""
    out: list[tuple[float, str, bytes]] = []
    start = dt.datetime.combine(day, dt.time(7, 0), ZONE).timestamp()
    midnight = dt.datetime.combine(day, dt.time(0, 0), ZONE).timestamp()
    for t, s, k in ids(kiosks):
        prefix = f"checkpoint/v1/{t}/{s}/{k}"
        for v in range(visitors):
            at = start + v * 21 + rng.random()
            alert = v % 100 == 0
            body = {"schema": 1, "event_id": str(uuid.uuid4()), "at": round(at, 3), "township": t, "site": s,
                    "kiosk": k, "decision": "STOP" if alert else "PASS", "reasons": ["fever"] if alert else [],
                    "temperature_c": 38.3 if alert else 36.5, "code": {"format": "THP1", "valid": True,
                    "colour": "G", "issuer": "CN-T1", "error": None}, "policy_version": "p-1",
                    "mode": "risk-areas", "alert": alert, "name": "张*三", "sid_sealed": "S1." + "A" * 90}
            out.append((at, f"{prefix}/{'alert' if alert else 'entry'}", json.dumps(body).encode()))
        for m in range(1440):
            at = midnight + m * 60
            body = {"schema": 1, "event_id": str(uuid.uuid4()), "at": at, "township": t, "site": s, "kiosk": k,
                    "policy_version": "p-1", "uptime_s": m * 60, "sensor": {"ok": True}, "camera": {"ok": True},
                    "outbox": {"pending": 0, "rows": 10, "bytes": 4000, "rejected": 0, "dropped": 0,
                               "oldest_pending_age_s": None}, "dropped": 0, "disk_free_bytes": 10**10,
                    "clock_synced": True, "calibration": {"offset_c": 0.0, "calibrated_at": None, "age_s": None,
                                                          "drift_c": 0.01},
                    "uplink": {"connects": 1, "last_reason": 0}}
            out.append((at, f"{prefix}/health", json.dumps(body).encode()))
    out.sort(key=lambda x: x[0])
    end = midnight + 86_400
    for t, s, k in ids(kiosks):
        summary = {"schema": 1, "event_id": str(uuid.uuid4()), "at": end + 300, "day": day.isoformat(),
                   "timezone": "Asia/Shanghai", "period_start": midnight, "period_end": end, "township": t,
                   "site": s, "kiosk": k, "policy_version": "p-1", "policy_versions": ["p-1"], "visitors": visitors,
                   "alerts": visitors // 100, "decisions": {"PASS": visitors - visitors // 100,
                                                            "STOP": visitors // 100},
                   "reasons": {"fever": visitors // 100}, "seconds_per_visitor": 4.2, "in_service_s": 86_400}
        out.append((end + 300, f"checkpoint/v1/{t}/{s}/{k}/daily", json.dumps(summary).encode()))
    return [(topic, payload) for _, topic, payload in out]


def percentiles(samples: list[float]) -> str:
    q = statistics.quantiles(samples, n=20) if len(samples) > 1 else samples * 19
    return f"p50 {statistics.median(samples) * 1000:.0f} ms, p95 {q[18] * 1000:.0f} ms"


def publish_backlog(port: int, messages: list[tuple[str, bytes]]) -> float:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-kiosks", protocol=mqtt.MQTTv5)
    c.max_inflight_messages_set(1000)
    c.max_queued_messages_set(0)
    c.connect("127.0.0.1", port)
    c.loop_start()
    t0 = time.monotonic()
    for start in range(0, len(messages), 5000):  # paho's own queue has limits: 5,000 in hand at a time
        infos = [c.publish(topic, payload, qos=1) for topic, payload in messages[start:start + 5000]]
        for info in infos:
            info.wait_for_publish(120)
    elapsed = time.monotonic() - t0
    c.disconnect()
    c.loop_stop()
    return elapsed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kiosks", type=int, default=200)
    ap.add_argument("--visitors", type=int, default=2000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--backlog", type=int, default=100_000, help="queued by a broker saving on exit only")
    ap.add_argument("--documented-backlog", type=int, default=10_000,
                    help="queued by the documented broker configuration (saved on every change)")
    ap.add_argument("--sqlite-days", type=int, default=7)
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()

    from township import stack
    from township.devdb import Cluster, migrate
    from township.ingest import PgEventStore
    from township.store import Incoming

    work = Path(tempfile.mkdtemp(prefix="township-bench-"))
    cluster = Cluster(settings={"max_wal_size": "4GB", "checkpoint_timeout": "15min"}).start()
    procs: list[stack.Proc] = []
    try:
        dsn = cluster.create_database("township")
        migrate(dsn)
        today = dt.datetime.now(ZONE).date()
        day = today - dt.timedelta(days=1)
        import psycopg

        from township.ingest import partitions

        t0 = time.monotonic()
        with psycopg.connect(dsn, autocommit=True) as con:
            history = [day - dt.timedelta(days=i) for i in range(1, args.days + 1)]
            partitions.ensure(con, set(history) | {day, today}, set())
            for i, d in enumerate(sorted(history)):
                for statement in history_sql(d, args.kiosks, args.visitors):
                    con.execute(statement)
                print(f"\rhistory: {i + 1}/{args.days} days", end="", flush=True)
            con.execute("ANALYZE")
            rows = con.execute("SELECT (SELECT count(*) FROM feed_entry), (SELECT count(*) FROM feed_health), "
                               "(SELECT count(*) FROM console_alert)").fetchone()
            size = con.execute("SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()
        print(f"\rhistory: {args.days} days, {rows[0]:,} entries, {rows[1]:,} health reports, {rows[2]:,} "
              f"alerts held by the console, {size[0]} "
              f"(set-up {time.monotonic() - t0:.0f} s)")

        rng = random.Random(14)
        messages = county_day(day, args.kiosks, args.visitors, rng)
        print(f"county day {day}: {len(messages):,} messages ({args.kiosks} kiosks × {args.visitors} visitors, "
              f"health every minute, daily summaries)")

        def committed() -> int:
            with psycopg.connect(dsn) as con:
                return int(con.execute("SELECT (SELECT count(*) FROM feed_entry WHERE day = %s) + "
                                       "(SELECT count(*) FROM feed_health WHERE day = %s) + "
                                       "(SELECT count(*) FROM feed_daily WHERE day = %s)",
                                       (day, day, day)).fetchone()[0])

        documented = messages[:args.documented_backlog]
        backlog = messages[args.documented_backlog:args.documented_backlog + args.backlog]
        rest = messages[args.documented_backlog + args.backlog:]
        for name, batch, save in (("documented broker configuration (autosave_on_changes, every change saved)",
                                   documented, True),
                                  ("broker saving on exit only (autosave_interval 0)", backlog, False)):
            if not batch:
                continue
            folder = work / ("documented" if save else "unsaved")
            folder.mkdir()
            broker = stack.mosquitto(folder, save_every_change=save)
            procs.append(broker)
            first = stack.listener(folder, broker.port, dsn, client_id="bench-listener")  # the persistent session
            first.stop()
            published = publish_backlog(broker.port, batch)
            before = committed()
            t0 = time.monotonic()
            listener = stack.listener(folder, broker.port, dsn, client_id="bench-listener")
            procs.append(listener)
            while committed() < before + len(batch):
                if time.monotonic() - t0 > 3600:
                    raise RuntimeError("the backlog did not drain in an hour")
                time.sleep(0.2)
            drain = time.monotonic() - t0
            print(f"INGEST through MQTT, {name}: {len(batch):,} messages queued at {len(batch) / published:,.0f}/s "
                  f"while the listener was down, drained at {len(batch) / drain:,.0f} messages/s "
                  f"({drain:.1f} s, listener start → last committed, incl. connecting)", flush=True)
            listener.stop()
            broker.stop()

        with PgEventStore(dsn) as store:
            t0 = time.monotonic()
            now = time.time()
            for i in range(0, len(rest), 500):
                chunk = rest[i:i + 500]
                items = []
                for topic, payload in chunk:
                    parts = topic.split("/")
                    items.append(Incoming(parts[2], parts[3], parts[4], "/".join(parts[5:]), payload, now))
                store.add_many(items)
            direct = time.monotonic() - t0
        print(f"INGEST store only (PgEventStore.add_many, batches of 500): {len(rest) / direct:,.0f} messages/s "
              f"({len(rest):,} in {direct:.1f} s)")

        read_pages(dsn, day, args.kiosks, args.runs)
        sqlite_report(work, messages, day, args)
        return 0
    finally:
        for p in reversed(procs):
            p.stop()
        cluster.stop()


def read_pages(dsn: str, day: dt.date, kiosks: int, runs: int) -> None:
    os.environ["TOWNSHIP_DATABASE_URL"] = dsn
    os.environ["DJANGO_SETTINGS_MODULE"] = "township.console.settings"
    os.environ["TOWNSHIP_TIME_ZONE"] = "Asia/Shanghai"
    os.environ.setdefault("TOWNSHIP_SECRET_KEY", "bench-" + "x" * 40)
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.test import Client

    from township.console.models import County, Kiosk, Profile, Site, Township

    settings.ALLOWED_HOSTS = ["*"]
    county = County.objects.create(code="county", name="县")
    for t in range(TOWNSHIPS):
        Township.objects.create(code=f"town-{t:02d}", name=f"镇{t}", county=county)
    towns = {t.code: t for t in Township.objects.all()}
    for t, s, k in ids(kiosks):
        site = Site.objects.create(township=towns[t], code=s, name=s, responsible="李*华", phone="138",
                                   deadline=dt.time(9, 0))
        Kiosk.objects.create(site=site, code=k)
    user = User.objects.create_user("county", password="x")
    Profile.objects.create(user=user, county=county)
    user.groups.set([])
    from django.contrib.auth.models import Group

    user.groups.add(Group.objects.get(name="viewer"))
    client = Client()
    client.force_login(user)
    for name, method, url in (("Today page", "get", f"/?day={day}"),
                              ("day report page", "get", f"/reports/?kind=day&day={day}"),
                              ("month report page", "get", f"/reports/?kind=month&day={day}"),
                              ("Alerts page (the closed alerts held)", "get", "/alerts/"),
                              ("Kiosks page (bias from the closed alerts)", "get", "/kiosks/"),
                              ("day report .xlsx (POST)", "post", "/reports/xlsx/")):
        samples = []
        for _ in range(runs):
            t0 = time.monotonic()
            response = (client.post(url, {"kind": "day", "day": day.isoformat()}) if method == "post"
                        else client.get(url))
            samples.append(time.monotonic() - t0)
            assert response.status_code == 200, (url, response.status_code)
        print(f"READ {name} ({kiosks} sites): {percentiles(samples)}")


def sqlite_report(work: Path, messages: list[tuple[str, bytes]], day: dt.date, args: argparse.Namespace) -> None:
    """The landed SQLite report on the county day plus `--sqlite-days` of history (bulk-loaded, not timed)."""
    from township.report import daily_report
    from township.store import EventStore

    path = work / "township.sqlite"
    EventStore(path).close()
    con = sqlite3.connect(path)
    rng = random.Random(15)
    rows = []
    for back in range(args.sqlite_days + 1):
        d = day - dt.timedelta(days=back)
        day_messages = messages if back == 0 else county_day(d, args.kiosks, args.visitors, rng)
        for topic, payload in day_messages:
            parts = topic.split("/")
            kind = "/".join(parts[5:])
            if kind == "health":
                continue  # retained state: the SQLite report does not read it (and a county's would be 2 GB)
            body = json.loads(payload)
            rows.append((body["event_id"], parts[2], parts[3], parts[4], kind, body.get("at"),
                         body.get("day") if kind == "daily" else None, body.get("at"), payload.decode(), None))
        con.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        con.executemany("INSERT OR IGNORE INTO kiosks (township, site, kiosk, first_seen, last_seen) VALUES "
                        "(?, ?, ?, 0, 0)", {(r[1], r[2], r[3]) for r in rows})
        con.commit()
        rows = []
    n = con.execute("SELECT count(*) FROM events").fetchone()[0]
    con.close()
    samples = []
    with EventStore(path) as store:
        for _ in range(min(args.runs, 5)):
            t0 = time.monotonic()
            daily_report(store, day.isoformat())
            samples.append(time.monotonic() - t0)
    print(f"READ landed SQLite day report ({args.sqlite_days + 1} days stored, {n:,} events): {percentiles(samples)}")


if __name__ == "__main__":
    sys.exit(main())
