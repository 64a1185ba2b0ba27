"""The kiosk's configuration: one TOML file, validated completely before anything starts.

Every field has a default, a title and a description: the models are the single source for the
example file's comments and for error messages.  `extra="forbid"` everywhere, so a typo in a key
fails loudly instead of silently keeping a default.  Only the composition root reads the file.
"""

from __future__ import annotations

import tomllib
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

CONFIG_VERSION = 1


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


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
    mode: Mode = Field(Mode.RISK_AREAS, title="Mode",
                       description="`risk-areas` verifies trips; `no-risk-areas` records but does not verify.")
    risk_areas: tuple[AreaCode, ...] = Field((), title="Risk areas",
                                             description="Division codes of current mid/high-risk areas.")
    fever_c: float = Field(37.3, ge=35.0, le=40.0, title="Fever threshold (°C)",
                           description="A reading at or above this is STOP (after one re-measure).")
    remeasure: bool = Field(True, title="Re-measure",
                            description="Re-measure once before a fever STOP.")
    max_code_age_s: int = Field(300, ge=30, le=86_400, title="Code age (s)",
                                description="How old a health code may be (its `iat`); screenshots are older.")
    clock_skew_s: int = Field(60, ge=0, le=3600, title="Clock skew (s)",
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


class ThermalConfig(_Section):
    backend: Literal["emulated", "smbus2", "adafruit"] = Field(
        "emulated", title="Thermal backend",
        description="`smbus2` is the kiosk's own driver; `adafruit` the Adafruit driver; "
                    "`emulated` the register-level emulator.")
    i2c_bus: int = Field(1, ge=0, le=31, title="I²C bus", description="/dev/i2c-N.")
    address: int = Field(0x33, ge=0x08, le=0x77, title="I²C address", description="MLX90640 address.")
    refresh_hz: Literal[1, 2, 4, 8, 16] = Field(4, title="Subpage rate (Hz)",
                                                description="MLX90640 refresh rate (subpages per second).")
    emissivity: float = Field(0.98, ge=0.5, le=1.0, title="Emissivity", description="Skin is about 0.98.")
    calibration_offset_c: float = Field(0.0, ge=-5.0, le=5.0, title="Calibration offset (°C)",
                                        description="Added to every reading; set by `kiosk calibrate`.")
    fov_h_deg: float = Field(55.0, gt=10, lt=180, title="Horizontal field of view (°)",
                             description="55 for the MLX90640BAB, 110 for the BAA.")
    min_distance_m: float = Field(0.3, ge=0.1, le=2.0, title="Nearest distance (m)",
                                  description="Closer than this: ask to step back.")
    max_distance_m: float = Field(0.9, ge=0.2, le=3.0, title="Farthest distance (m)",
                                  description="Farther than this: ask to step closer.")

    @model_validator(mode="after")
    def _distances_ordered(self) -> ThermalConfig:
        if self.min_distance_m >= self.max_distance_m:
            raise ValueError("thermal.min_distance_m must be below thermal.max_distance_m")
        return self


class CameraConfig(_Section):
    source: Literal["emulated", "picamera2", "folder"] = Field("emulated", title="Camera source",
                                                              description="Where frames come from.")
    folder: str = Field("", title="Image folder", description="With source = folder: images to cycle through.")
    width: int = Field(640, ge=160, le=4096, title="Width", description="Scan stream width (px).")
    height: int = Field(480, ge=120, le=4096, title="Height", description="Scan stream height (px).")
    fps: float = Field(8.0, gt=0, le=60, title="Scan rate (fps)", description="Frames per second decoded.")


class SignalsConfig(_Section):
    backend: Literal["mock", "gpio"] = Field("mock", title="Signals backend",
                                             description="`gpio` on a Pi; `mock` uses gpiozero's MockFactory.")
    buzzer_pin: int = Field(17, ge=0, le=27, title="Buzzer pin", description="BCM number.")
    green_pin: int = Field(27, ge=0, le=27, title="Green light pin", description="BCM number.")
    red_pin: int = Field(22, ge=0, le=27, title="Red light pin", description="BCM number.")

    @model_validator(mode="after")
    def _pins_distinct(self) -> SignalsConfig:
        if len({self.buzzer_pin, self.green_pin, self.red_pin}) != 3:
            raise ValueError("signals pins must be three different BCM numbers")
        return self


class DisplayConfig(_Section):
    driver: Literal["auto", "kmsdrm", "x11", "wayland", "dummy"] = Field(
        "auto", title="SDL video driver", description="`kmsdrm` on a Pi with no desktop; `dummy` headless.")
    width: int = Field(1024, ge=320, le=3840, title="Width", description="Panel width (px).")
    height: int = Field(600, ge=240, le=3840, title="Height", description="Panel height (px).")
    fullscreen: bool = Field(False, title="Full screen", description="True on the kiosk.")


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


class StorageConfig(_Section):
    data_dir: str = Field("/var/lib/kiosk", title="Data directory",
                          description="Outbox and persisted state; on the writable data partition.")


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
        if v != CONFIG_VERSION:
            raise ValueError(f"this kiosk reads config_version {CONFIG_VERSION}")
        return v


class ConfigError(ValueError):
    """A configuration that must not start the kiosk.  `problems` holds one line per fault."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(problems))


def _key_line(text: str, dotted: str) -> int | None:
    """Best-effort line number of a key in the TOML text (for error messages)."""
    leaf = dotted.split(".")[-1]
    section = ".".join(dotted.split(".")[:-1])
    current = ""
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line.startswith("[") and line.endswith("]"):
            current = line.strip("[]").strip()
        elif current == section and (line.startswith(leaf + " ") or line.startswith(leaf + "=")):
            return number
    return None


def parse_config(data: dict[str, Any], *, source: str = "<config>", text: str = "") -> KioskConfig:
    """Validate a parsed TOML document; every problem is reported, not just the first."""
    try:
        return KioskConfig.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"])
            line = _key_line(text, key) if text else None
            where = f"line {line}: " if line else ""
            value = err.get("input")
            shown = "" if isinstance(value, dict) else f" = {value!r}"
            problems.append(f"{where}{key}{shown}: {err['msg']}")
        raise ConfigError(source, problems) from None


def load_config(path: str | Path) -> KioskConfig:
    """Read and validate a TOML file.  Raises `ConfigError` (never a half-built config)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), [f"cannot read: {exc.strerror or exc}"]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), [f"not valid TOML: {exc}"]) from None
    return parse_config(data, source=str(path), text=text)
