"""Event ids: UUIDv7, time-ordered, so consumers can sort by id and drop duplicates by it.

Every stage that stamps something the township receives (entries, health, daily summaries,
configuration acks) takes its id from here; nothing here knows what the id is for.
"""

from __future__ import annotations

import os
import uuid


def uuid7(unix_s: float) -> str:
    """A UUID version 7 (RFC 9562): 48-bit millisecond time, then randomness; sorts by time."""
    ms = int(unix_s * 1000) & ((1 << 48) - 1)
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms << 80) | (0x7 << 76) | ((rand >> 68) & 0xFFF) << 64 | (0b10 << 62) | (rand & ((1 << 62) - 1))
    return str(uuid.UUID(int=value))
