"""`kiosk outbox stats|tail|purge-sent`: look into the outbox, from another process if need be.

`stats` says what waits for the broker (`pending`), what the broker has and the township has not
receipted yet (`published`), what was freed without a receipt and is kept for the retention
(`sent`), and how many the township's receipts freed, ever (`receipted`: those rows are gone).
`tail` names each row's state the same way.

The outbox is in WAL mode, so these commands can read (and `purge-sent` can write) while the
kiosk runs.  `tail` never prints a payload: it shows each row's place in the queue and only the
payload's non-personal fields (decision, reasons, policy version, day), so its output can be
pasted into a ticket.  (Events carry nothing personal in clear anyway: a masked name at most and
the subject id sealed to the township.)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from kiosk.cli.loading import DEFAULT_CONFIG, load

SHOWN_FIELDS = ("decision", "reasons", "policy_version", "day", "visitors")


def _open(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from kiosk.outbox import Outbox

    path = Path(args.db) if args.db else Path(load(args.config, exit_code=1).storage.data_dir) / "outbox.sqlite"
    if not path.exists():
        print(f"{path}: no outbox there", file=sys.stderr)
        return None
    return Outbox(path, reserve_bytes=0)  # looking must not write a reserve file beside a copied outbox


def _shown(payload: bytes) -> dict[str, Any]:
    try:
        body = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return {"payload": "unreadable"}
    if not isinstance(body, dict):
        return {}
    return {k: body[k] for k in SHOWN_FIELDS if k in body}


def cmd_stats(args: argparse.Namespace) -> int:
    outbox = _open(args)
    if outbox is None:
        return 1
    with outbox:
        s = outbox.stats()
        print(json.dumps({"path": str(outbox.path), "pending": s.pending, "sent": s.sent, "rejected": s.rejected,
                          "rows": s.rows, "bytes": s.bytes, "oldest_pending_age_s": s.oldest_pending_age_s,
                          "dropped": s.dropped, "dropped_by_stream": dict(s.dropped_by_stream),
                          "reported_days": outbox.reported_days()[-7:], "published": s.published,
                          "receipted": s.receipted, "oldest_unreceipted_age_s": s.oldest_unreceipted_age_s},
                         indent=2))
    return 0


def cmd_tail(args: argparse.Namespace) -> int:
    outbox = _open(args)
    if outbox is None:
        return 1
    with outbox:
        for row in outbox.tail(args.n):
            state = "sent" if row.sent_at is not None else (
                f"rejected 0x{row.rejected:02x}" if row.rejected is not None else
                "published" if row.published_at is not None else "pending")
            created = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(row.created))
            print(json.dumps({"seq": row.seq, "event_id": row.event_id, "stream": row.stream, "state": state,
                              "created": created, "bytes": len(row.payload), **_shown(row.payload)},
                             ensure_ascii=False))
    return 0


def cmd_purge_sent(args: argparse.Namespace) -> int:
    outbox = _open(args)
    if outbox is None:
        return 1
    with outbox:
        n = outbox.purge_sent(args.older_than_days * 86_400)
    print(f"purged {n} delivered events")
    return 0


def register(sub: Any) -> None:
    """Add `kiosk outbox ...` to the CLI's subcommands."""
    outbox = sub.add_parser("outbox", help="the durable event queue").add_subparsers(dest="action", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        where = p.add_mutually_exclusive_group()
        where.add_argument("--config", default=DEFAULT_CONFIG, help=f"kiosk configuration (default {DEFAULT_CONFIG})")
        where.add_argument("--db", help="the outbox file itself")

    stats = outbox.add_parser("stats", help="how much waits, how old, how much was dropped")
    common(stats)
    stats.set_defaults(func=cmd_stats)
    tail = outbox.add_parser("tail", help="the last rows (no personal data)")
    common(tail)
    tail.add_argument("-n", type=int, default=20, help="rows (default 20)")
    tail.set_defaults(func=cmd_tail)
    purge = outbox.add_parser("purge-sent", help="delete delivered events now")
    common(purge)
    purge.add_argument("--older-than-days", type=float, default=0.0, help="only those delivered this long ago")
    purge.set_defaults(func=cmd_purge_sent)
