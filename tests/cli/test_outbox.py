"""`kiosk outbox stats|tail|purge-sent`, and a full disk seen from the checkpoint: FAULT, never PASS."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kiosk.clock import VirtualClock
from kiosk.config import KioskConfig
from kiosk.outbox import Limits, Outbox, OutboxFull
from kiosk.ports import Screen, ScreenView
from kiosk.simulation import build_simulated_kiosk, load_scenario, play, scenario_config
from tests.cli.conftest import KioskCli
from tests.simulation.rig import first_visitors_file


def test_stats_tail_and_purge_sent(tmp_path: Path, kiosk_cli: KioskCli) -> None:
    db = tmp_path / "outbox.sqlite"
    with Outbox(db, limits=Limits(max_rows=100)) as ob:
        for i in range(105):
            body = {"event_id": f"e{i}", "decision": "STOP", "reasons": ["fever"], "policy_version": "p1",
                    "name": "张*三", "sid_sealed": "S1.secret", "temperature_c": 38.1}
            ob.append("alert" if i == 104 else "entry", f"e{i}", json.dumps(body, ensure_ascii=False).encode(),
                      priority=10 if i == 104 else 0)
        ob.mark_sent([r.seq for r in ob.pending(20)])  # the alert and 19 entries, freed on their PUBACK
        published = ob.pending(8)
        ob.mark_published([r.seq for r in published], at=0.0)  # the broker has them, no receipt yet
        ob.mark_published([], at=0.0, receipted=[r.event_id for r in published[:3]])  # the township has these
    stats = json.loads(kiosk_cli("outbox", "stats", "--db", str(db)).stdout)
    assert (stats["pending"], stats["sent"], stats["dropped"], stats["dropped_by_stream"]) == (67, 20, 10,
                                                                                              {"entry": 10})
    assert (stats["published"], stats["receipted"], stats["rows"]) == (5, 3, 92)
    assert stats["oldest_unreceipted_age_s"] >= 0
    tail = kiosk_cli("outbox", "tail", "--db", str(db), "-n", "3")
    rows = [json.loads(line) for line in tail.stdout.splitlines()]
    assert [r["event_id"] for r in rows] == ["e102", "e103", "e104"] and rows[-1]["stream"] == "alert"
    assert rows[0]["decision"] == "STOP" and rows[0]["state"] == "pending" and rows[-1]["state"] == "sent"
    states = [json.loads(line)["state"] for line in kiosk_cli("outbox", "tail", "--db", str(db), "-n", "100")
              .stdout.splitlines()]
    assert states.count("published") == 5 and len(states) == 92  # the 3 receipted rows are gone
    assert "张" not in tail.stdout and "S1." not in tail.stdout and "38.1" not in tail.stdout  # nothing personal
    assert kiosk_cli("outbox", "purge-sent", "--db", str(db)).stdout.strip() == "purged 20 delivered events"
    assert json.loads(kiosk_cli("outbox", "stats", "--db", str(db)).stdout)["sent"] == 0
    missing = kiosk_cli("outbox", "stats", "--db", str(tmp_path / "nope.sqlite"))
    assert missing.returncode == 1 and "no outbox" in missing.stderr


def test_stats_from_the_configuration(tmp_path: Path, kiosk_cli: KioskCli) -> None:
    (tmp_path / "data").mkdir()
    Outbox(tmp_path / "data" / "outbox.sqlite").close()
    conf = tmp_path / "kiosk.toml"
    conf.write_text(f'[storage]\ndata_dir = "{tmp_path / "data"}"\n')
    assert json.loads(kiosk_cli("outbox", "stats", "--config", str(conf)).stdout)["pending"] == 0


def test_a_full_disk_shows_fault_never_pass(tmp_path: Path) -> None:
    scenario = load_scenario(first_visitors_file(tmp_path / "s.json", visitors=2))  # a PASS, then a fever
    config = scenario_config(scenario, KioskConfig(), str(tmp_path / "data"))
    clock = VirtualClock(wall_start=scenario.start)
    kiosk_, world, device = build_simulated_kiosk(scenario, config, clock)
    outbox = kiosk_.sink.outbox  # type: ignore[attr-defined]  # the feed's outbox
    pages = outbox._db.execute("PRAGMA page_count").fetchone()[0]
    outbox._db.execute(f"PRAGMA max_page_count = {pages}")  # the disk is full from now on ...
    with pytest.raises(OutboxFull):
        for i in range(1000):
            outbox.append("entry", f"filler-{i}", b"x" * 600)  # ... to the last page
    screens: list[Screen] = []
    kiosk_.on_view.append(lambda view: screens.append(view.screen) if isinstance(view, ScreenView) else None)
    try:
        play(kiosk_, world, device, clock, scenario)
    finally:
        kiosk_.close()
    assert kiosk_.store_failures == 2
    assert Screen.FAULT in screens and Screen.PASS not in screens and Screen.STOP not in screens
