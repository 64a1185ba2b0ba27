"""Township isolation, in the admin and on every page: a township's admin sees and changes only its
own township, cannot widen its scope, make itself superuser, or hand on a role it lacks.

Django's test client with CSRF enforced, forms read from the pages and posted back; a real
PostgreSQL (the session cluster)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import pytest

from tests.township.web import forms, login, submit
from township.ingest import PgEventStore
from township.store import Incoming

NOON = 1_764_043_200.0  # 2025-11-25 12:00 Asia/Shanghai


@dataclass
class World:
    ids: dict[str, int]
    dsn: str


def _user(name: str, roles: list[str], *, township: Any = None, county: Any = None, superuser: bool = False) -> Any:
    from django.contrib.auth.models import Group, User

    from township.console.models import Profile

    user = User.objects.create_user(name, password=f"{name}-pass-1", is_staff="admin" in roles or superuser,
                                    is_superuser=superuser)
    user.groups.set(Group.objects.filter(name__in=roles))
    if township or county:
        Profile.objects.create(user=user, township=township, county=county)
    return user


@pytest.fixture(scope="module")
def world(console_db: str) -> World:
    from township.console.models import AuditLog, County, Kiosk, Site, Township

    c1, c2 = County.objects.create(code="c1", name="一县"), County.objects.create(code="c2", name="二县")
    ta = Township.objects.create(code="ta", name="甲镇", county=c1)
    tb = Township.objects.create(code="tb", name="乙镇", county=c1)
    tc = Township.objects.create(code="tc", name="丙镇", county=c2)
    sa = Site.objects.create(township=ta, code="site-a", name="甲超市", responsible="李*华", phone="13800000001")
    sb = Site.objects.create(township=tb, code="site-b", name="乙银行", responsible="王*芳", phone="13800000002")
    Kiosk.objects.create(site=sa, code="kiosk-1")
    kb = Kiosk.objects.create(site=sb, code="kiosk-1")
    users = {"admin_a": _user("admin_a", ["admin", "operator"], township=ta),
             "county": _user("county", ["admin", "operator", "viewer"], county=c1),
             "priv_a": _user("priv_a", ["privacy"], township=ta),
             "viewer_a": _user("viewer_a", ["viewer"], township=ta),
             "priv_b": _user("priv_b", ["privacy", "viewer"], township=tb),
             "root": _user("root", [], superuser=True)}
    AuditLog.objects.create(action="export", township="ta", target="a-export")
    AuditLog.objects.create(action="unseal", township="tb", target="b-unseal")
    with PgEventStore(console_db) as store:
        for t, s in (("ta", "site-a"), ("tb", "site-b")):
            body = {"event_id": f"alert-{t}", "at": NOON, "decision": "STOP", "reasons": ["fever"], "alert": True,
                    "temperature_c": 38.2, "name": f"{t}*名", "sid_sealed": "S1.xyz"}
            store.add_many([Incoming(t, s, "kiosk-1", "alert", json.dumps(body).encode(), NOON + 1),
                            Incoming(t, s, "kiosk-1", "status", b"online", NOON + 1)])
    return World({"c1": c1.pk, "c2": c2.pk, "ta": ta.pk, "tb": tb.pk, "tc": tc.pk, "site-a": sa.pk,
                  "site-b": sb.pk, "kiosk-b": kb.pk, **{k: u.pk for k, u in users.items()}}, console_db)


def client_for(name: str) -> Any:
    from django.test import Client

    c = Client(enforce_csrf_checks=True)
    assert login(c, name, f"{name}-pass-1").status_code == 302
    return c


def test_a_township_admin_sees_only_its_own_sites_kiosks_townships_and_audit_rows(world: World) -> None:
    c = client_for("admin_a")
    sites = c.get("/admin/console/site/").content.decode()
    assert "甲超市" in sites and "乙银行" not in sites and "乙镇" not in sites  # not even in the filter
    assert c.get(f"/admin/console/site/{world.ids['site-b']}/change/").status_code == 302  # "does not exist"
    assert c.get(f"/admin/console/kiosk/{world.ids['kiosk-b']}/change/").status_code == 302
    towns = c.get("/admin/console/township/").content.decode()
    assert "甲镇" in towns and "乙镇" not in towns and "丙镇" not in towns
    audit = c.get("/admin/console/auditlog/").content.decode()
    assert "a-export" in audit and "b-unseal" not in audit
    users = c.get("/admin/auth/user/").content.decode()
    listed = {name for name in ("viewer_a", "priv_a", "priv_b", "root", "county")
              if f'/admin/auth/user/{world.ids[name]}/change/"' in users}
    assert listed == {"viewer_a", "priv_a"}


def test_a_township_admin_cannot_widen_its_scope_nor_make_itself_superuser(world: World) -> None:
    from django.contrib.auth.models import User

    c = client_for("admin_a")
    me = world.ids["admin_a"]
    form = forms(c.get(f"/admin/auth/user/{me}/change/").content.decode())
    names = {n for f in form for n in f["fields"]}
    assert not {"is_superuser", "is_staff", "user_permissions"} & names
    answer = submit(c, f"/admin/auth/user/{me}/change/", {"is_superuser": "on", "user_permissions": ["1", "2"],
                                                          "township_profile-0-township": str(world.ids["tb"])})
    assert answer.status_code == 200  # the form again: tB is not a choice
    answer = submit(c, f"/admin/auth/user/{me}/change/", {"is_superuser": "on",
                                                          "township_profile-0-township": "",
                                                          "township_profile-0-county": str(world.ids["c1"])})
    assert answer.status_code == 200  # nor is the county
    answer = submit(c, f"/admin/auth/user/{me}/change/", {"is_superuser": "on", "is_staff": "on",
                                                          "first_name": "甲"})
    assert answer.status_code == 302  # what it may change, it changes ...
    user = User.objects.get(pk=me)
    assert user.first_name == "甲" and not user.is_superuser and not user.user_permissions.exists()  # ... nothing more
    assert user.township_profile.township_id == world.ids["ta"] and user.township_profile.county_id is None
    assert c.get("/admin/console/profile/").status_code == 404  # scopes are edited with their users only


def test_a_township_admin_adds_users_only_in_its_township_and_with_its_own_roles(world: World) -> None:
    from django.contrib.auth.models import Group, User

    c = client_for("admin_a")
    privacy, viewer, admin = (str(Group.objects.get(name=n).pk) for n in ("privacy", "viewer", "admin"))
    base = {"username": "new_b", "password1": "a-long-pass-77", "password2": "a-long-pass-77"}
    page = c.get("/admin/auth/user/add/").content.decode()
    assert "乙镇" not in page and f'value="{privacy}"' not in page
    for changes in ({"township_profile-0-township": str(world.ids["tb"])},  # another township
                    {"township_profile-0-county": str(world.ids["c1"])},  # the county
                    {"groups": [privacy], "township_profile-0-township": str(world.ids["ta"])},  # a role it lacks
                    {"township_profile-0-township": ""}):  # nowhere: a user it could no longer see
        assert submit(c, "/admin/auth/user/add/", base | changes).status_code == 200, changes
        assert not User.objects.filter(username="new_b").exists()
    answer = submit(c, "/admin/auth/user/add/", base | {"username": "new_a", "groups": [viewer, admin],
                                                       "township_profile-0-township": str(world.ids["ta"])})
    assert answer.status_code == 302
    new = User.objects.get(username="new_a")
    assert new.township_profile.township_id == world.ids["ta"] and not new.is_superuser
    assert sorted(new.groups.values_list("name", flat=True)) == ["admin", "viewer"] and new.is_staff


def test_a_township_admin_cannot_take_over_a_user_holding_a_role_it_lacks(world: World) -> None:
    from django.contrib.auth.models import User

    c = client_for("admin_a")
    priv = world.ids["priv_a"]
    assert "priv_a" in c.get("/admin/auth/user/").content.decode()  # it may see the privacy officer ...
    page = c.get(f"/admin/auth/user/{priv}/change/")
    assert page.status_code == 200 and not [f for f in forms(page.content.decode())
                                            if f["attrs"].get("id") == "user_form" and "username" in f["fields"]]
    assert c.get(f"/admin/auth/user/{priv}/password/").status_code == 403  # ... but not reset its password
    assert c.post(f"/admin/auth/user/{priv}/password/", {"password1": "x-long-pass-88",
                                                         "password2": "x-long-pass-88"}).status_code == 403
    assert User.objects.get(pk=priv).check_password("priv_a-pass-1")
    assert c.get(f"/admin/auth/user/{world.ids['priv_b']}/change/").status_code == 302  # another township's


def test_sites_and_kiosks_stay_in_the_admins_township(world: World) -> None:
    from township.console.models import Kiosk, Site

    c = client_for("admin_a")
    base = {"name": "新场所", "code": "site-new", "responsible": "赵*强", "phone": "1", "deadline": "09:00:00",
            "kiosks-TOTAL_FORMS": "0"}
    assert submit(c, "/admin/console/site/add/", base | {"township": str(world.ids["tb"])}).status_code == 200
    assert not Site.objects.filter(code="site-new").exists()
    assert submit(c, "/admin/console/site/add/", base | {"township": str(world.ids["ta"])}).status_code == 302
    kiosk_form = c.get("/admin/console/kiosk/add/").content.decode()
    assert "site-b" not in kiosk_form and "乙银行" not in kiosk_form
    answer = submit(c, "/admin/console/kiosk/add/", {"site": str(world.ids["site-b"]), "code": "k9"})
    assert answer.status_code == 200 and not Kiosk.objects.filter(code="k9").exists()


def test_townships_are_added_by_their_county_and_counties_by_a_superuser(world: World) -> None:
    from township.console.models import Township

    a = client_for("admin_a")
    assert a.get("/admin/console/township/add/").status_code == 403
    assert a.get(f"/admin/console/township/{world.ids['ta']}/change/").status_code == 200  # read-only
    assert submit(a, f"/admin/console/township/{world.ids['ta']}/change/", {"county": str(world.ids["c2"])},
                  form_id=None).status_code == 403
    county = client_for("county")
    assert submit(county, "/admin/console/township/add/", {"code": "td", "name": "丁镇",
                                                           "county": str(world.ids["c2"])}).status_code == 200
    assert submit(county, "/admin/console/township/add/", {"code": "td", "name": "丁镇",
                                                           "county": str(world.ids["c1"])}).status_code == 302
    assert Township.objects.get(code="td").county_id == world.ids["c1"]
    assert county.get("/admin/console/county/add/").status_code == 403
    assert "乙银行" in county.get("/admin/console/site/").content.decode()  # the county sees its townships


def test_every_page_shows_a_township_only_its_own(world: World) -> None:
    from django.test import Client

    from tests.township.web import csrf

    c = client_for("viewer_a")
    for url in ("/", "/today/table/", "/alerts/", "/alerts/popup/", "/kiosks/", "/reports/",
                "/search/?from=2025-11-25&to=2025-11-25", "/policy/"):
        page = c.get(url).content.decode()
        assert "tb*名" not in page and "乙银行" not in page and "site-b" not in page and 'value="tb"' not in page, url
    assert "ta*名" in c.get("/search/?from=2025-11-25&to=2025-11-25").content.decode()
    priv = client_for("priv_a")
    answer = priv.post("/search/unseal/", {"day": "2025-11-25", "township": "tb", "site": "site-b",
                                           "kiosk": "kiosk-1", "event_id": "alert-tb"}, HTTP_X_CSRFTOKEN=csrf(priv))
    assert answer.status_code == 403
    alert_b = __import__("township.console.models", fromlist=["Alert"]).Alert.objects.get(township="tb")
    op = client_for("admin_a")
    assert op.post(f"/alerts/{alert_b.pk}/ack/", HTTP_X_CSRFTOKEN=csrf(op)).status_code == 404
    assert Client().get("/").status_code == 302 and Client().get("/alerts/popup/").status_code == 302
    assert dt.date.today()  # the pages above answered without error for a scoped user
