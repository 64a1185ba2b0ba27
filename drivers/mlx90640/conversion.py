"""Conversion: from the RAM words of one subpage to °C (datasheet §11.2, "Temperature calculation").

The supply voltage Vdd (§11.2.2.2) and the die temperature Ta (§11.2.2.3) from the auxiliary
words, then the object temperature To of every pixel of the subpage (§11.2.2.5–11.2.2.9: gain,
offset with its Ta/Vdd dependence, the interleaved/chess cross-correction, the compensation pixel
and TGC, emissivity, the sensitivity, and the ranged KsTo correction), with the parameters
`calibration.extract_calibration` took from the EEPROM.  The reference library's order of
operations is kept where it matters; `subpage_temperatures` says where it is rearranged for speed
and by how little the results differ.

Deviating pixels are interpolated from good neighbours of the same subpage, as the Melexis
library's `MLX90640_BadPixelsCorrection` does, or NaN when no good neighbour exists (`deviating`).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np

from kiosk.errors import SensorError

from . import registers as reg
from .calibration import Calibration, extract_calibration, readonly, signed
from .deviating import interpolate_deviating

DEFAULT_EMISSIVITY = 0.98  # human skin
OPEN_AIR_TA_SHIFT = 8.0  # the die runs ~8 °C above the room: the reference's default Tr is Ta − 8


def _frame(frame_words: np.ndarray | list[int]) -> np.ndarray:
    f = np.asarray(frame_words, dtype=np.int64)
    if f.shape != (reg.FRAME_WORDS,):
        raise SensorError(f"a frame is {reg.FRAME_WORDS} words (RAM, control, subpage), got {f.shape}")
    return f


def _word(f: np.ndarray, index: int) -> int:
    return int(signed(int(f[index]) & 0xFFFF, 16))


def supply_voltage(cal: Calibration, frame_words: np.ndarray | list[int]) -> float:
    """Vdd (V) from the frame's Vdd word, corrected for the ADC resolution in use."""
    f = _frame(frame_words)
    return _vdd(cal, _word(f, reg.FRAME_VDD), int(f[reg.FRAME_CONTROL]))


def _vdd(cal: Calibration, vdd_word: int, control: int) -> float:
    """Vdd (V) from the signed Vdd word and the control register (for the ADC resolution)."""
    correction = 2.0**cal.resolution_ee / 2.0**reg.resolution_code(control)
    return (correction * vdd_word - cal.vdd25) / cal.k_vdd + 3.3


def ambient_temperature(
    cal: Calibration, frame_words: np.ndarray | list[int], vdd: float | None = None
) -> float:
    """Ta (°C): the sensor die's temperature from the PTAT and Vbe words."""
    f = _frame(frame_words)
    if vdd is None:
        vdd = supply_voltage(cal, f)
    return _ta(cal, _word(f, reg.FRAME_TA_PTAT), _word(f, reg.FRAME_TA_VBE), vdd)


def _ta(cal: Calibration, ptat: int, vbe: int, vdd: float) -> float:
    """Ta (°C) from the signed PTAT and Vbe words and the supply voltage."""
    denominator = ptat * cal.alpha_ptat + vbe
    if denominator == 0 or ptat == 0:
        raise SensorError("PTAT/Vbe words give no temperature (zero denominator)")
    ptat_art = (ptat / denominator) * 2.0**18
    ta = ptat_art / (1 + cal.kv_ptat * (vdd - 3.3)) - cal.v_ptat25
    return ta / cal.kt_ptat + 25


def die_state(cal: Calibration, vdd_word: int, ptat_word: int, vbe_word: int, control: int) -> tuple[float, float]:
    """(Vdd, Ta) from the signed Vdd, PTAT and Vbe words and the control register."""
    vdd = _vdd(cal, vdd_word, control)
    return vdd, _ta(cal, ptat_word, vbe_word, vdd)


def first_estimate(cal: Calibration, ir: np.ndarray, a: np.ndarray, ta_tr: float) -> np.ndarray:
    """The reference's first pass: To (°C) with the KsTo[1] self-correction, used to pick a range.

    `ir` is the compensated signal already divided by emissivity, `a` the Ta-corrected alpha.
    """
    ks_to1 = cal.ks_to[1]
    with np.errstate(invalid="ignore", divide="ignore"):
        sx = a * a * a * (ir + a * ta_tr)
        sx = np.sqrt(np.sqrt(sx)) * ks_to1
        return np.sqrt(np.sqrt(ir / (a * (1 - ks_to1 * 273.15) + sx) + ta_tr)) - 273.15


def range_correction(cal: Calibration, to_c: np.ndarray) -> np.ndarray:
    """alphaCorrR × (1 + KsTo·(To − ct)) of the KsTo range `to_c` falls in (NaN stays NaN)."""
    r = np.searchsorted(cal.ct[1:], to_c, side="right")
    return cal.alpha_corr_r[r] * (1 + cal.ks_to[r] * (to_c - cal.ct[r]))


def object_temperature(cal: Calibration, ir: np.ndarray, a: np.ndarray, ta_tr: float) -> np.ndarray:
    """To (°C) from the compensated signal: first estimate, then the ranged KsTo correction."""
    to = first_estimate(cal, ir, a, ta_tr)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sqrt(np.sqrt(ir / (a * range_correction(cal, to)) + ta_tr)) - 273.15


def compute_subpage(
    cal: Calibration, frame_words: np.ndarray | list[int], emissivity: float, tr: float,
    *, vdd: float | None = None, ta: float | None = None,
) -> np.ndarray:
    """Object temperatures (768,) float64 °C for the pixels of the frame's subpage, NaN elsewhere.

    `frame_words` are 834 words: RAM 0x0400..0x073F, the control register, the subpage number.
    `tr` is the reflected temperature (°C).  Deviating pixels are interpolated (see module doc).
    `vdd` and `ta`, when the caller already computed them from these words, are not recomputed.
    """
    f = _frame(frame_words)
    if not 0 < emissivity <= 1:
        raise ValueError(f"emissivity must be in (0, 1], got {emissivity}")
    subpage = int(f[reg.FRAME_SUBPAGE]) & 1
    control = int(f[reg.FRAME_CONTROL])
    if vdd is None:
        vdd = supply_voltage(cal, f)
    if ta is None:
        ta = ambient_temperature(cal, f, vdd)
    chess = bool(control & reg.CTRL_CHESS)
    plan = subpage_plan(cal, subpage, chess)
    raw = f[plan.sel]
    raw = np.where(raw > 32767, raw - 65536, raw)
    to = subpage_temperatures(
        cal, plan, raw, _word(f, reg.FRAME_GAIN), _word(f, reg.FRAME_CP[subpage]),
        emissivity=emissivity, tr=tr, vdd=vdd, ta=ta,
    )
    out = np.full(reg.PIXELS, np.nan)
    out[plan.sel] = to
    if plan.bad:
        interpolate_deviating(out, plan.bad, plan.all_bad, chess=chess)
    return out


def subpage_temperatures(
    cal: Calibration, plan: SubpagePlan, raw: np.ndarray, gain_word: int, cp_word: int,
    *, emissivity: float, tr: float, vdd: float, ta: float,
) -> np.ndarray:
    """To (°C) of the subpage's pixels `plan.sel` (deviating ones not yet interpolated).

    `raw` are their signed RAM words (any integer dtype), `gain_word` and `cp_word` the signed
    gain and compensation-pixel words.  This is the reference's `_CalculateTo`, rearranged so
    that a subpage costs about twenty small numpy steps (what a process waking eight times a
    second with cold caches pays for, far more than the arithmetic):

    * the compensated signal divided by the Ta-corrected sensitivity a = α·(1 + KsTa·ΔTa),
      y = ir / a, is one product with per-pixel constants multiplied out once per subpage
      pattern (`subpage_plan`): (raw·gain − offset·(1 + Kta·ΔTa)·(1 + Kv·ΔV) [+ cross]
      − TGC·irCP) / (ε·a), the offset product expanded into four pre-multiplied rows;
    * with a > 0 the reference's first estimate, ir / (a·(1 − 273.15·KsTo₁) + KsTo₁·⁴√(a³·(ir
      + a·TaTr))) + TaTr, is y / ((1 − 273.15·KsTo₁) + KsTo₁·⁴√(y + TaTr)) + TaTr, and its
      final step ir / (a·corr) + TaTr is y / corr + TaTr.

    Rounding differs from the reference's order of operations by a few ulps, far below 0.01 °C.
    """
    if gain_word == 0:
        raise SensorError("gain word is zero")
    dt, dv = ta - 25, vdd - 3.3
    ta4 = ta + 273.15
    ta4 *= ta4
    ta4 *= ta4
    tr4 = tr + 273.15
    tr4 *= tr4
    tr4 *= tr4
    ta_tr = tr4 - (tr4 - ta4) / emissivity
    gain = cal.gain_ee / gain_word
    cross_mode = plan.chess != cal.chess_calibrated  # read in the other pattern than calibrated

    cp_offset = cal.cp_offset[plan.subpage] + (cal.il_chess[0] if (plan.subpage == 1 and cross_mode) else 0.0)
    ir_cp = cp_word * gain
    ir_cp -= cp_offset * (1 + cal.cp_kta * dt) * (1 + cal.cp_kv * dv)

    s = 1 + cal.ks_ta * dt
    if not s > 0:  # a die far outside any real one; the reference's own order of operations
        return _reference_subpage(cal, plan, raw, gain, ir_cp, emissivity, ta_tr, dt, dv, s, cross_mode)
    # explicit scalar × row steps: a BLAS matrix-vector product costs more than all of them
    # together in a process that just woke up (cold caches)
    scale = 1.0 / (emissivity * s)
    y = raw * (gain * scale)
    y -= cal.tgc * ir_cp * scale
    y *= plan.inv_alpha
    rows = plan.rows_over_alpha
    term = np.multiply(rows[0], scale)
    y -= term
    y -= np.multiply(rows[1], dt * scale, out=term)
    y -= np.multiply(rows[2], dv * scale, out=term)
    y -= np.multiply(rows[3], dt * dv * scale, out=term)
    if cross_mode:
        y += np.multiply(rows[4], scale, out=term)
    ks_to1 = float(cal.ks_to[1])
    with np.errstate(invalid="ignore", divide="ignore"):
        q = y + ta_tr
        np.sqrt(q, out=q)
        np.sqrt(q, out=q)
        q *= ks_to1
        q += 1 - ks_to1 * 273.15
        to = np.divide(y, q, out=q)
        to += ta_tr
        np.sqrt(to, out=to)
        np.sqrt(to, out=to)
        to -= 273.15
        # the ranged KsTo correction; nearly always every pixel is in range 1 (0 °C .. ct[2]),
        # where it is 1 × (1 + KsTo[1]·(To − 0)): the same numbers without the search
        lo, hi = np.minimum.reduce(to), np.maximum.reduce(to)
        if cal.ct[1] == 0.0 and cal.alpha_corr_r[1] == 1.0 and lo >= 0.0 and hi < cal.ct[2]:
            corr = np.multiply(to, ks_to1, out=to)
            corr += 1.0
        else:
            corr = range_correction(cal, to)
        out = np.divide(y, corr, out=corr)
        out += ta_tr
        np.sqrt(out, out=out)
        np.sqrt(out, out=out)
        out -= 273.15
    return out


def _reference_subpage(
    cal: Calibration, plan: SubpagePlan, raw: np.ndarray, gain: float, ir_cp: float, emissivity: float,
    ta_tr: float, dt: float, dv: float, s: float, cross_mode: bool,
) -> np.ndarray:
    """`subpage_temperatures` in the reference's own order of operations (any sign of a)."""
    offset = np.asarray(cal.offset)[plan.sel]
    ir = raw * gain
    ir -= offset * (1 + cal.kta[plan.sel] * dt) * (1 + cal.kv[plan.sel] * dv)
    if cross_mode:
        ir += plan.cross
    ir -= cal.tgc * ir_cp
    ir /= emissivity
    return object_temperature(cal, ir, cal.alpha[plan.sel] * s, ta_tr)


@dataclass(frozen=True, slots=True)
class SubpagePlan:
    """The per-pixel constants of one subpage in one reading pattern, gathered and multiplied
    out once: a streaming driver then indexes nothing per subpage but the RAM words."""

    subpage: int
    chess: bool
    sel: np.ndarray  # pixel indexes of the subpage
    used: np.ndarray  # RAM word indexes its conversion reads: those pixels, Ta/gain/Vdd, its CP pixel
    inv_alpha: np.ndarray  # 1 / alpha
    # (5, n): offset, offset·Kta, offset·Kv, offset·Kta·Kv, cross-correction — each / alpha
    rows_over_alpha: np.ndarray
    cross: np.ndarray  # the interleaved/chess cross-correction, added when read in the other mode
    bad: list[int]
    all_bad: frozenset[int]


_PLANS: weakref.WeakKeyDictionary[Calibration, dict[tuple[int, bool], SubpagePlan]] = weakref.WeakKeyDictionary()
AUX_USED = (reg.FRAME_TA_VBE, reg.FRAME_GAIN, reg.FRAME_TA_PTAT, reg.FRAME_VDD)  # order of `plan.used`'s tail


def subpage_plan(cal: Calibration, subpage: int, chess: bool) -> SubpagePlan:
    """The (cached) per-pixel constants of `subpage` read in the chess or interleaved pattern."""
    plans = _PLANS.setdefault(cal, {})
    plan = plans.get((subpage, chess))
    if plan is None:
        pattern = reg.CHESS_PATTERN if chess else reg.INTERLEAVED_PATTERN
        sel = np.flatnonzero(pattern == subpage)
        used = np.concatenate([sel, list(AUX_USED), [reg.FRAME_CP[subpage]]])
        il = reg.INTERLEAVED_PATTERN[sel]
        cross = cal.il_chess[2] * (2 * il - 1) - cal.il_chess[1] * reg.CONVERSION_PATTERN[sel]
        bad = [p for p in cal.bad_pixels if pattern[p] == subpage]
        offset, kta, kv, alpha = cal.offset[sel], cal.kta[sel], cal.kv[sel], cal.alpha[sel]
        rows = np.stack([offset, offset * kta, offset * kv, offset * kta * kv, cross])
        plan = SubpagePlan(
            subpage, chess, readonly(sel), readonly(used), readonly(1.0 / alpha),
            readonly(rows / alpha), readonly(cross), bad, frozenset(cal.bad_pixels),
        )
        plans[(subpage, chess)] = plan
    return plan


@dataclass(frozen=True, slots=True)
class Conversion:
    """One subpage converted: (24, 32) °C with NaN outside the subpage, and the die's state."""

    pixels: np.ndarray
    ambient_c: float
    vdd: float
    subpage: int


def convert_words(
    eeprom_words: np.ndarray | list[int],
    ram_words: np.ndarray | list[int],
    control: int,
    subpage: int,
    emissivity: float = DEFAULT_EMISSIVITY,
    tr: float | None = None,
) -> Conversion:
    """Convert a raw dump (EEPROM, 832 RAM words, control register, subpage) to °C.

    For offline analysis (`kiosk thermal convert`): no device, no driver state.  `tr` defaults
    to Ta − 8 °C, the reference library's open-air assumption.
    """
    cal = extract_calibration(eeprom_words)
    ram = np.asarray(ram_words, dtype=np.int64)
    if ram.shape != (reg.RAM_WORDS,):
        raise SensorError(f"RAM dump must be {reg.RAM_WORDS} words, got shape {ram.shape}")
    frame = np.concatenate([ram, [int(control) & 0xFFFF, int(subpage) & 1]])
    vdd = supply_voltage(cal, frame)
    ta = ambient_temperature(cal, frame, vdd)
    reflected = ta - OPEN_AIR_TA_SHIFT if tr is None else tr
    pixels = compute_subpage(cal, frame, emissivity, reflected).reshape(reg.ROWS, reg.COLS)
    return Conversion(pixels=pixels, ambient_c=ta, vdd=vdd, subpage=int(subpage) & 1)
