"""Property: our vectorised conversion equals the unmodified Adafruit driver's `_CalculateTo`.

Random devices come from the EEPROM synthesiser (both calibration modes, every EEPROM
resolution, TGC, bad pixels), random frames from the inverse model (objects from −20 to
400 °C across all KsTo ranges, random die temperature and supply voltage, any ADC resolution,
chess or interleaved reading) plus raw jitter on the words.  The Adafruit object reads the
same EEPROM over the emulated I²C bus, so it decodes it with its own code.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.mlx90640 import registers as reg
from drivers.mlx90640.adafruit_backend import isolated_adafruit_class
from drivers.mlx90640.calibration import extract_calibration
from drivers.mlx90640.conversion import compute_subpage
from drivers.mlx90640.eeprom import encode_eeprom, random_parameters
from drivers.mlx90640.emulated_bus import EmulatedI2C
from drivers.mlx90640.emulator import Mlx90640Device, StaticScene
from drivers.mlx90640.ram import render_subpage
from kiosk.clock import VirtualClock
from tests.paths import SHARED


def adafruit_for(eeprom: np.ndarray):
    """An unmodified-Adafruit MLX90640 object that decoded `eeprom` itself, over the emulated bus."""
    device = Mlx90640Device(StaticScene(), clock=VirtualClock(), eeprom=eeprom)
    return isolated_adafruit_class()(EmulatedI2C(device))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    chess=st.booleans(),
    chess_calibrated=st.booleans(),
    resolution_ram=st.integers(0, 3),
    resolution_ee=st.integers(0, 3),
    subpage=st.integers(0, 1),
    ta=st.floats(-10.0, 60.0),
    vdd=st.floats(3.0, 3.6),
    emissivity=st.floats(0.5, 1.0),
    tr_shift=st.floats(-20.0, 5.0),
    jitter=st.integers(0, 30),
)
def test_compute_subpage_equals_adafruit_calculate_to(
    seed: int, chess: bool, chess_calibrated: bool, resolution_ram: int, resolution_ee: int,
    subpage: int, ta: float, vdd: float, emissivity: float, tr_shift: float, jitter: int,
) -> None:
    rng = np.random.default_rng(seed)
    params = random_parameters(rng, chess_calibrated=chess_calibrated, resolution_ee=resolution_ee,
                               bad_pixels=int(rng.integers(0, 5)))
    eeprom = encode_eeprom(params)
    cal = extract_calibration(eeprom)
    control = reg.with_resolution(reg.CONTROL_DEFAULT, resolution_ram)
    control = control | reg.CTRL_CHESS if chess else control & ~reg.CTRL_CHESS
    tr = ta - 8 + tr_shift
    objects = rng.uniform(-20, 400, 768)
    ram = render_subpage(cal, rng.integers(0, 0x10000, 832), subpage=subpage, control=control,
                         object_c=objects, emissivity=emissivity, ta_c=ta, tr_c=tr, vdd=vdd)
    signed = ram.astype(np.int64)
    signed = np.where(signed > 32767, signed - 65536, signed)
    scale = 2.0 ** (resolution_ram - resolution_ee)  # jitter in calibrated counts, whatever the ADC
    noise = np.rint(rng.integers(-jitter, jitter + 1, 768) * scale).astype(np.int64)
    signed[:768] = np.clip(signed[:768] + noise, -32768, 32766)
    frame = [int(w) & 0xFFFF for w in signed] + [control, subpage]

    ours = compute_subpage(cal, frame, emissivity, tr)
    theirs = [math.nan] * 768
    adafruit_for(eeprom)._CalculateTo(list(frame), emissivity, tr, theirs)
    theirs_a = np.array(theirs)

    bad = list(cal.bad_pixels)
    assert set(np.flatnonzero(theirs_a == -273.15)) == set(bad)  # Adafruit marks, we interpolate
    mine = reg.subpage_pattern(control) == subpage
    good = mine.copy()
    good[bad] = False
    assert np.isfinite(theirs_a[good]).all()
    np.testing.assert_allclose(ours[good], theirs_a[good], atol=0.01, rtol=0)
    assert np.isnan(ours[~mine]).all()


MELEXIS = SHARED / "mlx90640" / "melexis-example.json"


@pytest.mark.skipif(not MELEXIS.exists(), reason="../shared/mlx90640 not beside the project")
@pytest.mark.parametrize("emissivity", [1.0, 0.98, 0.95])
def test_official_melexis_example_both_backends_agree(emissivity: float) -> None:
    """Melexis' real EEPROM and frames: ours and the unmodified Adafruit code, every pixel."""
    data = json.loads(MELEXIS.read_text())
    eeprom = np.array(data["eeprom"])
    cal = extract_calibration(eeprom)
    mlx = adafruit_for(eeprom)
    for name in ("frame0", "frame1"):
        frame = data[name]
        tr = mlx._GetTa(list(frame)) - 8.0
        theirs = [math.nan] * 768
        mlx._CalculateTo(list(frame), emissivity, tr, theirs)
        ours = compute_subpage(cal, frame, emissivity, tr)
        mine = reg.subpage_pattern(frame[832]) == frame[833]
        good = mine.copy()
        good[list(cal.bad_pixels)] = False
        np.testing.assert_allclose(ours[good], np.array(theirs)[good], atol=0.01, rtol=0)
        assert np.isfinite(ours[mine]).all()  # deviating pixels interpolated, not left as −273.15
