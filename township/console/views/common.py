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


def day_param(request: HttpRequest, name: str, default: dt.date) -> dt.date:
    try:
        return dt.date.fromisoformat(request.GET.get(name, "") or default.isoformat())
    except ValueError:
        return default


def audit(request: HttpRequest, action: str, *, township: str = "", target: str = "", **detail: Any) -> None:
    AuditLog.objects.create(user=request.user if request.user.is_authenticated else None, action=action,
                            township=township, target=target[:200], detail=detail)
