"""Day, week and month reports per site and township, and their `.xlsx` (Chinese headers).

The numbers are sums of the kiosks' own daily summaries (the last one each kiosk sent for each
day), so the file's totals are exactly what the kiosks reported; a kiosk-day with no summary is
counted under 未上报, a zero summary from a kiosk that was off all day under 未筛查.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field
from typing import Any

from township.console.daily import summaries
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
    expected: int = 0  # kiosk-days
    reported: int = 0
    not_screened: int = 0
    visitors: int = 0
    passed: int = 0
    stopped: int = 0
    alerts: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    @property
    def missing(self) -> int:
        return max(0, self.expected - self.reported)

    def add(self, row: dict[str, Any]) -> None:
        payload = row["payload"]
        decisions = payload.get("decisions") or {}
        self.reported += 1
        self.visitors += int(row["visitors"] or 0)
        self.alerts += int(row["alerts"] or 0)
        self.passed += int(decisions.get("PASS") or 0)
        self.stopped += int(decisions.get("STOP") or 0)
        self.not_screened += int(not row["visitors"] and row["in_service_s"] == 0)
        for name, n in (payload.get("reasons") or {}).items():
            if isinstance(n, int):
                self.reasons[name] = self.reasons.get(name, 0) + n

    def merge(self, other: Line) -> None:
        for name in ("kiosks", "expected", "reported", "not_screened", "visitors", "passed", "stopped", "alerts"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name, n in other.reasons.items():
            self.reasons[name] = self.reasons.get(name, 0) + n


def report(sites: list[Site], first: dt.date, last: dt.date, *, today: dt.date) -> dict[str, Any]:
    """{"lines": per site, "townships": per township, "total": Line} for the days [first, last]."""
    townships = sorted({s.township.code for s in sites})
    rows = summaries(first, last, townships)
    days = max(0, (min(last, today - dt.timedelta(days=1)) - first).days + 1)  # days already due
    lines: dict[tuple[str, str], Line] = {}
    for s in sites:
        line = Line(s.township.code, s.township.name, s.code, s.name)
        registered = [k.code for k in s.kiosks.all()]
        line.kiosks = len(registered) or len({r["kiosk"] for r in rows if (r["township"], r["site"]) ==
                                              (s.township.code, s.code)})
        line.expected = line.kiosks * days
        lines[(s.township.code, s.code)] = line
    for r in rows:
        line = lines.get((r["township"], r["site"]))
        if line is not None:
            line.add(r)
    per_township: dict[str, Line] = {}
    total = Line("", "合计", "", "合计")
    for line in lines.values():
        per_township.setdefault(line.township, Line(line.township, line.township_name, "", "小计")).merge(line)
        total.merge(line)
    return {"first": first, "last": last, "lines": list(lines.values()),
            "townships": list(per_township.values()), "total": total}


HEADERS = ["乡镇", "场所", "场所编号", "设备数", "应报(设备·天)", "已报(设备·天)", "未上报(设备·天)",
           "未筛查(设备·天)", "访客人数", "通过", "拦截", "告警", *XLSX_REASONS.values()]


def _row(line: Line) -> list[Any]:
    return [line.township_name, line.site_name, line.site, line.kiosks, line.expected, line.reported, line.missing,
            line.not_screened, line.visitors, line.passed, line.stopped, line.alerts,
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
