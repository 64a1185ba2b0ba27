"""What the array writes into RAM for a scene: the datasheet model run backwards.

Given object temperatures and emissivities, the die temperature Ta, the reflected temperature
and the supply voltage, `render_subpage` computes the raw words — IR pixels, compensation
pixel, PTAT/Vbe, gain, Vdd — that a correct driver turns back into those temperatures.  It
inverts the same reference equations the driver evaluates (`conversion`), including the
two-pass KsTo range correction, by a short fixed-point iteration; what is left is the ADC's
own quantisation (about ±0.1 K per pixel at 18 bit).

Physics in one line: the pixel's compensated signal is
    V = α_c · corr(To) · (ε·To⁴ + (1 − ε)·Tr⁴ − Ta⁴)      (kelvin)
the radiation from the object, plus what it reflects of the surroundings, minus what the
sensor itself emits.
"""

from __future__ import annotations

import numpy as np

from . import registers as reg
from .calibration import Calibration
from .conversion import ambient_temperature, first_estimate, range_correction, supply_voltage

PTAT_WORD_25C = 1650  # typical raw PTAT word at 25 °C die temperature
GAIN_DRIFT = 0.987  # the RAM gain word sits a little off the EEPROM's (the example part: 5508 vs 5580)
_FIXED_POINT_STEPS = 3  # the range correction depends on To only weakly: three steps reach 1e-9 K


def _int16(x: np.ndarray | float) -> np.ndarray:
    """Round to the ADC's signed 16-bit words, saturating short of the 0x7FFF glitch marker."""
    return np.clip(np.rint(x), -32768, 32766).astype(np.int64)


def _frame(ram: np.ndarray, control: int, subpage: int) -> np.ndarray:
    return np.concatenate([ram.astype(np.int64) & 0xFFFF, [control, subpage]])


def render_subpage(
    cal: Calibration,
    ram: np.ndarray,
    *,
    subpage: int,
    control: int,
    object_c: np.ndarray,
    emissivity: np.ndarray | float,
    ta_c: float,
    tr_c: float,
    vdd: float = 3.3,
) -> np.ndarray:
    """A copy of `ram` (832 words) after the array measured `subpage` of this scene.

    Only the pixels of the subpage's pattern (chess or interleaved, from `control`) and that
    subpage's compensation pixel change; Ta, gain and Vdd words are refreshed every subpage.
    `object_c` is (768,) or (24, 32) °C; `emissivity` a scalar or the same shape.
    """
    subpage &= 1
    out = np.asarray(ram, dtype=np.int64).copy() & 0xFFFF
    scale = 2.0 ** (reg.resolution_code(control) - cal.resolution_ee)  # raw words follow the ADC

    # Vdd first (Ta depends on it), then PTAT/Vbe; both read back through the driver's own
    # equations so that everything below uses the quantised values a driver will see.
    out[reg.FRAME_VDD] = _int16(((vdd - 3.3) * cal.k_vdd + cal.vdd25) * scale) & 0xFFFF
    vdd_q = supply_voltage(cal, _frame(out, control, subpage))
    ptat = int(_int16(PTAT_WORD_25C * (ta_c + 273.15) / 298.15))
    ptat_art = ((ta_c - 25) * cal.kt_ptat + cal.v_ptat25) * (1 + cal.kv_ptat * (vdd_q - 3.3))
    out[reg.FRAME_TA_PTAT] = ptat & 0xFFFF
    out[reg.FRAME_TA_VBE] = _int16(ptat * 2.0**18 / ptat_art - ptat * cal.alpha_ptat) & 0xFFFF
    ta_q = ambient_temperature(cal, _frame(out, control, subpage), vdd_q)

    gain_word = int(_int16(cal.gain_ee * scale * GAIN_DRIFT))
    out[reg.FRAME_GAIN] = gain_word & 0xFFFF
    gain = cal.gain_ee / gain_word

    chess = bool(control & reg.CTRL_CHESS)
    cross_mode = chess != cal.chess_calibrated
    # The compensation pixel looks at the package, which is at Ta: no net signal, only offset.
    cp_offset = cal.cp_offset[subpage] + (cal.il_chess[0] if (subpage == 1 and cross_mode) else 0.0)
    cp_drift = cp_offset * (1 + cal.cp_kta * (ta_q - 25)) * (1 + cal.cp_kv * (vdd_q - 3.3))
    cp_word = int(_int16(cp_drift / gain))
    out[reg.FRAME_CP[subpage]] = cp_word & 0xFFFF
    ir_cp = cp_word * gain - cp_drift

    pattern = reg.CHESS_PATTERN if chess else reg.INTERLEAVED_PATTERN
    sel = np.flatnonzero(pattern == subpage)
    t_obj = np.asarray(object_c, dtype=np.float64).reshape(-1)[sel]
    eps_all = np.asarray(emissivity, dtype=np.float64)
    eps = np.broadcast_to(eps_all.reshape(-1) if eps_all.ndim else eps_all, (reg.PIXELS,))[sel]
    k = t_obj + 273.15
    kr = tr_c + 273.15
    ka = ta_q + 273.15
    radiance = eps * k**4 + (1 - eps) * kr**4 - ka**4
    a = cal.alpha[sel] * (1 + cal.ks_ta * (ta_q - 25))
    ta_tr = kr**4 - (kr**4 - ka**4) / eps
    signal = a * range_correction(cal, t_obj) * radiance
    for _ in range(_FIXED_POINT_STEPS):  # make the driver's own first estimate pick the same range
        signal = a * range_correction(cal, first_estimate(cal, signal / eps, a, ta_tr)) * radiance

    offset_drift = cal.offset[sel] * (1 + cal.kta[sel] * (ta_q - 25)) * (1 + cal.kv[sel] * (vdd_q - 3.3))
    compensated = signal + offset_drift + cal.tgc * ir_cp
    if cross_mode:
        il = reg.INTERLEAVED_PATTERN[sel]
        compensated -= cal.il_chess[2] * (2 * il - 1) - cal.il_chess[1] * reg.CONVERSION_PATTERN[sel]
    out[sel] = _int16(compensated / gain) & 0xFFFF
    return out.astype(np.uint16)
