"""告警 Alerts: live list, the pop-up (with sound) until acknowledged, closing with a disposition."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from township.console import scope
from township.console.models import Alert, Disposition
from township.console.views.common import audit, with_sites


class CloseForm(forms.Form):
    disposition = forms.ChoiceField(label=_("disposition"), choices=Disposition.choices)
    clinical_c = forms.FloatField(label=_("clinical reading (°C)"), required=False, min_value=34.0, max_value=43.0)
    note = forms.CharField(label=_("note"), required=False, max_length=200)

    def clean(self) -> dict[str, object]:
        """The reading is what sets the kiosk's bias: required where a clinical thermometer was used."""
        data = super().clean() or {}
        disposition = data.get("disposition")
        if disposition == Disposition.REMEASURED_NORMAL and data.get("clinical_c") is None:
            self.add_error("clinical_c", _("Give the clinical reading that was normal."))
        if disposition == Disposition.FEVER_CLINIC and data.get("clinical_c") is None:
            self.add_error("clinical_c", _("Give the clinical reading taken before sending the visitor on."))
        if disposition == Disposition.OTHER and not (data.get("note") or "").strip():
            self.add_error("note", _("Say what happened in the note."))
        return data


def _visible(request: HttpRequest):  # type: ignore[no-untyped-def]
    return Alert.objects.filter(township__in=scope.codes(request.user))


@login_required
def alerts_page(request: HttpRequest) -> HttpResponse:
    return render(request, "console/alerts.html", _context(request))


@login_required
def alerts_table(request: HttpRequest) -> HttpResponse:
    return render(request, "console/_alerts_table.html", _context(request))


def _context(request: HttpRequest) -> dict[str, object]:
    alerts = _visible(request)
    return {"open": with_sites(request.user, alerts.exclude(state="closed").order_by("-at")[:200]),
            "closed": with_sites(request.user, alerts.filter(state="closed").select_related("closed_by")
                                  .order_by("-closed_at")[:50]),
            "form": CloseForm(), "may_act": request.user.has_perm("console.ack_alert")}


@login_required
def popup(request: HttpRequest) -> HttpResponse:
    """Every alert nobody has acknowledged yet: the page keeps sounding while this is not empty."""
    pending = _visible(request).filter(state="open")
    return render(request, "console/_popup.html", {"pending": with_sites(request.user, pending.order_by("-at")[:10]),
                                                   "count": pending.count(),
                                                   "may_act": request.user.has_perm("console.ack_alert")})


@login_required
@require_POST
def acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    if not request.user.has_perm("console.ack_alert"):
        return HttpResponseForbidden("not allowed")
    alert = get_object_or_404(_visible(request), pk=pk)
    if alert.state == "open":
        alert.state, alert.acknowledged_at, alert.acknowledged_by = "acknowledged", timezone.now(), request.user
        alert.save(update_fields=["state", "acknowledged_at", "acknowledged_by"])
        audit(request, "ack_alert", township=alert.township, target=f"{alert.site}/{alert.kiosk}/{alert.event_id}")
    return popup(request)


@login_required
@require_POST
def acknowledge_all(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("console.ack_alert"):
        return HttpResponseForbidden("not allowed")
    pending = _visible(request).filter(state="open")
    for alert in pending:
        alert.state, alert.acknowledged_at, alert.acknowledged_by = "acknowledged", timezone.now(), request.user
        alert.save(update_fields=["state", "acknowledged_at", "acknowledged_by"])
        audit(request, "ack_alert", township=alert.township, target=f"{alert.site}/{alert.kiosk}/{alert.event_id}")
    return popup(request)


@login_required
@require_POST
def close(request: HttpRequest, pk: int) -> HttpResponse:
    if not request.user.has_perm("console.ack_alert"):
        return HttpResponseForbidden("not allowed")
    with transaction.atomic():
        alert = get_object_or_404(_visible(request).select_for_update(), pk=pk)
        if alert.state == "closed":  # closed once, with its disposition: never overwritten
            return render(request, "console/_alerts_table.html", _context(request) | {
                "error": _("This alert was already closed.")})  # 2xx: htmx shows why
        form = CloseForm(request.POST)
        if not form.is_valid():  # the table again, with why (htmx swaps 2xx only)
            errors = "; ".join(str(e) for errs in form.errors.values() for e in errs)
            return render(request, "console/_alerts_table.html", _context(request) | {"error": errors})
        _close(request, alert, form)
    response = render(request, "console/_alerts_table.html", _context(request))
    response["HX-Trigger"] = "feed-alert"
    return response


def _close(request: HttpRequest, alert: Alert, form: CloseForm) -> None:
    now = timezone.now()
    if alert.acknowledged_at is None:
        alert.acknowledged_at, alert.acknowledged_by = now, request.user
    alert.state, alert.closed_at, alert.closed_by = "closed", now, request.user
    alert.disposition = form.cleaned_data["disposition"]
    alert.clinical_c = form.cleaned_data["clinical_c"]
    alert.note = form.cleaned_data["note"] or ""
    alert.save()
    audit(request, "close_alert", township=alert.township, target=f"{alert.site}/{alert.kiosk}/{alert.event_id}",
          disposition=alert.disposition, clinical_c=alert.clinical_c, kiosk_c=alert.temperature_c)
