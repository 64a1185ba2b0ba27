"""Is the wall clock synchronised?  The Pi has no RTC: after a power cut it boots at the last
saved time (fake-hwclock, timesyncd's clock file) until NTP answers, maybe hours later.

Code freshness (`iat` within `max_code_age_s`) and the nucleic-acid window are judged against
the wall clock, so until it is synchronised the kiosk cannot tell a fresh code from a
screenshot: it shows the clock warning, reports it, and refuses freshness-dependent PASS
decisions with the reason `clock_unsynced` (see `kiosk.checkpoint.policy.decide`).

`SystemClockSync` asks, in order: systemd-timesyncd's flag file
(/run/systemd/timesync/synchronized, created once the first NTP answer set the clock), the
kernel's own status via adjtimex(2) (STA_UNSYNC clear once any NTP daemon — timesyncd, chrony,
ntpd — disciplines the clock), and last `timedatectl show -p NTPSynchronized`.  The kiosk
service runs with ProtectClock=yes, whose seccomp filter refuses adjtimex even for reading, so
there the flag file and timedatectl are what answer.  `SimulatedClockSync` is the test double.

The first two are a stat and a system call; timedatectl is a subprocess that talks to D-Bus and
may take seconds.  The kiosk's main loop asks every pass, so that probe runs in a background
thread and the loop gets the last answer at once (`False`, "unknown", until the first one).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import subprocess
import sys
import threading
from collections.abc import Callable
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
    """The real system's answer, cached for `recheck_s` on the caller's monotonic clock.

    With `background` (the default) the slow probe (timedatectl) runs in a thread of its own and
    `synchronized()` never waits for it; `background=False` waits (the selftest, run once).
    """

    def __init__(self, *, flag: Path = TIMESYNCD_FLAG, recheck_s: float = RECHECK_S,
                 monotonic: Callable[[], float] | None = None, background: bool = True,
                 slow_probe: Callable[[], bool | None] = timedatectl_synchronized) -> None:
        import time

        self._flag = flag
        self._recheck_s = recheck_s
        self._monotonic = monotonic or time.monotonic
        self._background = background
        self._slow_probe = slow_probe
        self._lock = threading.Lock()  # `_cached` and `_slow` are also written by the probe's thread
        self._cached: tuple[bool, str] | None = None
        self._slow: tuple[bool, str] | None = None  # the slow probe's last answer
        self._probing: threading.Thread | None = None
        self._checked_at = -1e18

    def _ask(self) -> tuple[bool, str]:
        if self._flag.exists():
            return True, "timesyncd"
        kernel = kernel_synchronized()
        if kernel is not None:
            return kernel, "adjtimex"
        if not self._background:
            return self._probe_slowly()
        if self._probing is None or not self._probing.is_alive():
            self._probing = threading.Thread(target=self._probe_in_background, name="clock-sync-probe", daemon=True)
            self._probing.start()
        return self._slow or (False, "unknown")  # nothing could tell yet: assume the worst

    def _probe_slowly(self) -> tuple[bool, str]:
        try:
            answer = self._slow_probe()
        except Exception:  # a probe that fails says nothing: not synchronised
            log.exception("clock sync: probing failed")
            answer = None
        return (answer, "timedatectl") if answer is not None else (False, "unknown")

    def _probe_in_background(self) -> None:
        answer = self._probe_slowly()
        with self._lock:
            self._slow = answer
            if self._cached is not None and self._cached[1] in ("timedatectl", "unknown"):
                self._set(answer)  # the fast probes had nothing to say: this is the answer now

    def _set(self, answer: tuple[bool, str]) -> None:
        previous, self._cached = self._cached, answer
        if previous is None or previous[0] != answer[0]:
            log.log(logging.INFO if answer[0] else logging.WARNING, "wall clock %s (%s)",
                    "synchronised" if answer[0] else "NOT synchronised", answer[1])

    def _answer(self) -> tuple[bool, str]:
        now = self._monotonic()
        with self._lock:
            if self._cached is None or now - self._checked_at >= self._recheck_s:
                self._set(self._ask())
                self._checked_at = now
            return self._cached  # type: ignore[return-value]

    def synchronized(self) -> bool:
        return self._answer()[0]

    def source(self) -> str:
        return self._answer()[1]
