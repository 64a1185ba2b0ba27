"""今日 Today and 设备 Kiosks."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from township.console import kiosks, scope
from township.console.daily import site_days
from township.console.models import Alert
from township.console.views.common import day_param, now, today, with_sites


@login_required
def today_page(request: HttpRequest) -> HttpResponse:
    return render(request, "console/today.html", _today_context(request))


@login_required
def today_table(request: HttpRequest) -> HttpResponse:
    return render(request, "console/_today_table.html", _today_context(request))


def _today_context(request: HttpRequest) -> dict[str, object]:
    day = day_param(request, "day", today() - dt.timedelta(days=1))
    sites = list(scope.sites(request.user))
    rows = site_days(sites, day, now())
    open_alerts = Alert.objects.filter(township__in=scope.codes(request.user)).exclude(state="closed")
    return {"day": day, "rows": rows, "prev": day - dt.timedelta(days=1), "next": day + dt.timedelta(days=1),
            "totals": {"visitors": sum(r.visitors for r in rows), "alerts": sum(r.alerts for r in rows),
                       "stopped": sum(r.stopped for r in rows),
                       "missing": sum(r.status == "missing" for r in rows),
                       "late": sum(r.status == "late" for r in rows)},
            "open_alerts": with_sites(request.user, open_alerts.order_by("-at")[:20]),
            "open_count": open_alerts.count(), "now": now()}


@login_required
def kiosks_page(request: HttpRequest) -> HttpResponse:
    return render(request, "console/kiosks.html", _kiosk_context(request))


@login_required
def kiosks_table(request: HttpRequest) -> HttpResponse:
    return render(request, "console/_kiosks_table.html", _kiosk_context(request))


def _kiosk_context(request: HttpRequest) -> dict[str, object]:
    codes = scope.codes(request.user)
    rows = kiosks.states(codes, now())
    known = {(r["township"], r["site"], r["kiosk"]) for r in rows}
    never = [(s.township.code, s.code, k.code) for s in scope.sites(request.user) for k in s.kiosks.all()
             if (s.township.code, s.code, k.code) not in known]
    return {"rows": rows, "never": never, "limit": kiosks.BIAS_LIMIT_C}
