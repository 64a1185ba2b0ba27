"""The kiosk's configuration: one TOML file, validated completely before anything starts.

Every field has a default, a title and a description: the models are the single source for the
example file's comments and for error messages.  `extra="forbid"` everywhere, so a typo in a key
fails loudly instead of silently keeping a default.  Only the composition root reads the file.
"""

from __future__ import annotations

import base64
import codecs
import os
import re
import stat
import tomllib
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticKnownError

from kiosk.config_problems import (
    Problem,
    config_key_problem,
    custom_error,
    did_you_mean,
    encoding_problem,
    key_problem_words,
    problems_of,
    seal_key_problem,
    toml_problem,
    unreadable_problem,
)
from kiosk.errors import ConfigError

CONFIG_VERSION = 1
# Bounds that keep a configuration from hiding a fever (README.md, "Configuration", says why).
# Together, what the thermal section may take off a reading (a negative calibration offset, the
# compensation where it subtracts, an emissivity above skin's) is at most THERMAL_LOWERING_LIMIT_C,
# and the threshold may sit at most FEVER_C_MAX − FEVER_C_NOTICE above the notices' 37.3 °C: so no
# accepted configuration lets a forehead of 37.3 + 0.5 + 0.2 = 38.0 °C pass.  The two budgets are
# separate so that a township's policy (the threshold) is judged the same by every kiosk, whatever
# its local thermal settings.
CALIBRATION_OFFSET_LIMIT_C = 1.5  # the MLX90640 is ±1 °C out of the box; more is a broken or misaimed sensor
THERMAL_LOWERING_LIMIT_C = 0.5  # offset + compensation + emissivity together may subtract at most this
COMPENSATION_TAKES_AT_MOST_C = THERMAL_LOWERING_LIMIT_C  # the compensation alone, anywhere (it is clamped)
FEVER_C_NOTICE = 37.3  # the notices' threshold
FEVER_C_MAX = 37.5
SKIN_EMISSIVITY = 0.98  # typical skin: a higher configured emissivity reads skin cooler
EMISSIVITY_COLDEST_ROOM_C = -10.0  # emissivity's cost is reckoned reflecting the coldest working room allowed ...
EMISSIVITY_FOREHEAD_C = 38.0  # ... on a forehead at the edge of what must still be stopped
REFERENCE_DISTANCE_M = 0.5  # = kiosk.screening.thermal's: the compensation is zero here ...
REFERENCE_ROOM_C = 24.0  # ... and in a room this warm
DRIFT_WARN_MAX_C = 0.8  # = kiosk.screening.drift's fault bound: a warning threshold above it would mask the fault
HEALTHY_MEDIAN_C = (36.0, 37.0)  # healthy visitors' median reading: a baseline outside it silences drift


# What technicians write for China's time (UTC+8, no daylight saving): each is Asia/Shanghai, not the
# nearest spelling (UTC+8 -> "UTC", CST -> "UCT", Asia/Beijing -> "Asia/Brunei").  Compared lower case,
# without spaces, underscores or colons.
CHINA_TIME_NAMES = frozenset({
    "beijing", "asia/beijing", "china", "prc", "cst", "cst+8", "cst-8", "gmt+8", "gmt+08", "gmt+0800", "utc+8",
    "utc+08", "utc+0800", "+8", "+08", "+0800", "8", "china/beijing", "asia/chongqing", "asia/harbin",
    "北京", "北京时间", "中国", "东八区",
})

class _Section(BaseModel):
    # strict: `nat_max_age_h = true` is not one hour, `fever_c = "37.3"` not a number, `remeasure = "no"`
    # not false (an int is still a float); the few fields TOML cannot give in their Python type (an
    # enum's text, a list for a tuple, a date written as text) say `strict=False` themselves.
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, strict=True, allow_inf_nan=False)


def emissivity_lowering_c(emissivity: float) -> float:
    """How much an emissivity above skin's takes off a forehead reading (0 for emissivity ≤ 0.98).

    The sensor sees ε_skin·T⁴ + (1 − ε_skin)·Tr⁴ and solves T with the configured ε; reckoned for
    a 38 °C forehead reflecting the coldest working room allowed (−10 °C), where it costs most.
    """
    t4 = (EMISSIVITY_FOREHEAD_C + 273.15) ** 4
    r4 = (EMISSIVITY_COLDEST_ROOM_C + 273.15) ** 4
    seen = SKIN_EMISSIVITY * t4 + (1 - SKIN_EMISSIVITY) * r4
    solved = ((seen - (1 - emissivity) * r4) / emissivity) ** 0.25 - 273.15
    return max(0.0, EMISSIVITY_FOREHEAD_C - solved)


def _whole_number(value: Any) -> Any:
    """Before a `Literal` of integers: `true` and `4.0` are not 1 and 4 (a Literal compares by ==)."""
    if isinstance(value, bool | float):
        raise PydanticKnownError("int_type")
    return value


class Mode(StrEnum):
    """The township's policy mode."""

    RISK_AREAS = "risk-areas"  # trips are verified
    NO_RISK_AREAS = "no-risk-areas"  # codes are still scanned and recorded, trips not verified


AreaCode = Annotated[str, Field(pattern=r"^\d{6}$", description="six-digit GB/T 2260 division code")]


class SiteConfig(_Section):
    township: str = Field("demo-township", title="Township", description="Township id: first MQTT topic level.",
                          pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    site_id: str = Field("demo-site", title="Site id", description="Site id: second MQTT topic level.",
                         pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    kiosk_id: str = Field("kiosk-1", title="Kiosk id", description="This kiosk's id: third MQTT topic level.",
                          pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    name: str = Field("演示站点 Demo site", title="Site name", description="Shown on the status strip.",
                      max_length=60)
    staff_spot: str = Field("服务台 the service desk", title="Staff spot",
                            description="Where a stopped visitor waits for staff (shown on STOP).",
                            max_length=60)


class PolicyConfig(_Section):
    """The township's rules.  Keys match the scenario format's `site.policy` overrides."""

    version: str = Field("local-1", title="Policy version",
                         description="Named in every event, so the township knows which rules decided it.",
                         max_length=40)
    mode: Mode = Field(Mode.RISK_AREAS, title="Mode", strict=False,
                       description="`risk-areas` verifies trips; `no-risk-areas` records but does not verify.")
    risk_areas: tuple[AreaCode, ...] = Field((), title="Risk areas", strict=False,
                                             description="Division codes of current mid/high-risk areas.")
    fever_c: float = Field(FEVER_C_NOTICE, ge=37.0, le=FEVER_C_MAX, title="Fever threshold (°C)",
                           description="A reading at or above this is STOP (after one re-measure); 37.0–37.5.")
    remeasure: bool = Field(True, title="Re-measure",
                            description="Re-measure once before a fever STOP.")
    max_code_age_s: int = Field(300, ge=30, le=600, title="Code age (s)",
                                description="How old a health code may be (its `iat`); screenshots are older.")
    clock_skew_s: int = Field(60, ge=0, le=300, title="Clock skew (s)",
                              description="How far in the future a code's `iat` may lie.")
    nat_max_age_h: int | None = Field(None, ge=1, le=168, title="Nucleic-acid window (h)",
                                      description="Require a negative test within this many hours; "
                                                  "omit (or null) for off. Usually 24, 48 or 72.")


class CheckpointConfig(_Section):
    decision_display_s: float = Field(3.0, ge=0.5, le=30.0, title="Decision display (s)",
                                      description="How long PASS/STOP stays on screen.")
    no_code_timeout_s: float = Field(10.0, ge=2.0, le=120.0, title="Code timeout (s)",
                                     description="A visitor who shows no code by then is STOP `no_code`.")
    remeasure_pause_s: float = Field(1.0, ge=0.0, le=30.0, title="Re-measure pause (s)",
                                     description="Pause before the second measurement.")
    frames_per_reading: int = Field(4, ge=1, le=32, title="Frames per reading",
                                    description="Full thermal frames combined into one reading.")
    sensor_fault_after_s: float = Field(1.0, ge=0.1, le=10.0, title="Sensor fault after (s)",
                                        description="Declare `sensor_fault` when no valid frame came for this long.")
    come_back_memory_s: float = Field(1800.0, ge=60.0, le=86_400.0, title="Come-back memory (s)",
                                      description="A visitor sent to warm up is recognised by their code "
                                                  "(a digest, never the text) for this long.")
    cold_room_skin_c: float = Field(35.5, ge=33.0, le=36.5, title="Cold-room skin (°C)",
                                    description="In a room below the working range, a reading under this is "
                                                "cooled skin: the visitor is asked to come back in a few minutes.")
    hold_still_after: int = Field(4, ge=1, le=64, title="Hold-still prompt",
                                  description="Unsteady reading windows in a row before the screen asks the "
                                              "visitor to hold still.")


class ThermalConfig(_Section):
    backend: Literal["emulated", "smbus2", "adafruit"] = Field(
        "emulated", title="Thermal backend",
        description="`smbus2` is the kiosk's own driver; `adafruit` the Adafruit driver; "
                    "`emulated` the register-level emulator.")
    i2c_bus: int = Field(1, ge=0, le=31, title="I²C bus", description="/dev/i2c-N.")
    address: int = Field(0x33, ge=0x08, le=0x77, title="I²C address", description="MLX90640 address.")
    refresh_hz: Literal[1, 2, 4, 8, 16] = Field(4, title="Subpage rate (Hz)",
                                                description="MLX90640 refresh rate (subpages per second).")
    emissivity: float = Field(SKIN_EMISSIVITY, ge=0.95, le=0.99, title="Emissivity",
                              description="Skin is 0.97–0.99 (0.98 typical); 0.95–0.99 accepted (above 0.98 it "
                                          "reads skin cooler, and counts against the 0.5 °C budget).")
    calibration_offset_c: float = Field(0.0, ge=-THERMAL_LOWERING_LIMIT_C, le=CALIBRATION_OFFSET_LIMIT_C,
                                        title="Calibration offset (°C)",
                                        description="Added to every reading; set by `kiosk calibrate`; "
                                                    "−0.5–+1.5.")
    fov_h_deg: float = Field(55.0, gt=10, lt=180, title="Horizontal field of view (°)",
                             description="55 for the MLX90640BAB, 110 for the BAA.")
    min_distance_m: float = Field(0.3, ge=0.1, le=2.0, title="Nearest distance (m)",
                                  description="Closer than this: ask to step back.")
    max_distance_m: float = Field(0.9, ge=0.2, le=3.0, title="Farthest distance (m)",
                                  description="Farther than this: ask to step closer.")
    ambient_min_c: float = Field(15.0, ge=-10.0, le=30.0, title="Coldest working room (°C)",
                                 description="Below this the environment warning shows and cooled skin reads "
                                             "low: visitors reading below the normal range are asked to come back.")
    ambient_max_c: float = Field(32.0, ge=20.0, le=45.0, title="Warmest working room (°C)",
                                 description="Above this the environment warning shows (readings are less certain).")
    distance_coefficient_c_per_m: float = Field(
        0.03, ge=0.0, le=0.5, title="Distance compensation (°C/m)",
        description="Added per metre beyond 0.5 m: a far face fills fewer pixels and reads cooler.")
    ambient_coefficient: float = Field(
        0.0, ge=0.0, le=0.05, title="Ambient compensation (°C/°C)",
        description="Added per °C the room is below 24 °C (skin and optics lose more to a cold room).")
    calibration_uncertainty_c: float = Field(0.1, ge=0.0, le=2.0, title="Calibration uncertainty (°C, 1σ)",
                                             description="Standard uncertainty of the reference used by "
                                                         "`kiosk calibrate`; part of every reading's ±.")
    calibrated_at: datetime | None = Field(None, title="Calibrated at", strict=False,
                                           description="When `kiosk calibrate` last set the offset (UTC); "
                                                       "the health report shows the calibration's age.")
    drift_baseline_c: float = Field(36.5, ge=HEALTHY_MEDIAN_C[0], le=HEALTHY_MEDIAN_C[1], title="Visitors' median (°C)",
                                    description="Median reading of healthy visitors right after calibration.")
    drift_window: int = Field(50, ge=10, le=1000, title="Drift window (visitors)",
                              description="Recent visitors whose running median tracks calibration drift.")
    drift_warn_c: float = Field(0.4, ge=0.1, le=DRIFT_WARN_MAX_C, title="Drift warning (°C)",
                                description="Warn (`calibration_drift`) when the running median is this far off.")

    @model_validator(mode="after")
    def _distances_ordered(self) -> ThermalConfig:
        if self.min_distance_m >= self.max_distance_m:
            raise custom_error("ordered", key="min_distance_m", other="thermal.max_distance_m")
        if self.ambient_min_c >= self.ambient_max_c:
            raise custom_error("ordered", key="ambient_min_c", other="thermal.ambient_max_c")
        return self

    @field_validator("refresh_hz", mode="before")
    @classmethod
    def _refresh_whole(cls, v: Any) -> Any:
        return _whole_number(v)

    def lowering_c(self) -> dict[str, float]:
        """What each setting can take off a reading at most, anywhere (°C, ≥ 0), by key.

        The compensation subtracts near the sensor and in a room warmer than the reference, and
        `kiosk.screening.thermal` clamps it at `min_distance_m` and `ambient_max_c`: there, together,
        it takes off the most.
        """
        return {
            "calibration_offset_c": max(0.0, -self.calibration_offset_c),
            "distance_coefficient_c_per_m": self.distance_coefficient_c_per_m
            * max(0.0, REFERENCE_DISTANCE_M - self.min_distance_m),
            "ambient_coefficient": self.ambient_coefficient * max(0.0, self.ambient_max_c - REFERENCE_ROOM_C),
            "emissivity": emissivity_lowering_c(self.emissivity),
        }

    @model_validator(mode="after")
    def _cannot_hide_a_fever(self) -> ThermalConfig:
        parts = self.lowering_c()
        taken = parts["distance_coefficient_c_per_m"] + parts["ambient_coefficient"]
        if taken > COMPENSATION_TAKES_AT_MOST_C + 1e-9:
            raise custom_error("compensation", key="ambient_coefficient" if self.ambient_coefficient else
                           "distance_coefficient_c_per_m", taken=f"{taken:.2f}", limit=COMPENSATION_TAKES_AT_MOST_C)
        total = sum(parts.values())
        if total > THERMAL_LOWERING_LIMIT_C + 1e-9:
            named = [(k, v) for k, v in parts.items() if v >= 0.005]
            raise custom_error("lowering", key=max(named, key=lambda kv: kv[1])[0], total=f"{total:.2f}",
                               limit=THERMAL_LOWERING_LIMIT_C, parts=", ".join(f"{k} {v:.2f}" for k, v in named))
        return self


class CameraConfig(_Section):
    source: Literal["emulated", "picamera2", "folder", "video", "webcam"] = Field(
        "emulated", title="Camera source",
        description="Where frames come from: the Pi camera, a folder of images, a video file or a V4L2 webcam "
                    "(both need OpenCV), or the simulated scene.")
    folder: str = Field("", title="Image folder", description="With source = folder: images to cycle through.")
    video_file: str = Field("", title="Video file", description="With source = video: the file to play (looped).")
    webcam_device: int = Field(0, ge=0, le=63, title="Webcam device", description="With source = webcam: /dev/videoN.")
    width: int = Field(640, ge=160, le=4096, title="Width", description="Scan stream width (px).")
    height: int = Field(480, ge=120, le=4096, title="Height", description="Scan stream height (px).")
    fps: float = Field(8.0, gt=0, le=60, title="Scan rate (fps)", description="Frames per second decoded.")
    region: tuple[float, float, float, float] = Field(
        (0.0, 0.0, 1.0, 1.0), title="Region of interest", strict=False,
        description="Where phones are held: x, y, width, height as fractions of the frame; only it is decoded.")
    autofocus: bool = Field(True, title="Autofocus",
                            description="Continuous autofocus on a Camera Module 3 (ignored by fixed-focus modules).")
    exposure_ev: float = Field(-0.5, ge=-4.0, le=4.0, title="Exposure compensation (EV)",
                               description="Below 0 keeps a bright phone screen from clipping to white.")
    decoder: Literal["zxing", "zxing+preprocess", "pyzbar", "pyzbar+preprocess"] = Field(
        "zxing", title="QR decoder",
        description="`zxing` (zxing-cpp: reads more phone photos, ~10x faster than zbar); `pyzbar` (zbar, the "
                    "baseline); `+preprocess` retries a frame with no code after contrast/sharpening or upscaling "
                    "(reads more hard frames, ~5 ms more per frame with no code).")
    decoder_isolated: bool = Field(True, title="Decoder in a child process",
                                   description="Decode in a child process, restarted if it crashes or hangs.")
    decode_timeout_s: float = Field(0.5, gt=0.0, le=10.0, title="Decode timeout (s)",
                                    description="A decode taking longer is abandoned (the child is killed).")

    @model_validator(mode="after")
    def _region_in_frame(self) -> CameraConfig:
        x, y, w, h = self.region
        if not (0 <= x < 1 and 0 <= y < 1 and 0 < w <= 1 and 0 < h <= 1 and x + w <= 1 and y + h <= 1):
            raise custom_error("region", key="region")
        if self.source == "folder" and not self.folder:
            raise custom_error("needs", key="folder", source="folder")
        if self.source == "video" and not self.video_file:
            raise custom_error("needs", key="video_file", source="video")
        return self


class SignalsConfig(_Section):
    backend: Literal["mock", "gpio"] = Field("mock", title="Signals backend",
                                             description="`gpio` on a Pi; `mock` uses gpiozero's MockFactory.")
    buzzer_pin: int = Field(17, ge=0, le=27, title="Buzzer pin", description="BCM number.")
    green_pin: int = Field(27, ge=0, le=27, title="Green light pin", description="BCM number.")
    red_pin: int = Field(22, ge=0, le=27, title="Red light pin", description="BCM number.")
    quiet_from: str = Field("", pattern=r"^(([01][0-9]|2[0-3]):[0-5][0-9])?$", title="Quiet hours from",
                            description="Local time (HH:MM) quiet hours start; empty: never quiet. "
                                        "The lights still show every signal.")
    quiet_until: str = Field("", pattern=r"^(([01][0-9]|2[0-3]):[0-5][0-9])?$", title="Quiet hours until",
                             description="Local time (HH:MM) quiet hours end (may be past midnight).")
    quiet_buzzer: Literal["off", "short"] = Field(
        "short", title="Buzzer in quiet hours",
        description="`off`: silent; `short`: one short beep for STOP and FAULT, none for PASS.")

    @model_validator(mode="after")
    def _pins_distinct(self) -> SignalsConfig:
        if len({self.buzzer_pin, self.green_pin, self.red_pin}) != 3:
            twice = "red_pin" if self.red_pin in (self.buzzer_pin, self.green_pin) else "green_pin"
            raise custom_error("pins", key=twice)
        return self

    @model_validator(mode="after")
    def _quiet_hours_paired(self) -> SignalsConfig:
        if bool(self.quiet_from) != bool(self.quiet_until) or (self.quiet_from and self.quiet_from == self.quiet_until):
            raise custom_error("quiet_hours", key="quiet_until" if self.quiet_from else "quiet_from")
        return self


class DisplayConfig(_Section):
    driver: Literal["auto", "kmsdrm", "x11", "wayland", "dummy"] = Field(
        "auto", title="SDL video driver", description="`kmsdrm` on a Pi with no desktop; `dummy` headless.")
    width: int = Field(1024, ge=320, le=3840, title="Width", description="Panel width (px).")
    height: int = Field(600, ge=240, le=3840, title="Height", description="Panel height (px).")
    short_side_mm: float = Field(86.0, ge=30.0, le=3000.0, title="Panel short side (mm)",
                                 description="The active area's short side, in millimetres: text is sized from it to "
                                             "be legible from 1 m (Raspberry Pi 7\" Touch Display 86; HyperPixel 4.0 "
                                             "52; HyperPixel 4.0 Square 72; a 10.1\" 1280×800 panel 136).")
    fullscreen: bool = Field(False, title="Full screen", description="True on the kiosk.")
    fps: float = Field(20.0, ge=2.0, le=60.0, title="Frame rate",
                       description="Frames drawn per second in real time (sensor and camera work in threads).")
    stall_ms: int = Field(1000, ge=100, le=60_000, title="Stall threshold (ms)",
                          description="A main-loop pass later than this is logged as a stall (and fails "
                                      "the watchdog's liveness check).")
    place_code: str = Field("", max_length=1000, title="Place code",
                            description="Text of the site's place code, shown as a QR on the attract screen "
                                        "for visitors' own phones; empty: none shown.")
    privacy_recipient: str = Field("街道防疫办 the township epidemic office", max_length=80,
                                   title="Records go to",
                                   description="Who receives the entry records, named in the privacy notice "
                                               "(Chinese, then English).")
    voice: bool = Field(False, title="Voice prompts",
                        description="Speak short prompts (PASS, STOP, step closer) in Mandarin and English.")
    voice_dir: str = Field("", title="Voice prompt directory",
                           description="WAV prompts made by scripts/build-voice; empty: <storage.data_dir>/voice, "
                                       "generated there with espeak-ng on first start if missing.")


class HealthPassConfig(_Section):
    trust_list: str = Field("", title="Trust list",
                            description="Path of the issuers' trust list (JSON, THP1 spec format).")


class UplinkConfig(_Section):
    enabled: bool = Field(False, title="Enabled", description="Publish the feed over MQTT.")
    host: str = Field("localhost", title="Broker host", description="MQTT broker host name.")
    port: int = Field(1883, ge=1, le=65535, title="Broker port", description="8883 with TLS.")
    tls: bool = Field(False, title="TLS", description="Use TLS (required in the field).")
    ca_file: str = Field("", title="CA file", description="CA certificate for the broker.")
    cert_file: str = Field("", title="Client certificate", description="This kiosk's certificate.")
    key_file: str = Field("", title="Client key", description="This kiosk's private key.")
    max_inflight: int = Field(20, ge=1, le=65535, title="In-flight window",
                              description="Unacknowledged publishes at most (mosquitto's receive maximum).")
    keepalive_s: int = Field(30, ge=5, le=3600, title="Keep-alive (s)",
                             description="MQTT keep-alive; a dead link is noticed within 1.5 times this.")
    reconnect_min_s: float = Field(0.5, gt=0, le=60, title="Reconnect delay, first (s)",
                                   description="First back-off delay after a failed connection (doubles, jittered).")
    reconnect_max_s: float = Field(60.0, gt=0, le=3600, title="Reconnect delay, longest (s)",
                                   description="The back-off delay never grows beyond this.")
    receipt_timeout_s: float = Field(60.0, ge=0.5, le=86_400, title="Receipt timeout (s)",
                                     description="An event the broker took but the township has not receipted "
                                                 "this long is published again (the wait doubles each time).")
    receipt_backoff_max_s: float = Field(900.0, ge=0.5, le=86_400, title="Receipt timeout, longest (s)",
                                         description="The wait before publishing an unreceipted event again never "
                                                     "grows beyond this.")
    receipts_absent_after_s: float = Field(1800.0, ge=1, le=30 * 86_400, title="Receipts absent after (s)",
                                           description="No receipt at all after this long connected with events "
                                                       "awaiting one: the township sends none, and the broker's "
                                                       "acknowledgement frees an event, as before receipts.")
    health_interval_s: float = Field(300.0, ge=5, le=86_400, title="Health interval (s)",
                                     description="How often the kiosk publishes its health (not stored: the "
                                                 "latest one is what matters; retained, expires after 3 intervals).")
    daily_report_time: str = Field("00:05", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", title="Daily report time",
                                   description="Local time (HH:MM) at which the previous day's summary is sent.")
    timezone: str = Field("Asia/Shanghai", title="Time zone",
                          description="IANA time zone whose calendar days the daily summary counts.")
    config_public_key: str = Field("", title="Township configuration key",
                                   description="Ed25519 public key (base64 of 32 bytes) that must sign configuration "
                                               "received over the feed; empty: remote configuration is refused.",
                                   pattern=r"^([A-Za-z0-9+/]{43}=)?$")
    seal_public_key: str = Field("", title="Township sealing key",
                                 description="X25519 public key (base64 of 32 bytes) that subject ids are sealed to; "
                                             "empty: events carry no subject id at all.",
                                 pattern=r"^([A-Za-z0-9+/]{43}=)?$")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
            return v
        except (ZoneInfoNotFoundError, ValueError):
            pass
        if re.sub(r"[\s_:]", "", v).lower() in CHINA_TIME_NAMES:  # Beijing time, however written
            zh, en = "，是否想写 Asia/Shanghai（北京时间）？", " — did you mean Asia/Shanghai (Beijing time)?"
        else:
            zh, en = did_you_mean(v, available_timezones())
        raise custom_error("timezone", zh_hint=zh, en_hint=en)

    @field_validator("seal_public_key")
    @classmethod
    def _usable_seal_key(cls, v: str) -> str:
        problem = seal_key_problem(base64.b64decode(v)) if v else None
        if problem is not None:
            raise custom_error("low_order_key", **key_problem_words(problem))
        return v

    @field_validator("config_public_key")
    @classmethod
    def _usable_config_key(cls, v: str) -> str:
        problem = config_key_problem(base64.b64decode(v)) if v else None
        if problem is not None:
            raise custom_error("weak_config_key", **key_problem_words(problem))
        return v


class StorageConfig(_Section):
    data_dir: str = Field("/var/lib/kiosk", title="Data directory",
                          description="Outbox and persisted state; on the writable data partition.")
    max_mb: float = Field(256.0, gt=0, le=65536, title="Outbox size (MB)",
                          description="Payload bytes the outbox may hold; beyond it the oldest sent, then the "
                                      "oldest unsent ordinary rows are dropped (alerts last), and counted. "
                                      "An event never pushes out a more urgent unsent one: if only those "
                                      "could make room, it is the one dropped (counted; FAULT for an entry).")
    max_rows: int = Field(500_000, ge=100, le=100_000_000, title="Outbox rows",
                          description="Rows the outbox may hold; the same dropping order as the size bound.")
    retention_days: float = Field(7.0, gt=0, le=366, title="Retention (days)",
                                  description="Events are deleted this long after delivery, and dropped (and "
                                              "counted) if still undelivered this long after they were made "
                                              "(undelivered alerts excepted: they wait for delivery). Ages "
                                              "count only while the wall clock is NTP-synchronised.")


class KioskConfig(_Section):
    config_version: Literal[1] = Field(CONFIG_VERSION, title="Config version",
                                       description="Format version of this file.")
    site: SiteConfig = SiteConfig()
    policy: PolicyConfig = PolicyConfig()
    checkpoint: CheckpointConfig = CheckpointConfig()
    thermal: ThermalConfig = ThermalConfig()
    camera: CameraConfig = CameraConfig()
    signals: SignalsConfig = SignalsConfig()
    display: DisplayConfig = DisplayConfig()
    health_pass: HealthPassConfig = HealthPassConfig()
    uplink: UplinkConfig = UplinkConfig()
    storage: StorageConfig = StorageConfig()

    @field_validator("config_version", mode="before")
    @classmethod
    def _known_version(cls, v: Any) -> Any:
        if v != CONFIG_VERSION or isinstance(v, bool | float):
            raise custom_error("config_version", expected=CONFIG_VERSION)
        return v



# ------------------------------------------------------------------------------ reading the file
MAX_FILE_BYTES = 1024 * 1024  # a configuration is a few kB; a bigger "file" is the wrong one (or /dev/zero)


class ConfigProblems(ConfigError):
    """A `ConfigError` whose problems are `Problem`s (`items`); `problems` holds their one-line text."""

    def __init__(self, source: str, items: list[Problem]) -> None:
        self.items = tuple(items)
        super().__init__(source, [p.text() for p in items])


def parse_config(data: dict[str, Any], *, source: str = "<config>", text: str = "") -> KioskConfig:
    """Validate a parsed TOML document; every problem is reported, not just the first."""
    try:
        return KioskConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigProblems(source, problems_of(exc, KioskConfig, file=Path(source).name, text=text)) from None


def read_config_text(path: str | Path) -> str:
    """The file's text, or `ConfigProblems` saying why it cannot be read as one (never a decode error).

    A UTF-8 byte-order mark (Windows Notepad writes one) is accepted and dropped.
    """
    path = Path(path)
    try:
        if stat.S_ISFIFO(mode := os.stat(path).st_mode) or stat.S_ISSOCK(mode):  # open() would wait for a writer
            raise ConfigProblems(str(path), [Problem("不是普通文件（是管道或套接字），不是配置文件",
                                                     "not a regular file (a fifo or a socket): not a configuration "
                                                     "file", file=path.name)])
        with open(path, "rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ConfigProblems(str(path), [unreadable_problem(exc, path.name)]) from None
    if len(raw) > MAX_FILE_BYTES:
        raise ConfigProblems(str(path), [Problem("文件太大，不像配置文件", f"larger than {MAX_FILE_BYTES // 1024} kB: "
                                                 "not a configuration file", file=path.name)])
    raw = raw.removeprefix(codecs.BOM_UTF8)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigProblems(str(path), [encoding_problem(raw, path.name)]) from None


def load_config(path: str | Path) -> KioskConfig:
    """Read and validate a TOML file.  Raises `ConfigError` (never a half-built config, never another error)."""
    text = read_config_text(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigProblems(str(path), [toml_problem(str(exc), text, Path(path).name)]) from None
    return parse_config(data, source=str(path), text=text)
