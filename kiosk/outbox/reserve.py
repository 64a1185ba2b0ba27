"""The outbox's disk reserve: room kept aside so that a full disk can still be cleared.

SQLite needs space even to delete (the WAL records the change first), so a disk filled by
something else (logs, a core dump) could leave the outbox unable to free anything, and the kiosk
unable to record another entry.  The outbox therefore keeps a reserve file (`<file>.reserve`,
`RESERVE_BYTES`) beside itself.  When an append meets `SQLITE_FULL` (`is_full`) the outbox
checkpoints the WAL, then gives up the reserve (`release`) and deletes delivered rows, and tries
once more; `Outbox.housekeeping` re-creates the reserve (`keep`) once there is room for it twice.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

RESERVE_BYTES = 1 << 20  # given up on a full disk, so that delivered rows can still be deleted


class DiskReserve:
    """A file of `size` real (not sparse) bytes at `path`, to be given up when the disk is full.

    Holds no connection and knows nothing of the outbox's tables: it only takes and gives back
    blocks of the partition the outbox lives on.  A `size` of 0 keeps no reserve (the CLI, which
    must not write beside a copied outbox file).
    """

    def __init__(self, path: Path, size: int = RESERVE_BYTES) -> None:
        self.path = path
        self.size = size

    def keep(self) -> None:
        """Best effort: (re-)create the reserve file when it is missing and the disk has room for it twice."""
        if self.size <= 0 or self.path.exists():
            return
        try:
            if shutil.disk_usage(self.path.parent).free < 2 * self.size:
                return
            with open(self.path, "wb") as f:
                f.write(b"\0" * self.size)  # written, not sparse: the blocks are really taken
                f.flush()
                os.fsync(f.fileno())
        except OSError:
            self.path.unlink(missing_ok=True)

    def release(self) -> None:
        """Give the reserve's blocks back to the partition (so that SQLite can delete rows)."""
        self.path.unlink(missing_ok=True)


def is_full(exc: sqlite3.Error) -> bool:
    """SQLITE_FULL: the disk, or the file's `max_page_count`, has no room."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code == sqlite3.SQLITE_FULL or "full" in str(exc).lower()
