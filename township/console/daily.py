"""Daily reports per site: on time, late (迟报), not reported (未上报), zero, not screened.

The notices' rule is "the report may be zero, but never missing": every registered site has a
responsible person and a deadline (local time on the day after the day reported, in the site's
zone: its own if it has one, else the county's).  A kiosk whose summary counts its days in another
zone (a Pi left on UTC) is flagged, since its days are not the site's.  A site's
kiosks are its registered ones (or, if none is registered, those the feed has seen there).

* not reported: a kiosk's summary is absent at the deadline (before it: "due later");
* late: every summary is in, one arrived after the deadline;
* zero report: every summary is in and counted nobody;
* not screened: a summary of zero from a kiosk that says it was not running that day
  (`in_service_s` 0, issue 14): a site that did not screen is not a quiet site.  An old kiosk
  without `in_service_s` leaves it unknown.

Counts come from the kiosks' own daily summaries (the last one a kiosk sent for the day counts),
the same numbers the `.xlsx` export adds up.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection

from township.console.models import Site

LATEST = """
SELECT DISTINCT ON (township, site, kiosk, day) township, site, kiosk, day, visitors, alerts, in_service_s,
       payload, received_at, min(received_at) OVER (PARTITION BY township, site, kiosk, day) AS first_received
FROM feed_daily WHERE day BETWEEN %s AND %s AND township = ANY(%s)
ORDER BY township, site, kiosk, day, received_at DESC
"""


def as_json(value: Any) -> Any:
    """jsonb through Django's cursor arrives as text (Django keeps JSON decoding to its JSONField)."""
    return json.loads(value) if isinstance(value, str) else value


def zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def site_zone(site: Site) -> ZoneInfo:
    """The zone of a site's days and deadline: its own, else the county's."""
    return ZoneInfo(site.time_zone) if site.time_zone else zone()


def count(value: Any) -> int:
    """A kiosk's count as the pages add it up: a non-negative integer, anything else (a string, a list,
    a bool, a negative number) counts 0, so one malformed payload never breaks a page for everyone."""
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**31 else 0


def mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def summaries(first: dt.date, last: dt.date, townships: list[str]) -> list[dict[str, Any]]:
    """The latest summary of each kiosk and day in [first, last] (dict rows, payload decoded)."""
    with connection.cursor() as cur:
        cur.execute(LATEST, (first, last, townships))
        names = [c.name for c in cur.description]
        rows = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    for r in rows:
        r["payload"] = mapping(as_json(r["payload"]))
    return rows


def seen_kiosks(townships: list[str]) -> dict[tuple[str, str], list[str]]:
    with connection.cursor() as cur:
        cur.execute("SELECT township, site, kiosk FROM feed_kiosk WHERE township = ANY(%s) ORDER BY kiosk",
                    (townships,))
        out: dict[tuple[str, str], list[str]] = {}
        for t, s, k in cur.fetchall():
            out.setdefault((t, s), []).append(k)
        return out


@dataclass
class SiteDay:
    site: Site
    day: dt.date
    deadline_at: dt.datetime
    kiosks: list[str]
    reported: dict[str, dict[str, Any]] = field(default_factory=dict)
    status: str = "pending"

    @property
    def missing(self) -> list[str]:
        return [k for k in self.kiosks if k not in self.reported]

    @property
    def visitors(self) -> int:
        return sum(count(r["visitors"]) for r in self.reported.values())

    @property
    def alerts(self) -> int:
        return sum(count(r["alerts"]) for r in self.reported.values())

    @property
    def stopped(self) -> int:
        return sum(count(mapping(r["payload"].get("decisions")).get("STOP")) for r in self.reported.values())

    @property
    def zone_mismatch(self) -> list[str]:
        """Kiosks counting their days in another zone than the site's (a kiosk left on UTC shifts its days)."""
        expected = self.site.time_zone or settings.TIME_ZONE
        return [f"{k} ({r['payload'].get('timezone')})" for k, r in sorted(self.reported.items())
                if isinstance(r["payload"].get("timezone"), str) and r["payload"]["timezone"] != expected]

    @property
    def complete(self) -> bool:
        return bool(self.kiosks) and not self.missing

    @property
    def zero(self) -> bool:
        return self.complete and self.visitors == 0

    @property
    def not_screened(self) -> list[str]:
        """Kiosks whose summary says they were off all day (zero visitors, `in_service_s` 0)."""
        return [k for k, r in self.reported.items() if not r["visitors"] and r["in_service_s"] == 0]

    @property
    def service_unknown(self) -> list[str]:
        return [k for k, r in self.reported.items() if r["in_service_s"] is None]

    @property
    def first_received(self) -> dt.datetime | None:
        times = [r["first_received"] for r in self.reported.values()]
        return max(times) if times else None


def site_days(sites: list[Site], day: dt.date, now: dt.datetime) -> list[SiteDay]:
    """The report of `day` for every site, judged at `now`."""
    townships = sorted({s.township.code for s in sites})
    rows = summaries(day, day, townships)
    seen = seen_kiosks(townships)
    by_site: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for r in rows:
        by_site.setdefault((r["township"], r["site"]), {})[r["kiosk"]] = r
    out = []
    for site in sites:
        tz = site_zone(site)
        key = (site.township.code, site.code)
        registered = [k.code for k in site.kiosks.all()]
        reported = by_site.get(key, {})
        kiosks = registered or sorted(set(seen.get(key, [])) | set(reported))
        deadline_at = dt.datetime.combine(day + dt.timedelta(days=1), site.deadline, tz)
        sd = SiteDay(site, day, deadline_at, kiosks, {k: v for k, v in reported.items() if k in kiosks})
        if sd.missing or not kiosks:
            sd.status = "missing" if now >= deadline_at else "pending"
        else:
            sd.status = "late" if any(r["first_received"] > deadline_at for r in sd.reported.values()) else "on_time"
        out.append(sd)
    return out
