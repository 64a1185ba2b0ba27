"""Users in the admin, scoped: an admin manages users of its own townships and hands on only its own roles.

A superuser gets Django's full user admin.  Anyone else with the admin role sees the users placed
in its townships (or county), never a superuser; it may change a user only if that user holds no
role it lacks itself (else it could take over a privacy officer's account by resetting the
password); its form has no `is_superuser`, `is_staff` or `user_permissions`, its role choices are
the roles it holds, and the user's place (the scope inline) is one of its townships or its county.
`is_staff` follows the admin role.  Roles it may not grant are kept as they were on save.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import Group
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from township.console import scope
from township.console.models import Profile


class ProfileForm(forms.ModelForm):
    class Meta:
        model = Profile
        fields = ("township", "county")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("township") and data.get("county"):
            raise forms.ValidationError(_("A user works for one township or for a whole county, not both."))
        return data


class ProfileInline(admin.StackedInline):
    model = Profile
    form = ProfileForm
    can_delete = False
    max_num = 1
    verbose_name = verbose_name_plural = _("user scope")

    def get_min_num(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> int:
        return 0 if request.user.is_superuser else 1  # an admin's new user lands inside its own scope

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if not request.user.is_superuser:
            if db_field.name == "township":
                kwargs["queryset"] = scope.townships(request.user)
            elif db_field.name == "county":
                kwargs["queryset"] = scope.counties(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)
        if not request.user.is_superuser:
            formset.clean = _placed_clean(formset.clean)
        return formset


def _placed_clean(original: Any) -> Any:
    def clean(self: Any) -> None:
        original(self)
        for form in self.forms:
            data = getattr(form, "cleaned_data", {}) or {}
            if not (data.get("township") or data.get("county")):
                raise forms.ValidationError(_("Place the user in one of your townships (or your county)."))
    return clean


class ScopedUserAdmin(UserAdmin):
    inlines = (ProfileInline,)
    list_display = ("username", "first_name", "last_name", "is_active", "is_staff")
    list_filter = ("is_active", "groups")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).filter(pk__in=scope.users(request.user))

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        if request.user.is_superuser:
            return super().get_fieldsets(request, obj)
        if obj is None:
            return ((None, {"classes": ("wide",), "fields": ("username", "password1", "password2")}),
                    (_("Roles"), {"fields": ("groups",)}))
        return ((None, {"fields": ("username", "password")}),
                (_("Personal info"), {"fields": ("first_name", "last_name", "email")}),
                (_("Roles"), {"fields": ("is_active", "groups")}))

    def get_list_filter(self, request: HttpRequest) -> Any:
        return self.list_filter if request.user.is_superuser else ("is_active",)

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "groups" and not request.user.is_superuser:
            kwargs["queryset"] = scope.roles(request.user)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and (obj is None or scope.may_manage(request.user, obj))

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and (obj is None or scope.may_manage(request.user, obj))

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        user = form.instance
        kept: list[Group] = []
        if not request.user.is_superuser and change:  # roles this admin may not grant stay as they were
            kept = list(user.groups.exclude(pk__in=scope.roles(request.user)))
        super().save_related(request, form, formsets, change)
        if not request.user.is_superuser:
            chosen = user.groups.filter(pk__in=scope.roles(request.user))
            user.groups.set([*chosen, *kept])
            staff = user.groups.filter(name="admin").exists()
            if user.is_staff != staff:
                user.is_staff = staff
                user.save(update_fields=["is_staff"])


def register_users(site: admin.AdminSite) -> None:
    model = get_user_model()
    if site.is_registered(model):
        site.unregister(model)
    site.register(model, ScopedUserAdmin)
