"""The daily summary's `in_service_s`: seconds the kiosk ran that local day, split at midnight, kept every few
minutes (a power cut loses at most those), never counted on a day an unsynchronised clock made up."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from kiosk.clock import VirtualClock
from kiosk.config import KioskConfig
from kiosk.feed import validate_payload
from kiosk.feed.service_time import FLUSH_S, InService
from kiosk.outbox import Outbox
from tests.feed.rig import feed_over
from tests.paths import ROOT

ZONE = ZoneInfo("Asia/Shanghai")


def at(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=ZONE).timestamp()


def test_seconds_are_split_at_midnight_and_written_every_few_minutes(tmp_path: Path) -> None:
    clock = VirtualClock(wall_start=at("2026-11-24 23:50"))
    with Outbox(tmp_path / "o.sqlite", clock=clock) as ob:
        service = InService(ob, ZONE, clock)
        for _ in range(20 * 60):  # twenty minutes of loop passes, a second apart
            clock.advance(1)
            service.tick()
        assert service.seconds("2026-11-24") == 600 and service.seconds("2026-11-25") == 600
        stored = ob.service_seconds("2026-11-24") + ob.service_seconds("2026-11-25")
        assert 1200 - FLUSH_S <= stored <= 1200  # on disk up to the last write: a power cut loses the rest
        service.flush()
        assert ob.service_seconds("2026-11-25") == 600


def test_time_on_an_unsynchronised_clock_counts_on_the_day_it_is_found_right(tmp_path: Path) -> None:
    clock = VirtualClock(wall_start=at("2026-11-24 08:00"))
    with Outbox(tmp_path / "o.sqlite", clock=clock) as ob:
        service = InService(ob, ZONE, clock)
        clock.advance(300)
        service.tick(trusted=False)  # the stale clock's day is not a day
        clock.advance(100)
        service.tick()
        assert service.seconds("2026-11-24") == 400


def test_a_day_the_kiosk_ran_part_of_and_a_day_it_was_off(tmp_path: Path) -> None:
    clock = VirtualClock(wall_start=at("2026-11-24 18:00"))
    feed = feed_over(tmp_path, clock)
    try:
        for _ in range(6 * 60):  # six hours, to midnight
            clock.advance(60)
            feed.pump.poll()
        feed.close()  # the kiosk is switched off for a day and a half
        clock.advance(at("2026-11-26 09:00") - clock.wall())
        feed = feed_over(tmp_path, clock)
        feed.pump.poll()
        clock.advance(60)
        feed.pump.poll()  # 09:01 on the 26th: the 24th and the 25th are due
        rows = feed.outbox.tail(100)
    finally:
        feed.close()
    days = {s["day"]: s for s in (json.loads(r.payload) for r in rows if r.stream == "daily")}
    assert days["2026-11-24"]["in_service_s"] == 6 * 3600
    assert days["2026-11-25"]["in_service_s"] == 0  # zero visitors, zero in service: not screened, not quiet
    for summary in days.values():
        validate_payload("daily", json.dumps(summary).encode())


def test_a_power_cut_loses_at_most_the_time_since_the_last_write(tmp_path: Path) -> None:
    """A child process runs the feed for an hour of virtual time and dies by os._exit (no close)."""
    db = tmp_path / "o.sqlite"
    code = ("import os, sys\n"
            "from kiosk.clock import VirtualClock\n"
            "from kiosk.config import KioskConfig\n"
            "from kiosk.feed import Feed\n"
            "from kiosk.outbox import Outbox\n"
            f"clock = VirtualClock(wall_start={at('2026-11-24 10:00')})\n"
            "feed = Feed.build(KioskConfig(), clock, Outbox(sys.argv[1], clock=clock))\n"
            "for _ in range(3600):\n"
            "    clock.advance(1)\n"
            "    feed.pump.poll()\n"
            "os._exit(0)\n")
    subprocess.run([sys.executable, "-c", code, str(db)], cwd=ROOT, check=True, timeout=120)
    with Outbox(db) as ob:
        kept = ob.service_seconds("2026-11-24")
    assert 3600 - FLUSH_S <= kept <= 3600


def test_the_summary_names_its_in_service_seconds(tmp_path: Path) -> None:
    clock = VirtualClock(wall_start=at("2026-11-24 23:00"))
    feed = feed_over(tmp_path, clock, config=KioskConfig())
    try:
        for _ in range(70):
            clock.advance(60)
            feed.pump.poll()  # to 00:10
        (row,) = [r for r in feed.outbox.tail(10) if r.stream == "daily"]
    finally:
        feed.close()
    assert json.loads(row.payload)["in_service_s"] == 3600
