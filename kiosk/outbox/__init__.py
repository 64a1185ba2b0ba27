"""The outbox: every entry event, committed durably on the kiosk before its decision is shown.

`Outbox` is a durable, ordered queue on one SQLite file (WAL, `synchronous=FULL`): the feed
appends each event (with its `Tally` for the daily summary) before the visitor sees the
decision, and the uplink publishes `pending()` rows, marks them published on the broker's
acknowledgement and frees them on the township's receipt (or, from a township that sends no
receipts, on the acknowledgement).  It holds its parts, each a small class in its own module:

* `kiosk.outbox.schema`: the file itself (settings, tables, migrations; `OutboxError`);
* `kiosk.outbox.bounds`: `Limits` and `Bounds`, what gives way when the outbox is full and
  what ages out (never an alert for an entry; never silently: `dropped()`);
* `kiosk.outbox.delivery`: `Delivery` and `Resend`, the delivery states (to publish, awaiting a
  receipt, delivered, receipted) and when a row with no receipt is published again;
* `kiosk.outbox.tally`: `DayTally`, the daily summary's tally, the days already reported and
  the seconds in service per day;
* `kiosk.outbox.reserve`: `DiskReserve`, room kept aside so that a full disk can be cleared;
* `kiosk.outbox.rows`: `OutboxRow`, `OutboxStats`, what readers get;
* `kiosk.outbox.inspect`: looking into a file read-only (`kiosk outbox stats|tail`);
* `kiosk.outbox.store`: `Outbox` itself, the queue and its transactions.

Other packages import from here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kiosk.lazy import front

if TYPE_CHECKING:
    from kiosk.outbox.bounds import Limits
    from kiosk.outbox.delivery import Resend
    from kiosk.outbox.schema import OutboxError
    from kiosk.outbox.store import Outbox, OutboxFull, OutboxRow, OutboxStats
    from kiosk.outbox.tally import Tally

_EXPORTS = {
    "Limits": "bounds",
    "Outbox": "store",
    "OutboxError": "schema",
    "OutboxFull": "store",
    "OutboxRow": "store",
    "OutboxStats": "store",
    "Resend": "delivery",
    "Tally": "tally",
}
__getattr__, __dir__ = front(__name__, _EXPORTS)
__all__ = [
    "Limits",
    "Outbox",
    "OutboxError",
    "OutboxFull",
    "OutboxRow",
    "OutboxStats",
    "Resend",
    "Tally",
]  # the same names as _EXPORTS
