"""`kiosk calibrate`: measure a reference at the marked spot and store the site's offset.

A technician stands a reference — a blackbody set to R °C, or a person whose forehead a
reference thermometer reads as R °C — at the marked spot in front of the kiosk.  The command
takes several readings with the site's offset switched off, and the offset is R minus their
median.  It is written into the configuration file as `thermal.calibration_offset_c`, with
`thermal.calibrated_at` (UTC), by editing just those two lines: the technician's comments and
every other key stay as they were, and the edited file is validated before it replaces the old
one (atomically), so a calibration can never leave a kiosk that does not start.

`simulated_reference` sets up the same measurement on the emulated sensor (a person at the spot
whose forehead the emulated kiosk sees `bias_c` off), which is how it is tested.  The command
itself (options, output, exit codes) is `kiosk.cli.calibrate`; this module measures and stores.
"""

from __future__ import annotations

import os
import re
import statistics
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from kiosk.config import (
    CALIBRATION_OFFSET_LIMIT_C,
    THERMAL_LOWERING_LIMIT_C,
    KioskConfig,
    ThermalConfig,
    load_config,
    read_config_text,
)
from kiosk.errors import ConfigError, KioskError, SensorError
from kiosk.ports import Clock, ThermalSensor
from kiosk.screening.thermal import Placement, Screening

READINGS = 5  # readings whose median makes the offset
MEASURE_TIMEOUT_S = 60.0  # the reference must be in place and steady within this
MAX_SPREAD_C = 0.3  # readings of a reference wandering more than this: not a steady reference
OFFSET_LIMIT_C = CALIBRATION_OFFSET_LIMIT_C  # the config's bound upward: more is a broken or misaimed sensor
# A reference is a blackbody set near skin temperature or a person's forehead read by a reference
# thermometer: outside this range it is a typing error (33.5 for 36.9) or not a skin-like target.
REFERENCE_MIN_C = 34.0
REFERENCE_MAX_C = 40.0


class CalibrationError(KioskError, ValueError):
    """The reference could not be measured, or the result cannot be stored.  Chinese, then English."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(f"{zh} / {en}")
        self.zh, self.en = zh, en


def offset_problem(thermal: ThermalConfig, offset_c: float) -> CalibrationError | None:
    """Why `offset_c` cannot be stored with the rest of `thermal`, or None.

    Upward, more than +1.5 °C is a broken or misaimed sensor.  Downward, the offset shares the
    thermal settings' budget (`ThermalConfig.lowering_c`: at most 0.5 °C off any reading, with the
    compensation and the emissivity): a sensor reading higher than that is not corrected — it keeps
    stopping healthy visitors (staff see it) rather than being set to hide fevers.
    """
    if offset_c > OFFSET_LIMIT_C:
        return CalibrationError(f"偏差 {offset_c:+.2f} °C 超过 +{OFFSET_LIMIT_C} °C：请先检查传感器和参考源",
                                f"offset {offset_c:+.2f} °C is beyond +{OFFSET_LIMIT_C} °C: check the sensor and "
                                "the reference before calibrating")
    others = sum(v for k, v in thermal.lowering_c().items() if k != "calibration_offset_c")
    room = THERMAL_LOWERING_LIMIT_C - others
    if -offset_c > room + 1e-9:
        return CalibrationError(
            f"传感器读数偏高 {-offset_c:.2f} °C：偏差 {offset_c:+.2f} °C 加上其他设置会从读数中减去超过 "
            f"{THERMAL_LOWERING_LIMIT_C} °C（可能掩盖发热），按本机的设置偏差最低只能是 {-room:+.2f} °C；"
            "请检查参考源和传感器的朝向，确实偏高则更换传感器",
            f"the sensor reads {-offset_c:.2f} °C high: an offset of {offset_c:+.2f} °C with the other settings "
            f"would take more than {THERMAL_LOWERING_LIMIT_C} °C off readings (it could hide a fever); with this "
            f"kiosk's settings the offset may go down to {-room:+.2f} °C only: check the reference and the sensor's "
            "aim, and replace a sensor that really reads this high")
    return None


@dataclass(frozen=True, slots=True)
class CalibrationResult:
    reference_c: float
    measured_c: float  # median reading with no offset applied
    offset_c: float
    readings: tuple[float, ...]
    distance_m: float
    previous_offset_c: float

    def to_dict(self) -> dict[str, object]:
        return {
            "reference_c": self.reference_c,
            "measured_c": round(self.measured_c, 3),
            "offset_c": self.offset_c,
            "previous_offset_c": self.previous_offset_c,
            "readings": [round(r, 3) for r in self.readings],
            "distance_m": round(self.distance_m, 3),
        }


def measure_reference(sensor: ThermalSensor, clock: Clock, thermal: ThermalConfig, reference_c: float, *,
                      readings: int = READINGS, frames_per_reading: int = 4,
                      timeout_s: float = MEASURE_TIMEOUT_S) -> CalibrationResult:
    """Take `readings` readings of the reference (offset off) and compute the new offset.

    Refuses (`CalibrationError`) a reference outside `REFERENCE_MIN_C`..`REFERENCE_MAX_C` before
    measuring, and an offset the configuration would refuse after (`offset_problem`).
    """
    if not REFERENCE_MIN_C <= reference_c <= REFERENCE_MAX_C:
        raise CalibrationError(f"参考温度 {reference_c} °C 不合理（应在 {REFERENCE_MIN_C}–{REFERENCE_MAX_C} °C 之间）",
                               f"a reference of {reference_c} °C is implausible (must be {REFERENCE_MIN_C}–"
                               f"{REFERENCE_MAX_C} °C)")
    raw = thermal.model_copy(update={"calibration_offset_c": 0.0})
    screening = Screening(raw, frames_per_reading=frames_per_reading)
    values: list[float] = []
    distances: list[float] = []
    deadline = clock.monotonic() + timeout_s
    last_problem = "no frame"
    while len(values) < readings:
        if clock.monotonic() > deadline:
            raise CalibrationError(f"{timeout_s:.0f} 秒内标记位置上没有稳定的参考源（{last_problem}）",
                                   f"no steady reference at the spot within {timeout_s:.0f} s ({last_problem})")
        try:
            frame = sensor.read_frame()
        except SensorError as exc:
            last_problem = f"sensor: {exc}"
            clock.sleep(0.25)
            continue
        obs = screening.observe(frame)
        if obs.placement is not Placement.OK:
            last_problem = f"reference {obs.placement.value}"
            continue
        reading = screening.take_reading()
        if reading is None:
            continue
        if not reading.plausible:
            raise CalibrationError(f"参考源读数 {reading.temperature_c:.2f} °C：不像皮肤温度的目标",
                                   f"the reference reads {reading.temperature_c:.2f} °C: not a skin-like target")
        values.append(reading.temperature_c)
        distances.append(reading.distance_m)
    if max(values) - min(values) > MAX_SPREAD_C:
        spread = max(values) - min(values)
        raise CalibrationError(f"读数相差 {spread:.2f} °C：参考源不稳定",
                               f"readings spread {spread:.2f} °C: the reference is not steady")
    measured = statistics.median(values)
    offset = round(reference_c - measured, 2)
    problem = offset_problem(thermal, offset)
    if problem is not None:
        raise problem
    return CalibrationResult(reference_c, measured, offset, tuple(values), statistics.median(distances),
                             thermal.calibration_offset_c)


# ------------------------------------------------------------------------------ the config file
def _is_header(line: str, section: str) -> bool:
    """`[thermal]`, `[ thermal ]`, `["thermal"]`, `[thermal]  # the sensor`: TOML's ways of naming a table."""
    pattern = rf"""\s*\[\s*(?:{re.escape(section)}|"{re.escape(section)}"|'{re.escape(section)}')\s*\]\s*(#.*)?"""
    return re.fullmatch(pattern, line.rstrip("\r\n")) is not None


def _set_key(text: str, section: str, key: str, value: str) -> str:
    """`text` with `key = value` in `[section]`: the existing line replaced (its comment kept),
    or a new line added at the end of the section (the section added if missing)."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if _is_header(line, section)), None)
    top = next((i for i, line in enumerate(lines) if line.lstrip().startswith("[")), len(lines))
    if start is None and any(re.match(rf"\s*{re.escape(section)}\s*=\s*\{{", line) for line in lines[:top]):
        raise CalibrationError(f"{section} 写成了行内表（{section} = {{…}}）：请改写为 [{section}] 节，再校准",
                               f"{section} is written as an inline table ({section} = {{…}}): write it as a "
                               f"[{section}] section, then calibrate again")
    dotted = [i for i, line in enumerate(lines[:top]) if re.match(rf"\s*{re.escape(section)}\s*\.", line)]
    if start is None and dotted:  # thermal.backend = "smbus2" at the top: the key goes the same way
        pattern = re.compile(rf"^(\s*){re.escape(section)}\s*\.\s*{re.escape(key)}\s*=\s*[^#\n]*?(\s*#.*)?(\r?\n)?$")
        for i in dotted:
            m = pattern.match(lines[i])
            if m:
                lines[i] = f"{m.group(1)}{section}.{key} = {value}{m.group(2) or ''}{m.group(3) or ''}"
                return "".join(lines)
        last = dotted[-1]
        if not lines[last].endswith("\n"):
            lines[last] += "\n"
        lines.insert(last + 1, f"{section}.{key} = {value}\n")
        return "".join(lines)
    if start is None:
        sep = "" if not text or text.endswith("\n") else "\n"
        return f"{text}{sep}\n[{section}]\n{key} = {value}\n"
    end = next((i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("[")), len(lines))
    # the key itself, quoted or not
    key_re = rf"""(?:{re.escape(key)}|"{re.escape(key)}"|'{re.escape(key)}')"""
    pattern = re.compile(rf"^(\s*){key_re}\s*=\s*[^#\n]*?(\s*#.*)?(\r?\n)?$")
    for i in range(start + 1, end):
        m = pattern.match(lines[i])
        if m:
            comment = m.group(2) or ""
            lines[i] = f"{m.group(1)}{key} = {value}{comment}{m.group(3) or ''}"
            return "".join(lines)
    insert = end
    while insert > start + 1 and not lines[insert - 1].strip():
        insert -= 1  # before the blank lines that separate sections
    if insert > 0 and not lines[insert - 1].endswith("\n"):
        lines[insert - 1] += "\n"
    lines.insert(insert, f"{key} = {value}\n")
    return "".join(lines)


def store_offset(path: str | Path, offset_c: float, at: datetime) -> KioskConfig:
    """Write the offset and the calibration time into the file; validate; replace atomically.

    The new file gets the old one's owner, group and mode before it replaces it: `kiosk calibrate`
    runs as root, and provisioning installs kiosk.toml root:root 0644 for the kiosk user to read;
    a root-owned 0600 file in its place would stop the kiosk at its next start.
    """
    path = Path(os.path.realpath(path))  # through a symlink: the link stays, its target gets the new file
    try:
        before = path.stat()
    except FileNotFoundError:
        before = None
    text = read_config_text(path) if before is not None else ""
    crlf = "\r\n" in text  # written on Windows: it stays so, not half and half
    text = text.replace("\r\n", "\n")
    current = load_config(path).thermal if before is not None else ThermalConfig()
    problem = offset_problem(current, offset_c)
    if problem is not None:
        raise problem
    stamp = at.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
    text = _set_key(text, "thermal", "calibration_offset_c", f"{offset_c:.2f}")
    text = _set_key(text, "thermal", "calibrated_at", stamp)
    if crlf:
        text = text.replace("\n", "\r\n")
    fd, tmp = tempfile.mkstemp(prefix=".kiosk-calibrate-", suffix=".toml", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            if before is not None:
                os.fchmod(out.fileno(), before.st_mode & 0o7777)
                if (before.st_uid, before.st_gid) != (os.geteuid(), os.getegid()):
                    os.fchown(out.fileno(), before.st_uid, before.st_gid)
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        try:
            config = load_config(tmp)  # never leave a file the kiosk would refuse
        except ConfigError as exc:  # the problems are the file's, not the temporary copy's
            raise ConfigError(str(path), [p.replace(Path(tmp).name, path.name) for p in exc.problems]) from None
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return config


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def calibration_age_s(thermal: ThermalConfig, wall: float) -> float | None:
    """Seconds since `kiosk calibrate` last ran (for the health report), None if never."""
    if thermal.calibrated_at is None:
        return None
    at = thermal.calibrated_at
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return max(0.0, wall - at.timestamp())


# ------------------------------------------------------------------------------ the emulated rig
def simulated_reference(config: KioskConfig, *, reference_c: float, bias_c: float = 0.0, distance_m: float = 0.5,
                        ambient_c: float = 24.0, seed: int = 0) -> tuple[ThermalSensor, Clock]:
    """(sensor, clock): the emulated kiosk with a reference at `distance_m` that it reads `bias_c` off.

    The room is empty for the first two seconds, so the background is learnt before the reference
    arrives, as on site.
    """
    from drivers.mlx90640 import PeopleScene, Person, build_emulated_sensor
    from kiosk.clock import VirtualClock

    clock = VirtualClock()
    arrive = clock.monotonic() + 2.0
    person = Person(distance_m=distance_m, forehead_c=reference_c + bias_c)
    scene = PeopleScene(lambda t: [person] if t >= arrive else [], ambient_c=ambient_c)
    sensor, _ = build_emulated_sensor(scene, clock, config.thermal, seed=seed)
    return sensor, clock
