"""Is the wall clock synchronised?  The Pi has no RTC: after a power cut it boots at the last
saved time (fake-hwclock, timesyncd's clock file) until NTP answers, maybe hours later.

Code freshness (`iat` within `max_code_age_s`) and the nucleic-acid window are judged against
the wall clock, so until it is synchronised the kiosk cannot tell a fresh code from a
screenshot: it shows the clock warning, reports it, and refuses freshness-dependent PASS
decisions with the reason `clock_unsynced` (see `kiosk.policy.decide`).

`SystemClockSync` asks, in order: systemd-timesyncd's flag file
(/run/systemd/timesync/synchronized, created once the first NTP answer set the clock), the
kernel's own status via adjtimex(2) (STA_UNSYNC clear once any NTP daemon — timesyncd, chrony,
ntpd — disciplines the clock), and last `timedatectl show -p NTPSynchronized`.  The kiosk
service runs with ProtectClock=yes, whose seccomp filter refuses adjtimex even for reading, so
there the flag file and timedatectl are what answer.  `SimulatedClockSync` is the test double.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import subprocess
import sys
from pathlib import Path
from typing import Protocol, runtime_checkable

log = logging.getLogger(__name__)

TIMESYNCD_FLAG = Path("/run/systemd/timesync/synchronized")
STA_UNSYNC = 0x0040
TIME_ERROR = 5  # adjtimex's return value while the clock is not synchronised
RECHECK_S = 30.0  # the answer is cached this long (a subprocess per loop step would be waste)


@runtime_checkable
class ClockSync(Protocol):
    """Whether the wall clock can be trusted for freshness decisions."""

    def synchronized(self) -> bool: ...

    def source(self) -> str:
        """What answered, for the selftest and the logs (e.g. `timesyncd`, `adjtimex`)."""
        ...


class SimulatedClockSync:
    """A clock whose synchronisation tests and scenarios switch on and off."""

    def __init__(self, synced: bool = True) -> None:
        self.synced = synced

    def synchronized(self) -> bool:
        return self.synced

    def source(self) -> str:
        return "simulated"


class _Timex(ctypes.Structure):
    """struct timex (linux/timex.h); only `modes` (in) and `status` (out) are used."""

    _fields_ = [
        ("modes", ctypes.c_uint), ("offset", ctypes.c_long), ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long), ("esterror", ctypes.c_long), ("status", ctypes.c_int),
        ("constant", ctypes.c_long), ("precision", ctypes.c_long), ("tolerance", ctypes.c_long),
        ("time_sec", ctypes.c_long), ("time_usec", ctypes.c_long), ("tick", ctypes.c_long),
        ("ppsfreq", ctypes.c_long), ("jitter", ctypes.c_long), ("shift", ctypes.c_int),
        ("stabil", ctypes.c_long), ("jitcnt", ctypes.c_long), ("calcnt", ctypes.c_long),
        ("errcnt", ctypes.c_long), ("stbcnt", ctypes.c_long), ("tai", ctypes.c_int),
        ("_padding", ctypes.c_int * 11),
    ]


def kernel_synchronized() -> bool | None:
    """The kernel's view via adjtimex(2) with modes = 0 (read only); None when it cannot be asked."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        tx = _Timex()
        state = libc.adjtimex(ctypes.byref(tx))
    except (OSError, AttributeError):
        return None
    if state < 0:  # EPERM under a seccomp filter (ProtectClock=yes)
        return None
    return state != TIME_ERROR and not tx.status & STA_UNSYNC


def timedatectl_synchronized(timeout_s: float = 3.0) -> bool | None:
    try:
        out = subprocess.run(["timedatectl", "show", "-p", "NTPSynchronized", "--value"], capture_output=True,
                             text=True, timeout=timeout_s, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    answer = out.stdout.strip()
    if out.returncode != 0 or answer not in ("yes", "no"):
        return None
    return answer == "yes"


class SystemClockSync:
    """The real system's answer, cached for `recheck_s` on the caller's monotonic clock."""

    def __init__(self, *, flag: Path = TIMESYNCD_FLAG, recheck_s: float = RECHECK_S,
                 monotonic=None) -> None:  # type: ignore[no-untyped-def]
        import time

        self._flag = flag
        self._recheck_s = recheck_s
        self._monotonic = monotonic or time.monotonic
        self._cached: tuple[bool, str] | None = None
        self._checked_at = -1e18

    def _ask(self) -> tuple[bool, str]:
        if self._flag.exists():
            return True, "timesyncd"
        kernel = kernel_synchronized()
        if kernel is not None:
            return kernel, "adjtimex"
        tdc = timedatectl_synchronized()
        if tdc is not None:
            return tdc, "timedatectl"
        return False, "unknown"  # nothing could tell: assume the worst

    def _answer(self) -> tuple[bool, str]:
        now = self._monotonic()
        if self._cached is None or now - self._checked_at >= self._recheck_s:
            previous = self._cached
            self._cached = self._ask()
            self._checked_at = now
            if previous is None or previous[0] != self._cached[0]:
                log.log(logging.INFO if self._cached[0] else logging.WARNING, "wall clock %s (%s)",
                        "synchronised" if self._cached[0] else "NOT synchronised", self._cached[1])
        return self._cached

    def synchronized(self) -> bool:
        return self._answer()[0]

    def source(self) -> str:
        return self._answer()[1]
