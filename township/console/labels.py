"""Display names for the feed's vocabularies (reasons, statuses); Chinese via the translation files."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from township.labels import REASONS_ZH

REASONS = {
    "fever": _("fever"), "code_red": _("red code"), "code_yellow": _("yellow code"),
    "code_invalid": _("invalid code"), "code_replayed": _("replayed code"), "no_code": _("no code"),
    "trip_star": _("trip *"), "trip_risk_area": _("risk-area trip"), "nat_missing": _("no NAT result"),
    "nat_stale": _("NAT too old"), "sensor_fault": _("sensor fault"), "clock_unsynced": _("clock unsynchronised"),
}

STATUS = {
    "on_time": _("on time"), "late": _("late"), "missing": _("not reported"), "pending": _("due later"),
}

# The Excel headers are Chinese whatever the page language: the file goes to the county office.
XLSX_REASONS = REASONS_ZH


def reasons_text(reasons: list[str] | tuple[str, ...] | None) -> str:
    return "、".join(str(REASONS.get(r, r)) for r in reasons or ())
