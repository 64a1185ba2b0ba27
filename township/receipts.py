"""Township receipts: the listener tells each kiosk which of its events the township now holds.

A PUBACK only says the broker has a message; a broker that dies before the township stored it
would lose it.  So the kiosk frees an outbox row only on a receipt (issue 13): after each commit
the listener publishes, per kiosk, on `checkpoint/v1/{township}/{site}/{kiosk}/receipt` (QoS 1,
not retained) the JSON `{"schema": 1, "at": <epoch s>, "ids": [...]}` naming every event id of
that kiosk it handled in the batch and now holds, new or already stored (a kiosk that re-sends
after a lost receipt must get one again), at most `MAX_IDS` ids per message.  The events it refused
for good (malformed, another kiosk's identity, an event id that is no id) are named in the optional
`"refused"` (schema still 1: a kiosk from before ignores it), so that the kiosk sets them aside
instead of re-sending them every 15 minutes forever; only ids that look like ids (`EVENT_ID`) are
echoed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator

from kiosk.feed.topics import ROOT

RECEIPT_LEVEL = "receipt"
MAX_IDS = 500
SCHEMA = 1
EVENT_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,80}$")  # UUIDv7, the fallback `sha256:…`, a test's `a1`


def receipt_topic(township: str, site: str, kiosk: str) -> str:
    return f"{ROOT}/{township}/{site}/{kiosk}/{RECEIPT_LEVEL}"


def receipt_messages(held: dict[tuple[str, str, str], list[str]], at: float,
                     refused: dict[tuple[str, str, str], list[str]] | None = None) -> Iterator[tuple[str, bytes]]:
    """(topic, payload) for every kiosk in `held` or `refused`, ids in the order handled, deduplicated,
    ≤ MAX_IDS each; refused ids ride in the last message of their kiosk (or their own)."""
    refused = refused or {}
    for key in dict.fromkeys([*held, *refused]):
        unique = list(dict.fromkeys(held.get(key, [])))
        holds = set(unique)
        bad = [i for i in dict.fromkeys(refused.get(key, [])) if EVENT_ID.match(i) and i not in holds]
        chunks = [unique[i:i + MAX_IDS] for i in range(0, len(unique), MAX_IDS)] or [[]]
        extra = [bad[i:i + MAX_IDS] for i in range(0, len(bad), MAX_IDS)]
        for n in range(max(len(chunks), len(extra))):
            ids = chunks[n] if n < len(chunks) else []
            body: dict[str, object] = {"schema": SCHEMA, "at": round(at, 3), "ids": ids}
            if n < len(extra):
                body["refused"] = extra[n]
            if ids or n < len(extra):
                yield receipt_topic(*key), json.dumps(body, separators=(",", ":")).encode()


def group_held(items: Iterable[tuple[str, str, str, str]]) -> dict[tuple[str, str, str], list[str]]:
    """{(township, site, kiosk): [event ids]} from (township, site, kiosk, event_id) tuples."""
    held: dict[tuple[str, str, str], list[str]] = {}
    for township, site, kiosk, event_id in items:
        if event_id:
            held.setdefault((township, site, kiosk), []).append(event_id)
    return held
