"""Who sees what: a county user sees its townships, a township user only its own sites."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from township.console.models import Profile, Site, Township


def townships(user: Any) -> QuerySet[Township]:
    if not getattr(user, "is_authenticated", False):
        return Township.objects.none()
    if user.is_superuser:
        return Township.objects.all()
    profile = Profile.objects.filter(user=user).select_related("township", "county").first()
    if profile is None:
        return Township.objects.none()
    if profile.township_id:
        return Township.objects.filter(pk=profile.township_id)
    if profile.county_id:
        return Township.objects.filter(county_id=profile.county_id)
    return Township.objects.none()


def codes(user: Any) -> list[str]:
    return list(townships(user).values_list("code", flat=True))


def sites(user: Any) -> QuerySet[Site]:
    return Site.objects.filter(township__in=townships(user)).select_related("township").prefetch_related("kiosks")


def may_see(user: Any, township: str) -> bool:
    return township in codes(user)
