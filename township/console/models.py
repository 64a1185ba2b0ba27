"""What the office registers (county, townships, sites, kiosks, who answers for each) and what it
does (alerts handled, policies pushed, the audit log).

The feed itself (entries, health, daily summaries, acknowledgements) is not here: those tables
are written at thousands of rows a second by `township.ingest` and partitioned by day, so they are
plain SQL made by migration 0002 (`township/ingest/schema.py`) and read with SQL
(`township.console.queries`).  Topic ids (township, site, kiosk) are the join keys between them.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


class County(models.Model):
    code = models.SlugField(_("code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=80)

    class Meta:
        verbose_name = _("county")
        verbose_name_plural = _("counties")

    def __str__(self) -> str:
        return self.name


class Township(models.Model):
    county = models.ForeignKey(County, models.PROTECT, null=True, blank=True, verbose_name=_("county"))
    code = models.SlugField(_("township id (MQTT)"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=80)

    class Meta:
        verbose_name = _("township")
        verbose_name_plural = _("townships")
        ordering = ("code",)

    def __str__(self) -> str:
        return self.name


def _known_zone(value: str) -> None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(_("Not an IANA time zone: %(zone)s"), params={"zone": value}) from None


class Site(models.Model):
    """A place that must screen and report every day: 'the report may be zero, but never missing'."""

    township = models.ForeignKey(Township, models.CASCADE, related_name="sites", verbose_name=_("township"))
    code = models.SlugField(_("site id (MQTT)"), max_length=64)
    name = models.CharField(_("name"), max_length=80)
    address = models.CharField(_("address"), max_length=160, blank=True)
    responsible = models.CharField(_("responsible person"), max_length=40)
    phone = models.CharField(_("phone"), max_length=40)
    deadline = models.TimeField(_("daily report deadline"), default=dt.time(9, 0),
                                help_text=_("The previous day's report is due by this local time."))
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True, validators=[_known_zone],
                                 help_text=_("IANA zone of the site's days and deadline, e.g. Asia/Urumqi; "
                                             "empty: the county's (TOWNSHIP_TIME_ZONE)."))

    class Meta:
        verbose_name = _("site")
        verbose_name_plural = _("sites")
        ordering = ("township__code", "code")
        constraints = (models.UniqueConstraint(fields=("township", "code"), name="site_code_per_township"),)

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Kiosk(models.Model):
    site = models.ForeignKey(Site, models.CASCADE, related_name="kiosks", verbose_name=_("site"))
    code = models.SlugField(_("kiosk id (MQTT)"), max_length=64)
    note = models.CharField(_("note"), max_length=120, blank=True)

    class Meta:
        verbose_name = _("kiosk")
        verbose_name_plural = _("kiosks")
        ordering = ("site__code", "code")
        constraints = (models.UniqueConstraint(fields=("site", "code"), name="kiosk_code_per_site"),)

    def __str__(self) -> str:
        return f"{self.site.code}/{self.code}"


class Profile(models.Model):
    """Where a user works: one township, or a whole county (its townships), or nothing (no data)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, models.CASCADE, related_name="township_profile")
    county = models.ForeignKey(County, models.CASCADE, null=True, blank=True, verbose_name=_("county"))
    township = models.ForeignKey(Township, models.CASCADE, null=True, blank=True, verbose_name=_("township"))

    class Meta:
        verbose_name = _("user scope")
        verbose_name_plural = _("user scopes")


class Disposition(models.TextChoices):
    REMEASURED_NORMAL = "remeasured_normal", _("re-measured normal")
    FEVER_CLINIC = "fever_clinic", _("sent to the fever clinic")
    LEFT = "left", _("left the site")
    FALSE_ALARM = "false_alarm", _("false alarm")
    OTHER = "other", _("other")


class Alert(models.Model):
    """One alert event and what the office did about it (created by the ingester, state 'open')."""

    township = models.CharField(max_length=64)
    site = models.CharField(max_length=64)
    kiosk = models.CharField(max_length=64)
    event_id = models.CharField(max_length=80)
    day = models.DateField()
    at = models.DateTimeField()
    received_at = models.DateTimeField()
    decision = models.CharField(max_length=8, db_default="STOP")
    reasons = models.JSONField(db_default=models.Value([], models.JSONField()))
    temperature_c = models.FloatField(null=True)
    name = models.CharField(max_length=40, null=True)
    policy_version = models.CharField(max_length=40, null=True)
    state = models.CharField(max_length=12, db_default="open")  # open → acknowledged → closed
    acknowledged_at = models.DateTimeField(null=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+")
    closed_at = models.DateTimeField(null=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+")
    disposition = models.CharField(_("disposition"), max_length=24, choices=Disposition.choices, db_default="")
    clinical_c = models.FloatField(_("clinical reading (°C)"), null=True)
    note = models.CharField(_("note"), max_length=200, db_default="")

    class Meta:
        constraints = (models.UniqueConstraint(fields=("township", "site", "kiosk", "event_id"), name="alert_once"),)
        indexes = (models.Index(fields=("state", "township")), models.Index(fields=("township", "kiosk", "closed_at")))
        permissions = (("ack_alert", "Acknowledge and close alerts"),)


class AuditLog(models.Model):
    """Every unseal, export, alert closed and policy pushed: who, when, what (never the unsealed id)."""

    at = models.DateTimeField(auto_now_add=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+")
    action = models.CharField(max_length=24)
    township = models.CharField(max_length=64, blank=True)
    target = models.CharField(max_length=200, blank=True)
    detail = models.JSONField(default=dict)

    class Meta:
        ordering = ("-at",)
        indexes = (models.Index(fields=("action", "at")),)
        permissions = (("unseal_subject", "Unseal subject ids"), ("export_report", "Export reports"))


class PolicyPush(models.Model):
    township = models.ForeignKey(Township, models.CASCADE)
    version = models.BigIntegerField()
    topic = models.CharField(max_length=200)
    payload = models.JSONField()
    pushed_at = models.DateTimeField(auto_now_add=True)
    pushed_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+")
    # Recorded (and audited) before it is published: a push that fails says so instead of vanishing.
    state = models.CharField(max_length=12, default="publishing")  # publishing → published | failed
    error = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        ordering = ("-version",)
        permissions = (("push_policy", "Sign and push policies"),)
