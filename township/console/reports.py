"""Day, week and month reports per site and township, and their `.xlsx` (Chinese headers).

The numbers are sums of the kiosks' own daily summaries (the last one each kiosk sent for each
day), so the file's totals are exactly what the kiosks reported.  A site's kiosks are its
registered ones (as on the Today page: a summary from a kiosk nobody registered there does not
stand in for a registered one that is silent); only where none is registered, those the feed has
seen.  A kiosk-day with no summary is 待上报 until the site's deadline (the next day, in the site's
zone) and 未上报 after it; a zero summary from a kiosk that was off all day is 未筛查.  A count a
kiosk sent that is not a non-negative integer counts 0 (`daily.count`).
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field
from typing import Any

from township.console.daily import count, mapping, site_zone, summaries
from township.console.labels import XLSX_REASONS
from township.console.models import Site

REASON_ORDER = tuple(XLSX_REASONS)


def period(kind: str, anchor: dt.date) -> tuple[dt.date, dt.date]:
    """[first, last] day of the day / ISO week (Monday first) / month containing `anchor`."""
    if kind == "week":
        first = anchor - dt.timedelta(days=anchor.weekday())
        return first, first + dt.timedelta(days=6)
    if kind == "month":
        first = anchor.replace(day=1)
        nxt = (first + dt.timedelta(days=32)).replace(day=1)
        return first, nxt - dt.timedelta(days=1)
    return anchor, anchor


@dataclass
class Line:
    township: str
    township_name: str
    site: str
    site_name: str
    kiosks: int = 0
    expected: int = 0  # kiosk-days already over
    reported: int = 0
    pending: int = 0  # kiosk-days without a summary, before their deadline
    not_screened: int = 0
    visitors: int = 0
    passed: int = 0
    stopped: int = 0
    alerts: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    @property
    def missing(self) -> int:
        return max(0, self.expected - self.reported - self.pending)

    def add(self, row: dict[str, Any]) -> None:
        payload = row["payload"]
        decisions = mapping(payload.get("decisions"))
        self.reported += 1
        self.visitors += count(row["visitors"])
        self.alerts += count(row["alerts"])
        self.passed += count(decisions.get("PASS"))
        self.stopped += count(decisions.get("STOP"))
        self.not_screened += int(not row["visitors"] and row["in_service_s"] == 0)
        for name, n in mapping(payload.get("reasons")).items():
            if name in REASON_ORDER:
                self.reasons[name] = self.reasons.get(name, 0) + count(n)

    def merge(self, other: Line) -> None:
        for name in ("kiosks", "expected", "reported", "pending", "not_screened", "visitors", "passed", "stopped",
                     "alerts"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name, n in other.reasons.items():
            self.reasons[name] = self.reasons.get(name, 0) + n


def report(sites: list[Site], first: dt.date, last: dt.date, *, now: dt.datetime) -> dict[str, Any]:
    """{"lines": per site, "townships": per township, "total": Line} for the days [first, last], judged at `now`."""
    townships = sorted({s.township.code for s in sites})
    rows = summaries(first, last, townships)
    by_site: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        by_site.setdefault((r["township"], r["site"]), []).append(r)
    lines: dict[tuple[str, str], Line] = {}
    for s in sites:
        key = (s.township.code, s.code)
        line = Line(s.township.code, s.township.name, s.code, s.name)
        mine = by_site.get(key, [])
        kiosks = [k.code for k in s.kiosks.all()] or sorted({r["kiosk"] for r in mine})
        line.kiosks = len(kiosks)
        tz = site_zone(s)
        local = now.astimezone(tz)
        over = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)
                if first + dt.timedelta(days=i) < local.date()]  # days already over at the site
        held = {(r["kiosk"], r["day"]) for r in mine}
        line.expected = len(kiosks) * len(over)
        for day in over:
            if local < dt.datetime.combine(day + dt.timedelta(days=1), s.deadline, tz):
                line.pending += sum((k, day) not in held for k in kiosks)
        for r in mine:
            if r["kiosk"] in kiosks:
                line.add(r)
        lines[key] = line
    per_township: dict[str, Line] = {}
    total = Line("", "合计", "", "合计")
    for line in lines.values():
        per_township.setdefault(line.township, Line(line.township, line.township_name, "", "小计")).merge(line)
        total.merge(line)
    return {"first": first, "last": last, "lines": list(lines.values()),
            "townships": list(per_township.values()), "total": total}


HEADERS = ["乡镇", "场所", "场所编号", "设备数", "应报(设备·天)", "已报(设备·天)", "待上报(设备·天)",
           "未上报(设备·天)", "未筛查(设备·天)", "访客人数", "通过", "拦截", "告警", *XLSX_REASONS.values()]


def _row(line: Line) -> list[Any]:
    return [line.township_name, line.site_name, line.site, line.kiosks, line.expected, line.reported, line.pending,
            line.missing, line.not_screened, line.visitors, line.passed, line.stopped, line.alerts,
            *(line.reasons.get(r, 0) for r in REASON_ORDER)]


def xlsx(data: dict[str, Any], title: str) -> bytes:
    """The report as an Excel workbook: one sheet per site line, township subtotals and the total."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = "报表"
    ws.append([title])
    ws.append([f"统计区间 {data['first']:%Y-%m-%d} 至 {data['last']:%Y-%m-%d}(数据来源:各设备每日汇总)"])
    ws.append(HEADERS)
    for cell in ws[3]:
        cell.font = Font(bold=True)
    for line in data["lines"]:
        ws.append(_row(line))
    for sub in data["townships"]:
        ws.append(_row(sub))
    ws.append(_row(data["total"]))
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)
    for i, header in enumerate(HEADERS, start=1):
        ws.column_dimensions[get_column_letter(i)].width = max(8, 2 * len(header) + 2)
    ws.freeze_panes = "A4"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
