"""The console's judgements on a real PostgreSQL: report status per site (on time, late, not
reported, zero, not screened from `in_service_s`), calibration bias, retention, the report file."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.paths import ROOT
from township.ingest import PgEventStore
from township.store import Incoming

ZONE = ZoneInfo("Asia/Shanghai")
DAY = dt.date(2026, 11, 24)
DEADLINE = dt.datetime(2026, 11, 25, 9, 0, tzinfo=ZONE)


@pytest.fixture(scope="module")
def db(console_db: str) -> str:
    return console_db


def summary(site: str, kiosk: str, visitors: int, in_service: int | None) -> bytes:
    body = {"event_id": f"d-{site}-{kiosk}-{visitors}-{in_service}", "at": DEADLINE.timestamp() - 3600,
            "day": DAY.isoformat(), "visitors": visitors, "alerts": 0, "decisions": {"PASS": visitors, "STOP": 0},
            "reasons": {"fever": 0}}
    if in_service is not None:
        body["in_service_s"] = in_service
    return json.dumps(body).encode()


def test_report_status_per_site_zero_and_not_screened(db: str) -> None:
    from township.console.daily import site_days
    from township.console.models import Kiosk, Site, Township

    township = Township.objects.create(code="t1", name="镇")
    sites = {}
    for code in ("ontime", "late", "missing", "zero", "off", "old", "partial"):
        sites[code] = Site.objects.create(township=township, code=code, name=code, responsible="李*华", phone="1",
                                          deadline=dt.time(9, 0))
        Kiosk.objects.create(site=sites[code], code="k1")
    Kiosk.objects.create(site=sites["partial"], code="k2")
    early, late = DEADLINE.timestamp() - 600, DEADLINE.timestamp() + 600
    with PgEventStore(db) as store:
        for site, visitors, service, when in (("ontime", 40, 30_000, early), ("late", 12, 20_000, late),
                                              ("zero", 0, 36_000, early), ("off", 0, 0, late),
                                              ("old", 0, None, early), ("partial", 5, 100, early)):
            store.add_many([Incoming("t1", site, "k1", "daily", summary(site, "k1", visitors, service), when)])
    ordered = [sites[c] for c in sites]
    before = {d.site.code: d for d in site_days(ordered, DAY, DEADLINE - dt.timedelta(minutes=1))}
    assert before["missing"].status == "pending" and before["partial"].status == "pending"
    after = {d.site.code: d for d in site_days(ordered, DAY, DEADLINE + dt.timedelta(hours=2))}
    assert {c: d.status for c, d in after.items()} == {
        "ontime": "on_time", "late": "late", "missing": "missing", "zero": "on_time", "off": "late",
        "old": "on_time", "partial": "missing"}
    assert after["partial"].missing == ["k2"]
    assert after["zero"].zero and not after["zero"].not_screened  # a quiet day, the kiosk was on
    assert after["off"].zero and after["off"].not_screened == ["k1"]  # off all day: not screened
    assert after["old"].zero and after["old"].service_unknown == ["k1"] and not after["old"].not_screened
    assert after["ontime"].visitors == 40 and after["missing"].visitors == 0


def test_a_kiosk_reading_low_is_flagged_before_it_misses_a_fever(db: str) -> None:
    from township.console.kiosks import Bias

    t0 = dt.datetime(2026, 11, 1, tzinfo=ZONE)
    steady = Bias([(t0 + dt.timedelta(days=i), 0.05) for i in range(5)])
    assert steady.mean == 0.05 and steady.slope_per_week == 0 and not steady.needs_calibration
    low = Bias([(t0 + dt.timedelta(days=i), -0.4) for i in range(3)])
    assert low.needs_calibration
    drifting = Bias([(t0 + dt.timedelta(days=7 * i), -0.05 * i) for i in range(4)])  # −0.05 °C a week, now −0.15
    assert drifting.mean is not None and drifting.mean > -0.3 and drifting.slope_per_week == pytest.approx(-0.05)
    assert not drifting.needs_calibration
    fast = Bias([(t0 + dt.timedelta(days=7 * i), -0.1 * i) for i in range(4)])  # reaches −0.3 within two weeks
    assert fast.mean is not None and fast.mean > -0.3 and fast.needs_calibration


def test_retention_drops_old_day_partitions(db: str) -> None:
    import psycopg

    from township.ingest.partitions import drop_older_than, existing

    today = dt.datetime.now(ZONE).date()
    with PgEventStore(db) as store:
        for back in (0, 10, 40):
            at = dt.datetime.combine(today - dt.timedelta(days=back), dt.time(12), ZONE).timestamp()
            store.add_many([Incoming("t9", "s", "k", "entry", json.dumps({"event_id": f"e{back}", "at": at}).encode(),
                                     at + 1)])
    with psycopg.connect(db, autocommit=True) as con:
        dropped = drop_older_than(con, 30, today)  # (ids that are no UUIDv7 are filed by `feed_seen`, pruned too)
        old = today - dt.timedelta(days=40)
        assert [d for d in dropped if not d.startswith("feed_seen")] == [f"feed_entry_{old:%Y%m%d}",
                                                                         f"feed_health_{old:%Y%m%d}"]
        assert today - dt.timedelta(days=10) in existing(con)["feed_entry"]
        assert [r[0] for r in con.execute("SELECT event_id FROM feed_entry WHERE township = 't9' ORDER BY 1")] == [
            "e0", "e10"]


def test_the_report_file_command_writes_the_days_xlsx(db: str, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    out = subprocess.run([sys.executable, "-m", "township", "report-file", "--database-url", db,
                          "--day", DAY.isoformat(), "--out", str(tmp_path)], capture_output=True, text=True,
                         cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True)
    path = Path(out.stdout.strip())
    assert path == tmp_path / "checkpoint-day-20261124.xlsx"
    rows = list(load_workbook(path).active.iter_rows(values_only=True))
    assert rows[0][0] == "入口筛查日报" and rows[2][:2] == ("乡镇", "场所") and rows[-1][0] == "合计"
