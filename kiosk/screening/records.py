"""The screener's records: a frame judged plausible or not, how the person observed stands, a reading.

Plain data and the one check every frame gets (`frame_plausible`); `kiosk.screening.thermal`
makes them.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field

import numpy as np

from kiosk.ports import ThermalFrame
from kiosk.screening.drift import SKIN_RANGE_C
from kiosk.screening.tracking import TrackedFrame

PHYSICAL_RANGE_C = (-40.0, 300.0)  # the MLX90640's object range: outside it a value is garbage
MIN_FINITE_SHARE = 0.4  # a frame with fewer valid pixels is broken (half are NaN only before subpage 2)


def frame_plausible(frame: ThermalFrame) -> bool:
    """Could a working sensor have produced this frame?  (Enough finite pixels, every value
    within the sensor's range, a finite die temperature.)"""
    pixels = frame.pixels
    finite = np.isfinite(pixels)
    if np.count_nonzero(finite) < MIN_FINITE_SHARE * pixels.size or not math.isfinite(frame.ambient_c):
        return False
    values = pixels[finite]
    return bool(values.min() >= PHYSICAL_RANGE_C[0] and values.max() <= PHYSICAL_RANGE_C[1])


class Placement(enum.Enum):
    NOBODY = "nobody"
    TOO_FAR = "too_far"
    TOO_CLOSE = "too_close"
    OK = "ok"
    CROWDED = "crowded"  # two people side by side at the kiosk


@dataclass(frozen=True, slots=True)
class ThermalObservation:
    """One frame, as seen for the person observed (the followed track, else the spot's)."""

    placement: Placement
    distance_m: float | None = None
    face_c: float | None = None  # robust face maximum of this frame (uncompensated, uncalibrated)
    companion: bool = False  # somebody else is in view, farther back
    track: int | None = None  # the observed person's track (None: nobody in the spot)
    centre_col: float | None = None  # where the observed face is in the view
    tracked: TrackedFrame | None = field(default=None, compare=False, repr=False)  # everybody in view


@dataclass(frozen=True, slots=True)
class Reading:
    """One measurement of one visitor.  `temperature_c` is never clamped: check `plausible`."""

    temperature_c: float  # compensated and calibrated
    uncertainty_c: float  # ± at about 95 % (2σ)
    frames: int
    spread_c: float  # max − min of the per-frame face values
    distance_m: float
    room_c: float
    track: int | None = None  # the person it was taken of
    raw_c: float | None = None  # the per-frame face value it rests on (uncompensated), to compare frames with
    centre_col: float | None = None  # where the face was in the view

    @property
    def cold(self) -> bool:
        """Below the skin range: a cold arrival (or a cap pulled down) — not a temperature."""
        return self.temperature_c < SKIN_RANGE_C[0]

    @property
    def plausible(self) -> bool:
        return SKIN_RANGE_C[0] <= self.temperature_c <= SKIN_RANGE_C[1]

    def near(self, threshold_c: float) -> bool:
        """The threshold lies inside this reading's uncertainty band: a verdict would be a guess."""
        return abs(self.temperature_c - threshold_c) < self.uncertainty_c
