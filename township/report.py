"""`kiosk township report`: one day, per site, from the kiosks' own daily summaries.

The kiosks' daily summaries are the source of the counts: a kiosk counts every visitor it
decided, including those whose entry events are still on their way, and a kiosk that saw nobody
sends a summary of zeros.  So a site whose kiosks all reported zero appears with zeros, and a
kiosk that sent nothing at all for the day is listed under `missing` rather than silently
counted as zero.  Entry events received for the day are counted beside, as a cross-check.

Counts are summed per site generically: every integer field and every {name: integer} map of
a summary (counts per reason, per decision) adds up, so a new counter in the kiosk's summary
shows up here without a change.  `seconds_per_visitor` is averaged, weighted by visitors.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from township.store import EventStore

NOT_COUNTS = frozenset({"schema", "at", "event_id", "generated_at", "period_start", "period_end"})
VISITORS_KEYS = ("visitors", "total", "entries")
SECONDS_KEY = "seconds_per_visitor"


def _visitors(summary: dict[str, Any]) -> int:
    for key in VISITORS_KEYS:
        value = summary.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return 0


def _add(into: dict[str, Any], summary: dict[str, Any]) -> None:
    for key, value in summary.items():
        if key in NOT_COUNTS or key == SECONDS_KEY:
            continue
        if isinstance(value, int) and not isinstance(value, bool):
            into[key] = into.get(key, 0) + value
        elif isinstance(value, dict) and all(isinstance(v, int) and not isinstance(v, bool) for v in value.values()):
            bucket = into.setdefault(key, {})
            if isinstance(bucket, dict):
                for name, n in value.items():
                    bucket[name] = bucket.get(name, 0) + n


def _local_day(at: float, zone: str | None) -> str:
    """The calendar day of `at` where the kiosk stands (its summaries name the zone), else here."""
    try:
        tz = ZoneInfo(zone) if zone else None
    except (ZoneInfoNotFoundError, ValueError):
        tz = None
    when = datetime.fromtimestamp(at, tz) if tz else datetime.fromtimestamp(at).astimezone()
    return when.date().isoformat()


def daily_report(store: EventStore, day: str, *, township: str | None = None) -> dict[str, Any]:
    """The report of `day` (YYYY-MM-DD): {"day", "sites": {site: {...}}} with every known site."""
    date.fromisoformat(day)  # ValueError for anything that is not a date
    where, params = ("WHERE township = ?", (township,)) if township else ("", ())
    kiosks = store.rows(f"SELECT township, site, kiosk FROM kiosks {where} ORDER BY township, site, kiosk", params)
    sites: dict[tuple[str, str], dict[str, Any]] = {}
    for row in kiosks:
        site = sites.setdefault((row["township"], row["site"]), {
            "township": row["township"], "site": row["site"], "kiosks": [], "reported": [], "missing": [],
            "counts": {}, SECONDS_KEY: None, "entries_received": 0, "alerts_received": 0, "timezone": None})
        site["kiosks"].append(row["kiosk"])
    summaries = store.rows("SELECT township, site, kiosk, payload FROM events WHERE kind = 'daily' AND day = ? "
                           "ORDER BY received_at", (day,))
    latest: dict[tuple[str, str, str], dict[str, Any]] = {}
    for row in summaries:  # a kiosk that re-sent a corrected summary: the last one counts
        latest[(row["township"], row["site"], row["kiosk"])] = json.loads(row["payload"])
    weighted: dict[tuple[str, str], tuple[float, int]] = {}
    for (t, s, k), summary in sorted(latest.items()):
        if township and t != township:
            continue
        site = sites[(t, s)]
        site["reported"].append(k)
        if isinstance(summary.get("timezone"), str):
            site["timezone"] = summary["timezone"]
        _add(site["counts"], summary)
        seconds, visitors = summary.get(SECONDS_KEY), _visitors(summary)
        if isinstance(seconds, int | float) and visitors:
            total, n = weighted.get((t, s), (0.0, 0))
            weighted[(t, s)] = (total + seconds * visitors, n + visitors)
    for (t, s), (total, n) in weighted.items():
        sites[(t, s)][SECONDS_KEY] = round(total / n, 2) if n else None
    for row in store.rows("SELECT township, site, kind, at FROM events WHERE kind IN ('entry', 'alert') "
                          "AND at IS NOT NULL"):
        key = (row["township"], row["site"])
        if key in sites and _local_day(row["at"], sites[key].get("timezone")) == day:
            sites[key]["entries_received"] += 1
            sites[key]["alerts_received"] += row["kind"] == "alert"
    for site in sites.values():
        site["missing"] = [k for k in site["kiosks"] if k not in site["reported"]]
    return {"day": day, "township": township, "sites": [sites[key] for key in sorted(sites)]}
