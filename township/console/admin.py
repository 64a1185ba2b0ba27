"""The admin, scoped: counties, townships, sites (responsible person, phone, deadline), kiosks, users, the audit log.

A township's admin (the `admin` role, `is_staff`) sees and edits only its own township: every
list is filtered and every choice of a township, site or county is limited by `scope`; an
object outside its scope is "not found".  Townships are added and edited by county-level
admins (inside their county) and superusers; counties by superusers.  Users: `useradmin`.
The audit log is read-only, each township's own.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from township.console import scope
from township.console.models import AuditLog, County, Kiosk, Site, Township
from township.console.useradmin import register_users


def _choices(model: type[Model], request: HttpRequest) -> QuerySet[Any] | None:
    """What a user may pick for a foreign key to `model` (None: no limit)."""
    if model is Township:
        return scope.townships(request.user)
    if model is Site:
        return Site.objects.filter(township__in=scope.townships(request.user))
    if model is County:
        return scope.counties(request.user)
    return None


class ScopedAdmin(admin.ModelAdmin):
    """Rows and foreign-key choices limited to the user's townships; superusers see all.

    `township_path` is the lookup from the model to its Township ("" for Township itself).
    """

    township_path = "township"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        lookup = f"{self.township_path}__in" if self.township_path else "pk__in"
        return qs.filter(**{lookup: scope.townships(request.user)})

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if not request.user.is_superuser:
            limited = _choices(db_field.related_model, request)
            if limited is not None:
                kwargs["queryset"] = limited
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class KioskInline(admin.TabularInline):
    model = Kiosk
    extra = 1


@admin.register(Site)
class SiteAdmin(ScopedAdmin):
    list_display = ("name", "code", "township", "responsible", "phone", "deadline", "time_zone")
    list_filter = (("township", admin.RelatedOnlyFieldListFilter),)  # only townships in the list: no names leak
    search_fields = ("name", "code", "responsible")
    inlines = (KioskInline,)


@admin.register(Kiosk)
class KioskAdmin(ScopedAdmin):
    township_path = "site__township"
    list_display = ("code", "site", "note")
    list_filter = (("site", admin.RelatedOnlyFieldListFilter),)


@admin.register(Township)
class TownshipAdmin(ScopedAdmin):
    """A township's own admin reads it; changing its id or county is for the county (or a superuser)."""

    township_path = ""
    list_display = ("name", "code", "county")

    def _county_level(self, request: HttpRequest, obj: Township | None) -> bool:
        if request.user.is_superuser:
            return True
        mine = scope.counties(request.user)
        return mine.exists() and (obj is None or mine.filter(pk=obj.county_id).exists())

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and self._county_level(request, None)

    def has_change_permission(self, request: HttpRequest, obj: Township | None = None) -> bool:
        return super().has_change_permission(request, obj) and self._county_level(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Township | None = None) -> bool:
        return super().has_delete_permission(request, obj) and self._county_level(request, obj)


@admin.register(County)
class CountyAdmin(admin.ModelAdmin):
    """Read by the county's users; added and changed by superusers only."""

    list_display = ("name", "code")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(pk__in=[t.county_id for t in scope.townships(request.user) if t.county_id])

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_change_permission(self, request: HttpRequest, obj: County | None = None) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj: County | None = None) -> bool:
        return request.user.is_superuser


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    """Read-only, and each township reads only its own rows."""

    list_display = ("at", "user", "action", "township", "target")
    list_filter = ("action",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        qs = super().get_queryset(request)
        return qs if request.user.is_superuser else qs.filter(township__in=scope.codes(request.user))

    def has_add_permission(self, *_: object) -> bool:
        return False

    def has_change_permission(self, *_: object) -> bool:
        return False  # an audit log is read, never edited

    def has_delete_permission(self, *_: object) -> bool:
        return False


register_users(admin.site)
admin.site.site_header = "乡镇入口筛查 Township checkpoints"
