"""Calibration: from the 832 EEPROM words to per-pixel numpy arrays (datasheet §11.1, "Restoring
the calibration data"); `conversion` then turns RAM words into °C with them (§11.2).

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

The EEPROM's list of deviating (broken and outlier) pixels is decoded here; `deviating`
interpolates them in the converted image.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kiosk.errors import SensorError

from . import registers as reg

SCALE_ALPHA = 0.000001  # the reference library's SCALEALPHA
MAX_DEVIATING_PIXELS = 4  # the datasheet's limit; more means a faulty part or a garbled read
_MAX_DOUBLINGS = 64  # bound on the reference's `while x < limit: x *= 2` scale searches


def signed(value: np.ndarray | int, bits: int) -> np.ndarray | int:
    """Two's complement of a `bits`-wide field."""
    half, full = 1 << (bits - 1), 1 << bits
    if isinstance(value, np.ndarray):
        return np.where(value >= half, value - full, value)
    return value - full if value >= half else value


def _nibbles(words: np.ndarray) -> np.ndarray:
    """Signed 4-bit fields, low nibble first, four per word (the occ/acc row and column tables)."""
    w = words.astype(np.int64)[:, None]
    return signed((w >> np.array([0, 4, 8, 12])) & 0xF, 4).reshape(-1)


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


def readonly(a: np.ndarray) -> np.ndarray:
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

    k_vdd = signed((e[51] & 0xFF00) >> 8, 8) * 32
    vdd25 = (((e[51] & 0x00FF) - 256) << 5) - 8192
    kv_ptat = signed((e[50] & 0xFC00) >> 10, 6) / 4096
    kt_ptat = signed(e[50] & 0x03FF, 10) / 8
    v_ptat25 = e[49]
    alpha_ptat = (e[16] & 0xF000) / 2**14 + 8
    gain_ee = signed(e[48], 16)
    tgc = signed(e[60] & 0x00FF, 8) / 32
    resolution_ee = (e[56] & 0x3000) >> 12
    ks_ta = signed((e[60] & 0xFF00) >> 8, 8) / 8192
    if k_vdd == 0 or kt_ptat == 0 or gain_ee == 0:
        raise SensorError("EEPROM has a zero kVdd, KtPTAT or gain: not a calibrated device")

    # KsTo ranges
    step = ((e[63] & 0x3000) >> 12) * 10
    ct2 = ((e[63] & 0x00F0) >> 4) * step
    ct3 = ct2 + ((e[63] & 0x0F00) >> 8) * step
    ct = np.array([-40.0, 0.0, ct2, ct3])
    ks_to_scale = 1 << ((e[63] & 0x000F) + 8)
    ks_to_raw = [e[61] & 0x00FF, (e[61] & 0xFF00) >> 8, e[62] & 0x00FF, (e[62] & 0xFF00) >> 8]
    ks_to = np.array([signed(k, 8) / ks_to_scale for k in ks_to_raw])
    alpha_corr_r = np.empty(4)
    alpha_corr_r[0] = 1 / (1 + ks_to[0] * 40)
    alpha_corr_r[1] = 1
    alpha_corr_r[2] = 1 + ks_to[1] * ct[2]
    alpha_corr_r[3] = alpha_corr_r[2] * (1 + ks_to[2] * (ct[3] - ct[2]))

    # Compensation pixels
    alpha_scale_cp = ((e[32] & 0xF000) >> 12) + 27
    cp_offset0 = signed(e[58] & 0x03FF, 10)
    cp_offset1 = signed((e[58] & 0xFC00) >> 10, 6) + cp_offset0
    cp_alpha0 = signed(e[57] & 0x03FF, 10) / 2**alpha_scale_cp
    cp_alpha1 = (1 + signed((e[57] & 0xFC00) >> 10, 6) / 128) * cp_alpha0
    kta_scale1 = ((e[56] & 0x00F0) >> 4) + 8
    kta_scale2 = e[56] & 0x000F
    kv_scale = (e[56] & 0x0F00) >> 8
    cp_kta = signed(e[59] & 0x00FF, 8) / 2**kta_scale1
    cp_kv = signed((e[59] & 0xFF00) >> 8, 8) / 2**kv_scale

    rows = np.arange(reg.PIXELS) // reg.COLS
    cols = np.arange(reg.PIXELS) % reg.COLS

    # Sensitivity (alpha): reference + row/column tables + per-pixel remainder, then TGC
    acc_rem_scale = e[32] & 0x000F
    acc_col_scale = (e[32] & 0x00F0) >> 4
    acc_row_scale = (e[32] & 0x0F00) >> 8
    alpha_scale = ((e[32] & 0xF000) >> 12) + 30
    acc_row = _nibbles(ee[34:40])
    acc_col = _nibbles(ee[40:48])
    a_int = signed((pix & 0x03F0) >> 4, 6) * (1 << acc_rem_scale) + (
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
    offset = signed((pix & 0xFC00) >> 10, 6) * (1 << occ_rem_scale) + (
        signed(e[17], 16) + (occ_row[rows] << occ_row_scale) + (occ_col[cols] << occ_col_scale)
    )

    # Kta: split constants + per-pixel remainder, re-quantised to a shared scale
    kta_rc = np.array([
        signed((e[54] & 0xFF00) >> 8, 8), signed((e[55] & 0xFF00) >> 8, 8),
        signed(e[54] & 0x00FF, 8), signed(e[55] & 0x00FF, 8),
    ])
    kta_temp = (signed((pix & 0x000E) >> 1, 3) * (1 << kta_scale2) + kta_rc[reg.SPLIT]) / 2**kta_scale1
    kta_shift = _doubling_exponent(float(np.abs(kta_temp).max()), 64)
    kta = _round_away(kta_temp * 2.0**kta_shift) / 2.0**kta_shift

    # Kv: only the four split constants exist
    kv_t = np.array([
        signed((e[52] & 0xF000) >> 12, 4), signed((e[52] & 0x00F0) >> 4, 4),
        signed((e[52] & 0x0F00) >> 8, 4), signed(e[52] & 0x000F, 4),
    ])
    kv_temp = kv_t[reg.SPLIT] / 2**kv_scale
    kv_shift = _doubling_exponent(float(np.abs(kv_temp).max()), 64)
    kv = _round_away(kv_temp * 2.0**kv_shift) / 2.0**kv_shift

    il_chess = np.array([
        signed(e[53] & 0x003F, 6) / 16.0,
        signed((e[53] & 0x07C0) >> 6, 5) / 2.0,
        signed((e[53] & 0xF800) >> 11, 5) / 8.0,
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
        chess_calibrated=chess_calibrated, ks_to=readonly(ks_to), ct=readonly(ct),
        alpha_corr_r=readonly(alpha_corr_r), offset=readonly(offset.astype(np.float64)),
        kta=readonly(kta), kv=readonly(kv), alpha=readonly(alpha),
        sensitivity=readonly(sensitivity), cp_alpha=readonly(np.array([cp_alpha0, cp_alpha1])),
        cp_offset=readonly(np.array([float(cp_offset0), float(cp_offset1)])),
        cp_kta=cp_kta, cp_kv=cp_kv, il_chess=readonly(il_chess),
        broken_pixels=broken, outlier_pixels=outliers,
    )
