"""The admin: counties, townships, sites (responsible person, phone, deadline), kiosks, user scopes."""

from __future__ import annotations

from django.contrib import admin

from township.console.models import AuditLog, County, Kiosk, Profile, Site, Township


class KioskInline(admin.TabularInline):
    model = Kiosk
    extra = 1


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "township", "responsible", "phone", "deadline")
    list_filter = ("township",)
    search_fields = ("name", "code", "responsible")
    inlines = (KioskInline,)


@admin.register(Township)
class TownshipAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "county")


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "county", "township")


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    list_display = ("at", "user", "action", "township", "target")
    list_filter = ("action",)

    def has_change_permission(self, *_: object) -> bool:
        return False  # an audit log is read, never edited

    def has_delete_permission(self, *_: object) -> bool:
        return False


admin.site.register(County)
admin.site.register(Kiosk)
admin.site.site_header = "乡镇入口筛查 Township checkpoints"
