"""The township's receipts, the kiosk's side: which events the township holds, and whether it sends any.

A PUBACK only says the broker has an event; a broker that crashes before saving its queue loses
it.  So the township's listener, after committing, publishes on the kiosk's
`{prefix}/receipt` (QoS 1, not retained) `{"schema": 1, "at": <epoch s>, "ids": [...]}`: every
event id of this kiosk it now holds, new or already stored, at most 500 per message
(`config/asyncapi.yaml`, channel `receipt`).  The uplink subscribes to it, and this part turns
what arrives into event ids for the outbox to free (`Outbox.mark_published(receipted=...)`),
applied on the kiosk loop's thread together with the PUBACKs, one transaction for both.

Not every township sends receipts (a listener from before issue 13 does not), and a kiosk must
not hold every event forever for one.  The rule, reported in the health as `receipts`:

* `"expected"` from the start: rows the broker acknowledged await a receipt, and are published
  again if none comes (`kiosk.outbox.delivery`);
* `"present"` once a receipt has come (for the life of the process, however long the township's
  listener is away afterwards: that is when receipts matter, since the broker may lose what it
  queued for it);
* `"absent"` when, still `"expected"`, rows have awaited a receipt for `absent_after_s` seconds
  of *connected* time (`uplink.receipts_absent_after_s`) and not one has come: the township
  sends none.  The kiosk then behaves as before receipts: a PUBACK frees the row (those awaiting
  are freed at once), nothing is re-sent, and a broker crash can lose what it had queued.
* Any receipt later puts it back to `"present"`, and the rows freed on a PUBACK alone (still
  held for the retention) are published again, so that the township receipts them too.

A malformed receipt (not JSON, wrong schema, ids not strings) is counted and logged without its
content, and frees nothing.
"""

from __future__ import annotations

import json
import time

from kiosk.uplink.connection import log

EXPECTED = "expected"
PRESENT = "present"
ABSENT = "absent"
RECEIPT_LEVEL = "receipt"
SCHEMA = 1
ABSENT_AFTER_S = 1800.0


class Receipts:
    """Receipts received and not yet applied, and the mode (see the module docstring).

    A part of `MqttUplink`, which holds one: `on_message` is the subscription's handler (it runs
    on the kiosk loop's thread, from `poll`), `take` hands the ids over for the outbox, `tick`
    counts connected time towards `"absent"`, `transition` says which outbox change a mode
    change still owes (`"absent"`: free the awaiting rows; `"present"`: publish again those
    freed on a PUBACK alone) until `done` is called.
    """

    def __init__(self, *, absent_after_s: float = ABSENT_AFTER_S) -> None:
        self.absent_after_s = absent_after_s
        self.mode = EXPECTED
        self.transition: str | None = None
        self.awaiting = False  # the outbox holds rows published and not receipted (as far as we know)
        self.messages = self.ids_received = self.malformed = 0
        self._ids: list[str] = []
        self._first_at = 0.0  # time.monotonic() when the oldest id not yet applied arrived
        self._waited = 0.0  # connected seconds with rows awaiting a receipt, none ever seen
        self._last_tick: float | None = None

    # ----------------------------------------------------------------------------- what arrives
    def on_message(self, _topic: str, payload: bytes, _retained: bool) -> None:
        ids = parse(payload)
        if ids is None:
            self.malformed += 1
            log.warning("uplink: a malformed receipt (%d bytes) was ignored", len(payload))
            return
        self.messages += 1
        self.ids_received += len(ids)
        if not self._ids:
            self._first_at = time.monotonic()
        self._ids.extend(ids)
        if self.mode != PRESENT:
            if self.mode == ABSENT:
                log.info("uplink: the township sends receipts again; rows freed without one are published again")
            self.mode = PRESENT
            self.transition = PRESENT

    def take(self) -> list[str]:
        ids, self._ids = self._ids, []
        return ids

    @property
    def waiting(self) -> int:
        """Receipted ids not yet applied to the outbox."""
        return len(self._ids)

    @property
    def oldest_s(self) -> float:
        """How long the oldest id not yet applied has waited (0 if none)."""
        return time.monotonic() - self._first_at if self._ids else 0.0

    # ----------------------------------------------------------------------------- the mode
    def tick(self, now: float, *, connected: bool) -> None:
        """Count connected time while rows await a receipt that never came; `"absent"` after `absent_after_s`."""
        last, self._last_tick = self._last_tick, now
        if self.mode != EXPECTED or not connected or not self.awaiting or last is None:
            return
        self._waited += max(0.0, now - last)
        if self._waited >= self.absent_after_s:
            self.mode = ABSENT
            self.transition = ABSENT
            log.warning("uplink: no receipt from the township after %.0f s connected with events awaiting one: "
                        "it sends none (an older listener?); events are freed on the broker's acknowledgement, "
                        "as before receipts (a broker crash may lose what it had queued)", self._waited)

    def done(self) -> None:
        """The outbox change the last transition owed has been made."""
        self.transition = None

    @property
    def frees_on_puback(self) -> bool:
        return self.mode == ABSENT


def parse(payload: bytes) -> list[str] | None:
    """The event ids of a receipt, or None if it is not one (see the module docstring)."""
    try:
        body = json.loads(payload)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(body, dict) or body.get("schema") != SCHEMA:
        return None
    ids = body.get("ids")
    if not isinstance(ids, list) or not all(isinstance(i, str) and i for i in ids):
        return None
    return ids
