"""People in front of the kiosk, as the thermal array sees them.

`render_people` paints each person — head, forehead band, hair, neck, clothed torso — into the
array's 32×24 grid of viewing directions, nearest last so that it occludes the others, and
averages a supersampled grid so a pixel partly covered by a face gets a blend (as the real
optics do).  `PeopleScene` wraps it as the emulator's `Scene`.

Geometry (the screening code estimates distance from face width with the same numbers):
pixels are equal angular steps, `PIXEL_ANGLE_H_DEG` wide and `PIXEL_ANGLE_V_DEG` tall; column 0
is the left of the image, row 0 the top.  At distance d one pixel spans 2·d·tan(step/2) metres,
so a face `FACE_WIDTH_M` wide covers `FACE_WIDTH_M * pixels_per_metre_at(d)` columns — about 5
at 1 m and 4.4 at 1.2 m with the 55° lens.  Each person is a flat cut-out facing the sensor at
its distance; x is lateral offset (+ = image right), y the height of the face centre above the
optical axis (the kiosk aims the sensor at face height, so 0 is typical).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from . import registers as reg

FOV_H_DEG = 55.0  # MLX90640BAB; the BAA variant is 110° × 75°
FOV_V_DEG = 35.0
PIXEL_ANGLE_H_DEG = FOV_H_DEG / reg.COLS  # ≈ 1.72°
PIXEL_ANGLE_V_DEG = FOV_V_DEG / reg.ROWS  # ≈ 1.46°
FACE_WIDTH_M = 0.16  # a typical adult head seen from the front (= kiosk.screening.thermal.FACE_WIDTH_M)

# Body proportions, as fractions of the face width
_HEAD_HEIGHT = 1.45  # crown to chin
_HAIR = 0.12  # hair cap at the top of the head
_FOREHEAD = 0.62  # forehead band below the hairline (brows, temples and inner eye corners included)
_FOREHEAD_HALF_WIDTH = 0.44
_NECK_HALF_WIDTH = 0.34
_NECK_LENGTH = 0.55
_SHOULDER_HALF_WIDTH = 1.45
_SHOULDER_SLOPE = 0.45


def pixels_per_metre_at(distance_m: float, fov_h_deg: float = FOV_H_DEG) -> float:
    """Columns per metre of lateral extent at `distance_m` (near the optical axis)."""
    step = math.radians(fov_h_deg / reg.COLS)
    return 1.0 / (2.0 * distance_m * math.tan(step / 2.0))


@dataclass(frozen=True, slots=True)
class Person:
    """One person facing the kiosk.  Temperatures in °C, lengths in metres."""

    distance_m: float
    forehead_c: float = 36.5
    x_m: float = 0.0
    y_m: float = 0.0
    face_width_m: float = FACE_WIDTH_M
    skin_drop_c: float = 1.2  # cheeks, nose and neck run this much cooler than the forehead
    clothing_above_ambient_c: float = 4.0
    hair: bool = True


def _directions(fov_h_deg: float, fov_v_deg: float, supersample: int) -> tuple[np.ndarray, np.ndarray]:
    """tan(azimuth), tan(elevation) of every supersample, each (24·s, 32·s)."""
    s = supersample
    az = np.radians((np.arange(reg.COLS * s) + 0.5) / s * (fov_h_deg / reg.COLS) - fov_h_deg / 2)
    el = np.radians(fov_v_deg / 2 - (np.arange(reg.ROWS * s) + 0.5) / s * (fov_v_deg / reg.ROWS))
    tan_az, tan_el = np.meshgrid(np.tan(az), np.tan(el))
    return tan_az, tan_el


def _paint(image: np.ndarray, p: Person, x: np.ndarray, y: np.ndarray, ambient_c: float) -> None:
    """Paint one person into the supersampled image; x, y are metres in the person's plane."""
    w = p.face_width_m
    dx, dy = x - p.x_m, y - p.y_m
    a, b = w / 2, w * _HEAD_HEIGHT / 2
    top, chin = b, -b
    skin = p.forehead_c - p.skin_drop_c
    clothing = ambient_c + p.clothing_above_ambient_c
    torso_top = chin - w * _NECK_LENGTH * 0.8
    torso = (dy < torso_top - _SHOULDER_SLOPE * np.maximum(0.0, np.abs(dx) - w * _NECK_HALF_WIDTH)) & (
        np.abs(dx) <= w * _SHOULDER_HALF_WIDTH
    )
    image[torso] = clothing
    neck = (np.abs(dx) <= w * _NECK_HALF_WIDTH) & (dy < chin + 0.2 * b) & (dy >= chin - w * _NECK_LENGTH)
    image[neck] = skin
    head = (dx / a) ** 2 + (dy / b) ** 2 <= 1.0
    image[head] = skin
    hairline = top - w * _HAIR
    band = (dy <= hairline) & (dy > hairline - w * _FOREHEAD)
    forehead = head & band & (np.abs(dx) <= w * _FOREHEAD_HALF_WIDTH)
    image[forehead] = p.forehead_c
    if p.hair:
        image[head & (dy > hairline)] = ambient_c + 0.6 * (skin - ambient_c)


def render_people(
    people: Sequence[Person],
    ambient_c: float,
    fov_h_deg: float = FOV_H_DEG,
    fov_v_deg: float = FOV_V_DEG,
    supersample: int = 4,
) -> np.ndarray:
    """Object temperatures (24, 32) °C: the room at `ambient_c`, people painted far to near."""
    s = max(1, int(supersample))
    tan_az, tan_el = _directions(fov_h_deg, fov_v_deg, s)
    image = np.full(tan_az.shape, float(ambient_c))
    for person in sorted(people, key=lambda q: q.distance_m, reverse=True):
        if person.distance_m <= 0:
            raise ValueError(f"a person must be in front of the sensor (distance {person.distance_m} m)")
        _paint(image, person, tan_az * person.distance_m, tan_el * person.distance_m, ambient_c)
    return image.reshape(reg.ROWS, s, reg.COLS, s).mean(axis=(1, 3))


class PeopleScene:
    """An emulator `Scene`: people (a fixed list, or a function of time) in a room.

    `emissivity` applies to everything in view (skin ≈ 0.98; pass 0.95 to compare with the
    Adafruit driver's hard-coded value).
    """

    def __init__(
        self,
        people: Sequence[Person] | Callable[[float], Sequence[Person]] = (),
        *,
        ambient_c: float | Callable[[float], float] = 24.0,
        emissivity: float = 0.98,
        fov_h_deg: float = FOV_H_DEG,
        fov_v_deg: float = FOV_V_DEG,
        supersample: int = 4,
    ) -> None:
        self._people = people
        self._ambient = ambient_c if callable(ambient_c) else float(ambient_c)
        self.emissivity = float(emissivity)
        self._fov = (float(fov_h_deg), float(fov_v_deg))
        self._supersample = supersample

    def people_at(self, t_monotonic: float) -> Sequence[Person]:
        return self._people(t_monotonic) if callable(self._people) else self._people

    def ambient_at(self, t_monotonic: float) -> float:
        return float(self._ambient(t_monotonic)) if callable(self._ambient) else self._ambient

    @property
    def ambient_c(self) -> float:
        """The room temperature (at time 0 for a drifting room)."""
        return self.ambient_at(0.0)

    def render(self, t_monotonic: float) -> tuple[np.ndarray, float, float]:
        ambient = self.ambient_at(t_monotonic)
        image = render_people(self.people_at(t_monotonic), ambient, *self._fov, self._supersample)
        return image, self.emissivity, ambient


@dataclass(frozen=True, slots=True)
class SlowDrift:
    """A room temperature that wanders slowly: `base_c` ± `amplitude_c`, one cycle per `period_s`
    (heating cycling, a door opening onto the street, the sun coming round)."""

    base_c: float = 24.0
    amplitude_c: float = 1.5
    period_s: float = 1800.0
    t0: float = 0.0

    def __call__(self, t_monotonic: float) -> float:
        return self.base_c + self.amplitude_c * math.sin(2 * math.pi * (t_monotonic - self.t0) / self.period_s)
