"""The 设备 page's facts: each kiosk's last state, and its thermal bias against clinical readings.

State comes from `feed_kiosk` (upserted by the ingester): `status` is the retained online /
offline that the broker publishes as the Last Will; `health` is the last health report.

Bias: when an alert is closed with a clinical reading, kiosk reading − clinical reading is one
sample of the kiosk's error at fever temperatures.  A kiosk that reads *low* misses fevers, so
it is flagged for calibration when its recent mean bias is below −`BIAS_LIMIT_C`, or when its
trend (least squares over the samples' times) will take it there within `HORIZON_DAYS` —
before it misses one, not after.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection

from township.console.daily import as_json
from township.console.models import Alert

BIAS_LIMIT_C = 0.3
HORIZON_DAYS = 14
SAMPLES = 20


@dataclass
class Bias:
    samples: list[tuple[dt.datetime, float]] = field(default_factory=list)

    @property
    def mean(self) -> float | None:
        return round(sum(b for _, b in self.samples) / len(self.samples), 2) if self.samples else None

    @property
    def slope_per_week(self) -> float | None:
        """°C per week (least squares); None with fewer than 3 samples."""
        if len(self.samples) < 3:
            return None
        t0 = self.samples[0][0]
        xs = [(t - t0).total_seconds() / 86_400 / 7 for t, _ in self.samples]
        ys = [b for _, b in self.samples]
        mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
        den = sum((x - mx) ** 2 for x in xs)
        return None if den == 0 else round(sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den, 3)

    @property
    def needs_calibration(self) -> bool:
        mean, slope = self.mean, self.slope_per_week
        if mean is None:
            return False
        if mean <= -BIAS_LIMIT_C:
            return True
        return slope is not None and slope < 0 and mean + slope * HORIZON_DAYS / 7 <= -BIAS_LIMIT_C


def biases(townships: list[str]) -> dict[tuple[str, str, str], Bias]:
    out: dict[tuple[str, str, str], Bias] = {}
    rows = (Alert.objects.filter(township__in=townships, clinical_c__isnull=False, temperature_c__isnull=False,
                                 closed_at__isnull=False)
            .order_by("closed_at").values_list("township", "site", "kiosk", "closed_at", "temperature_c", "clinical_c"))
    for t, s, k, at, kiosk_c, clinical in rows:
        out.setdefault((t, s, k), Bias()).samples.append((at, round(kiosk_c - clinical, 2)))
    for b in out.values():
        b.samples = b.samples[-SAMPLES:]
    return out


def states(townships: list[str], now: dt.datetime) -> list[dict[str, Any]]:
    """One dict per kiosk the feed knows in these townships, with the facts the page shows."""
    with connection.cursor() as cur:
        cur.execute("SELECT township, site, kiosk, status, status_at, last_seen, health, health_at, ack, ack_at "
                    "FROM feed_kiosk WHERE township = ANY(%s) ORDER BY township, site, kiosk", (townships,))
        names = [c.name for c in cur.description]
        rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    bias = biases(townships)
    stale = dt.timedelta(seconds=settings.HEALTH_STALE_S)
    for r in rows:
        r["health"], r["ack"] = as_json(r["health"]), as_json(r["ack"])
        h = r["health"] or {}
        outbox = h.get("outbox") or {}
        cal = h.get("calibration") or {}
        r["online"] = r["status"] == "online"
        r["stale"] = r["health_at"] is None or now - r["health_at"] > stale
        r["sensor_ok"] = (h.get("sensor") or {}).get("ok")
        r["camera_ok"] = (h.get("camera") or {}).get("ok")
        r["clock_synced"] = h.get("clock_synced")
        r["drift_c"] = cal.get("drift_c")
        r["calibration_age_d"] = None if cal.get("age_s") is None else round(cal["age_s"] / 86_400)
        r["pending"] = outbox.get("pending")
        r["oldest_pending_s"] = outbox.get("oldest_pending_age_s")
        r["dropped"] = h.get("dropped")
        r["policy_version"] = h.get("policy_version")
        ack = r["ack"] or {}
        r["ack_status"], r["ack_version"], r["ack_reason"] = ack.get("status"), ack.get("version"), ack.get("reason")
        r["bias"] = bias.get((r["township"], r["site"], r["kiosk"]))
        problems = []
        if not r["online"]:
            problems.append("offline")
        if r["stale"]:
            problems.append("stale")
        if r["sensor_ok"] is False:
            problems.append("sensor")
        if r["camera_ok"] is False:
            problems.append("camera")
        if r["clock_synced"] is False:
            problems.append("clock")
        if r["bias"] is not None and r["bias"].needs_calibration:
            problems.append("calibrate")
        if r["ack_status"] == "refused":
            problems.append("policy_refused")
        r["problems"] = problems
    return rows
