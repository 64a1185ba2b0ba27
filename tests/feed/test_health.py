"""The health report's kiosk facts come from the kiosk's public `KioskStatus`, and say "unknown" without one."""

from __future__ import annotations

from pathlib import Path

from kiosk.checkpoint import PolicyInForce
from kiosk.clock import VirtualClock
from kiosk.config import KioskConfig
from kiosk.feed import health_report, validate_payload
from kiosk.feed.health import encode
from kiosk.ports import KioskStatus
from tests.feed.rig import feed_over


def test_the_report_reads_the_kiosk_status_and_names_the_policy_in_force(tmp_path: Path) -> None:
    clock = VirtualClock(wall_start=1_764_000_000.0)
    feed = feed_over(tmp_path, clock)
    policy = PolicyInForce(KioskConfig().policy.model_copy(update={"version": "township-9"}))
    try:
        status = KioskStatus(sensor_ok=False, camera_ok=True, clock_synced=False, drift_c=-0.4321)
        report = health_report(KioskConfig(), clock, feed.outbox, status=status, uplink=None,
                               policy_version=policy.version, started_at=clock.monotonic() - 5)
        validate_payload("health", encode(report))
        assert (report["sensor"], report["camera"], report["clock_synced"]) == ({"ok": False}, {"ok": True}, False)
        assert report["calibration"]["drift_c"] == -0.432 and report["policy_version"] == "township-9"
        assert report["uptime_s"] == 5.0
        unknown = health_report(KioskConfig(), clock, feed.outbox, status=None, uplink=None, policy_version="p",
                                started_at=clock.monotonic())
        assert (unknown["sensor"], unknown["camera"], unknown["clock_synced"]) == ({"ok": None}, {"ok": None}, None)
        assert unknown["calibration"]["drift_c"] is None
    finally:
        feed.close()


def test_the_report_says_whether_receipts_free_events(tmp_path: Path) -> None:
    from kiosk.uplink import MqttUplink

    clock = VirtualClock(wall_start=1_764_000_000.0)
    feed = feed_over(tmp_path, clock)
    uplink = MqttUplink(feed.outbox, host="127.0.0.1", port=1, client_id="k", topic_prefix="checkpoint/v1/t/s/k")
    try:
        seqs = [feed.outbox.append("entry", f"e{i}", b"{}") for i in range(3)]
        feed.outbox.mark_published(seqs[:2], at=clock.wall(), receipted=["e0"])
        report = health_report(KioskConfig(), clock, feed.outbox, status=None, uplink=uplink, policy_version="p",
                               started_at=clock.monotonic())
        validate_payload("health", encode(report))
        assert report["receipts"] == "expected" and report["uplink"]["resent"] == 0
        assert {k: report["outbox"][k] for k in ("pending", "published", "receipted")} == \
            {"pending": 1, "published": 1, "receipted": 1}
        without = health_report(KioskConfig(), clock, feed.outbox, status=None, uplink=None, policy_version="p",
                                started_at=clock.monotonic())
        assert without["receipts"] is None
    finally:
        uplink.close()
        feed.close()
