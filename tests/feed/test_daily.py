"""The daily summary: zero counts included, every day once, whatever a power cut interrupts.

Days are local to the configured time zone (Asia/Shanghai, UTC+8: 00:05 there is 16:05 UTC the
day before).  That the tally counts the kiosk's real decisions (per reason, per decision, alerts,
seconds) is checked end to end in tests/feed/test_broker.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from kiosk.checkpoint import REASONS
from kiosk.clock import VirtualClock
from kiosk.config import KioskConfig
from kiosk.feed import DailyReporter, validate_payload
from kiosk.outbox import Outbox, Tally
from tests.paths import ROOT

ZONE = ZoneInfo("Asia/Shanghai")


def at(text: str) -> float:
    """Epoch seconds of a local (Shanghai) time 'YYYY-MM-DD HH:MM'."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=ZONE).timestamp()


def summaries(ob: Outbox) -> list[dict]:
    return [json.loads(r.payload) for r in ob.tail(1000) if r.stream == "daily"]


def test_a_quiet_day_is_reported_with_zeros_once(tmp_path: Path) -> None:
    config = KioskConfig()
    clock = VirtualClock(wall_start=at("2026-11-24 09:00"))
    with Outbox(tmp_path / "o.sqlite", clock=clock) as ob:
        daily = DailyReporter(ob, config)
        assert daily.poll(clock.wall()) == []  # the first day is not over
        clock.advance(at("2026-11-25 00:04") - clock.wall())
        assert daily.poll(clock.wall()) == []  # not yet 00:05
        clock.advance(120)
        assert daily.poll(clock.wall()) == ["2026-11-24"]
        clock.advance(3600)
        assert daily.poll(clock.wall()) == []
        (summary,) = summaries(ob)
    validate_payload("daily", json.dumps(summary).encode())
    assert summary["day"] == "2026-11-24" and summary["visitors"] == 0 and summary["alerts"] == 0
    assert summary["decisions"] == {"PASS": 0, "STOP": 0, "LEFT": 0}
    assert summary["reasons"] == dict.fromkeys(REASONS, 0)
    assert summary["seconds_per_visitor"] is None
    assert summary["policy_version"] == config.policy.version
    assert summary["period_end"] - summary["period_start"] == 86_400


def test_days_missed_while_off_are_reported_after_the_reboot_and_never_twice(tmp_path: Path) -> None:
    config = KioskConfig()
    clock = VirtualClock(wall_start=at("2026-11-20 10:00"))
    path = tmp_path / "o.sqlite"
    with Outbox(path, clock=clock) as ob:
        DailyReporter(ob, config).poll(clock.wall())  # the feed's first day: the 20th
        ob.append("entry", "e1", b"{}", tally=Tally("2026-11-20", "PASS", (), "p1"))
        ob.append("alert", "e2", b"{}", tally=Tally("2026-11-20", "STOP", ("fever",), "p2"))
    clock.advance(at("2026-11-23 08:00") - clock.wall())  # off for three days
    for _ in range(2):  # a reboot, and another: the same days, once
        with Outbox(path, clock=clock) as ob:
            DailyReporter(ob, config).poll(clock.wall())
            got = summaries(ob)
    assert [s["day"] for s in got] == ["2026-11-20", "2026-11-21", "2026-11-22"]
    first = got[0]
    assert (first["visitors"], first["alerts"], first["decisions"]) == (2, 1, {"PASS": 1, "STOP": 1, "LEFT": 0})
    assert first["reasons"]["fever"] == 1 and first["policy_versions"] == ["p1", "p2"]
    assert all(s["visitors"] == 0 for s in got[1:])


CRASH = """
import os, sys
sys.path.insert(0, {root!r})
from kiosk.clock import VirtualClock
from kiosk.config import KioskConfig
from kiosk.feed.daily import DailyReporter
from kiosk.outbox import Outbox
ob = Outbox({path!r}, clock=VirtualClock(wall_start={wall!r}))
con = ob._db
class Dying:  # the connection, with a power cut just before or just after the report's COMMIT
    def __getattr__(self, name):
        return getattr(con, name)
    def execute(self, sql, *args):
        if sql == "COMMIT" and {when!r} == "before":
            os._exit(3)
        result = con.execute(sql, *args)
        if sql == "COMMIT" and {when!r} == "after":
            os._exit(3)
        return result
ob._con = Dying()
DailyReporter(ob, KioskConfig()).report("2026-11-24", {wall!r})
"""


def test_a_power_cut_at_the_report_commit_neither_loses_nor_duplicates_it(tmp_path: Path) -> None:
    wall = at("2026-11-25 00:10")
    for when in ("before", "after"):
        path = tmp_path / f"{when}.sqlite"
        Outbox(path).close()
        code = subprocess.run([sys.executable, "-c", CRASH.format(root=str(ROOT), path=str(path), wall=wall,
                                                                  when=when)], cwd=ROOT).returncode
        assert code == 3
        clock = VirtualClock(wall_start=wall + 60)
        with Outbox(path, clock=clock) as ob:  # the reboot
            assert ob.reported_days() == ([] if when == "before" else ["2026-11-24"])
            DailyReporter(ob, KioskConfig()).report("2026-11-24", clock.wall())
            DailyReporter(ob, KioskConfig()).report("2026-11-24", clock.wall())
            assert [s["day"] for s in summaries(ob)] == ["2026-11-24"]
