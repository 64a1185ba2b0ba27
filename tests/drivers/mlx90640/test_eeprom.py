"""The synthesiser packs physical parameters the datasheet's way: both decoders get them back."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from drivers.mlx90640 import registers as reg
from drivers.mlx90640.adafruit_backend import isolated_adafruit_class
from drivers.mlx90640.calibration import extract_calibration
from drivers.mlx90640.eeprom import DeviceParameters, adjacent, encode_eeprom, random_parameters
from drivers.mlx90640.emulated_bus import EmulatedI2C
from drivers.mlx90640.emulator import Mlx90640Device, StaticScene
from kiosk.clock import VirtualClock


def _good(p: DeviceParameters) -> np.ndarray:
    good = np.ones(reg.PIXELS, dtype=bool)
    good[list(p.broken_pixels)] = False  # a broken pixel's word is 0: nothing left to decode
    return good


def _steps(eeprom: np.ndarray) -> tuple[float, float]:
    """Quantisation steps the encoding chose for the alpha and Kta remainders (absolute)."""
    ee = eeprom.astype(int)
    alpha_step = 2.0 ** ((ee[32] & 0xF) - ((ee[32] >> 12) + 30))
    kta_step = 2.0 ** ((ee[56] & 0xF) - (((ee[56] >> 4) & 0xF) + 8))
    return alpha_step, kta_step


def _assert_decodes_to(p: DeviceParameters, eeprom: np.ndarray, *, offset, sensitivity, kta, kv, cp_alpha,
                       cp_offset, cp_kta, cp_kv, ks_ta, ks_to, ct, tgc, scalars) -> None:
    g = _good(p)
    alpha_step, kta_step = _steps(eeprom)
    np.testing.assert_allclose(offset[g], p.offset[g], atol=0.5)  # integer offsets: exact
    # Half a remainder step, a full one where an all-zero pixel word was nudged, + 16-bit reciprocals.
    np.testing.assert_allclose(sensitivity[g], p.sensitivity[g], rtol=3e-5, atol=1.05 * alpha_step)
    np.testing.assert_allclose(kta[g], p.kta[g], atol=0.65 * kta_step)  # + the shared-scale requantisation
    np.testing.assert_allclose(kv, np.asarray(p.kv)[reg.SPLIT], atol=1e-12)
    np.testing.assert_allclose(cp_alpha, p.cp_alpha, rtol=5e-3)
    np.testing.assert_allclose(cp_offset, p.cp_offset)
    assert cp_kta == pytest.approx(p.cp_kta, abs=2**-15)
    assert cp_kv == pytest.approx(p.cp_kv)
    assert ks_ta == pytest.approx(p.ks_ta, abs=2**-14)
    np.testing.assert_allclose(ks_to, p.ks_to, atol=2**-17)
    assert list(ct) == [-40, 0, p.ct2_c, p.ct3_c]
    assert tgc == pytest.approx(p.tgc, abs=1 / 64)
    k_vdd, vdd25, kt_ptat, kv_ptat, v_ptat25, alpha_ptat, gain_ee, resolution_ee = scalars
    assert (k_vdd, vdd25, v_ptat25, alpha_ptat, gain_ee, resolution_ee) == (
        p.k_vdd, p.vdd25, p.v_ptat25, p.alpha_ptat, p.gain_ee, p.resolution_ee)
    assert kt_ptat == pytest.approx(p.kt_ptat, abs=1 / 16)
    assert kv_ptat == pytest.approx(p.kv_ptat, abs=2**-13)


@pytest.mark.parametrize("seed", range(6))
def test_synthesised_eeprom_decodes_to_intended_parameters_in_both_decoders(seed: int) -> None:
    p = random_parameters(np.random.default_rng(seed), chess_calibrated=seed % 2 == 0,
                          resolution_ee=seed % 4, bad_pixels=seed % 5)
    eeprom = encode_eeprom(p)
    assert eeprom.dtype == np.uint16 and eeprom.shape == (832,)

    cal = extract_calibration(eeprom)
    _assert_decodes_to(
        p, eeprom, offset=cal.offset, sensitivity=cal.sensitivity, kta=cal.kta, kv=cal.kv,
        cp_alpha=cal.cp_alpha, cp_offset=cal.cp_offset, cp_kta=cal.cp_kta, cp_kv=cal.cp_kv,
        ks_ta=cal.ks_ta, ks_to=cal.ks_to, ct=cal.ct, tgc=cal.tgc,
        scalars=(cal.k_vdd, cal.vdd25, cal.kt_ptat, cal.kv_ptat, cal.v_ptat25, cal.alpha_ptat,
                 cal.gain_ee, cal.resolution_ee),
    )
    assert cal.chess_calibrated == p.chess_calibrated
    assert set(cal.broken_pixels) == set(p.broken_pixels)
    assert set(cal.outlier_pixels) == set(p.outlier_pixels)

    ada = isolated_adafruit_class()(EmulatedI2C(Mlx90640Device(StaticScene(), clock=VirtualClock(),
                                                               eeprom=eeprom)))
    tgc_alpha = ada.tgc * (ada.cpAlpha[0] + ada.cpAlpha[1]) / 2  # Adafruit stores 1e-6 / (alpha - this)
    sensitivity = 1e-6 * 2.0**ada.alphaScale / np.array(ada.alpha, dtype=float) + tgc_alpha
    _assert_decodes_to(
        p, eeprom, offset=np.array(ada.offset, dtype=float), sensitivity=sensitivity,
        kta=np.array(ada.kta) / 2.0**ada.ktaScale, kv=np.array(ada.kv) / 2.0**ada.kvScale,
        cp_alpha=ada.cpAlpha, cp_offset=ada.cpOffset, cp_kta=ada.cpKta, cp_kv=ada.cpKv,
        ks_ta=ada.KsTa, ks_to=ada.ksTo[:4], ct=ada.ct[:4], tgc=ada.tgc,
        scalars=(ada.kVdd, ada.vdd25, ada.KtPTAT, ada.KvPTAT, ada.vPTAT25, ada.alphaPTAT,
                 ada.gainEE, ada.resolutionEE),
    )
    assert ada.calibrationModeEE == (0x80 if p.chess_calibrated else 0)
    assert set(ada.brokenPixels) == set(p.broken_pixels)
    assert set(ada.outlierPixels) == set(p.outlier_pixels)


def test_same_seed_same_device_other_seed_other_device() -> None:
    a = encode_eeprom(random_parameters(np.random.default_rng(7)))
    b = encode_eeprom(random_parameters(np.random.default_rng(7)))
    c = encode_eeprom(random_parameters(np.random.default_rng(8)))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_device_has_datasheet_structure() -> None:
    p = random_parameters(np.random.default_rng(11), bad_pixels=4)
    ee = encode_eeprom(p)
    assert ee[reg.EE_CONTROL_DEFAULT - reg.EEPROM_START] == reg.CONTROL_DEFAULT
    assert ee[reg.EE_I2C_ADDRESS - reg.EEPROM_START] & 0xFF == reg.DEFAULT_ADDRESS
    bad = p.broken_pixels + p.outlier_pixels
    assert len(bad) == 4
    assert not any(adjacent(a, b) for i, a in enumerate(bad) for b in bad[i + 1:])
    # Sensitivity falls off towards the corners (vignetting), as real arrays do.
    s = p.sensitivity.reshape(24, 32)
    assert s[10:14, 14:18].mean() > 1.15 * s[[0, 0, 23, 23], [0, 31, 0, 31]].mean()


def test_out_of_range_parameters_are_refused() -> None:
    p = random_parameters(np.random.default_rng(1))
    with pytest.raises(ValueError):
        encode_eeprom(dataclasses.replace(p, vdd25=-12545))
    with pytest.raises(ValueError):
        encode_eeprom(dataclasses.replace(p, ct_step_c=15))
    with pytest.raises(ValueError):
        encode_eeprom(dataclasses.replace(p, cp_offset=(-600, -60)))
