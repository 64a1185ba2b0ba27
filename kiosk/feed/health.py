"""The kiosk's periodic health report, published on `.../health` every `uplink.health_interval_s`.

What a township technician needs before driving out: is the thermal sensor answering, is the
camera, how much is waiting to be sent (and has anything been dropped for lack of space), how
full is the disk, is the clock synchronised (code freshness depends on it), how old is the
thermal calibration, how long has the kiosk been up.

Published directly, not through the outbox (`MqttUplink.publish_direct`), retained and with an
MQTT 5 message expiry of three intervals.  Why: health is a *state*, not a record.  Only the
latest report matters; a backlog of stale ones after an outage would say nothing the next one
does not, and storing one every few minutes would cost SD-card writes around the clock for
nothing.  Retained, so a dashboard that connects late sees the current state at once; expiring,
so a kiosk that died is not shown as healthy forever (its retained `status` says `offline`
too).  A report that cannot be sent is skipped: the next one describes the kiosk as it is then,
including the outbox depth that built up meanwhile.

Payload (JSON, `schema` 1; these names are stable and are the `Health` schema in
`config/asyncapi.yaml`):

    schema, event_id (UUIDv7), at (epoch s), township, site, kiosk, policy_version
    uptime_s             seconds since the kiosk process started
    sensor               {"ok": bool|null}            thermal frames arriving (null: unknown)
    camera               {"ok": bool|null}            frames arriving (false while retrying a failed read)
    outbox               {"pending", "rows", "bytes", "rejected", "dropped": int,
                          "oldest_pending_age_s": float|null}
    dropped              undelivered events dropped for space or age, ever (as in `outbox`)
    disk_free_bytes      free bytes on the data partition
    clock_synced         bool, or null when unknown
    calibration          {"offset_c": float, "calibrated_at": ISO-8601|null, "age_s": float|null,
                          "drift_c": float|null}
    uplink               {"connects": int, "last_reason": int}
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import dataclass
from typing import Any

from kiosk.config import KioskConfig
from kiosk.ids import uuid7
from kiosk.outbox import Outbox
from kiosk.ports import Clock

log = logging.getLogger(__name__)

HEALTH_STREAM = "health"
SCHEMA = 1
EXPIRY_INTERVALS = 3


@dataclass(slots=True)
class HealthSources:
    """Where the report's facts come from; any of them may be missing (reported as unknown)."""

    kiosk: Any = None  # kiosk.loop.runtime.Kiosk: sensor, camera, clock sync, drift
    uplink: Any = None  # kiosk.uplink.MqttUplink


def health_report(config: KioskConfig, clock: Clock, outbox: Outbox, sources: HealthSources, *,
                  started_at: float) -> dict[str, Any]:
    """The report as a dict (see the module docstring).  Never raises for a missing fact."""
    wall, now = clock.wall(), clock.monotonic()
    stats = outbox.stats()
    kiosk = sources.kiosk
    checkpoint = getattr(kiosk, "checkpoint", None)
    sensor_ok = None if checkpoint is None else not bool(getattr(checkpoint, "sensor_faulty", False))
    camera_ok = _camera_ok(kiosk, now)
    synced = getattr(checkpoint, "clock_synced", None)
    drift = getattr(getattr(kiosk, "drift", None), "drift_c", None)
    thermal = config.thermal
    calibrated_at = getattr(thermal, "calibrated_at", None)
    age = None if calibrated_at is None else max(0.0, wall - calibrated_at.timestamp())
    try:
        disk_free = shutil.disk_usage(os.path.dirname(os.path.abspath(outbox.path))).free
    except OSError:
        disk_free = None
    uplink = sources.uplink
    ustats = uplink.stats() if uplink is not None else None
    site = config.site
    return {
        "schema": SCHEMA,
        "event_id": uuid7(wall),
        "at": round(wall, 3),
        "township": site.township,
        "site": site.site_id,
        "kiosk": site.kiosk_id,
        "policy_version": config.policy.version,
        "uptime_s": round(now - started_at, 1),
        "sensor": {"ok": sensor_ok},
        "camera": {"ok": camera_ok},
        "outbox": {"pending": stats.pending, "rows": stats.rows, "bytes": stats.bytes, "rejected": stats.rejected,
                   "dropped": stats.dropped, "oldest_pending_age_s": None if stats.oldest_pending_age_s is None
                   else round(stats.oldest_pending_age_s, 1)},
        "dropped": stats.dropped,
        "disk_free_bytes": disk_free,
        "clock_synced": None if synced is None else bool(synced),
        "calibration": {"offset_c": thermal.calibration_offset_c,
                        "calibrated_at": None if calibrated_at is None else calibrated_at.isoformat(),
                        "age_s": None if age is None else round(age),
                        "drift_c": None if drift is None else round(float(drift), 3)},
        "uplink": {"connects": 0 if ustats is None else ustats.connects,
                   "last_reason": 0 if ustats is None else ustats.last_reason},
    }


def _camera_ok(kiosk: Any, now: float) -> bool | None:
    """False while the camera is being retried after a failed read (threaded or inline loop)."""
    if kiosk is None:
        return None
    feed = getattr(kiosk, "_camera_feed", None)
    retry_at = getattr(feed, "_retry_at", None) if feed is not None else getattr(kiosk, "_camera_retry_at", None)
    return None if retry_at is None else bool(retry_at <= now)


def encode(report: dict[str, Any]) -> bytes:
    return json.dumps(report, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
