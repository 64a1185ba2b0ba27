"""报表 Reports: day / week / month per site and township; `.xlsx` download (a POST: it is audited).

The export writes to the audit log, so it is a state change and takes a POST with the CSRF token
(a link, a prefetching browser or a crawler cannot make one).  It is audited once per township
it covers, so each township's audit log shows what left it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import render
from django.views.decorators.http import require_POST

from township.console import reports, scope
from township.console.views.common import audit, day_param, now, today

KINDS = ("day", "week", "month")


def _data(request: HttpRequest, params: Any) -> tuple[str, dict[str, object]]:
    kind = params.get("kind", "day")
    kind = kind if kind in KINDS else "day"
    anchor = day_param(params, "day", today() - dt.timedelta(days=1))
    first, last = reports.period(kind, anchor)
    return kind, reports.report(list(scope.sites(request.user)), first, last, now=now()) | {"anchor": anchor}


@login_required
def reports_page(request: HttpRequest) -> HttpResponse:
    kind, data = _data(request, request.GET)
    return render(request, "console/reports.html", {"kind": kind, "kinds": KINDS, **data,
                                                    "may_export": request.user.has_perm("console.export_report")})


@login_required
@require_POST
def reports_xlsx(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("console.export_report"):
        return HttpResponseForbidden("not allowed")
    kind, data = _data(request, request.POST)
    names = {"day": "日报", "week": "周报", "month": "月报"}
    title = f"入口筛查{names[kind]}"
    body = reports.xlsx(data, title)
    filename = f"checkpoint-{kind}-{data['first']:%Y%m%d}-{data['last']:%Y%m%d}.xlsx"
    for code in scope.codes(request.user):
        audit(request, "export", township=code, target=filename, kind=kind, first=str(data["first"]),
              last=str(data["last"]))
    response = HttpResponse(body, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
