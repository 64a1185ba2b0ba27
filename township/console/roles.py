"""The four roles, as Django groups: made (or completed) after every migrate.

    viewer    sees its township's pages, exports reports
    operator  + acknowledges and closes alerts
    admin     + signs and pushes policies, edits sites/kiosks/users in the admin (give is_staff)
    privacy   unseals subject ids (on its own or beside another role); every unseal is audited
"""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission

ROLES: dict[str, tuple[str, ...]] = {
    "viewer": ("export_report",),
    "operator": ("export_report", "ack_alert"),
    "admin": ("export_report", "ack_alert", "push_policy",
              "add_site", "change_site", "delete_site", "view_site",
              "add_kiosk", "change_kiosk", "delete_kiosk", "view_kiosk",
              "add_township", "change_township", "view_township", "view_county",
              "add_profile", "change_profile", "view_profile", "view_auditlog", "view_alert",
              "auth.add_user", "auth.change_user", "auth.view_user", "auth.view_group"),
    "privacy": ("unseal_subject",),
}


def ensure_roles(using: str = "default") -> None:
    for name, codenames in ROLES.items():
        group, _ = Group.objects.using(using).get_or_create(name=name)
        perms = []
        for code in codenames:
            app, _, codename = code.rpartition(".")
            perms += list(Permission.objects.using(using).filter(content_type__app_label=app or "console",
                                                                 codename=codename))
        group.permissions.add(*perms)
