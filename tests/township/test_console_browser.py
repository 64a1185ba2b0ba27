"""The township console in a real browser (Debian's chromium through Playwright) over the real stack:
a throwaway PostgreSQL, mosquitto on an ephemeral port, the listener, uvicorn on 127.0.0.1, and the
real kiosk (`kiosk simulate --broker`, and the kiosk's own feed and remote configuration in
`township.kioskagent`) producing the feed.

Screenshots of every page at 1366×768 (and Today on a phone) are written to
$TOWNSHIP_SCREENSHOTS, default test-output/township-console/ in the checkout, for review.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest

from tests.paths import ROOT
from township import stack
from township.demo import kiosk_toml, scenario_at, simulate
from township.devdb import Cluster

CHROMIUM = "/usr/bin/chromium"
ZONE = ZoneInfo("Asia/Shanghai")
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--autoplay-policy=no-user-gesture-required", "--disable-dev-shm-usage"]
SHOTS = Path(os.environ.get("TOWNSHIP_SCREENSHOTS") or ROOT / "test-output" / "township-console")
SIZE = {"width": 1366, "height": 768}

# Skipped on a developer's machine without chromium; in CI (CI set) a missing browser fails the run instead.
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists() and not os.environ.get("CI"),
                                reason="Debian's chromium is not installed (scripts/setup installs it)")


@dataclass
class Stack:
    url: str
    dsn: str
    work: Path
    broker_port: int
    keys: dict[str, str]
    yesterday: dt.date
    configs: dict[str, Path]
    procs: list[stack.Proc]

    def rows(self, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.dsn) as con:
            return list(con.execute(query, params).fetchall())

    def simulate(self, site: str, source: str, start: float, name: str, *, visitors: int | None = None) -> Path:
        scenario = scenario_at(self.work, source, start, name)
        if visitors is not None:
            data = json.loads(scenario.read_text())
            data["visitors"] = data["visitors"][:visitors]
            scenario.write_text(json.dumps(data))
        out = self.work / f"{name}.jsonl"
        done = simulate(self.configs[site], scenario, self.broker_port, out)
        assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
        return out


def _spec(deadline_b: str) -> dict[str, Any]:
    return {"county": {"code": "c1", "name": "测试县"}, "township": {"code": "t1", "name": "测试镇"},
            "sites": [{"code": "site-a", "name": "甲超市", "responsible": "李*华", "phone": "13800000001",
                       "deadline": "23:59:59", "kiosks": ["kiosk-1"]},
                      {"code": "site-b", "name": "乙银行", "responsible": "王*芳", "phone": "13800000002",
                       "deadline": deadline_b, "kiosks": ["kiosk-1"]}],
            "users": [{"name": "boss", "password": "boss-pass-1", "roles": ["admin", "operator", "privacy"]},
                      {"name": "viewer", "password": "viewer-pass-1", "roles": ["viewer"]}]}


@pytest.fixture(scope="module")
def live(pg_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    from township.keys import generate

    work = tmp_path_factory.mktemp("console")
    dsn = pg_cluster.create_database(f"console_{os.environ.get('PYTEST_XDIST_WORKER', 'w')}",
                                     template="township_template")
    now = dt.datetime.now(ZONE)
    deadline_b = (now + dt.timedelta(seconds=30)).time().replace(microsecond=0)
    if deadline_b < now.time():
        pytest.skip("too close to midnight for a deadline test")
    keys = generate(work / "keys" / "t1")  # the township's own pair, in the console's key folder
    procs: list[stack.Proc] = []
    try:
        broker = stack.mosquitto(work)
        procs.append(broker)
        subprocess.run([sys.executable, "-m", "township.demo", "seed", "--database-url", dsn, "--spec",
                        json.dumps(_spec(deadline_b.isoformat()))], check=True, cwd=ROOT)
        procs.append(stack.listener(work, broker.port, dsn, township="t1", client_id="console-test"))
        env = {"TOWNSHIP_DATABASE_URL": dsn, "TOWNSHIP_BROKER": f"mqtt://127.0.0.1:{broker.port}",
               "TOWNSHIP_KEYS_DIR": str(work / "keys"), "TOWNSHIP_TIME_ZONE": "Asia/Shanghai",
               "TOWNSHIP_SECRET_KEY": "test-secret-" + "x" * 40}
        console = stack.console(work, env)
        procs.append(console)
        configs = {s: kiosk_toml(work, "t1", s, "kiosk-1", broker.port, keys) for s in ("site-a", "site-b")}
        s = Stack(f"http://127.0.0.1:{console.port}", dsn, work, broker.port, keys, now.date() - dt.timedelta(days=1),
                  configs, procs)
        # yesterday at site-a, delivered now: before its deadline (on time)
        s.simulate("site-a", "two-people.json",
                   dt.datetime.combine(s.yesterday, dt.time(10, 0), ZONE).timestamp(), "yesterday-a")
        yield s
    finally:
        for p in reversed(procs):
            p.stop()


@pytest.fixture(scope="module")
def browser(live: Stack) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/setup installs Debian's chromium")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


def login(browser: Any, live: Stack, user: str, password: str, **context: Any) -> Any:
    page = browser.new_context(viewport=SIZE, accept_downloads=True, **context).new_page()
    page.goto(f"{live.url}/login/")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live.url}/")
    return page


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def _fever_only(live: Stack) -> Path:
    data = json.loads((ROOT / "tests" / "scenarios" / "every-reason.json").read_text())
    data["visitors"] = [v for v in data["visitors"] if v["id"] == "fever"]
    data["visitors"][0]["arrive_s"] = 0
    path = live.work / "fever-only.json"
    path.write_text(json.dumps(data))
    return path


def test_a_fever_stop_pops_up_within_2_s_and_closing_needs_a_disposition_and_is_audited(live: Stack,
                                                                                      browser: Any) -> None:
    page = login(browser, live, "boss", "boss-pass-1")
    page.goto(f"{live.url}/alerts/")
    page.wait_for_selector("body[data-live=on]", state="attached", timeout=10_000)
    before = {r[0] for r in live.rows("SELECT event_id FROM console_alert")}
    scenario = _fever_only(live)
    data = json.loads(scenario.read_text())
    data["start"] = time.time()
    scenario.write_text(json.dumps(data))
    done = simulate(live.configs["site-a"], scenario, live.broker_port, live.work / "fever-now.jsonl")
    assert done.returncode == 0
    new = [r for r in live.rows("SELECT event_id, received_at, id FROM console_alert") if r[0] not in before]
    assert len(new) == 1
    event_id, received_at, pk = new[0]
    popup = page.locator(f"#popup .alarm li[data-event='{event_id}']")
    popup.wait_for(timeout=5_000)
    seen = time.time()
    assert seen - received_at.timestamp() <= 2.0, f"{seen - received_at.timestamp():.2f} s from ingest to pop-up"
    page.wait_for_selector("body[data-alarm=on]", state="attached")
    page.wait_for_function("Number(document.body.dataset.beeps || 0) >= 1")  # the tone played
    page.locator(f"#open-alerts tr[data-event='{event_id}']").wait_for(timeout=5_000)  # the list updated live
    shot(page, "alerts-popup")
    popup.locator("button.ack").click()
    popup.wait_for(state="detached", timeout=5_000)
    assert live.rows("SELECT state FROM console_alert WHERE id = %s", (pk,))[0][0] == "acknowledged"
    if page.locator("#popup .alarm").count():  # yesterday's alerts too: the sound stops only when all are
        page.locator("#popup h2 button.ack").click()
    page.wait_for_selector("body[data-alarm=off]", state="attached", timeout=5_000)
    row = page.locator(f"#open-alerts tr[data-event='{event_id}']")
    row.locator("select[name=disposition]").select_option("remeasured_normal")
    row.locator("button").click()  # a normal re-measure without the clinical reading: refused
    page.wait_for_selector("#close-error")
    row = page.locator(f"#open-alerts tr[data-event='{event_id}']")
    row.locator("select[name=disposition]").select_option("fever_clinic")
    row.locator("input[name=clinical_c]").fill("38.1")
    row.locator("button").click()
    page.locator(f"#closed-alerts tr[data-event='{event_id}']").wait_for(timeout=5_000)
    state, disposition, clinical = live.rows("SELECT state, disposition, clinical_c FROM console_alert WHERE id = %s",
                                             (pk,))[0]
    assert (state, disposition, clinical) == ("closed", "fever_clinic", 38.1)
    audits = live.rows("SELECT action, target, detail FROM console_auditlog WHERE target LIKE %s ORDER BY at",
                       (f"%{event_id}",))
    assert [a[0] for a in audits] == ["ack_alert", "close_alert"]
    assert audits[1][2]["disposition"] == "fever_clinic"
    shot(page, "alerts")
    page.context.close()


def test_a_stopped_kiosk_shows_not_reported_at_its_deadline_and_late_when_its_summary_comes(
        live: Stack, browser: Any) -> None:
    page = login(browser, live, "boss", "boss-pass-1")
    row = page.locator("tr[data-site='site-b']")
    deadline = float(row.get_attribute("data-deadline") or 0)
    assert page.locator("tr[data-site='site-a']").get_attribute("data-status") == "on_time"
    if time.time() < deadline:
        assert row.get_attribute("data-status") == "pending"
    while time.time() < deadline + 1:
        time.sleep(0.2)
    page.reload()
    row = page.locator("tr[data-site='site-b']")
    assert row.get_attribute("data-status") == "missing"
    assert "未上报" in row.inner_text()
    shot(page, "today")
    live.simulate("site-b", "two-people.json",
                  dt.datetime.combine(live.yesterday, dt.time(11, 0), ZONE).timestamp(), "yesterday-b")
    page.wait_for_selector("tr[data-site='site-b'][data-status='late']", timeout=25_000)  # live (SSE) or polled
    assert "迟报" in page.locator("tr[data-site='site-b']").inner_text()
    phone = browser.new_context(viewport={"width": 390, "height": 844}, storage_state=page.context.storage_state())
    p2 = phone.new_page()
    p2.goto(f"{live.url}/")
    shot(p2, "today-phone")
    phone.close()
    page.context.close()


def test_the_xlsx_has_chinese_headers_and_matches_the_kiosks_summaries(live: Stack, browser: Any) -> None:
    from openpyxl import load_workbook

    page = login(browser, live, "boss", "boss-pass-1")
    page.goto(f"{live.url}/reports/?kind=day&day={live.yesterday.isoformat()}")
    shot(page, "reports")
    with page.expect_download() as info:
        page.click("#xlsx")
    body = Path(info.value.path()).read_bytes()
    sheet = load_workbook(io.BytesIO(body)).active
    rows = list(sheet.iter_rows(values_only=True))
    headers = list(rows[2])
    assert headers[:3] == ["乡镇", "场所", "场所编号"] and "访客人数" in headers and "发热" in headers
    summaries = live.rows("SELECT DISTINCT ON (site, kiosk) site, visitors, payload FROM feed_daily WHERE day = %s "
                          "ORDER BY site, kiosk, received_at DESC", (live.yesterday,))
    total = rows[-1]
    assert total[0] == "合计"
    col = headers.index("访客人数")
    assert total[col] == sum(s[1] for s in summaries) > 0
    assert total[headers.index("拦截")] == sum(s[2]["decisions"]["STOP"] for s in summaries)
    assert total[headers.index("发热")] == sum(s[2]["reasons"]["fever"] for s in summaries)
    by_site = {r[2]: r for r in rows[3:-1] if r[2]}
    for site, visitors, _ in summaries:
        assert by_site[site][col] == visitors
    yesterday_a = (live.work / "yesterday-a.jsonl").read_text().splitlines()
    assert by_site["site-a"][col] == len(yesterday_a)  # what the kiosk decided, one line per visitor
    assert live.rows("SELECT count(*) FROM console_auditlog WHERE action = 'export'")[0][0] >= 1
    page.context.close()


def test_a_viewer_can_neither_push_a_policy_nor_unseal_an_id(live: Stack, browser: Any) -> None:
    page = login(browser, live, "viewer", "viewer-pass-1")
    assert "今日" in page.locator("header nav").inner_text()  # Chinese first, whatever the browser asks for
    page.click("#lang")
    page.wait_for_selector("header nav >> text=Today")  # English one click away
    page.click("#lang")
    page.wait_for_selector("header nav >> text=今日")
    page.goto(f"{live.url}/policy/")
    assert page.locator("#no-push").is_visible() and page.locator("#policy-form").count() == 0
    shot(page, "policy-viewer")
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    refused = page.request.post(f"{live.url}/policy/", headers={"X-CSRFToken": token}, form={
        "township": "t1", "label": "x", "mode": "risk-areas", "fever_c": "37.0", "max_code_age_s": "300",
        "action": "push"})
    assert refused.status == 403
    page.goto(f"{live.url}/search/?from={live.yesterday.isoformat()}&to={live.yesterday.isoformat()}")
    assert page.locator("#entries tbody tr").count() > 0 and page.locator("button.unseal").count() == 0
    key = live.rows("SELECT day, township, site, kiosk, event_id FROM feed_entry WHERE sid_sealed IS NOT NULL "
                    "LIMIT 1")[0]
    refused = page.request.post(f"{live.url}/search/unseal/", headers={"X-CSRFToken": token}, form={
        "day": key[0].isoformat(), "township": key[1], "site": key[2], "kiosk": key[3], "event_id": key[4]})
    assert refused.status == 403
    assert live.rows("SELECT count(*) FROM console_auditlog WHERE action IN ('unseal', 'push_policy')")[0][0] == 0 \
        or all(r[0] != "viewer" for r in live.rows(
            "SELECT u.username FROM console_auditlog a JOIN auth_user u ON u.id = a.user_id "
            "WHERE a.action IN ('unseal', 'push_policy')"))
    page.context.close()


def test_unsealing_needs_the_privacy_role_and_is_audited(live: Stack, browser: Any) -> None:
    page = login(browser, live, "boss", "boss-pass-1")
    page.goto(f"{live.url}/search/?from={live.yesterday.isoformat()}&to={live.yesterday.isoformat()}&site=site-a")
    shot(page, "search")
    page.locator("button.unseal").first.click()
    sid = page.locator("code.sid").first
    sid.wait_for(timeout=5_000)
    assert sid.inner_text().startswith("sim-")  # the simulated visitor's own subject id
    audit = live.rows("SELECT detail, target FROM console_auditlog WHERE action = 'unseal'")
    assert len(audit) == 1 and "sim-" not in json.dumps(audit[0][0]) + audit[0][1]  # who and which event, not the id
    page.context.close()


def test_a_policy_push_shows_each_kiosks_acknowledgement(live: Stack, browser: Any) -> None:
    agents = [stack._spawn(f"agent-{s}", [sys.executable, "-m", "township.kioskagent", "--config", str(c)],
                           live.work) for s, c in live.configs.items()]
    try:
        deadline = time.monotonic() + 30
        while len(live.rows("SELECT 1 FROM feed_kiosk WHERE status = 'online'")) < 2:
            assert time.monotonic() < deadline, "the kiosk agents did not come online"
            time.sleep(0.2)
        page = login(browser, live, "boss", "boss-pass-1")
        page.goto(f"{live.url}/kiosks/")
        page.wait_for_selector("tr[data-kiosk='site-a/kiosk-1']")
        shot(page, "kiosks")
        page.goto(f"{live.url}/policy/")
        page.fill("input[name=fever_c]", "37.5")
        page.fill("input[name=label]", "t1-test-2")
        page.click("#preview")
        diff = page.locator("#diff").inner_text()
        assert "fever_c" in diff and "37.5" in diff
        shot(page, "policy-diff")
        page.click("#push")
        page.wait_for_selector("#ack-table")
        for kiosk in ("site-a/kiosk-1", "site-b/kiosk-1"):
            page.wait_for_selector(f"#ack-table tr[data-kiosk='{kiosk}'][data-ack='applied']", timeout=20_000)
        shot(page, "policy")
        assert live.rows("SELECT count(*) FROM console_auditlog WHERE action = 'push_policy'")[0][0] == 1
        page.goto(f"{live.url}/admin/console/site/")
        shot(page, "admin-sites")
        page.context.close()
    finally:
        for a in agents:
            a.stop()
