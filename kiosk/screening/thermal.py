"""Thermal screening: from 32×24 frames to "who is where" and one honest temperature reading.

* people are warm basins over a background model that follows the room where nobody stands
  (`kiosk.screening.face`); a face's width gives its distance;
* faces are followed from frame to frame as tracks (`kiosk.screening.tracking`), and the one
  observed is the one the checkpoint follows (its visitor), else the nearest in the spot:
  queue members and passers-by are tracked, never observed;
* placement: too far, too close, two people side by side, or fine;
* a reading is the pixel-wise mean of consecutive good frames *of one track* (all the frames
  averaged show the same person, standing still), its robust
  face maximum, compensated for distance and room temperature (the skin's 2 % reflection is
  re-solved for the room the background model sees, instead of the driver's Ta − 8 °C guess;
  a site-tunable linear term covers the rest), plus the site's calibration offset — and it
  carries an *uncertainty* (± at about 95 %), so that a reading near the threshold can be
  re-measured instead of guessed;
* frames are only combined while the visitor stands still: a window whose per-frame face
  values or distances wander is refused (and the window slides on).

Nothing here clamps or pulls a reading toward normal: what the sensor says, compensated by
fixed physics, is what is reported.  Readings outside the skin range are flagged, never
"corrected": below 34 °C the visitor is cold (come back later); above 43 °C or NaN it is not a
measurement at all and no reading is made.
"""

from __future__ import annotations

import math
import warnings
from collections import deque
from dataclasses import dataclass

import numpy as np

from kiosk.config import ThermalConfig
from kiosk.ports import ThermalFrame
from kiosk.screening.drift import SKIN_RANGE_C, DriftTracker
from kiosk.screening.face import ABOVE_ROOM_C, FACE_WIDTH_M, SKIN_MIN_C, Face, distance_for_width, find_faces
from kiosk.screening.records import Placement, Reading, ThermalObservation, frame_plausible
from kiosk.screening.tracking import TrackedFrame, Tracker

__all__ = ["FACE_WIDTH_M", "Placement", "Reading", "Screening", "ThermalObservation", "frame_plausible"]

PERSON_MIN_PIXELS = 6  # a warm basin this small near the kiosk is a smeared fragment, not a person
APPROACH_M = 1.6  # people farther than this are queueing, not at the kiosk
SIDE_BY_SIDE_M = 0.25  # a second face this close in depth is beside the visitor, not behind
FRAME_FACE_MAX_C = 45.0  # a face hotter than this in one frame is a hot object or a glitch
OPEN_AIR_TA_SHIFT_C = 8.0  # the die runs ~8 °C above the room (used until the background is learnt)
REFERENCE_DISTANCE_M = 0.5  # compensation is zero here (where calibration is done)
REFERENCE_ROOM_C = 24.0
UNSTABLE_FACE_C = 0.6  # per-frame face values spread wider than this: not standing still
UNSTABLE_DISTANCE_M = 0.15
UNSTABLE_PIXEL_C = 0.5  # forehead pixels varying more than this between frames: the face moved
COVERAGE = 2.0  # the reported ± is 2σ
WARNING_AMBIENT = "warning_ambient"  # ui catalogue key `status.warning_ambient`: room outside the working range
WARNING_DRIFT = "warning_drift"  # `status.warning_drift`: the visitors' running median moved
_NOISE_FLOOR_C = 0.02  # ADC quantisation of a plateau mean
PLACEMENT_MARGIN = 1.12  # a well-placed person is too far only beyond 112 % of the farthest distance
READING_CENTRE_COLS = 2.5  # the face read in the averaged frames lies this close to where the frames put it


@dataclass(slots=True)
class _Sample:
    pixels: np.ndarray
    face_c: float
    distance_m: float
    die_c: float
    centre_col: float


class Screening:
    """Stateful screener: feed it every frame with `observe`, collect readings with `take_reading`.

    `drift` is the `DriftTracker` the checkpoint feeds with final readings (the health report
    reads it); `room_c` the room temperature seen by the background model.
    """

    def __init__(self, config: ThermalConfig, *, frames_per_reading: int = 4,
                 drift: DriftTracker | None = None) -> None:
        self._config = config
        self._frames_per_reading = frames_per_reading
        self._pixel_rad = math.radians(config.fov_h_deg) / 32
        self._background: np.ndarray | None = None
        self._samples: deque[_Sample] = deque(maxlen=frames_per_reading)
        self._samples_of: int | None = None  # the track the samples are of
        self.tracker = Tracker(self._pixel_rad)
        self.tracked = TrackedFrame(at=0.0)  # the last frame's tracks
        self._frame: ThermalFrame | None = None  # the frame just seen (None: nothing usable)
        self._near = 0  # faces within the approach zone in that frame
        self._placed: int | None = None  # the track last found well placed (placement hysteresis)
        self.room_c: float | None = None
        self.unstable_windows = 0
        self.implausible_readings = 0  # readings refused as not skin since the last restart
        self.drift = drift or DriftTracker(baseline_c=config.drift_baseline_c, window=config.drift_window,
                                           min_visitors=min(15, config.drift_window), warn_c=config.drift_warn_c)

    # ------------------------------------------------------------------------------ geometry
    def distance_for_width(self, width_px: float) -> float:
        """Distance (m) at which a face spans `width_px` pixels."""
        return distance_for_width(width_px, self._pixel_rad)

    # ------------------------------------------------------------------------------ per frame
    def _faces(self, pixels: np.ndarray, ambient_c: float) -> list[Face]:
        room = self._background if self._background is not None else np.nanmedian(pixels)
        if not np.isfinite(room).all():
            room = ambient_c - OPEN_AIR_TA_SHIFT_C
        return find_faces(pixels, room, self._pixel_rad)

    def _learn_background(self, pixels: np.ndarray, people: bool) -> None:
        """Follow the room slowly where nobody stands, so warm walls and sun patches stay background.

        With people in view but nobody at the kiosk (a queue that never empties), only the pixels
        well away from anything skin-warm are learnt: the room still drifts, people never become
        background.
        """
        frame = np.where(np.isfinite(pixels), pixels, np.nanmedian(pixels))
        if self._background is None:
            if people:
                return
            self._background = frame.copy()
        elif not people:
            self._background += 0.1 * (frame - self._background)
        else:
            warm = (frame >= SKIN_MIN_C) & (frame >= self._background + ABOVE_ROOM_C)
            near = warm.copy()
            for axis in (0, 1):
                for shift in (-2, -1, 1, 2):
                    near |= np.roll(warm, shift, axis=axis)
            self._background += np.where(near, 0.0, 0.1 * (frame - self._background))
        self.room_c = float(np.median(self._background))

    def observe(self, frame: ThermalFrame, follow: int | None = None) -> ThermalObservation:
        """`see` the frame and `look` at one person in it (the track `follow`, else the spot's)."""
        self.see(frame)
        return self.look(follow)

    def see(self, frame: ThermalFrame) -> TrackedFrame:
        """Find and track everybody in this frame (the background learns the room around them)."""
        pixels = frame.pixels
        self._frame = None
        if not np.isfinite(pixels).any():
            return self.tracked
        if self.room_c is None and math.isfinite(frame.ambient_c):
            self.room_c = frame.ambient_c - OPEN_AIR_TA_SHIFT_C
        faces = self._faces(pixels, frame.ambient_c)
        # People within the approach zone (a fragment of a few pixels, smeared off a moving face, is nobody).
        self._near = sum(f.distance_m <= APPROACH_M and f.pixels >= PERSON_MIN_PIXELS for f in faces)
        self._frame = frame
        self.tracked = self.tracker.update(faces, frame.taken_at)
        # Nobody at the kiosk: the room is learnt around whoever else is in view (a queue that never
        # empties); somebody at the kiosk: not at all (their clothes and hair are not the room).
        at_kiosk = any(t.in_spot for t in self.tracked.tracks)
        if not at_kiosk:
            self._learn_background(pixels, self._near > 0)
        return self.tracked

    def look(self, follow: int | None = None) -> ThermalObservation:
        """The person `follow` (the checkpoint's visitor) in the frame just seen, else the nearest
        in the spot.  A frame of them standing well, alone in the spot, is kept for the next reading."""
        frame, tracked = self._frame, self.tracked
        target = tracked.track(follow if follow is not None else tracked.spot) if frame is not None else None
        if frame is None or target is None or not target.in_spot or not target.seen:
            self._samples.clear()
            return ThermalObservation(Placement.NOBODY, companion=frame is not None and self._near > 0,
                                      tracked=tracked)
        face = target.last.face
        distance = face.distance_m
        companion = self._near > 1
        cfg = self._config
        # Once well placed, a person stays so within a margin: their distance, read from a few
        # pixels of width, wanders a little, and a reading needs consecutive frames of them.
        margin = PLACEMENT_MARGIN if self._placed == target.id else 1.0
        if tracked.crowded or tracked.spot != target.id:
            placement = Placement.CROWDED  # somebody beside (or in front of) the visitor, or two images touching
        elif distance > cfg.max_distance_m * margin:
            placement = Placement.TOO_FAR
        elif distance < cfg.min_distance_m / margin:
            placement = Placement.TOO_CLOSE
        else:
            placement = Placement.OK
        self._placed = target.id if placement is Placement.OK else None
        face_c: float | None = face.face_c
        if not (math.isfinite(face.face_c) and face.face_c <= FRAME_FACE_MAX_C):
            face_c = None  # a soldering iron, a glitch: not a face temperature
        if self._samples_of != target.id or target.bridged:
            self._samples.clear()  # another person's frames, or theirs before a step closer: never mixed in
            self._samples_of = target.id
        if placement is Placement.OK and face_c is not None:
            self._samples.append(_Sample(np.array(frame.pixels, dtype=np.float64), face_c, distance,
                                         frame.ambient_c, face.centre_col))
        else:
            self._samples.clear()  # a reading is made of consecutive good frames only
        return ThermalObservation(placement, distance, face_c, companion, target.id, face.centre_col, tracked)

    # ------------------------------------------------------------------------------ readings
    def restart(self) -> None:
        """Forget collected frames (a new visitor, or the re-measure)."""
        self._samples.clear()
        self.implausible_readings = 0

    @property
    def progress(self) -> float:
        return self.progress_of(None)

    def progress_of(self, frames: int | None) -> float:
        """How far the next reading of `frames` frames (default `frames_per_reading`) has come, 0..1."""
        n = min(frames or self._frames_per_reading, self._frames_per_reading)
        return min(1.0, len(self._samples) / n)

    @property
    def frames_per_reading(self) -> int:
        return self._frames_per_reading

    def compensation_c(self, distance_m: float, room_c: float) -> float:
        """What distance and a cold room take off a face reading, to be added back (site-tunable).

        Where it subtracts (nearer than 0.5 m, warmer than 24 °C) it is clamped at the working range's
        edge (`min_distance_m`, `ambient_max_c`): the configuration's bound on what it may take off
        (`ThermalConfig.lowering_c`) then holds in any room, not only inside the working range.
        """
        cfg = self._config
        distance_m = max(distance_m, cfg.min_distance_m)
        room_c = min(room_c, cfg.ambient_max_c)
        return (cfg.distance_coefficient_c_per_m * (distance_m - REFERENCE_DISTANCE_M)
                + cfg.ambient_coefficient * (REFERENCE_ROOM_C - room_c))

    def reflected_correction(self, face_c: float, die_c: float, room_c: float) -> float:
        """Re-solve a face temperature for the room actually seen as the reflected temperature.

        The driver assumes the open-air rule Tr = Ta − 8 °C; skin (ε ≈ 0.98) reflects 2 % of the
        real room.  When the die is not exactly 8 °C above the room (an enclosure, a room that
        warmed faster than the sensor), the background model knows better:
            To⁴ = To,drv⁴ + (1 − ε)/ε · (Tr,assumed⁴ − Tr,room⁴)            (kelvin)
        """
        if not (math.isfinite(die_c) and math.isfinite(room_c)):
            return face_c
        eps = self._config.emissivity
        k = face_c + 273.15
        tr_assumed = die_c - OPEN_AIR_TA_SHIFT_C + 273.15
        tr_room = room_c + 273.15
        k4 = k**4 + (1 - eps) / eps * (tr_assumed**4 - tr_room**4)
        return k4**0.25 - 273.15 if k4 > 0 else face_c

    def uncertainty_c(self, *, noise_c: float, distance_m: float, room_c: float) -> float:
        """± (2σ) of a reading: sensor noise of the averaged plateau, the compensation models'
        residuals (growing outside the working distance and room range), the calibration."""
        cfg = self._config
        outside_room = max(0.0, cfg.ambient_min_c - room_c, room_c - cfg.ambient_max_c)
        model = 0.04 + 0.12 * max(0.0, distance_m - 0.8) + 0.03 * outside_room
        drift = abs(self.drift.drift_c or 0.0) if self.drift.drifting else 0.0
        sigma = math.sqrt(noise_c**2 + _NOISE_FLOOR_C**2 + model**2 + cfg.calibration_uncertainty_c**2 + drift**2)
        return round(COVERAGE * sigma, 2)

    def take_reading(self, frames: int | None = None, *, consume: bool = True) -> Reading | None:
        """One reading from the last `frames` (default `frames_per_reading`) good frames of the
        observed person, or None (not enough, unstable, implausible).  `consume` False keeps the
        frames for the next reading (a quick look that may be followed by a careful reading).

        The frames are averaged pixel by pixel first (a standing visitor barely moves in a second)
        and the robust maximum is taken on the average: taking it on each noisy frame instead
        would bias every reading upward.  The face read in the average is the one where the
        person's frames put it: nobody else's forehead can become their reading.
        """
        n = min(frames or self._frames_per_reading, self._frames_per_reading)
        if len(self._samples) < n:
            return None
        window = list(self._samples)[-n:]
        faces = [s.face_c for s in window]
        distances = [s.distance_m for s in window]
        # Fewer frames average less: each of them must agree the better (half the spreads).
        strict = 0.5 if n < self._frames_per_reading else 1.0
        if max(faces) - min(faces) > UNSTABLE_FACE_C * strict \
                or max(distances) - min(distances) > UNSTABLE_DISTANCE_M * strict:
            self.unstable_windows += 1
            self._samples.popleft()  # slide on: the next frame may complete a steady window
            return None
        stack = np.stack([s.pixels for s in window])
        with warnings.catch_warnings(action="ignore", category=RuntimeWarning):  # all-NaN pixel: stays NaN
            mean = np.nanmean(stack, axis=0)
        kept = list(self._samples)
        self._samples.clear()
        room_c = self.room_c if self.room_c is not None else REFERENCE_ROOM_C
        centre = float(np.median([s.centre_col for s in window]))
        found = [f for f in self._faces(mean, room_c + OPEN_AIR_TA_SHIFT_C)
                 if abs(f.centre_col - centre) <= READING_CENTRE_COLS]
        face = min(found, key=lambda f: abs(f.centre_col - centre), default=None)
        if face is None or not math.isfinite(face.face_c):
            return None
        distance = float(np.median(distances))
        rows, cols = zip(*face.plateau, strict=True) if face.plateau else ((), ())
        per_pixel = np.nanstd(stack[:, rows, cols], axis=0, ddof=1) if rows and n > 1 else np.array([0.1])
        independent = max(1.0, len(rows) * n / 2)  # chess subpages: each frame renews half the pixels
        pixel_noise = float(np.nanmean(per_pixel))
        if abs(face.face_c - float(np.median(faces))) > UNSTABLE_FACE_C / 2 or pixel_noise > UNSTABLE_PIXEL_C:
            # The averaged image smears a face that moved between frames (stepping in, turning
            # the head): its plateau is no longer the forehead.  Not a reading; slide on.
            self.unstable_windows += 1
            self._samples.extend(kept[len(kept) - n + 1:])
            return None
        noise = pixel_noise / math.sqrt(independent)
        die = float(np.median([s.die_c for s in window]))
        face_c = self.reflected_correction(face.face_c, die, room_c)
        value = face_c + self.compensation_c(distance, room_c) + self._config.calibration_offset_c
        if not consume:
            self._samples.extend(kept)
        if not math.isfinite(value) or value > SKIN_RANGE_C[1]:
            self.implausible_readings += 1
            return None  # not skin: never published as a temperature
        return Reading(
            temperature_c=round(value, 2),
            uncertainty_c=self.uncertainty_c(noise_c=noise, distance_m=distance, room_c=room_c),
            frames=n,
            spread_c=float(max(faces) - min(faces)),
            distance_m=round(distance, 3),
            room_c=round(room_c, 2),
            track=self._samples_of,
            raw_c=round(float(np.median(faces)), 3),
            centre_col=round(centre, 2),
        )

    # ------------------------------------------------------------------------------ environment
    def health(self) -> dict[str, object]:
        """What the health report publishes about thermal screening (plain JSON values)."""
        report = self.drift.report()
        return {
            "room_c": None if self.room_c is None else round(self.room_c, 2),
            "calibration_offset_c": self._config.calibration_offset_c,
            "calibrated_at": None if self._config.calibrated_at is None else self._config.calibrated_at.isoformat(),
            "drift_c": report.drift_c,
            "drift_visitors": report.visitors,
            "visitors_median_c": None if report.median_c is None else round(report.median_c, 2),
            "drifting": report.drifting,
            "warnings": list(self.environment_warnings()),
        }

    @property
    def drift_fault(self) -> bool:
        """The crowd's median drifted beyond the fault bound: no reading of this sensor can pass anybody."""
        return self.drift.faulty

    @property
    def cold_room(self) -> bool:
        """The room is below the working range: skin arriving from it reads low."""
        return self.room_c is not None and self.room_c < self._config.ambient_min_c

    def environment_warnings(self) -> tuple[str, ...]:
        """Catalogue keys for the status strip: the room outside the working range, drift."""
        keys = []
        room = self.room_c
        if room is not None and not self._config.ambient_min_c <= room <= self._config.ambient_max_c:
            keys.append(WARNING_AMBIENT)
        if self.drift.drifting:
            keys.append(WARNING_DRIFT)
        return tuple(keys)
