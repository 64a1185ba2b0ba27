"""What every page needs: the time, the audit log, a date from the query string."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils import timezone

from township.console.daily import zone
from township.console.models import AuditLog


def now() -> dt.datetime:
    return timezone.now().astimezone(zone())


def today() -> dt.date:
    return now().date()


def day_param(params: Any, name: str, default: dt.date) -> dt.date:
    """A date from a query or form (`request.GET`, `request.POST`); `default` if absent or not a date."""
    if isinstance(params, HttpRequest):
        params = params.GET
    try:
        return dt.date.fromisoformat(params.get(name, "") or default.isoformat())
    except ValueError:
        return default


def with_sites(user: Any, alerts: Any) -> list[Any]:
    """The alerts (a query or list), each with its registered site (name, responsible person, phone) as
    `a.where`: what the office needs to phone the site, not just its MQTT id."""
    from township.console import scope

    found = list(alerts)
    sites = {(s.township.code, s.code): s for s in scope.sites(user)}
    for a in found:
        a.where = sites.get((a.township, a.site))
    return found


def audit(request: HttpRequest, action: str, *, township: str = "", target: str = "", **detail: Any) -> None:
    AuditLog.objects.create(user=request.user if request.user.is_authenticated else None, action=action,
                            township=township, target=target[:200], detail=detail)
