"""Calibration: from the 832 EEPROM words to per-pixel numpy arrays, and from RAM words to °C.

This is the Melexis reference algorithm (MLX90640 library, as Adafruit's CircuitPython driver
ports it), vectorised.  It reproduces that code's quantisations on purpose — the alpha
reciprocals rounded to 16 bits, Kta/Kv rounded to a shared power-of-two scale — because a
kiosk reading must equal what every other MLX90640 user computes from the same words, not a
"better" number nobody can check.

Two differences from Adafruit's port, both about robustness:

* the parameters live in a frozen, per-instance `Calibration`; Adafruit keeps them in *class*
  attributes, so a second sensor object silently corrupts the first;
* every loop is bounded and impossible EEPROM contents (all 0x0000 / 0xFFFF from a dead bus,
  non-positive sensitivities, zero gains, too many deviating pixels) raise `SensorError`
  instead of looping forever or dividing by zero.

Deviating pixels are interpolated from good neighbours of the same subpage, as the Melexis
library's `MLX90640_BadPixelsCorrection` does, or NaN when no good neighbour exists.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np

from kiosk.errors import SensorError

from . import registers as reg
from .deviating import interpolate_deviating

SCALE_ALPHA = 0.000001  # the reference library's SCALEALPHA
MAX_DEVIATING_PIXELS = 4  # the datasheet's limit; more means a faulty part or a garbled read
_MAX_DOUBLINGS = 64  # bound on the reference's `while x < limit: x *= 2` scale searches


def _signed(value: np.ndarray | int, bits: int) -> np.ndarray | int:
    """Two's complement of a `bits`-wide field."""
    half, full = 1 << (bits - 1), 1 << bits
    if isinstance(value, np.ndarray):
        return np.where(value >= half, value - full, value)
    return value - full if value >= half else value


def _nibbles(words: np.ndarray) -> np.ndarray:
    """Signed 4-bit fields, low nibble first, four per word (the occ/acc row and column tables)."""
    w = words.astype(np.int64)[:, None]
    return _signed((w >> np.array([0, 4, 8, 12])) & 0xF, 4).reshape(-1)


def _doubling_exponent(value: float, limit: float) -> int:
    """How often the reference doubles `value` before it reaches `limit` — but never forever."""
    n = 0
    while value < limit and n < _MAX_DOUBLINGS:
        value *= 2
        n += 1
    return n


def _round_away(x: np.ndarray) -> np.ndarray:
    """C-style `(int)(x ± 0.5)`: round half away from zero, as the reference rounds Kta/Kv."""
    return np.where(x < 0, np.trunc(x - 0.5), np.trunc(x + 0.5))


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, slots=True, eq=False, weakref_slot=True)
class Calibration:
    """Everything the conversion needs from one device's EEPROM, extracted once.

    Per-pixel arrays are (768,) read-only float64 in the reference library's units.  `alpha`
    is the TGC-corrected sensitivity after the reference's 16-bit reciprocal rounding (the
    value its `_CalculateTo` divides by); `sensitivity` is the EEPROM's own alpha, for checks.
    """

    k_vdd: int
    vdd25: int
    kv_ptat: float
    kt_ptat: float
    v_ptat25: int
    alpha_ptat: float
    gain_ee: int
    tgc: float
    ks_ta: float
    resolution_ee: int
    chess_calibrated: bool  # EEPROM calibrated in chess mode (reference: calibrationModeEE == 0x80)
    ks_to: np.ndarray  # (4,)
    ct: np.ndarray  # (4,) corner temperatures of the KsTo ranges, °C
    alpha_corr_r: np.ndarray  # (4,)
    offset: np.ndarray
    kta: np.ndarray
    kv: np.ndarray
    alpha: np.ndarray
    sensitivity: np.ndarray
    cp_alpha: np.ndarray  # (2,)
    cp_offset: np.ndarray  # (2,)
    cp_kta: float
    cp_kv: float
    il_chess: np.ndarray  # (3,)
    broken_pixels: tuple[int, ...]
    outlier_pixels: tuple[int, ...]

    @property
    def bad_pixels(self) -> tuple[int, ...]:
        """Broken and outlier pixels together, sorted."""
        return tuple(sorted(self.broken_pixels + self.outlier_pixels))


def check_eeprom(words: np.ndarray | list[int]) -> np.ndarray:
    """The words as an int64 array, or `SensorError` if they cannot be an MLX90640 EEPROM."""
    ee = np.asarray(words, dtype=np.int64)
    if ee.shape != (reg.EEPROM_WORDS,):
        raise SensorError(f"EEPROM must be {reg.EEPROM_WORDS} words, got shape {ee.shape}")
    if ((ee < 0) | (ee > 0xFFFF)).any():
        raise SensorError("EEPROM words must be unsigned 16-bit")
    if (ee == 0).all() or (ee == 0xFFFF).all():
        raise SensorError(f"EEPROM reads all 0x{int(ee[0]):04X}: no device, or the bus is stuck")
    return ee


def extract_calibration(words: np.ndarray | list[int]) -> Calibration:
    """Decode the EEPROM; `SensorError` for contents no working device can have."""
    ee = check_eeprom(words)
    e = [int(x) for x in ee[:64]]  # the scalar block, as Python ints like the reference
    pix = ee[64:]

    k_vdd = _signed((e[51] & 0xFF00) >> 8, 8) * 32
    vdd25 = (((e[51] & 0x00FF) - 256) << 5) - 8192
    kv_ptat = _signed((e[50] & 0xFC00) >> 10, 6) / 4096
    kt_ptat = _signed(e[50] & 0x03FF, 10) / 8
    v_ptat25 = e[49]
    alpha_ptat = (e[16] & 0xF000) / 2**14 + 8
    gain_ee = _signed(e[48], 16)
    tgc = _signed(e[60] & 0x00FF, 8) / 32
    resolution_ee = (e[56] & 0x3000) >> 12
    ks_ta = _signed((e[60] & 0xFF00) >> 8, 8) / 8192
    if k_vdd == 0 or kt_ptat == 0 or gain_ee == 0:
        raise SensorError("EEPROM has a zero kVdd, KtPTAT or gain: not a calibrated device")

    # KsTo ranges
    step = ((e[63] & 0x3000) >> 12) * 10
    ct2 = ((e[63] & 0x00F0) >> 4) * step
    ct3 = ct2 + ((e[63] & 0x0F00) >> 8) * step
    ct = np.array([-40.0, 0.0, ct2, ct3])
    ks_to_scale = 1 << ((e[63] & 0x000F) + 8)
    ks_to_raw = [e[61] & 0x00FF, (e[61] & 0xFF00) >> 8, e[62] & 0x00FF, (e[62] & 0xFF00) >> 8]
    ks_to = np.array([_signed(k, 8) / ks_to_scale for k in ks_to_raw])
    alpha_corr_r = np.empty(4)
    alpha_corr_r[0] = 1 / (1 + ks_to[0] * 40)
    alpha_corr_r[1] = 1
    alpha_corr_r[2] = 1 + ks_to[1] * ct[2]
    alpha_corr_r[3] = alpha_corr_r[2] * (1 + ks_to[2] * (ct[3] - ct[2]))

    # Compensation pixels
    alpha_scale_cp = ((e[32] & 0xF000) >> 12) + 27
    cp_offset0 = _signed(e[58] & 0x03FF, 10)
    cp_offset1 = _signed((e[58] & 0xFC00) >> 10, 6) + cp_offset0
    cp_alpha0 = _signed(e[57] & 0x03FF, 10) / 2**alpha_scale_cp
    cp_alpha1 = (1 + _signed((e[57] & 0xFC00) >> 10, 6) / 128) * cp_alpha0
    kta_scale1 = ((e[56] & 0x00F0) >> 4) + 8
    kta_scale2 = e[56] & 0x000F
    kv_scale = (e[56] & 0x0F00) >> 8
    cp_kta = _signed(e[59] & 0x00FF, 8) / 2**kta_scale1
    cp_kv = _signed((e[59] & 0xFF00) >> 8, 8) / 2**kv_scale

    rows = np.arange(reg.PIXELS) // reg.COLS
    cols = np.arange(reg.PIXELS) % reg.COLS

    # Sensitivity (alpha): reference + row/column tables + per-pixel remainder, then TGC
    acc_rem_scale = e[32] & 0x000F
    acc_col_scale = (e[32] & 0x00F0) >> 4
    acc_row_scale = (e[32] & 0x0F00) >> 8
    alpha_scale = ((e[32] & 0xF000) >> 12) + 30
    acc_row = _nibbles(ee[34:40])
    acc_col = _nibbles(ee[40:48])
    a_int = _signed((pix & 0x03F0) >> 4, 6) * (1 << acc_rem_scale) + (
        e[33] + (acc_row[rows] << acc_row_scale) + (acc_col[cols] << acc_col_scale)
    )
    sensitivity = a_int / 2**alpha_scale
    alpha_tgc = sensitivity - tgc * (cp_alpha0 + cp_alpha1) / 2
    if not (alpha_tgc > 0).all():
        raise SensorError("EEPROM gives a non-positive pixel sensitivity: not a calibrated device")
    alpha_recip = SCALE_ALPHA / alpha_tgc
    alpha_shift = _doubling_exponent(float(alpha_recip.max()), 32768)
    alpha_int = np.floor(alpha_recip * 2.0**alpha_shift + 0.5)
    alpha = SCALE_ALPHA * 2.0**alpha_shift / alpha_int  # what _CalculateTo divides into

    # Offsets
    occ_rem_scale = e[16] & 0x000F
    occ_col_scale = (e[16] & 0x00F0) >> 4
    occ_row_scale = (e[16] & 0x0F00) >> 8
    occ_row = _nibbles(ee[18:24])
    occ_col = _nibbles(ee[24:32])
    offset = _signed((pix & 0xFC00) >> 10, 6) * (1 << occ_rem_scale) + (
        _signed(e[17], 16) + (occ_row[rows] << occ_row_scale) + (occ_col[cols] << occ_col_scale)
    )

    # Kta: split constants + per-pixel remainder, re-quantised to a shared scale
    kta_rc = np.array([
        _signed((e[54] & 0xFF00) >> 8, 8), _signed((e[55] & 0xFF00) >> 8, 8),
        _signed(e[54] & 0x00FF, 8), _signed(e[55] & 0x00FF, 8),
    ])
    kta_temp = (_signed((pix & 0x000E) >> 1, 3) * (1 << kta_scale2) + kta_rc[reg.SPLIT]) / 2**kta_scale1
    kta_shift = _doubling_exponent(float(np.abs(kta_temp).max()), 64)
    kta = _round_away(kta_temp * 2.0**kta_shift) / 2.0**kta_shift

    # Kv: only the four split constants exist
    kv_t = np.array([
        _signed((e[52] & 0xF000) >> 12, 4), _signed((e[52] & 0x00F0) >> 4, 4),
        _signed((e[52] & 0x0F00) >> 8, 4), _signed(e[52] & 0x000F, 4),
    ])
    kv_temp = kv_t[reg.SPLIT] / 2**kv_scale
    kv_shift = _doubling_exponent(float(np.abs(kv_temp).max()), 64)
    kv = _round_away(kv_temp * 2.0**kv_shift) / 2.0**kv_shift

    il_chess = np.array([
        _signed(e[53] & 0x003F, 6) / 16.0,
        _signed((e[53] & 0x07C0) >> 6, 5) / 2.0,
        _signed((e[53] & 0xF800) >> 11, 5) / 8.0,
    ])
    chess_calibrated = not e[10] & 0x0800

    broken = tuple(int(p) for p in np.flatnonzero(pix == 0))
    outliers = tuple(int(p) for p in np.flatnonzero((pix != 0) & (pix & 1 == 1)))
    if len(broken) + len(outliers) > MAX_DEVIATING_PIXELS:
        raise SensorError(
            f"EEPROM flags {len(broken)} broken and {len(outliers)} outlier pixels "
            f"(at most {MAX_DEVIATING_PIXELS} allowed): a faulty part or a garbled read"
        )

    return Calibration(
        k_vdd=k_vdd, vdd25=vdd25, kv_ptat=kv_ptat, kt_ptat=kt_ptat, v_ptat25=v_ptat25,
        alpha_ptat=alpha_ptat, gain_ee=gain_ee, tgc=tgc, ks_ta=ks_ta, resolution_ee=resolution_ee,
        chess_calibrated=chess_calibrated, ks_to=_readonly(ks_to), ct=_readonly(ct),
        alpha_corr_r=_readonly(alpha_corr_r), offset=_readonly(offset.astype(np.float64)),
        kta=_readonly(kta), kv=_readonly(kv), alpha=_readonly(alpha),
        sensitivity=_readonly(sensitivity), cp_alpha=_readonly(np.array([cp_alpha0, cp_alpha1])),
        cp_offset=_readonly(np.array([float(cp_offset0), float(cp_offset1)])),
        cp_kta=cp_kta, cp_kv=cp_kv, il_chess=_readonly(il_chess),
        broken_pixels=broken, outlier_pixels=outliers,
    )


# ------------------------------------------------------------------------------ RAM words → °C

DEFAULT_EMISSIVITY = 0.98  # human skin
OPEN_AIR_TA_SHIFT = 8.0  # the die runs ~8 °C above the room: the reference's default Tr is Ta − 8


def _frame(frame_words: np.ndarray | list[int]) -> np.ndarray:
    f = np.asarray(frame_words, dtype=np.int64)
    if f.shape != (reg.FRAME_WORDS,):
        raise SensorError(f"a frame is {reg.FRAME_WORDS} words (RAM, control, subpage), got {f.shape}")
    return f


def _word(f: np.ndarray, index: int) -> int:
    return int(_signed(int(f[index]) & 0xFFFF, 16))


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
    cal: Calibration, plan: _SubpagePlan, raw: np.ndarray, gain_word: int, cp_word: int,
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
    cal: Calibration, plan: _SubpagePlan, raw: np.ndarray, gain: float, ir_cp: float, emissivity: float,
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
class _SubpagePlan:
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


_PLANS: weakref.WeakKeyDictionary[Calibration, dict[tuple[int, bool], _SubpagePlan]] = weakref.WeakKeyDictionary()
AUX_USED = (reg.FRAME_TA_VBE, reg.FRAME_GAIN, reg.FRAME_TA_PTAT, reg.FRAME_VDD)  # order of `plan.used`'s tail


def subpage_plan(cal: Calibration, subpage: int, chess: bool) -> _SubpagePlan:
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
        plan = _SubpagePlan(
            subpage, chess, _readonly(sel), _readonly(used), _readonly(1.0 / alpha),
            _readonly(rows / alpha), _readonly(cross), bad, frozenset(cal.bad_pixels),
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
