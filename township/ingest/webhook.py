"""An optional group-robot webhook for new alerts (WeCom / DingTalk / Feishu style), with a cooldown.

The ingester calls it after each commit with the batch's new alerts; the call only queues them
(stamped with the time they came), and a background thread posts
`{"msgtype": "text", "text": {"content": "..."}}` (the shape those robots take), so a slow or dead
webhook never holds up ingest.  At most one post per site per `cooldown_s`: alerts in between are
held, and when the cooldown is over the thread posts them (how many, and the latest) whether or not
another alert comes, so a second fever inside the cooldown is never left unsaid.  Times are the
county's (`zone`, TOWNSHIP_TIME_ZONE) and say so; an alert without a usable `at` shows when it
arrived.  Nothing in an alert's body can make the hook fail, and the store catches it anyway.  The
text carries no subject id; the masked name only.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import queue
import threading
import time
import urllib.request
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from township.labels import REASONS_ZH
from township.store import _finite

log = logging.getLogger(__name__)
TICK_S = 0.2  # how often the thread looks for held alerts whose cooldown is over


class Webhook:
    def __init__(self, url: str, *, cooldown_s: float = 300.0, clock: Callable[[], float] = time.monotonic,
                 timeout_s: float = 5.0, zone: str | None = None, wall: Callable[[], float] = time.time) -> None:
        self.url = url
        self.cooldown_s = cooldown_s
        self.clock = clock
        self.wall = wall
        self.timeout_s = timeout_s
        self.zone = ZoneInfo(zone or os.environ.get("TOWNSHIP_TIME_ZONE") or "Asia/Shanghai")
        self._last: dict[tuple[str, str], float] = {}
        self._held: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._queue: queue.SimpleQueue[tuple[float, float, dict[str, Any]] | None] = queue.SimpleQueue()
        self.sent = self.failed = 0
        self._thread = threading.Thread(target=self._run, name="alert-webhook", daemon=True)
        self._thread.start()

    def __call__(self, alerts: list[dict[str, Any]]) -> None:
        now, wall = self.clock(), self.wall()
        for a in alerts:
            self._queue.put((now, wall, a if isinstance(a, dict) else {}))

    def _run(self) -> None:
        while True:
            try:
                item = self._queue.get(timeout=TICK_S)
            except queue.Empty:
                item = ()  # type: ignore[assignment]
            if item is None:
                self._flush(float("inf"))
                return
            try:
                if item:
                    self._alert(*item)
                self._flush(self.clock())
            except Exception:  # the thread must outlive any alert
                log.exception("alert webhook: could not handle an alert")

    def _alert(self, now: float, wall: float, a: dict[str, Any]) -> None:
        key = (str(a.get("township")), str(a.get("site")))
        a = a | {"_arrived": wall}
        if now - self._last.get(key, -1e18) < self.cooldown_s:
            self._held.setdefault(key, []).append(a)
            return
        self._last[key] = now
        held = self._held.pop(key, [])
        self._post(self._text(key, a) + (f"(冷却期内另有 {len(held)} 条)" if held else ""))

    def _flush(self, now: float) -> None:
        """Post what the cooldown held back, once it is over: the count and the latest."""
        for key in [k for k, held in self._held.items() if held and now - self._last.get(k, -1e18) >= self.cooldown_s]:
            held = self._held.pop(key)
            self._last[key] = min(now, self.clock())
            self._post(f"{self._text(key, held[-1])}(冷却期内共 {len(held)} 条,此为最近一条)")

    def _text(self, key: tuple[str, str], a: dict[str, Any]) -> str:
        temp = _finite(a.get("temperature_c"))
        reasons = a.get("reasons") if isinstance(a.get("reasons"), list) else []
        names = "、".join(REASONS_ZH.get(r, str(r)) for r in reasons if isinstance(r, str))
        at = _finite(a.get("at"))
        when = at if at is not None and abs(at - a["_arrived"]) < 400 * 86_400 else a["_arrived"]
        local = dt.datetime.fromtimestamp(when, self.zone)
        name = a.get("name") if isinstance(a.get("name"), str) else ""
        return (f"【入口筛查告警】{key[0]}/{key[1]}/{a.get('kiosk')} {local:%m-%d %H:%M:%S}({self.zone.key}) "
                f"{names}{f' {temp:.1f}°C' if temp is not None else ''} {name[:40]}")

    def _post(self, text: str) -> None:
        body = json.dumps({"msgtype": "text", "text": {"content": text}}, ensure_ascii=False).encode()
        try:
            request = urllib.request.Request(self.url, data=body, headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                response.read()
            self.sent += 1
        except OSError as exc:
            self.failed += 1
            log.warning("alert webhook failed: %s", exc)

    def close(self) -> None:
        """Post what is queued and held (the cooldown no longer matters), then stop the thread."""
        self._queue.put(None)
        self._thread.join(timeout=2 * self.timeout_s + 1)
