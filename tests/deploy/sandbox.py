"""Run a command under a unit's own system-call filter, as systemd would (there is no systemd PID 1 here).

`python -m tests.deploy.sandbox UNIT -- COMMAND...` reads UNIT's `SystemCallFilter=`,
`SystemCallErrorNumber=` and `UMask=` lines, resolves the `@groups` with the installed
`systemd-analyze syscall-filter` (systemd 252 on Debian 12, the Pi's), merges them the way systemd
does, loads the result as a seccomp filter through libseccomp, and then execs COMMAND.

systemd's merge rules (systemd.exec(5), `config_parse_syscall_filter`): when the first assignment
is an allow list, `@default` is added to it implicitly; every later assignment without `~` adds
to the list, every one with `~` removes from it, in the order written.  A call not on the list
fails with `SystemCallErrorNumber=` (here EPERM), as under systemd.

Capabilities (`CapabilityBoundingSet=`) are the caller's to apply (`setpriv --bounding-set`);
paths (`ProtectSystem=` …) are not emulated: the tests give the command directories of their own.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

SCMP_ACT_ALLOW = 0x7FFF0000


def scmp_act_errno(number: int) -> int:
    return 0x00050000 | (number & 0xFFFF)


def unit_keys(unit: Path) -> list[tuple[str, str]]:
    """(key, value) of every assignment in the unit, in order."""
    pairs = []
    for line in unit.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";", "[")) and "=" in line:
            key, value = line.split("=", 1)
            pairs.append((key.strip(), value.strip()))
    return pairs


@functools.cache
def _groups() -> dict[str, frozenset[str]]:
    """Every `@group` systemd knows, with its members (nested groups left as `@names`)."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        raise RuntimeError("systemd-analyze is not installed")
    text = subprocess.run([analyze, "syscall-filter"], capture_output=True, text=True, check=True).stdout
    groups: dict[str, set[str]] = {}
    current: set[str] | None = None
    for line in text.splitlines():
        if line.startswith("@"):
            current = groups.setdefault(line.split()[0], set())
        elif current is not None and line.startswith("    ") and not line.strip().startswith("#"):
            current.add(line.strip())
    return {name: frozenset(members) for name, members in groups.items()}


def expand(name: str) -> set[str]:
    """A system call, or a `@group` with its nested groups resolved."""
    if not name.startswith("@"):
        return {name}
    found: set[str] = set()
    for member in _groups()[name]:
        found |= expand(member)
    return found


def allowed_calls(unit: Path) -> set[str] | None:
    """The system calls the unit allows (None: no allow list, the filter is off or a deny list)."""
    allowed: set[str] | None = None
    for key, value in unit_keys(unit):
        if key != "SystemCallFilter":
            continue
        deny = value.startswith("~")
        names = set().union(*(expand(n) for n in value.lstrip("~").split()))
        if allowed is None:
            if deny:
                return None  # a deny list: not what the kiosk's units use
            allowed = expand("@default")
        allowed = allowed - names if deny else allowed | names
    return allowed


def error_number(unit: Path) -> int:
    names = [v for k, v in unit_keys(unit) if k == "SystemCallErrorNumber"]
    return getattr(errno, names[-1]) if names else errno.EPERM


def umask(unit: Path) -> int | None:
    values = [v for k, v in unit_keys(unit) if k == "UMask"]
    return int(values[-1], 8) if values else None


def load_filter(allowed: set[str], fail_with: int) -> None:
    """Install the seccomp filter on this process (and everything it execs)."""
    lib = ctypes.CDLL(ctypes.util.find_library("seccomp") or "libseccomp.so.2", use_errno=True)
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_syscall_resolve_name.restype = ctypes.c_int
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_rule_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint]
    lib.seccomp_load.argtypes = [ctypes.c_void_p]
    ctx = lib.seccomp_init(scmp_act_errno(fail_with))
    if not ctx:
        raise OSError("seccomp_init failed")
    for name in sorted(allowed):
        number = lib.seccomp_syscall_resolve_name(name.encode())
        if number < 0:  # not a call of this architecture (systemd skips those too)
            continue
        lib.seccomp_rule_add(ctx, SCMP_ACT_ALLOW, number, 0)
    if lib.seccomp_load(ctx) != 0:
        raise OSError("seccomp_load failed")


def main(argv: list[str]) -> None:
    unit, command = Path(argv[0]), argv[argv.index("--") + 1:]
    allowed = allowed_calls(unit)
    mask = umask(unit)
    if mask is not None:
        os.umask(mask)
    if allowed is not None:
        load_filter(allowed, error_number(unit))
    os.execv(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
