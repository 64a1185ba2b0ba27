"""systemd's service manager protocol, by hand: READY, STATUS, STOPPING and the watchdog.

`sd_notify` is one datagram on the AF_UNIX socket named in $NOTIFY_SOCKET (a path, or an
abstract name starting with `@`); no library is needed for it.  Outside systemd the variable is
unset and every call is a cheap no-op, so the kiosk runs the same from a terminal.

The watchdog is fed by the kiosk's main loop, not by a thread: a thread would keep feeding a
kiosk whose loop is stuck in a driver call.  `Watchdog.beat` sends WATCHDOG=1 at most every half
of WATCHDOG_USEC, and only while every part the loop depends on is alive (`Liveness`): a part
that has stopped making progress stops the feeding, systemd kills and restarts the kiosk, and
after the unit's start limit the maintenance screen says which part it was.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

# A part that made no progress for this long is dead (a hung I²C read, a camera that no longer
# returns, a display whose every render fails).  Short enough to be well inside WatchdogSec=20.
STALE_S = 10.0


def notify(state: str, *, environ: Mapping[str, str] | None = None) -> bool:
    """Send one sd_notify message (`READY=1`, `WATCHDOG=1`, `STATUS=…`, …).

    Returns False when not run by systemd (no $NOTIFY_SOCKET) or when the send failed; the
    kiosk never stops because its supervisor could not be told something.
    """
    env = os.environ if environ is None else environ
    address = env.get("NOTIFY_SOCKET", "")
    if not address or address[0] not in "/@":
        return False
    target = "\0" + address[1:] if address[0] == "@" else address  # abstract namespace
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(target)
            sock.sendall(state.encode("utf-8", "replace"))
    except OSError as exc:
        log.debug("sd_notify %r failed: %s", state, exc)
        return False
    return True


def watchdog_interval(environ: Mapping[str, str] | None = None) -> float | None:
    """Seconds between WATCHDOG=1 messages (half of WATCHDOG_USEC), or None when no watchdog is set.

    WATCHDOG_PID, when present, must be this process: a child inheriting the environment must
    not feed its parent's watchdog.
    """
    env = os.environ if environ is None else environ
    pid = env.get("WATCHDOG_PID")
    if pid and pid.isdigit() and int(pid) != os.getpid():
        return None
    try:
        usec = int(env.get("WATCHDOG_USEC", "0"))
    except ValueError:
        return None
    return usec / 2e6 if usec > 0 else None


@dataclass(slots=True)
class Liveness:
    """When (monotonic s) each part last made progress.

    The loop calls `progress("thermal", now)` after every completed sensor read attempt (a frame or a
    clean `SensorError`: a sensor that answers "unplugged" is alive, the checkpoint shows FAULT),
    `progress("camera", now)` after every camera read attempt, and `progress("ui", now)` after
    every render that succeeded.  A part is dead when it has not progressed for `stale_s`.
    """

    stale_s: float = STALE_S
    parts: tuple[str, ...] = ("thermal", "camera", "ui")
    last: dict[str, float] = field(default_factory=dict)

    def start(self, now: float) -> None:
        """Every part counts as alive at start (the first reads are still to come)."""
        for part in self.parts:
            self.last[part] = now

    def progress(self, part: str, now: float) -> None:
        self.last[part] = now

    def dead(self, now: float) -> list[str]:
        """The parts that made no progress within `stale_s`, in `parts` order."""
        return [p for p in self.parts if now - self.last.get(p, -1e18) > self.stale_s]


class Watchdog:
    """Feeds systemd's watchdog from the main loop while every part is alive.

    `beat(now)` is cheap enough to call on every loop step.  `interval` None (no WatchdogSec, or
    not run by systemd) keeps the liveness bookkeeping but sends nothing.  `on_dead(text)` is told
    once when parts stop making progress.
    """

    def __init__(self, *, liveness: Liveness | None = None, environ: Mapping[str, str] | None = None,
                 on_dead: Callable[[str], None] | None = None) -> None:
        self._environ = environ
        # e.g. `kiosk.service.maintenance.record_failure`: the maintenance screen says which part
        self._on_dead = on_dead
        self.interval = watchdog_interval(environ)
        self.liveness = liveness or Liveness()
        self._due = -1e18
        self._reported_dead: tuple[str, ...] = ()
        self.fed = 0

    def _send(self, state: str) -> bool:
        return notify(state, environ=self._environ)

    def ready(self, now: float, status: str = "running") -> None:
        """All parts are open: tell systemd the start-up is over (Type=notify)."""
        self.liveness.start(now)
        self._send(f"READY=1\nSTATUS={status}")
        self.beat(now)

    def status(self, text: str) -> None:
        self._send(f"STATUS={text}")

    def stopping(self) -> None:
        self._send("STOPPING=1")

    def beat(self, now: float) -> bool:
        """Feed the watchdog if due and all parts are alive.  True when WATCHDOG=1 was sent."""
        dead = tuple(self.liveness.dead(now))
        if dead != self._reported_dead:
            self._reported_dead = dead
            if dead:
                log.error("not feeding the watchdog: %s made no progress for %.0f s", ", ".join(dead),
                          self.liveness.stale_s)
                text = "not responding: " + ", ".join(dead)
                self._send("STATUS=" + text)
                if self._on_dead is not None:
                    self._on_dead(text)
            else:
                self._send("STATUS=running")
        if dead or self.interval is None or now < self._due:
            return False
        self._due = now + self.interval
        if self._send("WATCHDOG=1"):
            self.fed += 1
            return True
        return False
