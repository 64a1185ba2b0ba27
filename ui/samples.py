"""Sample views of every screen, for `kiosk screens --out DIR`, the tests and reviewers.

Each sample fills what the screen can show (a temperature, reasons, the thermal inset, a busy
status strip), and STOP comes in the variants a door actually sees, so a reviewer looking at the
PNGs sees every reason in words and every kind of "what to do next".
"""

from __future__ import annotations

import numpy as np

from kiosk.checkpoint.policy import REASONS
from kiosk.ports import Screen, ScreenView, StatusStrip
from ui.site import SiteNotice

SPOT = "服务台 the service desk"
STATUS = StatusStrip(site_name="演示站点 Demo site", wall_time=1_764_040_000.0, online=False,
                     buffered_events=12, clock_synced=False, warnings=("warning_ambient",), drift_c=0.4)
CALM = StatusStrip(site_name="演示站点 Demo site", wall_time=1_764_040_000.0, online=True)
NOTICE = SiteNotice(retention_days=7, recipient="街道防疫办 the township epidemic office",
                    place_code="https://example.invalid/place?site=demo-site&kiosk=kiosk-1")
MAINTENANCE_DETAIL = ("配置文件第 12 行有误：thermal.refresh_hz 只能是 1、2、4、8 或 16。请联系维护人员。\n"
                      "Configuration line 12: thermal.refresh_hz must be 1, 2, 4, 8 or 16. Please call maintenance.")


def thermal_frame() -> np.ndarray:
    """A face-like warm blob on a room-temperature wall, with one dead pixel."""
    yy, xx = np.mgrid[0:24, 0:32]
    frame = 22 + 14 * np.exp(-(((xx - 16) / 6) ** 2 + ((yy - 10) / 7) ** 2))
    frame[3, 5] = np.nan
    return frame


def sample(screen: Screen, **overrides: object) -> ScreenView:
    """A busy example of `screen`: every optional field it shows filled in."""
    fields: dict[Screen, dict[str, object]] = {
        Screen.MEASURING: {"progress": 0.6, "thermal": thermal_frame()},
        Screen.REMEASURING: {"progress": 0.3, "thermal": thermal_frame(), "temperature_c": 37.4,
                             "uncertainty_c": 0.3},
        Screen.PASS: {"temperature_c": 36.5},
        Screen.STOP: {"temperature_c": 37.9, "reasons": ("fever", "no_code"), "staff_spot": SPOT},
        Screen.FAULT: {"staff_spot": SPOT, "reasons": ("sensor_fault",)},
        Screen.COME_BACK: {"temperature_c": 34.1},
        Screen.MAINTENANCE: {"detail": MAINTENANCE_DETAIL, "staff_spot": SPOT},
    }
    return ScreenView(screen, **{"status": STATUS, **fields.get(screen, {}), **overrides})  # type: ignore[arg-type]


def gallery() -> dict[str, ScreenView]:
    """{file stem: view}: every `Screen` once (`fault` is the manual check, `staff` the staff view),
    then STOP's and the manual check's variants, the companion request and the staff view's extremes."""
    views = {screen.value: sample(screen) for screen in Screen}
    views |= {
        "stop-fever": sample(Screen.STOP, reasons=("fever",), temperature_c=38.2),
        "stop-code-red-trip-star": sample(Screen.STOP, reasons=("code_red", "trip_star"), temperature_c=None),
        "stop-no-code-no-staff-spot": sample(Screen.STOP, reasons=("no_code",), temperature_c=36.6, staff_spot=""),
        "stop-every-reason": sample(Screen.STOP, reasons=REASONS),
        "stop-unknown-reason": sample(Screen.STOP, reasons=("moon_phase",), temperature_c=None),
        "stop-fever-and-other-reasons": sample(Screen.STOP, reasons=("fever", "moon_phase", "sun_spots")),
        # What a STOP for the kiosk's own fault alone is shown as (kiosk.loop.presentation.shown_screen).
        "manual-check-no-staff-spot": sample(Screen.FAULT, staff_spot="", reasons=("clock_unsynced",)),
        "measuring-companion": sample(Screen.MEASURING, companion=True),
        "attract-calm-status": sample(Screen.ATTRACT, status=CALM),
        "staff-all-well": sample(Screen.STAFF, status=CALM),
        "staff-every-problem": sample(Screen.STAFF, status=StatusStrip(
            site_name="演示站点 Demo site", wall_time=1_764_040_000.0, online=False, buffered_events=240,
            clock_synced=False, warnings=("warning_clock", "warning_ambient", "warning_drift", "lens_fogged"),
            sensor_ok=False, camera_ok=False, store_failures=2, drift_c=-0.6)),
    }
    return views
