"""Township receipts: the listener tells each kiosk which of its events the township now holds.

A PUBACK only says the broker has a message; a broker that dies before the township stored it
would lose it.  So the kiosk frees an outbox row only on a receipt (issue 13): after each commit
the listener publishes, per kiosk, on `checkpoint/v1/{township}/{site}/{kiosk}/receipt` (QoS 1,
not retained) the JSON `{"schema": 1, "at": <epoch s>, "ids": [...]}` naming every event id of
that kiosk it handled in the batch and now holds, new or already stored (a kiosk that re-sends
after a lost receipt must get one again), at most `MAX_IDS` ids per message.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from kiosk.feed.topics import ROOT

RECEIPT_LEVEL = "receipt"
MAX_IDS = 500
SCHEMA = 1


def receipt_topic(township: str, site: str, kiosk: str) -> str:
    return f"{ROOT}/{township}/{site}/{kiosk}/{RECEIPT_LEVEL}"


def receipt_messages(held: dict[tuple[str, str, str], list[str]], at: float) -> Iterator[tuple[str, bytes]]:
    """(topic, payload) for every kiosk in `held`, ids in the order handled, deduplicated, ≤ MAX_IDS each."""
    for (township, site, kiosk), ids in held.items():
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), MAX_IDS):
            body = {"schema": SCHEMA, "at": round(at, 3), "ids": unique[start:start + MAX_IDS]}
            yield receipt_topic(township, site, kiosk), json.dumps(body, separators=(",", ":")).encode()


def group_held(items: Iterable[tuple[str, str, str, str]]) -> dict[tuple[str, str, str], list[str]]:
    """{(township, site, kiosk): [event ids]} from (township, site, kiosk, event_id) tuples."""
    held: dict[tuple[str, str, str], list[str]] = {}
    for township, site, kiosk, event_id in items:
        if event_id:
            held.setdefault((township, site, kiosk), []).append(event_id)
    return held
