"""The outbox's rows and figures as its readers get them: `OutboxRow`, `OutboxStats`, `OutboxFull`.

Kept apart from the queue (`kiosk.outbox.store`) so that the queue's module holds only its logic.
"""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.outbox.schema import OutboxError


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One stored event.  `payload` is opaque here: the outbox never looks inside."""

    seq: int
    event_id: str
    stream: str
    priority: int
    created: float
    payload: bytes
    sent_at: float | None
    rejected: int | None = None  # the broker's refusal reason code: a dead letter, never retried
    published_at: float | None = None  # the broker acknowledged it (Clock.wall()); awaiting the township's receipt


@dataclass(frozen=True, slots=True)
class OutboxStats:
    """What an operator asks first: how much is waiting, for how long, and how much is held."""

    pending: int  # to publish: the broker does not have them yet
    sent: int  # delivered rows held for the retention (freed on a PUBACK: no receipts, or before them)
    oldest_pending_age_s: float | None  # None when nothing is pending
    bytes: int  # payload bytes held, in any state (what a size bound will limit)
    rejected: int = 0  # refused by the broker (PUBACK reason >= 0x80): dead letters, never re-sent
    rows: int = 0  # rows held, in any state
    dropped: int = 0  # undelivered rows dropped by a bound or by age, ever
    dropped_by_stream: tuple[tuple[str, int], ...] = ()
    published: int = 0  # the broker has them; awaiting the township's receipt (re-sent if none comes)
    receipted: int = 0  # freed by the township's receipt, ever (deleted at once)
    oldest_unreceipted_age_s: float | None = None  # the oldest row awaiting a receipt; None if none
    refused: int = 0  # refused for good by the township (its receipt said so): dead letters, never re-sent


class OutboxFull(OutboxError):
    """The event was NOT stored: the disk (or the file's page limit) is full, or the bounds are
    taken by undelivered events of a higher priority that it may not push out."""


def age(wall: float, stamp: float | None) -> float | None:
    """Seconds from `stamp` to `wall` (never negative); None without a stamp."""
    return None if stamp is None else max(0.0, wall - stamp)
