"""Server-sent events: the ingester's NOTIFY on `township_feed`, passed on to the open pages.

One PostgreSQL connection per console process LISTENs (`Hub`), however many pages are open: each
open page is a queue the hub fans the notifications out to, so pages cost the database nothing
and no user can exhaust its connections (which would also keep the listener from reconnecting).
Each notification (one per ingested batch, naming the kinds that changed and the townships) becomes
one SSE message to the pages whose user may see one of those townships.  The page's script turns
it into `feed-<kind>` events on which htmx fragments refresh.  If the LISTEN connection is lost,
the hub reconnects (back-off to 5 s) and tells every page to refresh, since it may have missed
something.  Nothing personal goes down this channel: kinds and township ids only.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import psycopg
from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse

from township.console import scope
from township.ingest.schema import NOTIFY_CHANNEL

log = logging.getLogger(__name__)
KEEPALIVE_S = 15.0
QUEUE = 64  # notifications a slow page may lag behind; past that it misses some (and polls anyway)
EVERYTHING = {"kinds": ["alert", "entry", "daily", "ack", "health", "status"], "townships": ["*"]}


class Hub:
    """The process's one LISTEN connection and the queues of the pages open on it."""

    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[dict[str, Any]]] = set()
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.connects = 0

    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done() or self._loop is not loop:
            self._loop, self._task = loop, loop.create_task(self._run())
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE)
        self._queues.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        self._queues.discard(queue)

    def _publish(self, body: dict[str, Any]) -> None:
        for queue in list(self._queues):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(body)

    async def _run(self) -> None:
        delay = 0.5
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(settings.DATABASE_URL, autocommit=True)
            except psycopg.Error as exc:
                log.warning("live: cannot LISTEN (%s); retrying in %.1f s", type(exc).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            try:
                await conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                if self.connects:
                    self._publish(EVERYTHING)  # we may have missed something while away: refresh
                self.connects += 1
                delay = 0.5
                async for note in conn.notifies():
                    try:
                        body = json.loads(note.payload)
                    except ValueError:
                        continue
                    if isinstance(body, dict):
                        self._publish(body)
            except psycopg.Error as exc:
                log.warning("live: the LISTEN connection was lost (%s); reconnecting", type(exc).__name__)
            finally:
                with contextlib.suppress(psycopg.Error):
                    await conn.close()


HUB = Hub()


async def stream(request: HttpRequest) -> HttpResponse:
    user = await request.auser()
    if not user.is_authenticated:
        return HttpResponse(status=403)
    codes = set(await sync_to_async(scope.codes)(user))
    return StreamingHttpResponse(_events(codes), content_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


async def _events(codes: set[str]) -> AsyncIterator[bytes]:
    queue = HUB.subscribe()
    try:
        yield b"retry: 2000\nevent: ready\ndata: {}\n\n"
        while True:
            try:
                body = await asyncio.wait_for(queue.get(), KEEPALIVE_S)
            except TimeoutError:
                yield b": keep-alive\n\n"
                continue
            townships = set(body.get("townships") or ())
            if "*" in townships or codes & townships:
                kinds = [k for k in body.get("kinds") or [] if isinstance(k, str)]
                yield f"event: feed\ndata: {json.dumps({'kinds': kinds})}\n\n".encode()
    finally:
        HUB.unsubscribe(queue)
