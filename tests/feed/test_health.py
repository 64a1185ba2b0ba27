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
