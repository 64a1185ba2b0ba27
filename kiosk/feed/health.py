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

The kiosk's side of it (sensor, camera, clock, drift) is its public `KioskStatus`, which the loop
hands the feed on every pass (`FeedPump.poll`); before the first one those facts are unknown.

Payload (JSON, `schema` 1; these names are stable and are the `Health` schema in
`config/asyncapi.yaml`):

    schema, event_id (UUIDv7), at (epoch s), township, site, kiosk, policy_version
    uptime_s             seconds since the kiosk process started
    sensor               {"ok": bool|null}            thermal frames arriving (null: unknown)
    camera               {"ok": bool|null}            frames arriving (false while retrying a failed read)
    outbox               {"pending", "rows", "bytes", "rejected" (by the broker), "refused" (by the
                          township, for good: dead letters, not sent again), "dropped": int,
                          "oldest_pending_age_s": float|null,
                          "published": int (the broker has them, no township receipt yet),
                          "receipted": int (freed by a receipt, ever),
                          "oldest_unreceipted_age_s": float|null}
    dropped              undelivered events dropped for space or age, ever (as in `outbox`)
    disk_free_bytes      free bytes on the data partition
    clock_synced         bool, or null when unknown
    calibration          {"offset_c": float, "calibrated_at": ISO-8601|null, "age_s": float|null,
                          "drift_c": float|null}
    uplink               {"connects": int, "last_reason": int, "resent": int (published again: no
                          receipt in time)}
    receipts             "expected" (none yet: events are kept until one frees them), "present"
                         (the township receipts: they free events), "absent" (none came: the
                         broker's acknowledgement frees an event, as before receipts; a broker
                         crash may lose what it queued), or null without an uplink
                         (`kiosk.uplink.receipts`)
    attention            [str]: what staff should look at, in words (Chinese / English): events the
                         township or broker refused, events dropped, a township silent for long
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from typing import TYPE_CHECKING, Any

from kiosk.config import KioskConfig
from kiosk.ids import uuid7
from kiosk.outbox import Outbox, OutboxStats
from kiosk.ports import Clock, KioskStatus

if TYPE_CHECKING:
    from kiosk.uplink import MqttUplink, UplinkStats

log = logging.getLogger(__name__)

HEALTH_STREAM = "health"
SCHEMA = 1
EXPIRY_INTERVALS = 3


def health_report(config: KioskConfig, clock: Clock, outbox: Outbox, *, status: KioskStatus | None,
                  uplink: MqttUplink | None, policy_version: str, started_at: float) -> dict[str, Any]:
    """The report as a dict (see the module docstring).  Never raises for a missing fact.

    `status` is the kiosk's latest (None: not heard from yet, its facts unknown); `policy_version`
    the policy in force.
    """
    wall, now = clock.wall(), clock.monotonic()
    stats = outbox.stats()
    drift = None if status is None else status.drift_c
    thermal = config.thermal
    calibrated_at = thermal.calibrated_at
    age = None if calibrated_at is None else max(0.0, wall - calibrated_at.timestamp())
    try:
        disk_free = shutil.disk_usage(os.path.dirname(os.path.abspath(outbox.path))).free
    except OSError:
        disk_free = None
    ustats = uplink.stats() if uplink is not None else None
    site = config.site
    return {
        "schema": SCHEMA,
        "event_id": uuid7(wall),
        "at": round(wall, 3),
        "township": site.township,
        "site": site.site_id,
        "kiosk": site.kiosk_id,
        "policy_version": policy_version,
        "uptime_s": round(now - started_at, 1),
        "sensor": {"ok": None if status is None else status.sensor_ok},
        "camera": {"ok": None if status is None else status.camera_ok},
        "outbox": {"pending": stats.pending, "rows": stats.rows, "bytes": stats.bytes, "rejected": stats.rejected,
                   "refused": stats.refused, "dropped": stats.dropped,
                   "oldest_pending_age_s": _rounded(stats.oldest_pending_age_s),
                   "published": stats.published, "receipted": stats.receipted,
                   "oldest_unreceipted_age_s": _rounded(stats.oldest_unreceipted_age_s)},
        "dropped": stats.dropped,
        "disk_free_bytes": disk_free,
        "clock_synced": None if status is None else status.clock_synced,
        "calibration": {"offset_c": thermal.calibration_offset_c,
                        "calibrated_at": None if calibrated_at is None else calibrated_at.isoformat(),
                        "age_s": None if age is None else round(age),
                        "drift_c": None if drift is None else round(float(drift), 3)},
        "uplink": {"connects": 0 if ustats is None else ustats.connects,
                   "last_reason": 0 if ustats is None else ustats.last_reason,
                   "resent": 0 if ustats is None else ustats.resent},
        "receipts": None if ustats is None else ustats.receipts,
        "attention": attention(stats, ustats),
    }


def attention(stats: OutboxStats, ustats: UplinkStats | None) -> list[str]:
    """What staff should look at, in words (Chinese / English), from the figures above; empty if nothing."""
    notes = []
    if stats.refused:
        notes.append(f"乡镇服务器拒收了 {stats.refused} 条记录（格式错误或身份不符），已搁置、不再重发 / "
                     f"the township refused {stats.refused} events for good (malformed or not this kiosk's); "
                     "set aside, not sent again, kept until the retention")
    if stats.rejected:
        notes.append(f"代理服务器拒收了 {stats.rejected} 条记录（权限），已搁置 / "
                     f"the broker refused {stats.rejected} events (not authorised?); set aside")
    if stats.dropped:
        notes.append(f"{stats.dropped} 条记录未经乡镇确认即被删除（空间或期限） / "
                     f"{stats.dropped} events were deleted before the township receipted them (space or age)")
    if ustats is not None and ustats.probing:
        notes.append("乡镇服务器长时间未确认，仅少量试发 / no receipt from the township for long: re-sending "
                     "only a probe until one comes")
    return notes


def _rounded(age: float | None) -> float | None:
    return None if age is None else round(age, 1)


def encode(report: dict[str, Any]) -> bytes:
    return json.dumps(report, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
