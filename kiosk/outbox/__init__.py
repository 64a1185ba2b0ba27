"""The outbox: every entry event, committed durably on the kiosk before its decision is shown.

`Outbox` is a durable, ordered queue on one SQLite file (WAL, `synchronous=FULL`): the feed
appends each event (with its `Tally` for the daily summary) before the visitor sees the
decision, and the uplink publishes `pending()` rows and marks them sent only on the broker's
acknowledgement.  It holds its parts, each a small class in its own module:

* `kiosk.outbox.schema`: the file itself (settings, tables, migrations; `OutboxError`);
* `kiosk.outbox.bounds`: `Limits` and `Bounds`, what gives way when the outbox is full and
  what ages out (never an alert for an entry; never silently: `dropped()`);
* `kiosk.outbox.tally`: `DayTally`, the daily summary's tally and the days already reported;
* `kiosk.outbox.reserve`: `DiskReserve`, room kept aside so that a full disk can be cleared;
* `kiosk.outbox.store`: `Outbox` itself, the queue and its transactions.

Other packages import from here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kiosk.lazy import front

if TYPE_CHECKING:
    from kiosk.outbox.bounds import Limits
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
    "Tally",
]  # the same names as _EXPORTS
