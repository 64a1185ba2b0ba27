"""The MLX90640 register map, as the datasheet (rev 12, §10–11) lays it out.

Everything that knows an address, a bit or a frame-word index lives here, so that the driver,
the calibration maths and the emulator agree on one map and a typo shows up in one place.

Addresses are 16-bit word addresses; every register is one big-endian 16-bit word.
"""

from __future__ import annotations

import numpy as np

DEFAULT_ADDRESS = 0x33  # 7-bit I²C address (factory value, EEPROM word 0x240F low byte)

ROWS, COLS = 24, 32
PIXELS = ROWS * COLS  # 768

# ------------------------------------------------------------------------------------- memory map
EEPROM_START = 0x2400
EEPROM_WORDS = 832  # 0x2400..0x273F
EEPROM_END = EEPROM_START + EEPROM_WORDS
RAM_START = 0x0400
RAM_WORDS = 832  # 0x0400..0x073F: 768 pixels, then 64 auxiliary words
RAM_END = RAM_START + RAM_WORDS
STATUS = 0x8000
CONTROL = 0x800D
I2C_CONFIG = 0x800F

# EEPROM words with a meaning outside the calibration block.
EE_DEVICE_ID = (0x2407, 0x2408, 0x2409)  # serial number, three words
EE_CONTROL_DEFAULT = 0x240C  # power-on value of the control register
EE_I2C_ADDRESS = 0x240F  # low byte: I²C address

# ------------------------------------------------------------------------------ status (0x8000)
STATUS_SUBPAGE_MASK = 0x0007  # bits 0..2: last measured subpage (0 or 1 in practice)
STATUS_DATA_READY = 0x0008  # bit 3: a new subpage is in RAM; the host clears it by writing 0
STATUS_OVERWRITE_ENABLE = 0x0010  # bit 4: 1 = the device may overwrite RAM while data-ready is set
STATUS_START_MEASUREMENT = 0x0020  # bit 5: start a measurement (step mode)
STATUS_CLEAR = STATUS_OVERWRITE_ENABLE | STATUS_START_MEASUREMENT  # 0x0030, what hosts write
STATUS_WRITABLE = STATUS_DATA_READY | STATUS_OVERWRITE_ENABLE | STATUS_START_MEASUREMENT

# ----------------------------------------------------------------------------- control (0x800D)
CTRL_SUBPAGE_MODE = 0x0001  # bit 0: measure both subpages alternately
CTRL_DATA_HOLD = 0x0004  # bit 2: transfer to RAM only when the host asks (not emulated)
CTRL_SUBPAGE_REPEAT = 0x0008  # bit 3: always measure the selected subpage
CTRL_SUBPAGE_SELECT_SHIFT = 4  # bits 4..6
CTRL_SUBPAGE_SELECT_MASK = 0x0070
CTRL_REFRESH_SHIFT = 7  # bits 7..9
CTRL_REFRESH_MASK = 0x0380
CTRL_RESOLUTION_SHIFT = 10  # bits 10..11: 0 = 16-bit ... 3 = 19-bit ADC
CTRL_RESOLUTION_MASK = 0x0C00
CTRL_CHESS = 0x1000  # bit 12: 1 = chess reading pattern, 0 = interleaved (TV) pattern
CTRL_VALID_MASK = 0x1FFF
CONTROL_DEFAULT = 0x1901  # chess, 18-bit, 2 Hz, subpage mode on

# Refresh-rate codes (control bits 7..9).  The rate is the *subpage* rate: each code delivers
# that many subpages per second, so a full chess frame (both subpages) takes two periods.
REFRESH_RATES_HZ: dict[int, float] = {
    0b000: 0.5,
    0b001: 1.0,
    0b010: 2.0,
    0b011: 4.0,
    0b100: 8.0,
    0b101: 16.0,
    0b110: 32.0,
    0b111: 64.0,
}


def refresh_code(rate_hz: float) -> int:
    """The control-register code for a subpage rate; ValueError for a rate the array cannot run."""
    for code, hz in REFRESH_RATES_HZ.items():
        if abs(hz - float(rate_hz)) < 1e-9:
            return code
    rates = sorted(REFRESH_RATES_HZ.values())
    raise ValueError(f"MLX90640 has no {rate_hz} Hz refresh rate (one of {rates})")


def refresh_hz(control: int) -> float:
    """Subpage rate encoded in a control-register value."""
    return REFRESH_RATES_HZ[(control & CTRL_REFRESH_MASK) >> CTRL_REFRESH_SHIFT]


def resolution_code(control: int) -> int:
    """ADC resolution code (0..3 = 16..19 bit) in a control-register value."""
    return (control & CTRL_RESOLUTION_MASK) >> CTRL_RESOLUTION_SHIFT


def with_refresh(control: int, code: int) -> int:
    """`control` with its refresh-rate field replaced by `code`."""
    return (control & ~CTRL_REFRESH_MASK & 0xFFFF) | ((code & 0x7) << CTRL_REFRESH_SHIFT)


def with_resolution(control: int, code: int) -> int:
    """`control` with its resolution field replaced by `code` (0..3 = 16..19 bit)."""
    return (control & ~CTRL_RESOLUTION_MASK & 0xFFFF) | ((code & 0x3) << CTRL_RESOLUTION_SHIFT)


# ------------------------------------------------------------------ a "frame": RAM + two words
# The reference library (and Adafruit's port) hands 834 words to the maths: the 832 RAM words,
# then the control register, then the subpage number.  Indexes into that list:
FRAME_WORDS = RAM_WORDS + 2
FRAME_TA_VBE = 768  # 0x0700
FRAME_CP_SP0 = 776  # 0x0708: compensation pixel, subpage 0
FRAME_GAIN = 778  # 0x070A
FRAME_TA_PTAT = 800  # 0x0720
FRAME_CP_SP1 = 808  # 0x0728: compensation pixel, subpage 1
FRAME_VDD = 810  # 0x072A
FRAME_CONTROL = 832
FRAME_SUBPAGE = 833
FRAME_CP = (FRAME_CP_SP0, FRAME_CP_SP1)
GLITCH_WORD = 0x7FFF  # what the array reports for a word it could not convert (and unused aux words)

# -------------------------------------------------------------- which pixel is in which subpage
# Pixel p sits at row p // 32, column p % 32.  Written as the reference library writes them so the
# vectorised maths reproduces its pixel-by-pixel loop.
_P = np.arange(PIXELS)
INTERLEAVED_PATTERN = (_P // 32 - (_P // 64) * 2).astype(np.int8)  # row parity
CHESS_PATTERN = (INTERLEAVED_PATTERN ^ (_P - (_P // 2) * 2)).astype(np.int8)  # row ^ column parity
# +1/-1/0 per pixel: the ADC conversion order, used by the interleaved/chess cross-correction.
CONVERSION_PATTERN = (
    ((_P + 2) // 4 - (_P + 3) // 4 + (_P + 1) // 4 - _P // 4) * (1 - 2 * INTERLEAVED_PATTERN)
).astype(np.int8)
# 0..3: (row parity, column parity), which of the four Kta/Kv "split" constants a pixel uses.
SPLIT = (2 * INTERLEAVED_PATTERN + _P % 2).astype(np.int8)
for _a in (INTERLEAVED_PATTERN, CHESS_PATTERN, CONVERSION_PATTERN, SPLIT):
    _a.setflags(write=False)
del _P, _a


def subpage_pattern(control: int) -> np.ndarray:
    """Per-pixel subpage (0/1) for the reading pattern selected in `control`."""
    return CHESS_PATTERN if control & CTRL_CHESS else INTERLEAVED_PATTERN
