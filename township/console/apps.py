"""The console's Django app: on every migrate, the four roles exist with their permissions."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ConsoleConfig(AppConfig):
    name = "township.console"
    label = "console"
    verbose_name = "Township console"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        post_migrate.connect(_roles, sender=self)


def _roles(sender: Any, **kwargs: Any) -> None:
    from township.console.roles import ensure_roles

    ensure_roles(using=kwargs.get("using", "default"))
