"""`kiosk outbox stats|tail|purge-sent`: look into the outbox, from another process if need be.

`stats` says what waits for the broker (`pending`), what the broker has and the township has not
receipted yet (`published`), what was freed without a receipt and is kept for the retention
(`sent`), and how many the township's receipts freed, ever (`receipted`: those rows are gone).
`tail` names each row's state the same way.

`stats` and `tail` only look: they open the file read-only (`kiosk.outbox.inspect`), so a copied
outbox, a file given by mistake (the township's database, an empty file, a PNG) or one of a newer
kiosk is never changed — no tables added, no WAL switched on — and a file that is not an outbox is
named as what it is (exit 2).  `purge-sent` writes (the outbox is in WAL mode, so it can while the
kiosk runs), and only to a file that was first identified as an outbox.  `tail` never prints a
payload: it shows each row's place in the queue and only the payload's non-personal fields
(decision, reasons, policy version, day), so its output can be pasted into a ticket.

Exit codes: 0 done, 1 no outbox there (or the configuration naming it cannot be used, as it
always was), 2 the file is not an outbox this kiosk can use.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from kiosk.cli.loading import DEFAULT_CONFIG, CommandFailed, load

SHOWN_FIELDS = ("decision", "reasons", "policy_version", "day", "visitors")


def _path(args: argparse.Namespace) -> Path:
    """The outbox file named by --db or the configuration; `CommandFailed` if there is none or it is not one."""
    from kiosk.outbox.inspect import NotAnOutbox, identify

    path = Path(args.db) if args.db else Path(load(args.config, exit_code=1).storage.data_dir) / "outbox.sqlite"
    try:
        there = path.exists()
    except PermissionError:  # /var/lib/kiosk is 0750, the kiosk user's: Python 3.11 raises instead of False
        print(f"{path}: 没有权限查看这个文件夹，请用 sudo 运行 / permission denied: run it with sudo", file=sys.stderr)
        raise CommandFailed(2) from None
    except (OSError, ValueError) as exc:
        print(f"{path}: 无法读取 / cannot read: {exc}", file=sys.stderr)
        raise CommandFailed(2) from None
    if not there:
        print(f"{path}: 这里没有发件箱 / no outbox there", file=sys.stderr)
        raise CommandFailed(1)
    try:
        identify(path)
    except NotAnOutbox as exc:
        print(f"{path}: {exc.text()}", file=sys.stderr)
        raise CommandFailed(2) from None
    return path


def _refused(path: Path, exc: Exception) -> int:
    print(f"{path}: {exc.text() if hasattr(exc, 'text') else exc}", file=sys.stderr)
    return 2


def cmd_stats(args: argparse.Namespace) -> int:
    from kiosk.outbox.inspect import NotAnOutbox, peek

    path = _path(args)
    try:
        s = peek(path)
    except NotAnOutbox as exc:
        return _refused(path, exc)
    print(json.dumps({"path": str(path), "pending": s.pending, "sent": s.sent, "rejected": s.rejected,
                      "refused": s.refused,
                      "rows": s.rows, "bytes": s.bytes, "oldest_pending_age_s": s.oldest_pending_age_s,
                      "dropped": s.dropped, "dropped_by_stream": s.dropped_by_stream,
                      "reported_days": s.reported_days, "published": s.published, "receipted": s.receipted,
                      "oldest_unreceipted_age_s": s.oldest_unreceipted_age_s}, indent=2))
    return 0


def cmd_tail(args: argparse.Namespace) -> int:
    from kiosk.outbox.inspect import REFUSED, NotAnOutbox, shown_fields, tail

    path = _path(args)
    try:
        rows = tail(path, args.n)
    except NotAnOutbox as exc:
        return _refused(path, exc)
    for row in rows:
        state = "sent" if row.sent_at is not None else (
            "refused by the township" if row.rejected == REFUSED else
            f"rejected 0x{row.rejected:02x}" if row.rejected is not None else
            "published" if row.published_at is not None else "pending")
        created = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(row.created))
        print(json.dumps({"seq": row.seq, "event_id": row.event_id, "stream": row.stream, "state": state,
                          "created": created, "bytes": len(row.payload), **shown_fields(row.payload, SHOWN_FIELDS)},
                         ensure_ascii=False))
    return 0


def cmd_purge_sent(args: argparse.Namespace) -> int:
    import sqlite3

    from kiosk.outbox.store import Outbox

    path = _path(args)  # identified as an outbox before anything writes to it
    try:
        with Outbox(path, reserve_bytes=0) as outbox:  # no reserve file beside a copied outbox
            n = outbox.purge_sent(args.older_than_days * 86_400)
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):  # the kiosk holds a write transaction longer than we wait
            print(f"{path}: 设备正在写入发件箱，请稍后再试 / the outbox is busy (the kiosk is writing to it): "
                  "try again in a moment", file=sys.stderr)
            return 2
        print(f"{path}: 无法清理（{exc}）/ cannot purge: {exc}", file=sys.stderr)
        return 2
    except (sqlite3.Error, OSError) as exc:
        return _refused(path, exc)
    print(f"purged {n} delivered events")
    return 0


MAX_ROWS = 2**62  # above any row count SQLite can hold; a larger -n would not fit its INTEGER


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return min(value, MAX_ROWS)  # "all of them": no outbox holds more rows than that


def _days(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more days, not {text}")
    if not value <= 36_500:
        raise argparse.ArgumentTypeError(f"give 0 to 36500 days (a hundred years), not {text}")
    return value


def register(sub: Any) -> None:
    """Add `kiosk outbox ...` to the CLI's subcommands."""
    outbox = sub.add_parser("outbox", help="the durable event queue").add_subparsers(dest="action", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        where = p.add_mutually_exclusive_group()
        where.add_argument("--config", default=DEFAULT_CONFIG, help=f"kiosk configuration (default {DEFAULT_CONFIG})")
        where.add_argument("--db", help="the outbox file itself")

    stats = outbox.add_parser("stats", help="how much waits, how old, how much was dropped (read-only)")
    common(stats)
    stats.set_defaults(func=cmd_stats)
    tail = outbox.add_parser("tail", help="the last rows (no personal data; read-only)")
    common(tail)
    tail.add_argument("-n", type=_count, default=20, help="rows (default 20)")
    tail.set_defaults(func=cmd_tail)
    purge = outbox.add_parser("purge-sent", help="delete delivered events now")
    common(purge)
    purge.add_argument("--older-than-days", type=_days, default=0.0, help="only those delivered this long ago")
    purge.set_defaults(func=cmd_purge_sent)
