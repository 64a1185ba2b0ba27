"""Looking into an outbox file without changing it: what `kiosk outbox stats|tail` read.

`kiosk.outbox.store.Outbox` opens its file to write: it creates a missing file, sets WAL mode and
migrates the schema.  A technician's `--db` may be anything — a copy from another card, the
township's database, a PNG — and looking must change none of them.  So this opens the file
read-only (`mode=ro`), makes sure it is an outbox (SQLite, `PRAGMA user_version` within the
versions this kiosk knows, the `outbox` table) before reading anything, and says what it is when
it is not (`NotAnOutbox`, with the reason in Chinese and English).  `purge-sent` writes, through
`Outbox`, only after `identify` has said the file is one.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from kiosk.errors import KioskError
from kiosk.outbox.delivery import RECEIPTED
from kiosk.outbox.schema import AWAITING, PENDING, REFUSED, ROW, SCHEMA_VERSION

SQLITE_MAGIC = b"SQLite format 3\x00"


class NotAnOutbox(KioskError, ValueError):
    """The file is not an outbox this kiosk can read; `zh` and `en` say what it is instead."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(en)
        self.zh, self.en = zh, en

    def text(self) -> str:
        return f"{self.zh} / {self.en}"


@dataclass(frozen=True, slots=True)
class Peek:
    """What `stats` shows: counts and ages, never a payload."""

    pending: int
    sent: int
    rejected: int
    rows: int
    bytes: int
    oldest_pending_age_s: float | None
    dropped: int
    dropped_by_stream: dict[str, int]
    reported_days: list[str]
    schema: int
    published: int = 0  # the broker has them, no township receipt yet
    receipted: int = 0  # freed by a receipt, ever
    oldest_unreceipted_age_s: float | None = None
    refused: int = 0  # refused for good by the township: dead letters, not sent again (`rejected`: the broker)


def identify(path: Path) -> int:
    """The outbox schema version of the file at `path`, or `NotAnOutbox` saying what it is.  Writes nothing."""
    try:
        with open(path, "rb") as f:
            head = f.read(len(SQLITE_MAGIC))
    except IsADirectoryError:
        raise NotAnOutbox("这是一个文件夹，不是发件箱文件", "a directory, not an outbox file") from None
    except OSError as exc:
        raise NotAnOutbox(f"无法读取（{exc.strerror}）", f"cannot read: {exc.strerror}") from None
    if not head:
        raise NotAnOutbox("空文件，不是发件箱", "an empty file, not an outbox")
    if head != SQLITE_MAGIC:
        raise NotAnOutbox("不是 SQLite 数据库，不是发件箱", "not an SQLite database, so not an outbox")
    con = _connect(path)
    try:
        version = int(con.execute("PRAGMA user_version").fetchone()[0])
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        raise NotAnOutbox(f"SQLite 文件已损坏（{exc}）", f"a damaged SQLite file ({exc})") from None
    finally:
        con.close()
    if "outbox" not in tables or version < 1:
        shown = ", ".join(sorted(tables)[:5]) or "none"
        raise NotAnOutbox(f"是 SQLite 数据库，但不是发件箱（表：{shown}）",
                          f"an SQLite database, but not an outbox (tables: {shown})")
    if version > SCHEMA_VERSION:
        raise NotAnOutbox(f"发件箱格式 {version} 比本程序（{SCHEMA_VERSION}）新，请升级",
                          f"outbox schema {version} is newer than this kiosk's ({SCHEMA_VERSION}): upgrade the kiosk")
    return version


def check_usable(path: Path) -> None:
    """Before the kiosk writes to `path`: `NotAnOutbox` unless it is missing, empty, a blank SQLite file
    or an outbox of this kiosk's schema or an older one.  Someone else's SQLite file (the township's, a
    notes database) must not gain an outbox's tables; a newer kiosk's outbox must not be misread."""
    try:
        if not path.exists() or (path.is_file() and path.stat().st_size == 0):
            return
    except OSError:
        return  # opening it says why
    try:
        identify(path)
    except NotAnOutbox:
        if _blank_sqlite(path):
            return
        raise


def _blank_sqlite(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            if f.read(len(SQLITE_MAGIC)) != SQLITE_MAGIC:
                return False
        con = _connect(path)
        try:
            return (con.execute("PRAGMA user_version").fetchone()[0] == 0
                    and con.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0)
        finally:
            con.close()
    except (OSError, sqlite3.Error, NotAnOutbox):
        return False


def _connect(path: Path) -> sqlite3.Connection:
    """Read-only: SQLite refuses any write, and creates no database (a missing one is an error).

    With no write-ahead log beside the file (the kiosk is not running: SQLite removes it on the
    last close) the file is opened `immutable`: then SQLite does not create the `-wal` and `-shm`
    files either, which a technician's `sudo kiosk outbox stats` would leave owned by root, where
    the kiosk user could not open them at its next start.  While the kiosk runs, they exist (its
    own) and the file is read through them, consistently with its writes.
    """
    wal = path.with_name(path.name + "-wal")
    uri = f"{path.resolve().as_uri()}?mode=ro" + ("" if wal.exists() else "&immutable=1")
    try:
        con = sqlite3.connect(uri, uri=True, timeout=5.0)
        con.execute("PRAGMA query_only = ON")
    except sqlite3.Error as exc:
        raise NotAnOutbox(f"无法以只读方式打开（{exc}）", f"cannot open read-only ({exc})") from None
    return con


def _readable(path: Path) -> sqlite3.Connection:
    version = identify(path)
    if version < SCHEMA_VERSION:
        return _upgraded_copy(path)
    return _connect(path)


def _upgraded_copy(path: Path) -> sqlite3.Connection:
    """An outbox of an older schema, read through a copy brought to this schema: the file itself is not
    touched (the kiosk upgrades it when it next starts).  The copy is gone once the connection closes."""
    import shutil
    import tempfile

    from kiosk.outbox.schema import migrate

    folder = tempfile.mkdtemp(prefix="kiosk-outbox-look-")
    try:
        copy = Path(folder) / "outbox.sqlite"
        source, target = _connect(path), sqlite3.connect(copy, isolation_level=None)
        try:
            source.backup(target)  # a consistent snapshot, even while a kiosk writes it
            migrate(target, copy)
        except sqlite3.DatabaseError as exc:
            raise NotAnOutbox(f"旧格式的发件箱无法读取（{exc}）", f"an outbox of an older schema that cannot be read "
                              f"({exc})") from None
        finally:
            source.close()
            target.close()
        con = _connect(copy)
        con.execute("SELECT count(*) FROM sqlite_master").fetchone()  # open now: the name may then go
        return con
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def peek(path: Path, *, wall: float | None = None) -> Peek:
    """The outbox's counts, read-only."""
    now = time.time() if wall is None else wall
    con = _readable(path)
    try:
        pending, sent, rejected, oldest, size, rows, published, oldest_published, refused = con.execute(
            f"SELECT count(*) FILTER (WHERE {PENDING}), count(sent_at), count(rejected), "
            f"min(created) FILTER (WHERE {PENDING}), coalesce(sum(length(payload)), 0), count(*), "
            f"count(*) FILTER (WHERE {AWAITING}), min(created) FILTER (WHERE {AWAITING}), "
            f"count(*) FILTER (WHERE rejected = {REFUSED}) FROM outbox"
        ).fetchone()
        receipted = con.execute("SELECT coalesce(sum(count), 0) FROM counters WHERE name = ?", (RECEIPTED,)).fetchone()
        dropped = dict(con.execute("SELECT stream, count FROM dropped ORDER BY stream").fetchall())
        days = [r[0] for r in con.execute("SELECT day FROM daily_reports ORDER BY day")]
    except sqlite3.DatabaseError as exc:
        raise NotAnOutbox(f"发件箱文件已损坏（{exc}）", f"a damaged outbox file ({exc})") from None
    finally:
        con.close()
    return Peek(pending=pending, sent=sent, rejected=rejected - refused, refused=refused, rows=rows, bytes=size,
                oldest_pending_age_s=None if oldest is None else max(0.0, now - oldest),
                dropped=sum(dropped.values()), dropped_by_stream=dropped, reported_days=days[-7:],
                schema=SCHEMA_VERSION, published=published, receipted=int(receipted[0]),
                oldest_unreceipted_age_s=None if oldest_published is None else max(0.0, now - oldest_published))


@dataclass(frozen=True, slots=True)
class TailRow:
    seq: int
    event_id: str
    stream: str
    priority: int
    created: float
    payload: bytes
    sent_at: float | None
    rejected: int | None
    published_at: float | None = None


def tail(path: Path, n: int = 20) -> list[TailRow]:
    """The last `n` rows, oldest first, read-only."""
    con = _readable(path)
    try:
        rows = con.execute(f"SELECT {ROW} FROM outbox ORDER BY seq DESC LIMIT ?", (max(0, int(n)),)).fetchall()
    except sqlite3.DatabaseError as exc:
        raise NotAnOutbox(f"发件箱文件已损坏（{exc}）", f"a damaged outbox file ({exc})") from None
    finally:
        con.close()
    return [TailRow(*r) for r in reversed(rows)]


def shown_fields(payload: bytes, fields: tuple[str, ...]) -> dict[str, object]:
    """Only `fields` of a JSON payload (nothing personal), or a note that it cannot be read."""
    try:
        body = json.loads(payload)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return {"payload": "unreadable"}
    if not isinstance(body, dict):
        return {}
    return {k: body[k] for k in fields if k in body}
