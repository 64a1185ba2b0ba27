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

* `"expected"` from the start of a kiosk whose outbox never had a receipt: rows the broker
  acknowledged await a receipt, and are published again if none comes (`kiosk.outbox.delivery`);
* `"present"` once a receipt has come, for good: the outbox file remembers it
  (`Outbox.note_receipts_seen`), so after a reboot the kiosk starts `"present"`, however long
  the township's listener is away then (that is when receipts matter: the broker may lose what
  it queued for it, or queue it for nobody);
* `"absent"` only for an outbox that never had a receipt, when rows have awaited one for
  `absent_after_s` seconds of *connected* time (`uplink.receipts_absent_after_s`) after PUBACKs
  that reached a subscriber: the township sends none.  The kiosk then behaves as before
  receipts: a PUBACK frees the row (those awaiting are freed at once), and a broker crash can
  lose what it had queued.  A PUBACK saying "no matching subscribers" (0x10) frees nothing in
  any mode, and does not count towards `"absent"`: nobody has the event; it goes again.
* Any receipt later puts it back to `"present"`, and the rows freed on a PUBACK alone (still
  held for the retention) are published again, so that the township receipts them too.

A receipt may also name, in `"refused"`, events the township refused for good (malformed, say):
the outbox sets them aside as dead letters (`Outbox.mark_published(refused=...)`), never re-sent.
`last_heard` is when the township last showed a sign of life (a receipt; in `"absent"` mode a
PUBACK that reached a subscriber): the re-sends shrink to a probe when it is long ago
(`kiosk.uplink.resender`).

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

    def __init__(self, *, absent_after_s: float = ABSENT_AFTER_S, seen: bool = False) -> None:
        self.absent_after_s = absent_after_s
        self.seen = seen  # a receipt ever freed a row of this outbox (persisted: `Outbox.receipts_seen`)
        self.mode = PRESENT if seen else EXPECTED
        self.transition: str | None = None
        self.seen_owed = False  # the first receipt came: the outbox must remember it
        self.awaiting = False  # the outbox holds rows a subscriber had and that are not receipted (as far as we know)
        self.messages = self.ids_received = self.malformed = self.ids_refused = 0
        self.last_heard: float | None = None  # the uplink's monotonic clock: the last receipt (or start)
        self._heard = False  # a sign of life since the last tick
        self._ids: list[str] = []
        self._refused: list[str] = []
        self._first_at = 0.0  # time.monotonic() when the oldest id not yet applied arrived
        self._waited = 0.0  # connected seconds with rows awaiting a receipt, none ever seen
        self._last_tick: float | None = None

    # ----------------------------------------------------------------------------- what arrives
    def on_message(self, _topic: str, payload: bytes, _retained: bool) -> None:
        parsed = parse(payload)
        if parsed is None:
            self.malformed += 1
            log.warning("uplink: a malformed receipt (%d bytes) was ignored", len(payload))
            return
        ids, refused = parsed
        self.messages += 1
        self.ids_received += len(ids)
        self.heard()
        if not self._ids and not self._refused:
            self._first_at = time.monotonic()
        self._ids.extend(ids)
        if refused:
            self.ids_refused += len(refused)
            self._refused.extend(refused)
            log.error("uplink: the township refused %d events for good (malformed or not this kiosk's); "
                      "set aside as dead letters, not sent again", len(refused))
        if not self.seen:
            self.seen = self.seen_owed = True
        if self.mode != PRESENT:
            if self.mode == ABSENT:
                log.info("uplink: the township sends receipts again; rows freed without one are published again")
            self.mode = PRESENT
            self.transition = PRESENT

    def take(self) -> tuple[list[str], list[str]]:
        """(receipted, refused) event ids not yet applied; they are the caller's now."""
        ids, self._ids = self._ids, []
        refused, self._refused = self._refused, []
        return ids, refused

    def heard(self) -> None:
        """A sign of life from the township (a receipt; in `"absent"` mode a PUBACK a subscriber had)."""
        self._heard = True

    def quiet_s(self, now: float) -> float:
        """Seconds since the township's last sign of life (since the first tick, if none yet)."""
        return 0.0 if self.last_heard is None else max(0.0, now - self.last_heard)

    @property
    def waiting(self) -> int:
        """Receipted (or refused) ids not yet applied to the outbox."""
        return len(self._ids) + len(self._refused)

    @property
    def oldest_s(self) -> float:
        """How long the oldest id not yet applied has waited (0 if none)."""
        return time.monotonic() - self._first_at if self.waiting else 0.0

    # ----------------------------------------------------------------------------- the mode
    def tick(self, now: float, *, connected: bool) -> None:
        """Count connected time while rows await a receipt that never came; `"absent"` after `absent_after_s`."""
        last, self._last_tick = self._last_tick, now
        if self._heard or self.last_heard is None:
            self._heard, self.last_heard = False, now
        if self.mode != EXPECTED or self.seen or not connected or not self.awaiting or last is None:
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


def parse(payload: bytes) -> tuple[list[str], list[str]] | None:
    """(ids held, ids refused) of a receipt, or None if it is not one (see the module docstring)."""
    try:
        body = json.loads(payload)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(body, dict) or body.get("schema") != SCHEMA:
        return None
    ids = body.get("ids")
    refused = body.get("refused", [])  # optional: a township from before it sends none
    if not all(isinstance(v, list) and all(isinstance(i, str) and i for i in v) for v in (ids, refused)):
        return None
    return ids, refused
