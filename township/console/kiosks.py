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

from township.console.daily import as_json, count, mapping
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


def _flag(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) and abs(value) < 1e12 \
        else None


def _text(value: Any) -> str | None:
    return value[:80] if isinstance(value, str) else None


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
    for r in rows:  # every value read as the type it should be, else unknown: one odd kiosk breaks no page
        r["health"], r["ack"] = mapping(as_json(r["health"])), mapping(as_json(r["ack"]))
        h = r["health"]
        outbox, cal = mapping(h.get("outbox")), mapping(h.get("calibration"))
        r["online"] = r["status"] == "online"
        r["stale"] = r["health_at"] is None or now - r["health_at"] > stale
        r["sensor_ok"] = _flag(mapping(h.get("sensor")).get("ok"))
        r["camera_ok"] = _flag(mapping(h.get("camera")).get("ok"))
        r["clock_synced"] = _flag(h.get("clock_synced"))
        r["drift_c"] = _number(cal.get("drift_c"))
        age = _number(cal.get("age_s"))
        r["calibration_age_d"] = None if age is None else round(age / 86_400)
        r["pending"] = count(outbox.get("pending"))
        r["oldest_pending_s"] = _number(outbox.get("oldest_pending_age_s"))
        r["dropped"] = count(h.get("dropped"))
        r["policy_version"] = _text(h.get("policy_version"))
        ack = r["ack"]
        r["ack_status"], r["ack_reason"] = _text(ack.get("status")), _text(ack.get("reason"))
        r["ack_version"] = ack.get("version") if isinstance(ack.get("version"), int) else None
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
