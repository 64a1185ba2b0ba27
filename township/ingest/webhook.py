"""An optional group-robot webhook for new alerts (WeCom / DingTalk / Feishu style), with a cooldown.

The ingester calls it after each commit with the batch's new alerts.  It posts
`{"msgtype": "text", "text": {"content": "..."}}` (the shape those robots take) from a background
thread, so a slow or dead webhook never holds up ingest; at most one post per site per
`cooldown_s` (alerts in between are counted into the next post), so a queue of fevers at one
door does not flood the group.  The text carries no subject id; the masked name only.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import urllib.request
from collections.abc import Callable
from typing import Any

from township.labels import REASONS_ZH

log = logging.getLogger(__name__)


class Webhook:
    def __init__(self, url: str, *, cooldown_s: float = 300.0, clock: Callable[[], float] = time.monotonic,
                 timeout_s: float = 5.0) -> None:
        self.url = url
        self.cooldown_s = cooldown_s
        self.clock = clock
        self.timeout_s = timeout_s
        self._last: dict[tuple[str, str], float] = {}
        self._held: dict[tuple[str, str], int] = {}
        self._queue: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self.sent = self.failed = 0
        self._thread = threading.Thread(target=self._run, name="alert-webhook", daemon=True)
        self._thread.start()

    def __call__(self, alerts: list[dict[str, Any]]) -> None:
        now = self.clock()
        for a in alerts:
            key = (str(a.get("township")), str(a.get("site")))
            if now - self._last.get(key, -1e18) < self.cooldown_s:
                self._held[key] = self._held.get(key, 0) + 1
                continue
            self._last[key] = now
            more = self._held.pop(key, 0)
            temp = a.get("temperature_c")
            reasons = "、".join(REASONS_ZH.get(r, str(r)) for r in a.get("reasons") or [])
            text = (f"【入口筛查告警】{key[0]}/{key[1]}/{a.get('kiosk')} "
                    f"{time.strftime('%H:%M:%S', time.localtime(float(a.get('at') or 0)))} "
                    f"{reasons}{f' {temp:.1f}°C' if isinstance(temp, int | float) else ''} "
                    f"{a.get('name') or ''}" + (f"(冷却期内另有 {more} 条)" if more else ""))
            self._queue.put(json.dumps({"msgtype": "text", "text": {"content": text}}, ensure_ascii=False).encode())

    def _run(self) -> None:
        while True:
            body = self._queue.get()
            if body is None:
                return
            try:
                request = urllib.request.Request(self.url, data=body, headers={"Content-Type": "application/json"})
                with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                    response.read()
                self.sent += 1
            except OSError as exc:
                self.failed += 1
                log.warning("alert webhook failed: %s", exc)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=self.timeout_s + 1)
