"""Thermal screening: from 32×24 frames to "who is where" and one honest temperature reading.

This is the walking skeleton's algorithm, thin on purpose but real:

* people are connected regions of skin-warm pixels (a background model follows the room);
* the nearest face is the largest region; its width in pixels gives the distance;
* per frame, the face temperature is a robust maximum (the 3rd-hottest pixel, so that one hot
  or glitched pixel cannot make a fever, and one cold one cannot hide it);
* a reading is the median of several consecutive good frames, plus the site's calibration offset.

Nothing here clamps or pulls a reading toward normal: what the sensor says is what is reported.
"""

from __future__ import annotations

import enum
import math
import warnings
from dataclasses import dataclass

import numpy as np

from kiosk.config import ThermalConfig
from kiosk.ports import ThermalFrame

FACE_WIDTH_M = 0.16  # a typical adult head seen from the front
SKIN_MIN_C = 30.0  # a pixel this warm (and well above the room) may be skin
ABOVE_ROOM_C = 3.0  # ... and must be at least this much warmer than the background
FACE_MIN_PIXELS = 2  # a warm region smaller than this is noise or a far-away head
APPROACH_M = 1.6  # people farther than this are queueing, not at the kiosk
PLAUSIBLE_C = (30.0, 45.0)  # a face reading outside this is not a measurement
ROBUST_RANK = 3  # the n-th hottest pixel of a face is its robust maximum


class Placement(enum.Enum):
    NOBODY = "nobody"
    TOO_FAR = "too_far"
    TOO_CLOSE = "too_close"
    OK = "ok"
    CROWDED = "crowded"  # two people side by side at the kiosk


@dataclass(frozen=True, slots=True)
class Region:
    """One connected warm region: a head (or a hand, a cup of tea…)."""

    pixels: int
    width_px: int
    robust_max_c: float
    distance_m: float


@dataclass(frozen=True, slots=True)
class ThermalObservation:
    placement: Placement
    distance_m: float | None = None
    face_c: float | None = None  # robust face maximum of this frame (uncalibrated)
    companion: bool = False  # somebody else is in view, farther back


@dataclass(frozen=True, slots=True)
class Reading:
    temperature_c: float  # calibrated
    frames: int
    spread_c: float  # max - min of the per-frame values: a crude stability figure


def _label(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """4-connected component labelling of a small boolean image (768 pixels: plain BFS is fine)."""
    labels = np.zeros(mask.shape, dtype=np.int32)
    rows, cols = mask.shape
    count = 0
    for r0, c0 in zip(*np.nonzero(mask), strict=True):
        if labels[r0, c0]:
            continue
        count += 1
        labels[r0, c0] = count
        stack = [(r0, c0)]
        while stack:
            r, c = stack.pop()
            for rr, cc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
                if 0 <= rr < rows and 0 <= cc < cols and mask[rr, cc] and not labels[rr, cc]:
                    labels[rr, cc] = count
                    stack.append((rr, cc))
    return labels, count


class Screening:
    """Stateful screener: feed it every frame with `observe`, collect readings with `take_reading`."""

    def __init__(self, config: ThermalConfig, *, frames_per_reading: int = 4) -> None:
        self._config = config
        self._frames_per_reading = frames_per_reading
        self._pixel_rad = math.radians(config.fov_h_deg) / 32
        self._background: np.ndarray | None = None
        self._samples: list[float] = []
        self._frames: list[np.ndarray] = []

    # ------------------------------------------------------------------------------ geometry
    def distance_for_width(self, width_px: float) -> float:
        """Distance (m) at which a face spans `width_px` pixels."""
        angle = max(width_px, 0.5) * self._pixel_rad
        return FACE_WIDTH_M / (2 * math.tan(angle / 2))

    # ------------------------------------------------------------------------------ per frame
    def _regions(self, pixels: np.ndarray) -> list[Region]:
        finite = np.where(np.isfinite(pixels), pixels, -np.inf)
        room = self._background if self._background is not None else np.nanmedian(pixels)
        mask = (finite >= SKIN_MIN_C) & (finite >= room + ABOVE_ROOM_C)
        labels, count = _label(mask)
        regions = []
        for label in range(1, count + 1):
            where = labels == label
            n = int(where.sum())
            if n < FACE_MIN_PIXELS:
                continue
            values = np.sort(finite[where])[::-1]
            robust = float(values[min(ROBUST_RANK, n) - 1])
            width = int(np.count_nonzero(where.any(axis=0)))
            regions.append(Region(n, width, robust, self.distance_for_width(width)))
        regions.sort(key=lambda r: r.pixels, reverse=True)
        return [r for r in regions if r.distance_m <= APPROACH_M]

    def _learn_background(self, pixels: np.ndarray, people: bool) -> None:
        """Follow the room slowly while nobody is there, so warm walls and sun patches stay background."""
        if people:
            return
        frame = np.where(np.isfinite(pixels), pixels, np.nanmedian(pixels))
        if self._background is None:
            self._background = frame.copy()
        else:
            self._background += 0.1 * (frame - self._background)

    def observe(self, frame: ThermalFrame) -> ThermalObservation:
        pixels = frame.pixels
        if not np.isfinite(pixels).any():
            return ThermalObservation(Placement.NOBODY)
        regions = self._regions(pixels)
        self._learn_background(pixels, bool(regions))
        if not regions:
            self._samples.clear()
            return ThermalObservation(Placement.NOBODY)
        face = regions[0]
        companion = len(regions) > 1
        cfg = self._config
        if companion and regions[1].distance_m < face.distance_m + 0.25:
            placement = Placement.CROWDED
        elif face.distance_m > cfg.max_distance_m:
            placement = Placement.TOO_FAR
        elif face.distance_m < cfg.min_distance_m:
            placement = Placement.TOO_CLOSE
        else:
            placement = Placement.OK
        face_c: float | None = face.robust_max_c
        if not PLAUSIBLE_C[0] <= face.robust_max_c <= PLAUSIBLE_C[1]:
            face_c = None
        if placement is Placement.OK and face_c is not None:
            self._samples.append(face_c)
            self._frames.append(np.array(pixels, dtype=np.float64))
        else:
            self._samples.clear()  # a reading is made of consecutive good frames only
            self._frames.clear()
        return ThermalObservation(placement, face.distance_m, face_c, companion)

    # ------------------------------------------------------------------------------ readings
    def restart(self) -> None:
        """Forget collected frames (a new visitor, or the re-measure)."""
        self._samples.clear()
        self._frames.clear()

    @property
    def progress(self) -> float:
        return min(1.0, len(self._samples) / self._frames_per_reading)

    def take_reading(self) -> Reading | None:
        """One reading from the last few good frames.

        The frames are averaged pixel by pixel first (a standing visitor barely moves in a second)
        and the robust maximum is taken on the average: taking the n-th hottest pixel of each
        noisy frame instead would bias every reading upward by about one noise sigma.
        """
        n = self._frames_per_reading
        if len(self._samples) < n:
            return None
        window = self._samples[-n:]
        with warnings.catch_warnings(action="ignore", category=RuntimeWarning):  # all-NaN pixel: stays NaN
            mean = np.nanmean(np.stack(self._frames[-n:]), axis=0)
        self._samples.clear()
        self._frames.clear()
        regions = self._regions(mean)
        face_c = regions[0].robust_max_c if regions else float(np.median(window))
        value = face_c + self._config.calibration_offset_c
        return Reading(round(value, 2), n, float(max(window) - min(window)))
