"""Who sees what: a county user sees its townships, a township user only its own sites.

Every page, every endpoint and the admin go through these functions; nothing else decides
which township's data a user may read or change.  A superuser sees everything.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db.models import Q, QuerySet

from township.console.models import County, Profile, Site, Township


def _profile(user: Any) -> Profile | None:
    return Profile.objects.filter(user=user).select_related("township", "county").first()


def townships(user: Any) -> QuerySet[Township]:
    if not getattr(user, "is_authenticated", False):
        return Township.objects.none()
    if user.is_superuser:
        return Township.objects.all()
    profile = _profile(user)
    if profile is None:
        return Township.objects.none()
    if profile.township_id:
        return Township.objects.filter(pk=profile.township_id)
    if profile.county_id:
        return Township.objects.filter(county_id=profile.county_id)
    return Township.objects.none()


def counties(user: Any) -> QuerySet[County]:
    """The counties a user works for as a whole (a county-level scope); a township user has none."""
    if not getattr(user, "is_authenticated", False):
        return County.objects.none()
    if user.is_superuser:
        return County.objects.all()
    profile = _profile(user)
    if profile is None or profile.township_id or not profile.county_id:
        return County.objects.none()
    return County.objects.filter(pk=profile.county_id)


def codes(user: Any) -> list[str]:
    return list(townships(user).values_list("code", flat=True))


def sites(user: Any) -> QuerySet[Site]:
    return Site.objects.filter(township__in=townships(user)).select_related("township").prefetch_related("kiosks")


def may_see(user: Any, township: str) -> bool:
    return township in codes(user)


def _held(user: Any) -> QuerySet[Permission]:
    return Permission.objects.filter(Q(group__user=user) | Q(user=user)).distinct()


def roles(user: Any) -> QuerySet[Group]:
    """The roles (groups) a user may hand on: those granting nothing it does not hold itself."""
    if getattr(user, "is_superuser", False):
        return Group.objects.all()
    return Group.objects.exclude(permissions__in=Permission.objects.exclude(pk__in=_held(user)))


def users(user: Any) -> QuerySet[Any]:
    """The users inside `user`'s scope: placed in one of its townships, or in a county it works for.

    Superusers are never in anyone's scope but a superuser's; a user with no place is nobody's.
    """
    from django.contrib.auth import get_user_model

    model = get_user_model()
    if getattr(user, "is_superuser", False):
        return model.objects.all()
    if not getattr(user, "is_authenticated", False):
        return model.objects.none()
    placed = Q(township_profile__township__in=townships(user)) | Q(township_profile__county__in=counties(user))
    return model.objects.filter(placed, is_superuser=False).distinct()


def may_manage(user: Any, other: Any) -> bool:
    """`user` may change `other`: in its scope, not a superuser, and allowed nothing `user` is not."""
    if getattr(user, "is_superuser", False):
        return True
    if other is None or other.is_superuser or not users(user).filter(pk=other.pk).exists():
        return False
    return not _held(other).exclude(pk__in=_held(user)).exists()
