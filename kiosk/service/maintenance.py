"""The maintenance screen: when the kiosk cannot run, the display says why instead of going blank.

kiosk-maintenance.service runs `kiosk maintenance` when kiosk.service gives up (its start limit:
a bad configuration, a crash loop, a part that stops answering) or when provisioning failed.
The diagnosis is made here, not passed in, because systemd only knows that a unit failed:

1. a failed provisioning report (the files on the boot partition are invalid);
2. the configuration does not validate, or `kiosk run` would refuse it (`kiosk.service.readiness`:
   its problems, with line numbers, in the words `kiosk config check` uses);
3. the last failure the watchdog recorded (which part stopped answering);
4. otherwise the failed unit's result as systemd gives it to OnFailure= units
   ($MONITOR_SERVICE_RESULT, $MONITOR_EXIT_CODE, $MONITOR_EXIT_STATUS).

The text is Chinese first, then English, one paragraph per line (the UI's MAINTENANCE layout).
Nothing personal is ever in it: configuration keys, part names and exit statuses only.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from kiosk.service.provisioning import REPORT_NAME, ProvisioningReport

LAST_FAILURE_NAME = "last-failure.txt"  # written by the watchdog when it stops feeding
FRESH_S = 3600.0  # a recorded failure older than this is not today's story
MAX_PROBLEMS = 4  # the screen has room for a few; the rest are in the journal


@dataclass(frozen=True, slots=True)
class Diagnosis:
    kind: str  # "provisioning", "config", "part", "crash", "given"
    detail: str  # for ScreenView.detail: Chinese line(s), then English
    config_invalid: bool = False


def _problems(lines: list[str]) -> str:
    shown = lines[:MAX_PROBLEMS]
    more = len(lines) - len(shown)
    return "\n".join(shown) + (f"\n（另有 {more} 项 / +{more} more: kiosk config check）" if more > 0 else "")


def diagnose(config_path: Path, data_dir: Path, *, reason: str = "", environ: Mapping[str, str] | None = None,
             now: float | None = None) -> Diagnosis:
    """What is wrong, worked out from the files (never raises: this is the fallback that must speak)."""
    from kiosk.service.readiness import judge_file

    env = environ if environ is not None else {}
    now = time.time() if now is None else now
    if reason:
        return Diagnosis("given", f"设备需要维护\n{reason}")
    report = ProvisioningReport.read(data_dir / REPORT_NAME)
    if report is not None and not report.ok:
        return Diagnosis("provisioning", "首次配置文件无效，请修正SD卡启动分区kiosk文件夹中的文件后重启\n"
                         "The files on the SD card's boot partition (kiosk/ folder) are invalid; fix them and "
                         "restart:\n" + _problems(report.problems))
    verdict = judge_file(config_path)
    if not verdict.ok:
        return Diagnosis("config", f"配置文件有误，请修正后重启\nConfiguration {verdict.source} cannot be used; fix it "
                         "and restart:\n" + _problems([p.text() for p in verdict.problems]), config_invalid=True)
    last = data_dir / LAST_FAILURE_NAME
    try:
        if now - last.stat().st_mtime < FRESH_S:
            lines = last.read_text(encoding="utf-8", errors="replace").strip()[:400].splitlines()
            if len(lines) >= 2:  # a start that failed: the part named, Chinese then English
                return Diagnosis("part", f"{lines[0]}\n{lines[1]}\nSee `kiosk selftest` and `journalctl -u kiosk`")
            return Diagnosis("part", f"设备部件无响应\n{lines[0] if lines else ''}\nThe kiosk restarted several "
                             "times; see `kiosk selftest` and `journalctl -u kiosk`")
    except OSError:
        pass
    result = env.get("MONITOR_SERVICE_RESULT", "")
    status = env.get("MONITOR_EXIT_STATUS", "")
    unit = env.get("MONITOR_UNIT", "kiosk.service")
    how = f" ({result}{', ' + status if status else ''})" if result else ""
    return Diagnosis("crash", f"程序多次异常退出\n{unit} stopped repeatedly{how}; run `kiosk selftest` "
                     f"and see `journalctl -u {unit.removesuffix('.service')}`")


def record_failure(data_dir: Path, text: str, *, zh: str = "") -> None:
    """Leave the reason for the maintenance screen (best effort: a full disk must not crash this).

    `text` alone: what the watchdog saw ("not responding: camera"); with `zh`, a failed start: the
    Chinese line, then `text` in English.
    """
    with contextlib.suppress(OSError):
        data_dir.mkdir(parents=True, exist_ok=True)
        (data_dir / LAST_FAILURE_NAME).write_text((f"{zh}\n" if zh else "") + text + "\n", encoding="utf-8")
