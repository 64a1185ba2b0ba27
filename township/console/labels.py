"""Display names for the feed's vocabularies (reasons, statuses); Chinese via the translation files."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

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
XLSX_REASONS = {
    "fever": "发热", "code_red": "红码", "code_yellow": "黄码", "code_invalid": "无效码", "code_replayed": "重复使用码",
    "no_code": "未出示码", "trip_star": "行程带星", "trip_risk_area": "中高风险地区行程", "nat_missing": "无核酸",
    "nat_stale": "核酸过期", "sensor_fault": "传感器故障", "clock_unsynced": "时钟未同步",
}


def reasons_text(reasons: list[str] | tuple[str, ...] | None) -> str:
    return "、".join(str(REASONS.get(r, r)) for r in reasons or ())
