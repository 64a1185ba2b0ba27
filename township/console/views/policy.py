"""策略 Policy: a form → the difference from what is in force → sign → push → each kiosk's ack.

The payload is what `kiosk township push-config` sends (`township.push.config_payload`), signed
with that township's own Ed25519 key (`keyring`: one key per township, never another township's)
and published retained on the township's configuration topic; the push is recorded and audited
before it is published, and marked published or failed after.  Kiosks answer on `config/ack`
(applied or refused, with the reason); the ingester stores those, and the acknowledgement table
refreshes as they arrive (live events).  "In force" is what the kiosks say they run (`policies`).
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _

from kiosk.feed import ConfigRefused, judge_content
from township.console import keyring, policies, scope
from township.console.models import PolicyPush, Township
from township.console.views.common import audit

log = logging.getLogger(__name__)


class PolicyForm(forms.Form):
    township = forms.ChoiceField(label=_("township"))
    label = forms.CharField(label=_("policy version"), max_length=40)
    mode = forms.ChoiceField(label=_("mode"), choices=[("risk-areas", _("risk areas")),
                                                       ("no-risk-areas", _("no risk areas"))])
    risk_areas = forms.CharField(label=_("risk areas (6-digit codes)"), required=False, widget=forms.Textarea(
        attrs={"rows": 3}))
    fever_c = forms.FloatField(label=_("fever threshold (°C)"), min_value=35.0, max_value=40.0)
    remeasure = forms.BooleanField(label=_("re-measure before a fever STOP"), required=False)
    max_code_age_s = forms.IntegerField(label=_("code age (s)"), min_value=30, max_value=86_400)
    nat_max_age_h = forms.IntegerField(label=_("nucleic-acid window (h), empty: off"), required=False, min_value=1,
                                       max_value=168)
    trust_list = forms.CharField(label=_("trust list (JSON), empty: keep"), required=False,
                                 widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, townships: list[Township], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["township"].choices = [(t.code, t.name) for t in townships]

    def clean_risk_areas(self) -> list[str]:
        codes = [c for c in self.cleaned_data["risk_areas"].replace(",", " ").split() if c]
        bad = [c for c in codes if not (len(c) == 6 and c.isdigit())]
        if bad:
            raise forms.ValidationError(_("Not a 6-digit division code: %(codes)s"), params={"codes": " ".join(bad)})
        return codes

    def clean_trust_list(self) -> dict[str, Any] | None:
        text = self.cleaned_data["trust_list"].strip()
        if not text:
            return None
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise forms.ValidationError(_("Not JSON: %(error)s"), params={"error": exc}) from None
        if not isinstance(value, dict):
            raise forms.ValidationError(_("A JSON object, please."))
        return value

    def policy(self) -> dict[str, Any]:
        d = self.cleaned_data
        policy = {"version": d["label"], "mode": d["mode"], "risk_areas": d["risk_areas"], "fever_c": d["fever_c"],
                  "remeasure": d["remeasure"], "max_code_age_s": d["max_code_age_s"],
                  "nat_max_age_h": d["nat_max_age_h"]}
        try:  # the kiosk's own rules for a pushed policy and trust list: what it would refuse is never signed
            judge_content(policy, d.get("trust_list"), 0)
        except ConfigRefused as exc:
            raise ValueError(exc.detail or exc.reason) from None
        return policy


@login_required
def policy_page(request: HttpRequest) -> HttpResponse:
    townships = list(scope.townships(request.user))
    may_push = request.user.has_perm("console.push_policy")
    chosen = next((t for t in townships if t.code == request.GET.get("township")), townships[0] if townships else None)
    force = policies.in_force(chosen) if chosen else None
    last = PolicyPush.objects.filter(township=chosen).first() if chosen else None
    context: dict[str, Any] = {"may_push": may_push, "township": chosen, "last": last, "force": force,
                               "current": force.policy if force else {}, "townships": townships}
    if request.method == "POST":
        if not may_push:
            return HttpResponseForbidden(_("Only an administrator may push a policy."))
        form = PolicyForm(request.POST, townships=townships)
        if form.is_valid():
            try:
                policy = form.policy()
            except ValueError as exc:
                form.add_error(None, str(exc))
            else:
                chosen = next(t for t in townships if t.code == form.cleaned_data["township"])
                force = policies.in_force(chosen)
                last = PolicyPush.objects.filter(township=chosen).first()
                if request.POST.get("action") == "push":
                    return _push(request, chosen, last, policy, form.cleaned_data["trust_list"])
                context |= {"township": chosen, "last": last, "force": force, "current": force.policy,
                            "preview": True,
                            "changes": policies.diff(force.policy, policy) + (
                                [("trust_list", "…", "(new)")] if form.cleaned_data["trust_list"] else [])}
        context["form"] = form
    else:
        current = context["current"]
        initial = {**current, "label": current.get("version") or "", "risk_areas": " ".join(
            current.get("risk_areas") or ()), "township": chosen.code if chosen else None}
        context["form"] = PolicyForm(initial=initial, townships=townships)
    context["acks"] = policies.acks(chosen, last) if chosen and last else []
    return render(request, "console/policy.html", context)


def _push(request: HttpRequest, township: Township, last: PolicyPush | None, policy: dict[str, Any],
          trust_list: dict[str, Any] | None) -> HttpResponse:
    """Sign with this township's own key; recorded and audited before it is published, then marked."""
    from township.broker import BrokerAddress, BrokerError, tls_context
    from township.push import config_payload, push_config

    version = max(int(time.time()), (last.version + 1) if last else 0)
    document: dict[str, Any] = {"policy": policy}
    if trust_list is not None:
        document["trust_list"] = trust_list
    try:
        topic, payload = config_payload(document, township=township.code, version=version)
        key = keyring.signing_key(township.code)
    except keyring.KeyUnavailable as exc:
        log.error("policy push: %s", exc)  # why (a path, a mode), never the key
        return HttpResponse(_("This township's signing key is not available on the console; nothing was pushed."),
                            status=503)
    except ValueError as exc:
        return HttpResponse(f"{_('The policy was not pushed')}: {exc}", status=400)
    with transaction.atomic():
        push = PolicyPush.objects.create(township=township, version=version, topic=topic, payload=payload,
                                         pushed_by=request.user)
        audit(request, "push_policy", township=township.code, target=topic, version=version, policy=policy)
    try:
        ca, cert, tls_key = settings.TOWNSHIP_BROKER_TLS
        tls = tls_context(ca, cert, tls_key) if (ca or cert) else None
        push_config(BrokerAddress.parse(settings.TOWNSHIP_BROKER), key, topic, payload, tls=tls,
                    client_id=f"township-console-{township.code}")
    except (OSError, ValueError, BrokerError) as exc:
        push.state, push.error = "failed", str(exc)[:200]
        push.save(update_fields=["state", "error"])
        audit(request, "push_failed", township=township.code, target=topic, version=version, error=str(exc)[:200])
        return HttpResponse(f"{_('The policy was not pushed')}: {exc}", status=502)
    push.state = "published"
    push.save(update_fields=["state"])
    return redirect(f"/policy/?township={township.code}&pushed={push.version}")


@login_required
def acks_table(request: HttpRequest) -> HttpResponse:
    township = scope.townships(request.user).filter(code=request.GET.get("township")).first()
    last = PolicyPush.objects.filter(township=township).first() if township else None
    return render(request, "console/_acks.html", {"acks": policies.acks(township, last) if township and last else [],
                                                  "last": last})
