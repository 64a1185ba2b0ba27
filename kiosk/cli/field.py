"""The field commands: `kiosk selftest`, `kiosk provision`, `kiosk maintenance`.

What a technician and systemd run on site.  Each imports what it needs when it runs.  Exit codes
follow the rest of the CLI: 0 success, 1 a negative answer (a failed check, invalid files), 2 usage.
`selftest` reports an unusable configuration as its first check instead of stopping at it, and
`maintenance` falls back to the built-in display settings: both keep the `ConfigError`, they do
not print it.  Provisioning and the maintenance diagnosis judge the files themselves
(`kiosk.service.provisioning`, `kiosk.service.maintenance`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

from kiosk.cli.loading import DEFAULT_CONFIG, read_config
from kiosk.errors import ConfigError

log = logging.getLogger(__name__)


# ------------------------------------------------------------------------------------ selftest
def cmd_selftest(args: argparse.Namespace) -> int:
    from kiosk.config import KioskConfig
    from kiosk.service.selftest import (
        FAULTS,
        exit_code,
        format_text,
        real_hardware,
        run_selftest,
        simulated_hardware,
        to_json,
    )

    if args.fault and not args.simulated:
        print("--fault needs --simulated", file=sys.stderr)
        return 2
    path = args.config or (None if args.simulated else DEFAULT_CONFIG)
    config, error, not_ready = None, None, []
    try:
        config = read_config(path)
    except ConfigError as exc:
        error = exc
    if config is not None and path and not args.simulated:  # what `kiosk run` needs beyond a valid file
        from kiosk.service.readiness import judge_file

        not_ready = [p.text() for p in judge_file(path).problems]
    base = config or KioskConfig()
    try:
        hw = simulated_hardware(base, set(args.fault)) if args.simulated else real_hardware(base)
    except ValueError as exc:
        print(f"{exc} (known: {', '.join(FAULTS)})", file=sys.stderr)
        return 2
    results = run_selftest(config, error, hw, not_ready=not_ready, source=str(path))
    if args.json:
        sys.stdout.write(json.dumps(to_json(results), ensure_ascii=False) + "\n")
    else:
        print(format_text(results))
    return exit_code(results)


# ------------------------------------------------------------------------------------ provision
def cmd_provision(args: argparse.Namespace) -> int:
    from kiosk.service.provisioning import provision

    report = provision(Path(args.boot), Path(args.etc), Path(args.data), user=args.user or None)
    # stdout goes to the journal and the console (kiosk-provision.service): the technician sees it.
    print(f"kiosk provisioning: {report.summary()}")
    for line in report.warnings:
        print(f"  warning: {line}")
    if not report.ok:
        print(f"  the files stay on the boot partition ({args.boot}); fix them and restart")
    return 0 if report.ok else 1


# ------------------------------------------------------------------------------------ maintenance
def cmd_maintenance(args: argparse.Namespace) -> int:
    """Show the maintenance screen until the retry time, a fixed configuration, or SIGTERM."""
    from kiosk.config import KioskConfig
    from kiosk.ports import Screen, ScreenView, StatusStrip
    from kiosk.service.maintenance import diagnose
    from kiosk.service.readiness import judge_file

    config_path = Path(args.config)
    data_dir = Path(args.data)
    diagnosis = diagnose(config_path, data_dir, reason=args.reason, environ=os.environ)
    log.error("maintenance screen: %s", diagnosis.detail.replace("\n", " | "))
    try:  # the journal's copy; the screen must not depend on it (a closed pipe, a terminal's encoding)
        print(diagnosis.detail, flush=True)
    except (OSError, ValueError):
        log.warning("maintenance: stdout is not writable; the screen shows the diagnosis")
        with contextlib.suppress(OSError, ValueError):  # later flushes (at exit) go nowhere, quietly
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    try:
        config = read_config(config_path)
    except ConfigError:
        config = KioskConfig(display={"fullscreen": True})  # type: ignore[arg-type]
    if args.headless:
        os.environ["SDL_VIDEODRIVER"] = "dummy"
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")  # stdout is the journal and the console
    from kiosk.service.app import build_display, stop_on_signals

    try:
        display = build_display(config)
    except Exception as exc:  # no screen at all: the journal still has the diagnosis
        log.error("no display for the maintenance screen: %s", exc)
        return 1
    stopping = stop_on_signals()
    started = time.monotonic()
    checked = started
    try:
        while not stopping.is_set():
            view = ScreenView(Screen.MAINTENANCE, detail=diagnosis.detail, staff_spot=config.site.staff_spot,
                              status=StatusStrip(site_name=config.site.name, wall_time=time.time()))
            display.render(view)
            if args.once:
                return 0
            now = time.monotonic()
            if args.retry_after and now - started >= args.retry_after:
                log.info("maintenance: retrying the kiosk after %.0f s", now - started)
                return 0
            if diagnosis.config_invalid and now - checked >= 5.0:
                checked = now
                if judge_file(config_path).ok:  # valid, and what `kiosk run` needs
                    log.info("maintenance: %s is valid now; retrying the kiosk", config_path)
                    return 0
            time.sleep(1.0)
    finally:
        display.close()
    return 0


def register(sub: Any) -> None:
    """Add the field commands to the `kiosk` parser."""
    from kiosk.service.selftest import FAULTS

    st = sub.add_parser("selftest", help="the technician's checklist: every part, pass/fail and the fix")
    st.add_argument("--json", action="store_true", help="machine-readable output")
    st.add_argument("--simulated", action="store_true", help="emulated hardware (built-in defaults unless --config)")
    st.add_argument("--config", help=f"configuration file (default {DEFAULT_CONFIG} unless --simulated)")
    st.add_argument("--fault", action="append", default=[], metavar="FAULT",
                    help=f"with --simulated, inject a fault (repeatable): {', '.join(FAULTS)}")
    st.set_defaults(func=cmd_selftest)

    pv = sub.add_parser("provision", help="install kiosk.toml and certificates from the boot partition")
    pv.add_argument("--boot", default="/boot/firmware/kiosk", help="where the technician put the files")
    pv.add_argument("--etc", default="/etc/kiosk", help="configuration directory to install into")
    pv.add_argument("--data", default="/var/lib/kiosk", help="data directory (the report is written there)")
    pv.add_argument("--user", default="kiosk", help="owner of the installed files ('' keeps the current user)")
    pv.set_defaults(func=cmd_provision)

    mt = sub.add_parser("maintenance", help="show what is wrong on the screen (kiosk-maintenance.service)")
    mt.add_argument("--config", default=DEFAULT_CONFIG, help="configuration to diagnose and take the display from")
    mt.add_argument("--data", default="/var/lib/kiosk", help="data directory (provisioning report, last failure)")
    mt.add_argument("--reason", default="", help="say this instead of diagnosing")
    mt.add_argument("--retry-after", type=float, default=900.0,
                    help="exit (and let systemd try the kiosk again) after this many seconds; 0 = never")
    mt.add_argument("--once", action="store_true", help="render once and exit")
    mt.add_argument("--headless", action="store_true", help="no window (SDL dummy driver)")
    mt.set_defaults(func=cmd_maintenance)
