"""`kiosk calibrate` on the emulated sensor: measures, computes the offset, edits only its keys."""

from __future__ import annotations

import json
import os
import shutil
import stat
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kiosk.cli import main
from kiosk.config import ThermalConfig, load_config
from kiosk.service.calibration import (
    CalibrationError,
    _set_key,
    calibration_age_s,
    measure_reference,
    simulated_reference,
    store_offset,
)
from kiosk.simulation.screening_trial import measure_person
from tests.paths import ROOT

EXAMPLE = ROOT / "config" / "kiosk.example.toml"


@pytest.mark.parametrize("bias", [0.45, -0.6])
def test_calibrate_simulated_stores_the_offset_and_keeps_the_file(tmp_path: Path, bias: float,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "kiosk.toml"
    shutil.copy(EXAMPLE, path)
    before = path.read_text().splitlines()
    code = main(["calibrate", "--simulated", "--write", "--reference", "36.9", "--simulated-bias", str(bias),
                 "--config", str(path)])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["offset_c"] == pytest.approx(-bias, abs=0.08)
    config = load_config(path)
    assert config.thermal.calibration_offset_c == result["offset_c"]
    assert config.thermal.calibrated_at is not None
    after = path.read_text().splitlines()
    changed = [line for line in after if line not in before]
    assert len(changed) == 2 and changed[0].startswith("calibration_offset_c = ")
    assert "# added to every reading" in changed[0]  # the technician's comment stays
    assert changed[1].startswith("calibrated_at = ")
    assert [line for line in before if line not in after] == [line for line in before
                                                             if line.startswith("calibration_offset_c")]
    # and the stored offset makes the emulated kiosk read the reference right
    thermal = config.thermal.model_copy(update={"min_distance_m": 0.25, "max_distance_m": 1.3})
    reading = measure_person(forehead_c=36.9 + bias, distance_m=0.5, seed=7, thermal=thermal)
    assert reading is not None and reading.temperature_c == pytest.approx(36.9, abs=0.1)


def test_calibrate_refuses_an_absurd_offset_and_leaves_the_file_alone(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.toml"
    shutil.copy(EXAMPLE, path)
    text = path.read_text()
    assert main(["calibrate", "--simulated", "--write", "--reference", "36.9", "--simulated-bias", "-2.0",
                 "--config", str(path)]) == 1  # the reference reads 34.9: 2 °C off — something is broken
    assert path.read_text() == text


@pytest.mark.parametrize("reference", ["33.5", "41.5", "nan", "-3"])
def test_calibrate_refuses_an_implausible_reference_before_measuring(tmp_path: Path, reference: str,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """33.5 typed for 36.9 would store −3.4 °C and hide every fever: refused, the file untouched."""
    path = tmp_path / "kiosk.toml"
    shutil.copy(EXAMPLE, path)
    text = path.read_text()
    assert main(["calibrate", "--simulated", "--write", "--reference", reference, "--config", str(path)]) == 2
    assert "34.0–40.0 °C" in capsys.readouterr().err and path.read_text() == text


def test_measure_and_store_refuse_offsets_beyond_the_sensor_s_own_accuracy(tmp_path: Path) -> None:
    config = load_config(EXAMPLE)
    sensor, clock = simulated_reference(config, reference_c=36.9, bias_c=-1.7)  # reads 35.2 for 36.9
    with pytest.raises(CalibrationError, match=r"beyond \+1\.5"):
        measure_reference(sensor, clock, config.thermal, 36.9)
    sensor, clock = simulated_reference(config, reference_c=36.9, bias_c=0.8)  # reads 37.7: would take 0.8 off
    with pytest.raises(CalibrationError, match=r"the sensor reads 0\.8\d °C high.*could hide a fever"):
        measure_reference(sensor, clock, config.thermal, 36.9)
    path = tmp_path / "k.toml"
    path.write_text("config_version = 1\n")
    with pytest.raises(CalibrationError):
        store_offset(path, -3.4, datetime(2026, 11, 25, tzinfo=UTC))
    assert path.read_text() == "config_version = 1\n"


def test_simulated_never_writes_unless_asked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An emulator's offset means nothing for this kiosk's sensor, and its clock is not today's."""
    path = tmp_path / "kiosk.toml"
    shutil.copy(EXAMPLE, path)
    text = path.read_text()
    assert main(["calibrate", "--simulated", "--reference", "36.9", "--simulated-bias", "0.3",
                 "--config", str(path)]) == 0
    assert json.loads(capsys.readouterr().out)["written"] is False and path.read_text() == text
    assert main(["calibrate", "--simulated", "--write", "--reference", "36.9", "--config", str(path)]) == 0
    stamp = load_config(path).thermal.calibrated_at
    assert stamp is not None and abs(stamp.timestamp() - datetime.now(UTC).timestamp()) < 300  # today, not 2025


def test_calibrate_as_root_keeps_the_file_s_owner_group_and_mode(tmp_path: Path) -> None:
    """Provisioning installs kiosk.toml root:root 0644; a calibration must not leave it 0600 or re-owned."""
    if os.geteuid() != 0:
        pytest.skip("chown needs root")
    import pwd

    nobody = pwd.getpwnam("nobody")
    path = tmp_path / "kiosk.toml"
    shutil.copy(EXAMPLE, path)
    os.chown(path, nobody.pw_uid, nobody.pw_gid)
    os.chmod(path, 0o640)
    old_umask = os.umask(0o077)
    try:
        store_offset(path, 0.4, datetime(2026, 11, 25, tzinfo=UTC))
    finally:
        os.umask(old_umask)
    st = path.stat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (nobody.pw_uid, nobody.pw_gid, 0o640)
    assert load_config(path).thermal.calibration_offset_c == 0.4
    assert [p.name for p in tmp_path.iterdir()] == ["kiosk.toml"]  # no temporary file left behind


@pytest.mark.parametrize(("backend", "says"), [("emulated", "is the emulator"), ("adafruit", "pip install")])
def test_calibrate_on_a_backend_it_cannot_open_says_why(tmp_path: Path, backend: str, says: str,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_text(f'config_version = 1\n[thermal]\nbackend = "{backend}"\n')
    assert main(["calibrate", "--reference", "36.9", "--config", str(path)]) == 2
    assert says in capsys.readouterr().err


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.toml"
    shutil.copy(EXAMPLE, path)
    text = path.read_text()
    assert main(["calibrate", "--simulated", "--dry-run", "--reference", "36.5", "--config", str(path)]) == 0
    assert path.read_text() == text


def test_set_key_adds_missing_keys_and_sections() -> None:
    text = "config_version = 1\n\n[thermal]\nemissivity = 0.98\n\n[camera]\nfps = 8.0\n"
    out = _set_key(text, "thermal", "calibration_offset_c", "0.25")
    assert tomllib.loads(out)["thermal"] == {"emissivity": 0.98, "calibration_offset_c": 0.25}
    assert out.index("calibration_offset_c") < out.index("[camera]")
    out2 = _set_key("config_version = 1", "thermal", "calibration_offset_c", "-0.1")
    assert tomllib.loads(out2)["thermal"]["calibration_offset_c"] == -0.1


def test_store_offset_on_a_file_without_thermal_section_and_age(tmp_path: Path) -> None:
    path = tmp_path / "k.toml"
    path.write_text("config_version = 1\n")
    at = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)
    config = store_offset(path, 0.35, at)
    assert config.thermal.calibration_offset_c == 0.35
    assert calibration_age_s(config.thermal, at.timestamp() + 3600) == pytest.approx(3600)
    assert calibration_age_s(ThermalConfig(), at.timestamp()) is None


@pytest.mark.parametrize("header", ["[thermal] # the sensor", "[ thermal ]", '["thermal"]', "[thermal]\r"])
def test_set_key_finds_the_section_however_it_is_written(header: str) -> None:
    """A second [thermal] appended would make the file invalid after the measurement."""
    text = f"config_version = 1\n{header}\nemissivity = 0.98\ncalibration_offset_c = 0.1 # set on site\n"
    out = _set_key(text, "thermal", "calibration_offset_c", "0.25")
    assert tomllib.loads(out)["thermal"] == {"emissivity": 0.98, "calibration_offset_c": 0.25}
    assert "# set on site" in out and out.count("thermal") == 1


def test_store_offset_into_a_file_with_a_commented_header(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_text('config_version = 1\n[ thermal ]  # the MLX90640 over the door\nbackend = "smbus2"\n')
    config = store_offset(path, 0.2, datetime(2026, 11, 25, tzinfo=UTC))
    assert config.thermal.calibration_offset_c == 0.2 and config.thermal.backend == "smbus2"
    assert path.read_text().count("thermal") == 1
