"""Synthesise a datasheet-valid MLX90640 EEPROM from physical parameters.

The emulator needs a device to be: per-pixel offsets and sensitivities with the row/column
structure real arrays have, Kta/Kv, compensation pixels, KsTa/KsTo, TGC, a few flagged pixels.
`random_parameters` invents a plausible one from a seed; `encode_eeprom` packs it the way the
datasheet (§11.1) does — a reference value, 4-bit row and column corrections with their own
power-of-two scales, a 6-bit per-pixel remainder, scale exponents in shared words — so that the
driver's decoder is exercised on the real encoding, not on a shortcut.  Decoding gives back the
parameters within the encoding's quantisation.

Melexis' own EEPROM dump is deliberately *not* used here: an emulated device should not claim
to be somebody's real, serial-numbered part.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import registers as reg


@dataclass(frozen=True, slots=True, eq=False)
class DeviceParameters:
    """A device's calibration in physical (reference-library) units.  Arrays are (768,) or noted."""

    offset: np.ndarray  # counts
    sensitivity: np.ndarray  # alpha, before TGC correction
    kta: np.ndarray  # 1/°C
    kv: np.ndarray  # (4,) per split (row parity, column parity), 1/V, multiples of 1/16 work best
    cp_alpha: tuple[float, float] = (2.9e-9, 2.92e-9)
    cp_offset: tuple[int, int] = (-68, -64)
    cp_kta: float = 0.0043
    cp_kv: float = 0.375
    ks_ta: float = -0.0024
    ks_to: tuple[float, ...] = (-0.0002, -0.0002, -0.0002, -0.0002)  # four ranges
    ct_step_c: int = 20  # 0, 10, 20 or 30
    ct2_c: int = 300  # multiple of ct_step_c, at most 15 steps
    ct3_c: int = 500  # ct2_c + up to 15 steps
    tgc: float = 0.0
    resolution_ee: int = 2
    gain_ee: int = 5600
    vdd25: int = -12544  # ((v - 256) << 5) - 8192 for v in 0..255
    k_vdd: int = -3200  # multiple of 32
    kv_ptat: float = 0.0022
    kt_ptat: float = 42.625
    v_ptat25: int = 12200
    alpha_ptat: float = 9.0  # 8 + n/4
    il_chess: tuple[float, float, float] = (0.5, 3.5, 0.0)
    chess_calibrated: bool = True
    broken_pixels: tuple[int, ...] = ()
    outlier_pixels: tuple[int, ...] = ()
    device_id: tuple[int, ...] = (0x1234, 0x5678, 0x9ABC)  # three words
    extra: dict[int, int] = field(default_factory=dict)  # raw overrides {word index: value}


def adjacent(p: int, q: int) -> bool:
    """The reference library's adjacency test for deviating pixels (index distance, wraps rows)."""
    d = p - q
    return -34 < d < -30 or -2 < d < 2 or 30 < d < 34


def random_parameters(
    rng: np.random.Generator,
    *,
    chess_calibrated: bool = True,
    resolution_ee: int = 2,
    bad_pixels: int = 2,
    tgc: float | None = None,
) -> DeviceParameters:
    """A plausible device: values in the ranges real MLX90640BAB parts report."""
    rows, cols = np.meshgrid(np.arange(reg.ROWS), np.arange(reg.COLS), indexing="ij")
    r2 = ((rows - 11.5) / 11.5) ** 2 * 0.35 + ((cols - 15.5) / 15.5) ** 2 * 0.65
    offset = (
        rng.uniform(-85, -50)
        + rng.normal(0, 6, (reg.ROWS, 1)) + np.linspace(-8, 8, reg.ROWS)[:, None] * rng.uniform(-1, 1)
        + rng.normal(0, 4, (1, reg.COLS)) + np.where(cols % 2, 1.0, -1.0) * rng.uniform(0, 4)
        + rng.normal(0, 3, (reg.ROWS, reg.COLS))
    )
    sensitivity = (
        rng.uniform(4.4e-8, 5.2e-8) * (1 - 0.3 * r2)
        * (1 + rng.normal(0, 0.01, (reg.ROWS, 1))) * (1 + rng.normal(0, 0.01, (1, reg.COLS)))
        * (1 + rng.normal(0, 0.01, (reg.ROWS, reg.COLS)))
    )
    split = reg.SPLIT.reshape(reg.ROWS, reg.COLS)
    kta = rng.uniform(0.004, 0.008, 4)[split] + rng.normal(0, 0.0004, (reg.ROWS, reg.COLS))
    kv = rng.integers(4, 8, 4) / 16
    cp0 = rng.uniform(2.6e-9, 3.3e-9)
    cpo = int(rng.integers(-95, -45))
    step = int(rng.choice([10, 20]))
    ct2 = step * int(rng.integers(5, 16))
    ct3 = ct2 + step * int(rng.integers(3, 16))
    bad: list[int] = []
    for _ in range(200):  # bounded: a handful of non-adjacent positions is always found quickly
        if len(bad) >= bad_pixels:
            break
        p = int(rng.integers(0, reg.PIXELS))
        if all(not adjacent(p, q) for q in bad):
            bad.append(p)
    n_broken = len(bad) // 2
    return DeviceParameters(
        offset=np.rint(offset).reshape(-1),
        sensitivity=sensitivity.reshape(-1),
        kta=kta.reshape(-1),
        kv=kv,
        cp_alpha=(cp0, cp0 * (1 + rng.uniform(-0.05, 0.05))),
        cp_offset=(cpo, cpo + int(rng.integers(-8, 9))),
        cp_kta=float(rng.uniform(0.003, 0.006)),
        cp_kv=float(rng.integers(4, 8) / 16),
        ks_ta=float(rng.uniform(-0.004, 0.0)),
        ks_to=tuple(float(x) for x in rng.uniform(-0.0008, -0.0001, 4)),
        ct_step_c=step, ct2_c=ct2, ct3_c=ct3,
        tgc=float(rng.uniform(0, 1.5)) if tgc is None else tgc,
        resolution_ee=resolution_ee,
        gain_ee=int(rng.integers(5200, 6200)),
        vdd25=-8192 + 32 * (int(rng.integers(100, 125)) - 256),
        k_vdd=32 * int(rng.integers(-106, -94)),
        kv_ptat=float(rng.uniform(0.001, 0.004)),
        kt_ptat=float(rng.integers(332, 348) / 8),
        v_ptat25=int(rng.integers(11800, 12600)),
        alpha_ptat=8 + int(rng.integers(2, 8)) / 4,
        il_chess=(float(rng.integers(-16, 16) / 16), float(rng.integers(-8, 8) / 2),
                  float(rng.integers(-8, 8) / 8)),
        chess_calibrated=chess_calibrated,
        broken_pixels=tuple(sorted(bad[:n_broken])),
        outlier_pixels=tuple(sorted(bad[n_broken:])),
        device_id=tuple(int(x) for x in rng.integers(0, 0x10000, 3)),
    )


# ----------------------------------------------------------------------------------- encoding


def _field(value: int, bits: int) -> int:
    """A signed integer into a `bits`-wide two's-complement field (ValueError if it does not fit)."""
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    if not lo <= value <= hi:
        raise ValueError(f"{value} does not fit a signed {bits}-bit field")
    return value & ((1 << bits) - 1)


def _code(x: float, bits: int) -> int:
    return _field(round(x), bits)


def _fit_scale(values: np.ndarray, bits: int, limit: int = 15) -> int:
    """Smallest power-of-two scale s (0..limit) at which round(values / 2**s) fits `bits` signed bits."""
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    for s in range(limit + 1):
        q = np.rint(values / 2.0**s)
        if q.min() >= lo and q.max() <= hi:
            return s
    raise ValueError(f"values up to {np.abs(values).max():.4g} do not fit {bits}-bit fields at any scale")


def _largest_scale(values: list[float], limit: float, lo: int = 0, hi: int = 15) -> int:
    """Largest s in lo..hi at which every |value| * 2**s stays within `limit` (best precision)."""
    for s in range(hi, lo - 1, -1):
        if all(abs(v) * 2.0**s <= limit for v in values):
            return s
    raise ValueError(f"values {values} exceed {limit} even at scale 2**{lo}")


def _row_col_rem(
    values: np.ndarray, rem_bits: int = 6
) -> tuple[list[int], list[int], np.ndarray, int, int, int]:
    """Split (24, 32) deviations into 4-bit row and column tables and a per-pixel remainder."""
    row_mean = values.mean(axis=1)
    s_row = _fit_scale(row_mean, 4)
    occ_row = np.clip(np.rint(row_mean / 2**s_row), -8, 7).astype(np.int64)
    rest = values - (occ_row << s_row)[:, None]
    col_mean = rest.mean(axis=0)
    s_col = _fit_scale(col_mean, 4)
    occ_col = np.clip(np.rint(col_mean / 2**s_col), -8, 7).astype(np.int64)
    rest = rest - (occ_col << s_col)[None, :]
    s_rem = _fit_scale(rest, rem_bits)
    rem = np.rint(rest / 2**s_rem).astype(np.int64)
    return [int(x) for x in occ_row], [int(x) for x in occ_col], rem, s_row, s_col, s_rem


def _pack_nibbles(values: list[int]) -> list[int]:
    """Four signed 4-bit values per word, low nibble first."""
    out = []
    for i in range(0, len(values), 4):
        out.append(sum(_field(v, 4) << (4 * k) for k, v in enumerate(values[i:i + 4])))
    return out


def encode_eeprom(p: DeviceParameters) -> np.ndarray:
    """The 832 EEPROM words (uint16) that decode to `p` within the datasheet's quantisation."""
    ee = np.zeros(reg.EEPROM_WORDS, dtype=np.int64)
    ee[reg.EE_DEVICE_ID[0] - reg.EEPROM_START:reg.EE_DEVICE_ID[2] - reg.EEPROM_START + 1] = p.device_id
    ee[10] = 0x0499 | (0 if p.chess_calibrated else 0x0800)
    ee[reg.EE_CONTROL_DEFAULT - reg.EEPROM_START] = reg.CONTROL_DEFAULT
    ee[reg.EE_I2C_ADDRESS - reg.EEPROM_START] = 0xBE00 | reg.DEFAULT_ADDRESS

    # Offsets: word 16 (scales, alphaPTAT), 17 (reference), 18..31 (row/column tables)
    off = np.asarray(p.offset, dtype=np.float64).reshape(reg.ROWS, reg.COLS)
    off_ref = round(float(off.mean()))
    o_row, o_col, o_rem, so_row, so_col, so_rem = _row_col_rem(off - off_ref)
    alpha_ptat_code = round((p.alpha_ptat - 8) * 4)
    if not 0 <= alpha_ptat_code <= 15:
        raise ValueError("alpha_ptat must be in 8..11.75")
    ee[16] = (alpha_ptat_code << 12) | (so_row << 8) | (so_col << 4) | so_rem
    ee[17] = _field(off_ref, 16)
    ee[18:24] = _pack_nibbles(o_row)
    ee[24:32] = _pack_nibbles(o_col)

    # Sensitivities: one scale exponent shared with the compensation pixels' alpha
    sens = np.asarray(p.sensitivity, dtype=np.float64).reshape(reg.ROWS, reg.COLS)
    f_alpha = min(
        _largest_scale([float(sens.max()) * 1.02], 65535, lo=30, hi=45) - 30,
        _largest_scale(list(p.cp_alpha), 511, lo=27, hi=42) - 27,
    )
    a_units = sens * 2.0 ** (f_alpha + 30)
    a_ref = round(float(a_units.mean()))
    a_row, a_col, a_rem, sa_row, sa_col, sa_rem = _row_col_rem(a_units - a_ref)
    ee[32] = (f_alpha << 12) | (sa_row << 8) | (sa_col << 4) | sa_rem
    ee[33] = a_ref
    ee[34:40] = _pack_nibbles(a_row)
    ee[40:48] = _pack_nibbles(a_col)

    ee[48] = _field(int(p.gain_ee), 16)
    ee[49] = int(p.v_ptat25) & 0xFFFF
    ee[50] = (_code(p.kv_ptat * 4096, 6) << 10) | _code(p.kt_ptat * 8, 10)
    vdd25_code = (int(p.vdd25) + 8192) // 32 + 256
    if not 0 <= vdd25_code <= 255 or (int(p.vdd25) + 8192) % 32:
        raise ValueError("vdd25 must be ((v - 256) << 5) - 8192 for some v in 0..255")
    ee[51] = (_code(p.k_vdd / 32, 8) << 8) | vdd25_code

    # Kv: four split constants, one scale shared with the CP Kv
    kv_scale = min(_largest_scale(list(p.kv), 7.5), _largest_scale([p.cp_kv], 127.5))
    kv_codes = [_code(k * 2**kv_scale, 4) for k in p.kv]  # split order: RoCo, RoCe, ReCo, ReCe
    ee[52] = (kv_codes[0] << 12) | (kv_codes[2] << 8) | (kv_codes[1] << 4) | kv_codes[3]
    c0, c1, c2 = p.il_chess
    ee[53] = (_code(c2 * 8, 5) << 11) | (_code(c1 * 2, 5) << 6) | _code(c0 * 16, 6)

    # Kta: split constants + 3-bit per-pixel remainder; scale 1 shared with the CP Kta
    kta = np.asarray(p.kta, dtype=np.float64)
    split_mean = [float(m) for m in np.bincount(reg.SPLIT, weights=kta) / np.bincount(reg.SPLIT)]
    kta_s1 = min(_largest_scale(split_mean, 127, lo=8, hi=23), _largest_scale([p.cp_kta], 127, lo=8, hi=23))
    kta_rc_values = np.array([round(m * 2**kta_s1) for m in split_mean])
    kta_rc = [_field(int(v), 8) for v in kta_rc_values]
    kta_rest = kta * 2**kta_s1 - kta_rc_values[reg.SPLIT]
    kta_s2 = _fit_scale(kta_rest, 3)
    kta_rem = np.rint(kta_rest / 2**kta_s2).astype(np.int64)
    ee[54] = (kta_rc[0] << 8) | kta_rc[2]
    ee[55] = (kta_rc[1] << 8) | kta_rc[3]
    ee[56] = ((p.resolution_ee & 3) << 12) | (kv_scale << 8) | ((kta_s1 - 8) << 4) | kta_s2

    cp_scale = f_alpha + 27
    cp_a0 = round(p.cp_alpha[0] * 2**cp_scale)
    ee[57] = (_code((p.cp_alpha[1] / (cp_a0 / 2**cp_scale) - 1) * 128, 6) << 10) | _field(cp_a0, 10)
    ee[58] = (_field(p.cp_offset[1] - p.cp_offset[0], 6) << 10) | _field(p.cp_offset[0], 10)
    ee[59] = (_code(p.cp_kv * 2**kv_scale, 8) << 8) | _code(p.cp_kta * 2**kta_s1, 8)
    ee[60] = (_code(p.ks_ta * 8192, 8) << 8) | _code(p.tgc * 32, 8)
    ks_to_scale = _largest_scale(list(p.ks_to), 127, lo=8, hi=23)
    k = [_code(x * 2**ks_to_scale, 8) for x in p.ks_to]
    ee[61] = (k[1] << 8) | k[0]
    ee[62] = (k[3] << 8) | k[2]
    step = p.ct_step_c // 10
    if p.ct_step_c % 10 or not 0 < step <= 3 or p.ct2_c % p.ct_step_c or (p.ct3_c - p.ct2_c) % p.ct_step_c:
        raise ValueError("ct2/ct3 must be multiples of a 10/20/30 °C step")
    n3, n4 = p.ct2_c // p.ct_step_c, (p.ct3_c - p.ct2_c) // p.ct_step_c
    if not (0 <= n3 <= 15 and 0 <= n4 <= 15):
        raise ValueError("ct2/ct3 more than 15 steps apart")
    ee[63] = (step << 12) | (n4 << 8) | (n3 << 4) | (ks_to_scale - 8)

    words = (
        ((o_rem.reshape(-1) & 0x3F) << 10)
        | ((a_rem.reshape(-1) & 0x3F) << 4)
        | ((kta_rem.reshape(-1) & 0x7) << 1)
    )
    # An all-zero word would read as a broken pixel: nudge its alpha remainder one step instead
    # (the least harmful field: ~0.1 % of one pixel's sensitivity), towards the true value.
    a_resid = (a_units - a_ref - (np.array(a_row) << sa_row)[:, None] - (np.array(a_col) << sa_col)[None, :])
    nudge = np.where(a_resid.reshape(-1) >= 0, 0x01 << 4, 0x3F << 4)
    words = np.where(words == 0, nudge, words)
    words[list(p.outlier_pixels)] |= 1
    words[list(p.broken_pixels)] = 0
    ee[64:] = words
    for index, value in p.extra.items():
        ee[index] = value
    return ee.astype(np.uint16)
