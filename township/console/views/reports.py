"""报表 Reports: day / week / month per site and township; `.xlsx` download (audited)."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import render

from township.console import reports, scope
from township.console.views.common import audit, day_param, today

KINDS = ("day", "week", "month")


def _data(request: HttpRequest) -> tuple[str, dict[str, object]]:
    kind = request.GET.get("kind", "day")
    kind = kind if kind in KINDS else "day"
    anchor = day_param(request, "day", today() - dt.timedelta(days=1))
    first, last = reports.period(kind, anchor)
    return kind, reports.report(list(scope.sites(request.user)), first, last, today=today()) | {"anchor": anchor}


@login_required
def reports_page(request: HttpRequest) -> HttpResponse:
    kind, data = _data(request)
    return render(request, "console/reports.html", {"kind": kind, "kinds": KINDS, **data,
                                                    "may_export": request.user.has_perm("console.export_report")})


@login_required
def reports_xlsx(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("console.export_report"):
        return HttpResponseForbidden("not allowed")
    kind, data = _data(request)
    names = {"day": "日报", "week": "周报", "month": "月报"}
    title = f"入口筛查{names[kind]}"
    body = reports.xlsx(data, title)
    filename = f"checkpoint-{kind}-{data['first']:%Y%m%d}-{data['last']:%Y%m%d}.xlsx"
    audit(request, "export", target=filename, kind=kind, first=str(data["first"]), last=str(data["last"]),
          townships=scope.codes(request.user))
    response = HttpResponse(body, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
