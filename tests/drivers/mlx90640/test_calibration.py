"""EEPROM decoding and the To conversion against Melexis' own verification data, and the guards."""

from __future__ import annotations

import dataclasses
import json
import time

import numpy as np
import pytest

from drivers.mlx90640 import registers as reg
from drivers.mlx90640.calibration import extract_calibration
from drivers.mlx90640.conversion import ambient_temperature, compute_subpage, convert_words, supply_voltage
from drivers.mlx90640.eeprom import encode_eeprom, random_parameters
from drivers.mlx90640.ram import render_subpage
from kiosk.errors import SensorError
from tests.paths import SHARED

MELEXIS = SHARED / "mlx90640" / "melexis-example.json"  # ../shared


@pytest.fixture(scope="module")
def melexis() -> dict:
    if not MELEXIS.exists():
        pytest.skip("Melexis reference data not available on this machine")
    return json.loads(MELEXIS.read_text())


def test_melexis_example_every_pixel_within_10_mK(melexis: dict) -> None:
    """Both frames, every expected temperature (emissivity 1, Tr = Ta − 8 as the workbook)."""
    cal = extract_calibration(melexis["eeprom"])
    image = np.zeros(reg.PIXELS)  # the workbook's buffer: 0.000 where nothing was written yet
    for frame, expected in (("frame0", "expected_to_after_frame0"), ("frame1", "expected_to_after_frame1")):
        words = melexis[frame]
        ta = ambient_temperature(cal, words)
        to = compute_subpage(cal, words, 1.0, ta - 8)
        written = np.isfinite(to)
        assert written.sum() == 384
        image[written] = to[written]
        np.testing.assert_allclose(image, np.array(melexis[expected]), atol=0.01, rtol=0)


def test_melexis_example_parameters(melexis: dict) -> None:
    cal = extract_calibration(melexis["eeprom"])
    p = {k: float(v) for k, v in melexis["expected_params"].items()}
    assert cal.k_vdd == p["kVdd"] and cal.vdd25 == p["vdd25"]
    assert cal.kt_ptat == p["KtPTAT"] and cal.v_ptat25 == p["vPTAT25"] and cal.alpha_ptat == p["alphaPTAT"]
    assert cal.gain_ee == p["gainEE"] and cal.tgc == p["tgc"] and cal.resolution_ee == p["resolutionEE"]
    assert cal.chess_calibrated == (p["calibrationModeEE"] == 128)
    assert list(cal.ct) == [p[f"ct[{i}]"] for i in range(4)]
    np.testing.assert_allclose(cal.ks_to, [p[f"ksTo[{i}]"] for i in range(4)], atol=1e-6)
    np.testing.assert_allclose(cal.cp_offset, [p["cpOffset[0]"], p["cpOffset[1]"]])
    np.testing.assert_allclose(cal.il_chess, [p[f"ilChessC[{i}]"] for i in range(3)])
    np.testing.assert_allclose(cal.offset, [p[f"offset[{i}]"] for i in range(768)])
    np.testing.assert_allclose(cal.kta, [p[f"kta[{i}]"] for i in range(768)], atol=1e-6)
    np.testing.assert_allclose(cal.kv, [p[f"kv[{i}]"] for i in range(768)], atol=1e-6)
    np.testing.assert_allclose(cal.sensitivity, [p[f"alpha[{i}]"] for i in range(768)], rtol=1e-6)
    assert cal.bad_pixels == ()


def test_convert_words_matches_compute_subpage(melexis: dict) -> None:
    words = melexis["frame1"]
    result = convert_words(melexis["eeprom"], words[:832], words[832], words[833], emissivity=1.0)
    cal = extract_calibration(melexis["eeprom"])
    assert result.pixels.shape == (24, 32) and result.subpage == 1
    assert result.ambient_c == pytest.approx(ambient_temperature(cal, words))
    assert result.vdd == pytest.approx(supply_voltage(cal, words))
    expected = compute_subpage(cal, words, 1.0, result.ambient_c - 8).reshape(24, 32)
    np.testing.assert_array_equal(result.pixels, expected)


def test_calibration_is_per_instance_and_read_only() -> None:
    a = extract_calibration(encode_eeprom(random_parameters(np.random.default_rng(1))))
    offsets = a.offset.copy()
    b = extract_calibration(encode_eeprom(random_parameters(np.random.default_rng(2))))
    np.testing.assert_array_equal(a.offset, offsets)  # decoding b did not touch a
    assert not np.array_equal(a.offset, b.offset)
    with pytest.raises(ValueError):
        a.offset[0] = 0


@pytest.mark.parametrize("fill", [0x0000, 0xFFFF])
def test_blank_eeprom_is_refused_at_once(fill: int) -> None:
    start = time.perf_counter()
    with pytest.raises(SensorError, match=f"0x{fill:04X}"):
        extract_calibration([fill] * 832)
    assert time.perf_counter() - start < 0.5


def test_impossible_eeproms_are_refused() -> None:
    good = encode_eeprom(random_parameters(np.random.default_rng(3), bad_pixels=0)).astype(np.int64)
    many_bad = good.copy()
    many_bad[64 + np.arange(5) * 100] = 0
    with pytest.raises(SensorError, match="broken"):
        extract_calibration(many_bad)
    no_gain = good.copy()
    no_gain[48] = 0
    with pytest.raises(SensorError, match="gain"):
        extract_calibration(no_gain)
    negative_alpha = good.copy()
    negative_alpha[33] = 0  # sensitivity reference 0: alphas go negative
    with pytest.raises(SensorError, match="sensitivity"):
        extract_calibration(negative_alpha)
    zero_kta = good.copy()  # the reference library loops forever on this one
    zero_kta[54:56] = 0
    zero_kta[64:] &= ~0x000E
    zero_kta[64:][zero_kta[64:] == 0] = 0x0010
    assert np.all(extract_calibration(zero_kta).kta == 0)
    with pytest.raises(SensorError):
        extract_calibration(good[:100])


def _uniform_frame(chess: bool, subpage: int, bad: tuple[int, ...], temp_c: float = 30.0):
    params = random_parameters(np.random.default_rng(5), bad_pixels=0)
    params = dataclasses.replace(params, broken_pixels=bad)
    cal = extract_calibration(encode_eeprom(params))
    control = reg.CONTROL_DEFAULT if chess else reg.CONTROL_DEFAULT & ~reg.CTRL_CHESS
    scene = np.full(reg.PIXELS, temp_c)
    ram = render_subpage(cal, np.zeros(832), subpage=subpage, control=control, object_c=scene,
                         emissivity=1.0, ta_c=temp_c, tr_c=temp_c - 8)
    return cal, np.concatenate([ram.astype(np.int64), [control, subpage]])


@pytest.mark.parametrize("chess", [True, False])
def test_deviating_pixels_are_interpolated_from_their_subpage(chess: bool) -> None:
    # 0 = corner, 31 = end of the first row, 300 inside: cover the reference's special cases.
    bad = (0, 31, 300, 700)
    for subpage in (0, 1):
        cal, frame = _uniform_frame(chess, subpage, bad)
        ta = ambient_temperature(cal, frame)
        to = compute_subpage(cal, frame, 1.0, ta - 8)
        pattern = reg.subpage_pattern(int(frame[832]))
        for p in bad:
            if pattern[p] == subpage:
                assert to[p] == pytest.approx(30.0, abs=0.3), p
            else:
                assert np.isnan(to[p])


def test_deviating_pixel_without_good_neighbours_is_nan() -> None:
    # In chess mode, pixel 0's only same-subpage neighbour is pixel 33.
    cal, frame = _uniform_frame(True, 0, (0, 33))
    to = compute_subpage(cal, frame, 1.0, ambient_temperature(cal, frame) - 8)
    assert np.isnan(to[0])
    assert to[33] == pytest.approx(30.0, abs=0.3)  # 33 still has good diagonal neighbours


def test_garbage_aux_words_raise_sensor_error() -> None:
    cal, frame = _uniform_frame(True, 0, ())
    no_gain = frame.copy()
    no_gain[reg.FRAME_GAIN] = 0
    with pytest.raises(SensorError, match="gain"):
        compute_subpage(cal, no_gain, 1.0, 20.0)
    no_ptat = frame.copy()
    no_ptat[reg.FRAME_TA_PTAT] = 0
    with pytest.raises(SensorError):
        ambient_temperature(cal, no_ptat)
    with pytest.raises(SensorError):
        compute_subpage(cal, frame[:832], 1.0, 20.0)
    with pytest.raises(ValueError):
        compute_subpage(cal, frame, 0.0, 20.0)


def test_registers() -> None:
    assert reg.refresh_code(4) == 0b011 and reg.REFRESH_RATES_HZ[0b011] == 4.0
    assert reg.refresh_hz(reg.CONTROL_DEFAULT) == 2.0
    assert reg.resolution_code(reg.CONTROL_DEFAULT) == 2  # 18 bit
    assert reg.with_refresh(reg.CONTROL_DEFAULT, 0b011) == 0x1981
    with pytest.raises(ValueError):
        reg.refresh_code(3)
    for pattern in (reg.CHESS_PATTERN, reg.INTERLEAVED_PATTERN):
        assert (pattern == 0).sum() == (pattern == 1).sum() == 384
    assert reg.CHESS_PATTERN[0] == 0 and reg.CHESS_PATTERN[1] == 1 and reg.CHESS_PATTERN[32] == 1
    assert reg.INTERLEAVED_PATTERN[31] == 0 and reg.INTERLEAVED_PATTERN[32] == 1
