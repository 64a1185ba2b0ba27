"""Server-sent events: the ingester's NOTIFY on `township_feed`, passed on to the open pages.

One PostgreSQL connection per open page, LISTENing; each notification (one per ingested batch,
naming the kinds that changed) becomes one SSE message.  The page's script turns it into
`feed-<kind>` events on which htmx fragments refresh; the pop-up refreshes on `feed-alert`.
Nothing personal goes down this channel: kinds and township ids only.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import psycopg
from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse

from township.console import scope
from township.ingest.schema import NOTIFY_CHANNEL

KEEPALIVE_S = 15.0


async def stream(request: HttpRequest) -> HttpResponse:
    user = await request.auser()
    if not user.is_authenticated:
        return HttpResponse(status=403)
    codes = set(await sync_to_async(scope.codes)(user))
    return StreamingHttpResponse(_events(codes), content_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


async def _events(codes: set[str]) -> AsyncIterator[bytes]:
    conn = await psycopg.AsyncConnection.connect(settings.DATABASE_URL, autocommit=True)
    try:
        await conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
        yield b"retry: 2000\nevent: ready\ndata: {}\n\n"
        while True:
            sent = False
            async for note in conn.notifies(timeout=KEEPALIVE_S):
                try:
                    body = json.loads(note.payload)
                except ValueError:
                    continue
                if codes & set(body.get("townships") or ()):
                    data = json.dumps({"kinds": body.get("kinds") or []})
                    yield f"event: feed\ndata: {data}\n\n".encode()
                    sent = True
            if not sent:
                yield b": keep-alive\n\n"
    except asyncio.CancelledError:
        raise
    finally:
        await conn.close()
