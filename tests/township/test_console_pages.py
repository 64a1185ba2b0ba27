"""The console's pages and endpoints with Django's test client (CSRF enforced) on a real PostgreSQL fed
through the real ingester (`PgEventStore`), and for policy pushes a real mosquitto:

* kiosk strings cannot rewrite the unseal request; a bad day is a 400, not a 500;
* a malformed summary or health report breaks no page; reports count registered kiosks and say
  待上报 before the deadline; days and deadlines follow the site's zone, a kiosk in another is flagged;
* alerts name the site, its responsible person and phone; closing needs the clinical reading for
  the fever clinic and a note for "other", and happens once;
* the export is an audited POST; each township signs with its own key, a loose key is refused;
  a push is recorded and audited before it is published; the diff is against what the kiosks run.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.mosquitto import Broker, Subscriber, broker, wait_until
from tests.township.web import csrf, forms, login
from township.ingest import PgEventStore
from township.store import Incoming

__all__ = ["broker"]

ZONE = ZoneInfo("Asia/Shanghai")
DAY = dt.date(2026, 11, 24)
NOON = dt.datetime.combine(DAY, dt.time(12), ZONE).timestamp()


@dataclass
class World:
    dsn: str
    keys: Path
    ids: dict[str, int]


def feed(dsn: str, *items: Incoming) -> None:
    with PgEventStore(dsn) as store:
        store.add_many(list(items))


def msg(site: str, kind: str, body: dict[str, Any], at: float = NOON, township: str = "t1",
        kiosk: str = "kiosk-1") -> Incoming:
    return Incoming(township, site, kiosk, kind, json.dumps(body).encode(), at)


@pytest.fixture(scope="module")
def world(console_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    from django.contrib.auth.models import Group, User

    from township.console.models import Kiosk, Profile, Site, Township
    from township.keys import generate

    keys = tmp_path_factory.mktemp("keys")
    t1 = Township.objects.create(code="t1", name="一镇")
    t2 = Township.objects.create(code="t2", name="二镇")
    ids: dict[str, int] = {}
    for township, code, name, zone in ((t1, "site-a", "甲超市", ""), (t1, "site-b", "乙银行", ""),
                                       (t1, "site-w", "西站", "Asia/Urumqi"), (t2, "site-x", "丙店", "")):
        site = Site.objects.create(township=township, code=code, name=name, responsible=f"{name}*人",
                                   phone=f"138{len(ids):08d}", time_zone=zone)
        Kiosk.objects.create(site=site, code="kiosk-1")
        ids[code] = site.pk
    for name, roles in (("boss", ["admin", "operator", "privacy"]), ("op", ["operator"]), ("viewer", ["viewer"])):
        user = User.objects.create_user(name, password=f"{name}-pass-1", is_staff="admin" in roles)
        user.groups.set(Group.objects.filter(name__in=roles))
        Profile.objects.create(user=user, township=t1)
    generate(keys / "t1")
    generate(keys / "t2")
    from django.test.utils import override_settings

    with override_settings(TOWNSHIP_KEYS_DIR=str(keys)):
        yield World(console_db, keys, ids)


def client(name: str) -> Any:
    from django.test import Client

    c = Client(enforce_csrf_checks=True)
    assert login(c, name, f"{name}-pass-1").status_code == 302
    return c


class _Buttons(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.values: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "button" and "unseal" in (a.get("class") or ""):
            self.values.append(a.get("hx-vals") or "")


def test_a_kiosk_string_cannot_rewrite_the_unseal_request(world: World) -> None:
    import psycopg

    evil = 'x", "township": "t2", "site": "site-x", "event_id": "y'
    feed(world.dsn, msg("site-a", "entry", {"event_id": "plain-1", "at": NOON, "decision": "PASS",
                                             "sid_sealed": "S1.abc"}))
    with psycopg.connect(world.dsn, autocommit=True) as con:  # what a store that took any event id held
        con.execute("UPDATE feed_entry SET event_id = %s WHERE event_id = 'plain-1'", (evil,))
    page = client("boss").get(f"/search/?from={DAY}&to={DAY}&site=site-a").content.decode()
    parser = _Buttons()
    parser.feed(page)  # the attribute as the browser decodes it
    (values,) = [json.loads(v) for v in parser.values if evil.split('"')[0] in v]
    assert values == {"day": DAY.isoformat(), "township": "t1", "site": "site-a", "kiosk": "kiosk-1",
                      "event_id": evil}


def test_unsealing_with_a_bad_day_is_refused_not_a_server_error(world: World) -> None:
    c = client("boss")
    answer = c.post("/search/unseal/", {"day": "yesterday", "township": "t1", "site": "site-a", "kiosk": "kiosk-1",
                                        "event_id": "e"}, HTTP_X_CSRFTOKEN=csrf(c))
    assert answer.status_code == 400


def test_a_malformed_summary_or_health_report_breaks_no_page(world: World) -> None:
    feed(world.dsn,
         msg("site-b", "daily", {"event_id": "d-bad", "at": NOON + 86_400, "day": DAY.isoformat(), "visitors": "12",
                                 "alerts": -3, "decisions": {"PASS": "three", "STOP": []},
                                 "reasons": {"fever": "x", "code_red": 2}, "in_service_s": "all day"}),
         msg("site-b", "health", {"event_id": "h-bad", "at": NOON, "sensor": "ok", "camera": [1], "outbox": [],
                                  "calibration": "x", "clock_synced": "yes", "dropped": "lots",
                                  "policy_version": {"v": 1}}))
    c = client("boss")
    for url in ("/", f"/?day={DAY}", f"/today/table/?day={DAY}", f"/reports/?kind=day&day={DAY}",
                f"/reports/?kind=month&day={DAY}", "/kiosks/", "/kiosks/table/"):
        assert c.get(url).status_code == 200, url
    answer = c.post("/reports/xlsx/", {"kind": "day", "day": DAY.isoformat()}, HTTP_X_CSRFTOKEN=csrf(c))
    assert answer.status_code == 200 and answer.content[:2] == b"PK"


def _line(data: dict[str, Any], site: str) -> Any:
    return next(line for line in data["lines"] if line.site == site)


def test_reports_count_registered_kiosks_and_say_due_later_before_the_deadline(world: World) -> None:
    from township.console import reports
    from township.console.daily import site_days
    from township.console.models import Site

    day = DAY - dt.timedelta(days=3)
    # site-a's registered kiosk-1 is silent; an unregistered kiosk-9 at the site reports
    feed(world.dsn, msg("site-a", "daily", {"event_id": "d-k9", "at": NOON, "day": day.isoformat(), "visitors": 5,
                                             "alerts": 0, "decisions": {"PASS": 5, "STOP": 0}, "reasons": {}},
                        kiosk="kiosk-9"))
    sites = list(Site.objects.filter(code="site-a").select_related("township").prefetch_related("kiosks"))
    deadline = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(9), ZONE)
    before, after = deadline - dt.timedelta(minutes=5), deadline + dt.timedelta(minutes=5)
    early, late = _line(reports.report(sites, day, day, now=before), "site-a"), \
        _line(reports.report(sites, day, day, now=after), "site-a")
    assert (early.reported, early.pending, early.missing, early.visitors) == (0, 1, 0, 0)
    assert (late.reported, late.pending, late.missing, late.visitors) == (0, 0, 1, 0)
    assert [d.status for d in site_days(sites, day, before)] == ["pending"]  # the Today page says the same
    assert [d.status for d in site_days(sites, day, after)] == ["missing"]


def test_days_and_deadlines_follow_the_sites_zone_and_a_kiosk_in_another_zone_is_flagged(world: World) -> None:
    from township.console.daily import site_days
    from township.console.models import Site

    west = Site.objects.select_related("township").prefetch_related("kiosks").get(code="site-w")
    feed(world.dsn, msg("site-w", "daily", {"event_id": "d-w", "at": NOON, "day": DAY.isoformat(), "visitors": 3,
                                             "alerts": 0, "timezone": "UTC", "decisions": {"PASS": 3, "STOP": 0},
                                             "reasons": {}}))
    (row,) = site_days([west], DAY, dt.datetime.now(ZONE))
    assert row.deadline_at == dt.datetime(2026, 11, 25, 9, 0, tzinfo=ZoneInfo("Asia/Urumqi"))
    assert row.zone_mismatch == ["kiosk-1 (UTC)"]
    page = client("viewer").get(f"/?day={DAY}").content.decode()
    assert "kiosk-1 (UTC)" in page


def test_alerts_name_the_site_its_responsible_person_and_phone(world: World) -> None:
    feed(world.dsn, msg("site-b", "alert", {"event_id": "a-names", "at": NOON, "decision": "STOP",
                                             "reasons": ["fever"], "temperature_c": 38.3, "alert": True}))
    c = client("op")
    for url in ("/alerts/", "/alerts/popup/", "/"):
        page = c.get(url).content.decode()
        assert "乙银行" in page and "乙银行*人" in page and "13800000001" in page, url


def test_closing_needs_a_reading_for_the_clinic_a_note_for_other_and_happens_once(world: World) -> None:
    from township.console.models import Alert, AuditLog

    feed(world.dsn, msg("site-a", "alert", {"event_id": "a-close", "at": NOON, "decision": "STOP",
                                             "reasons": ["fever"], "temperature_c": 38.0, "alert": True}))
    alert = Alert.objects.get(event_id="a-close")
    c = client("op")

    def close(**fields: str) -> Any:
        return c.post(f"/alerts/{alert.pk}/close/", fields, HTTP_X_CSRFTOKEN=csrf(c))

    assert 'id="close-error"' in close(disposition="fever_clinic").content.decode()
    assert 'id="close-error"' in close(disposition="other").content.decode()
    alert.refresh_from_db()
    assert alert.state == "open"
    assert close(disposition="fever_clinic", clinical_c="38.4").status_code == 200
    again = close(disposition="false_alarm", note="overwrite")
    assert 'id="close-error"' in again.content.decode()  # "already closed", in the page's language
    alert.refresh_from_db()
    assert (alert.state, alert.disposition, alert.clinical_c, alert.note) == ("closed", "fever_clinic", 38.4, "")
    assert AuditLog.objects.filter(action="close_alert", target__endswith="a-close").count() == 1


def test_the_export_is_an_audited_post_one_row_per_township(world: World) -> None:
    from township.console.models import AuditLog

    c = client("viewer")
    before = AuditLog.objects.filter(action="export").count()
    assert c.get(f"/reports/xlsx/?kind=day&day={DAY}").status_code == 405  # a GET changes nothing
    assert c.post("/reports/xlsx/", {"kind": "day", "day": DAY.isoformat()}).status_code == 403  # no CSRF token
    assert AuditLog.objects.filter(action="export").count() == before
    page = c.get(f"/reports/?kind=day&day={DAY}").content.decode()
    (export,) = [f for f in forms(page) if f["attrs"].get("action") == "/reports/xlsx/"]
    answer = c.post("/reports/xlsx/", {k: v[0] for k, v in export["fields"].items()})
    assert answer.status_code == 200 and answer["Content-Disposition"].endswith('.xlsx"')
    rows = list(AuditLog.objects.filter(action="export").order_by("-id")[:1])
    assert [r.township for r in rows] == ["t1"] and AuditLog.objects.filter(action="export").count() == before + 1


def _preview(c: Any, **changes: str) -> Any:
    page = c.get("/policy/?township=t1").content.decode()
    (form,) = [f for f in forms(page) if f["attrs"].get("id") == "policy-form"]
    data = {k: v for k, v in form["fields"].items()} | {k: [v] for k, v in changes.items()}
    return c.post("/policy/", data)


def test_each_township_signs_with_its_own_key_and_a_loose_key_is_refused(world: World, broker: Broker) -> None:
    from django.test.utils import override_settings

    from kiosk.feed.config_message import ConfigRefused, open_envelope, public_key_from_text
    from township.console.models import PolicyPush
    from township.keys import SIGNING_KEY_FILE

    def public(township: str) -> Any:
        from cryptography.hazmat.primitives import serialization

        key = serialization.load_pem_private_key((world.keys / township / SIGNING_KEY_FILE).read_bytes(), None)
        return key.public_key()  # type: ignore[union-attr]

    sub = Subscriber(broker, "checkpoint/v1/+/config")
    c = client("boss")
    try:
        with override_settings(TOWNSHIP_BROKER=f"mqtt://{broker.host}:{broker.port}"):
            answer = _preview(c, fever_c="37.4", label="t1-own-key", action="push")
            assert answer.status_code == 302, answer.content[:300]
            assert wait_until(lambda: any(m.topic == "checkpoint/v1/t1/config" for m in sub.received()), 5)
            (message,) = [m.payload for m in sub.received() if m.topic == "checkpoint/v1/t1/config"]
            payload, _ = open_envelope(message, public("t1"))  # t1's kiosks accept it ...
            assert payload.township == "t1" and payload.policy["fever_c"] == 37.4
            with pytest.raises(ConfigRefused):
                open_envelope(message, public("t2"))  # ... and it is not t2's key that signed it
            assert public_key_from_text  # (the kiosks hold the public half as text: keygen prints it)
            pushed = PolicyPush.objects.count()
            os.chmod(world.keys / "t1" / SIGNING_KEY_FILE, 0o644)  # readable by other users: refused
            try:
                refused = _preview(c, fever_c="37.5", label="t1-loose", action="push")
            finally:
                os.chmod(world.keys / "t1" / SIGNING_KEY_FILE, 0o600)
            assert refused.status_code == 503 and b"BEGIN" not in refused.content
            assert PolicyPush.objects.count() == pushed
    finally:
        sub.close()


def test_a_push_is_recorded_and_audited_before_it_is_published_and_a_failure_says_so(world: World) -> None:
    from django.test.utils import override_settings

    from township.console.models import AuditLog, PolicyPush
    from township.stack import free_port

    c = client("boss")
    with override_settings(TOWNSHIP_BROKER=f"mqtt://127.0.0.1:{free_port()}"):  # nobody listens there
        answer = _preview(c, fever_c="37.2", label="t1-unreachable", action="push")
    assert answer.status_code == 502
    push = PolicyPush.objects.get(payload__policy__version="t1-unreachable")
    assert push.state == "failed" and push.error
    actions = list(AuditLog.objects.filter(target=push.topic, detail__version=push.version)
                   .order_by("id").values_list("action", flat=True))
    assert actions == ["push_policy", "push_failed"]
    assert "push-state" in c.get("/policy/?township=t1").content.decode()


def test_the_diff_is_against_what_the_kiosks_run_not_this_consoles_last_push(world: World) -> None:
    from township.console.models import PolicyPush, Township

    t1 = Township.objects.get(code="t1")
    base = {"mode": "risk-areas", "risk_areas": [], "remeasure": True, "max_code_age_s": 300, "nat_max_age_h": None}
    for version, fever in ((5_000_000_100, 37.3), (5_000_000_200, 37.5)):
        PolicyPush.objects.create(township=t1, version=version, topic="checkpoint/v1/t1/config", state="published",
                                  payload={"version": version, "policy": base | {"version": f"p{version}",
                                                                                  "fever_c": fever}})
    ack = {"schema": 1, "status": "refused", "version": 5_000_000_200, "applied_version": 5_000_000_100,
           "policy_version": "p5000000100", "reason": "invalid"}
    feed(world.dsn, *(msg(site, "config/ack", ack | {"event_id": f"ack-{site}", "at": NOON + 60})
                      for site in ("site-a", "site-b")),
         msg("site-w", "config/ack", ack | {"event_id": "ack-w", "at": NOON + 60, "applied_version": 0}))
    c = client("boss")
    page = c.get("/policy/?township=t1").content.decode()
    assert 'data-version="5000000100"' in page and "site-w/kiosk-1" in page  # most run v…100; one runs its own
    preview = _preview(c, fever_c="37.5", label="p5000000200", action="preview").content.decode()
    diff = preview[preview.index('id="diff"'):]
    assert "fever_c" in diff and "37.3" in diff and "37.5" in diff  # v…200 was refused: the kiosks run 37.3



def test_failed_logins_lock_that_user_out_from_that_address(world: World) -> None:
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.test import Client

    from township.console.models import Profile

    User.objects.create_user("target", password="target-pass-1")
    attacker = Client(enforce_csrf_checks=True)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert login(attacker, "target", "guess").status_code == 200  # the form again: wrong password
    assert login(attacker, "target", "guess").status_code == 429  # the last one allowed
    locked = login(attacker, "target", "target-pass-1")  # even the right password, now
    assert locked.status_code == 429 and 'id="locked"' in locked.content.decode()
    assert login(Client(enforce_csrf_checks=True), "viewer", "viewer-pass-1").status_code == 302  # others log in
    assert Profile.objects.filter(user__username="viewer").exists()


def test_a_policy_the_kiosks_would_refuse_is_never_signed(world: World) -> None:
    """The form judges with the kiosk's own rules (`kiosk.feed.judge_content`): a threshold that hides
    fevers, a trust list with no keys — refused on the page, nothing recorded, nothing published."""
    from township.console.models import PolicyPush

    c = client("boss")
    pushed = PolicyPush.objects.count()
    empty = _preview(c, fever_c="37.3", label="t1-empty-trust", trust_list='{"version": 1, "keys": []}', action="push")
    assert empty.status_code == 200 and "no keys" in empty.content.decode()
    hot = _preview(c, fever_c="37.9", label="t1-too-warm", action="push")
    assert hot.status_code == 200 and "fever_c" in hot.content.decode()
    assert PolicyPush.objects.count() == pushed
