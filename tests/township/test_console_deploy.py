"""The console as it is deployed: the real uvicorn process (`township.stack.console`) on a real PostgreSQL.

* behind the documented TLS proxy (the browser's Origin is https://…, uvicorn speaks plain HTTP)
  the login works and the cookies are Secure;
* without a secret key, or with a key file that is not there, the console does not start (exit 2);
* however many live pages are open, the process holds one LISTEN connection; /live/ needs a login
  and passes on only the user's townships.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.paths import ROOT
from tests.township.conftest import SECRET
from township import stack
from township.devdb import Cluster


class Session:
    """A browser's cookies and the headers a TLS proxy in front of uvicorn would pass on."""

    def __init__(self, port: int, headers: dict[str, str] | None = None) -> None:
        self.port, self.headers, self.cookies = port, headers or {}, SimpleCookie()
        self.set_cookie: list[str] = []

    def request(self, method: str, path: str, body: dict[str, str] | None = None,
                headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
        conn = http.client.HTTPConnection(stack.HOST, self.port, timeout=10)
        sent = dict(self.headers) | (headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v.value}" for k, v in self.cookies.items())
        data = None
        if body is not None:
            from urllib.parse import urlencode

            data = urlencode(body)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=data, headers=sent)
        response = conn.getresponse()
        for value in response.headers.get_all("Set-Cookie") or []:
            self.set_cookie.append(value)
            self.cookies.load(value)
        return response

    def login(self, username: str, password: str, headers: dict[str, str] | None = None) -> int:
        page = self.request("GET", "/login/").read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert token, page[:500]
        answer = self.request("POST", "/login/", {"csrfmiddlewaretoken": token.group(1), "username": username,
                                                  "password": password, "next": "/"}, headers)
        answer.read()
        return answer.status


def _seed(dsn: str) -> None:
    spec = {"county": {"code": "c1", "name": "县"}, "township": {"code": "t1", "name": "镇"},
            "sites": [{"code": "site-a", "name": "甲", "responsible": "李*华", "phone": "1", "deadline": "09:00:00",
                       "kiosks": ["kiosk-1"]}],
            "users": [{"name": "boss", "password": "boss-pass-1", "roles": ["admin", "operator"]}]}
    subprocess.run([sys.executable, "-m", "township.demo", "seed", "--database-url", dsn, "--spec", json.dumps(spec)],
                   check=True, cwd=ROOT, env={**os.environ, "TOWNSHIP_SECRET_KEY": SECRET})


@pytest.fixture
def seeded(pg_dsn: str) -> str:
    _seed(pg_dsn)
    return pg_dsn


def _console(work: Path, dsn: str, **env: str) -> Iterator[stack.Proc]:
    proc = stack.console(work, {"TOWNSHIP_DATABASE_URL": dsn, "TOWNSHIP_SECRET_KEY": SECRET, **env})
    try:
        yield proc
    finally:
        proc.stop()


def test_behind_a_tls_proxy_the_login_works_and_the_cookies_are_secure(seeded: str, tmp_path: Path) -> None:
    for proc in _console(tmp_path, seeded, TOWNSHIP_CSRF_TRUSTED_ORIGINS="https://console.example",
                         TOWNSHIP_ALLOWED_HOSTS="console.example"):
        browser = Session(proc.port, {"Host": "console.example"})  # what nginx passes on: the Host, plain HTTP
        status = browser.login("boss", "boss-pass-1", {"Origin": "https://console.example",
                                                       "Referer": "https://console.example/login/"})
        assert status == 302
        secure = {c.split("=")[0]: "secure" in c.lower() for c in browser.set_cookie}
        assert secure == {"csrftoken": True, "sessionid": True}
        assert browser.request("GET", "/").status == 200
        stranger = Session(proc.port, {"Host": "console.example"})
        assert stranger.login("boss", "boss-pass-1", {"Origin": "https://elsewhere.example"}) == 403


def test_the_console_does_not_start_without_its_secret_key(pg_dsn: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TOWNSHIP_SECRET_KEY"}
    for key, says in ((None, "TOWNSHIP_SECRET_KEY is not set"),
                      (str(tmp_path / "no-such-key"), "cannot be read")):
        run_env = env | ({"TOWNSHIP_SECRET_KEY": key} if key else {})
        try:
            done = subprocess.run([sys.executable, "-m", "township", "console", "--database-url", pg_dsn, "--port",
                                   str(stack.free_port())], cwd=ROOT, env=run_env, capture_output=True, text=True,
                                  timeout=20)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the console started with TOWNSHIP_SECRET_KEY={key!r}")
        assert done.returncode == 2 and says in done.stderr and "Traceback" not in done.stderr, done.stderr


def _listening(dsn: str) -> int:
    with psycopg.connect(dsn) as con:
        row = con.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                          "AND query ILIKE 'LISTEN%%'").fetchone()
        return int(row[0]) if row else 0


def test_open_live_pages_share_one_listen_connection_and_see_only_their_townships(seeded: str,
                                                                                  pg_cluster: Cluster,
                                                                                  tmp_path: Path) -> None:
    from township.ingest import PgEventStore
    from township.store import Incoming

    for proc in _console(tmp_path, seeded):
        anonymous = Session(proc.port).request("GET", "/live/")
        assert anonymous.status == 403
        user = Session(proc.port)
        assert user.login("boss", "boss-pass-1") == 302
        streams: list[Any] = []
        for _ in range(25):
            response = user.request("GET", "/live/")
            assert response.status == 200 and response.readline().startswith(b"retry:")
            streams.append(response)
        deadline = time.monotonic() + 10
        while _listening(seeded) != 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _listening(seeded) == 1  # 25 open pages, one database connection
        with PgEventStore(seeded) as store:
            for township in ("t2", "t1"):
                store.add_many([Incoming(township, "site-a", "kiosk-1", "status", b"online", time.time())])
        first = streams[0]
        lines = []
        while not any(line.startswith(b"data: {\"kinds\"") for line in lines):
            lines.append(first.readline())
        events = [json.loads(line[6:]) for line in lines if line.startswith(b"data: {\"kinds\"")]
        assert events == [{"kinds": ["status"]}]  # t1's only: t2's notification came first and was not passed on
