"""The outbox's file: how the SQLite database is opened, and the schema it holds.

`kiosk.outbox.store` keeps its promise (an entry that was shown was recorded) only if a commit is on
the SD card when it returns, and only if a file written by one kiosk version is read correctly by
the next.  Both depend on settings made once, when the file is opened, and on the schema's
history; they live here so that the queue's own logic (`kiosk.outbox.store`) reads without them.

SQLite (stdlib, one file on the data partition) gives us atomic, crash-safe commits:

* WAL mode, so the CLI (`kiosk outbox stats`) can read from another process while the kiosk
  writes, without either blocking the other;
* `synchronous=FULL`, because in WAL mode `NORMAL` does not fsync on commit: a power cut right
  after the visitor saw the decision could lose that row.  FULL costs one fsync per append;
* a busy timeout, so a concurrent writer (a maintenance command) makes us wait, not fail;
* `seq INTEGER PRIMARY KEY AUTOINCREMENT`, so sequence numbers never go backwards, even after
  every row has been purged (a plain rowid would reuse the largest deleted one);
* the schema version in `PRAGMA user_version`, so a newer file is refused rather than misread.

Pages are 1 KiB rather than SQLite's 4 KiB, which halves the bytes written per event (measured
with bench/outbox_enqueue.py: about 13.5 KB per event including WAL checkpoints, against 27 KB
with 4 KiB pages and 34 KB for a connection per event).

The WAL is folded back into the file every `CHECKPOINT_PAGES` pages (4 MB) rather than SQLite's
1,000: each checkpoint costs two fsyncs (2 to 20 ms each on an SD card) that stall the uplink
while it drains a backlog, and a page written again before the next checkpoint is copied once
(bench/uplink_drain.py at an SD card's fsync cost: draining gains about 40 %).

The schema only grows: each entry of `MIGRATIONS` takes a file from version i to i + 1, and a
fresh file runs them all, so an old kiosk's file keeps its rows across an upgrade.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from kiosk.errors import KioskError

SCHEMA_VERSION = 6
BUSY_TIMEOUT_MS = 5000
# Small pages: each commit writes every page it touched (about five) to the WAL, and a 4 KiB page
# per touch doubled the bytes written per event (bench/outbox_enqueue.py: 27 KB vs 13.5 KB).
PAGE_SIZE = 1024
CHECKPOINT_PAGES = 4000  # WAL pages between automatic checkpoints (SQLite's default: 1000)

_TO_PUBLISH = "sent_at IS NULL AND rejected IS NULL AND published_at IS NULL"
_AWAITING = "published_at IS NOT NULL AND sent_at IS NULL AND rejected IS NULL"

# Each entry takes a file from version i to i + 1; a fresh file runs them all.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (  # 1: the walking skeleton's queue
        """CREATE TABLE outbox (
        seq      INTEGER PRIMARY KEY AUTOINCREMENT,
        event_id TEXT    NOT NULL UNIQUE,
        stream   TEXT    NOT NULL,
        priority INTEGER NOT NULL DEFAULT 0,
        created  REAL    NOT NULL,          -- Clock.wall() when appended
        payload  BLOB    NOT NULL,
        sent_at  REAL                       -- Clock.wall() when the broker acknowledged it
    )""",
        "CREATE INDEX outbox_pending ON outbox (priority DESC, seq) WHERE sent_at IS NULL",
    ),
    (  # 2: dead letters, so a row the broker refuses is set aside instead of retried forever
        "ALTER TABLE outbox ADD COLUMN rejected INTEGER",  # the MQTT reason code (>= 0x80) it was refused with
        # The uplink asks "what next?" on every loop: keep that an index walk, however long the history.
        "DROP INDEX IF EXISTS outbox_pending",
        "CREATE INDEX outbox_pending ON outbox (priority DESC, seq) WHERE sent_at IS NULL AND rejected IS NULL",
        "CREATE INDEX outbox_sent ON outbox (sent_at) WHERE sent_at IS NOT NULL",
    ),
    (  # 3: bounds (what was dropped undelivered), the daily summary's tally and its reported days
        "CREATE TABLE dropped (stream TEXT PRIMARY KEY, count INTEGER NOT NULL) WITHOUT ROWID",
        # One row per decision, keyed by its outbox seq (appended at the end of the b-tree: one page).
        """CREATE TABLE visits (
        seq      INTEGER PRIMARY KEY,
        day      TEXT    NOT NULL,          -- local calendar day, YYYY-MM-DD
        decision TEXT    NOT NULL,
        reasons  TEXT    NOT NULL,          -- comma-separated
        policy   TEXT    NOT NULL,          -- the policy version that decided it
        seconds  REAL                       -- at the kiosk; NULL if lost in a power cut
    )""",
        "CREATE TABLE daily_reports (day TEXT PRIMARY KEY, event_id TEXT NOT NULL, made REAL NOT NULL) WITHOUT ROWID",
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
    ),
    (  # 4: rows stamped on a wall clock not yet synchronised (age logic ignores them until settled)
        "ALTER TABLE outbox ADD COLUMN unsynced INTEGER",  # 1: `created` is on a stale timeline
        "ALTER TABLE visits ADD COLUMN unsynced INTEGER",  # 1: `day` is on a stale timeline
        "CREATE INDEX outbox_unsynced ON outbox (seq) WHERE unsynced IS NOT NULL",
        "CREATE INDEX visits_unsynced ON visits (seq) WHERE unsynced IS NOT NULL",
    ),
    (  # 5: the township's receipts (issue 13): published (the broker has it) is not yet delivered
        "ALTER TABLE outbox ADD COLUMN published_at REAL",  # the uplink's wall clock at the PUBACK
        "ALTER TABLE outbox ADD COLUMN resend_at REAL",  # published, no receipt: publish again from then on
        "ALTER TABLE outbox ADD COLUMN tries INTEGER NOT NULL DEFAULT 0",  # PUBACKs without a receipt so far
        "DROP INDEX IF EXISTS outbox_pending",  # what to publish: no longer every undelivered row
        f"CREATE INDEX outbox_pending ON outbox (priority DESC, seq) WHERE {_TO_PUBLISH}",
        f"CREATE INDEX outbox_published ON outbox (resend_at) WHERE {_AWAITING}",
        "CREATE TABLE counters (name TEXT PRIMARY KEY, count INTEGER NOT NULL) WITHOUT ROWID",
        # Seconds the kiosk was in service per local day, for the daily summary's `in_service_s`.
        "CREATE TABLE service (day TEXT PRIMARY KEY, seconds REAL NOT NULL) WITHOUT ROWID",
    ),
    (  # 6: a PUBACK saying "no matching subscribers" (0x10) is no delivery: such a row is never freed on it
        "ALTER TABLE outbox ADD COLUMN unheard INTEGER",  # 1: the last PUBACK said nobody subscribed
    ),
)
ROW = "seq, event_id, stream, priority, created, payload, sent_at, rejected, published_at"
# A row's states (see kiosk.outbox.delivery): to publish, published and awaiting the township's
# receipt, delivered (`sent_at`: freed), or a dead letter (`rejected`: the broker's reason code, or
# `REFUSED` when the township refused it for good).  A receipted row is deleted.
UNDELIVERED = "sent_at IS NULL AND rejected IS NULL"
PENDING = _TO_PUBLISH
REFUSED = 0x100  # `rejected` of a row the township's receipt named as refused (not an MQTT reason code)
AWAITING = _AWAITING


class OutboxError(KioskError, sqlite3.DatabaseError):
    """The outbox file cannot be used as it is (e.g. written by a newer kiosk).

    A `sqlite3.DatabaseError` too, so a caller guarding against a broken database catches it.
    """


def open_database(path: Path) -> sqlite3.Connection:
    """Open (or create) the outbox file with the settings above, at `SCHEMA_VERSION`.

    Raises `OutboxError` if the file cannot be used as it is; the connection is then closed.
    """
    con = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    try:
        con.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        con.execute(f"PRAGMA page_size = {PAGE_SIZE}")  # takes effect only on a new, empty file
        mode = con.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise OutboxError(f"{path}: cannot use write-ahead logging (journal mode {mode})")
        con.execute("PRAGMA synchronous = FULL")
        con.execute(f"PRAGMA wal_autocheckpoint = {CHECKPOINT_PAGES}")
        migrate(con, path)
    except BaseException:
        con.close()
        raise
    return con


def migrate(con: sqlite3.Connection, path: str | os.PathLike[str]) -> None:
    """Bring the file to `SCHEMA_VERSION`; refuse one written by a newer kiosk.

    Runs under the write lock and re-reads the version, because the CLI may open the same
    file at the same moment; the migration and the version bump commit together.
    """
    if con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
        return
    con.execute("BEGIN IMMEDIATE")
    try:
        version = con.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise OutboxError(f"{path}: 发件箱格式 {version} 比本程序（{SCHEMA_VERSION}）新，请升级 / outbox schema "
                              f"{version} is newer than this kiosk's ({SCHEMA_VERSION}); upgrade the kiosk")
        for statements in MIGRATIONS[version:]:
            for statement in statements:
                con.execute(statement)
        con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        con.execute("COMMIT")
    except BaseException:
        if con.in_transaction:
            con.execute("ROLLBACK")
        raise
