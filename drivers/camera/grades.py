"""A graded set of phone photographs, easy → very hard, drawn on the fly from a seed.

Each grade is a set of ranges for `photo.Shot`; a frame of grade g with index i is fully
determined by (g, i, seed), so a read-rate figure can be reproduced from the command that made
it, and tests and benchmarks draw from the same definition (tests a few frames, benchmarks many).

The grades, in words:

1. *easy*: square-on, bright screen, sharp: what a helpful visitor shows.
2. *mild*: tilted up to 20°, turned, a dimmer screen, a little blur, faint glare or moiré.
3. *moderate*: tilted up to 30°, any reasonable rotation, dim screen or under-exposed camera,
   defocus, a glare spot, moiré, sometimes a thumb on the edge.
4. *hard*: tilted up to 35°, dim and noisy, stronger glare, motion blur, a thumb often.
5. *very hard*: tilted up to 40°, very dim, blurred, two glares, strong moiré, a thumb reaching
   into the code: the frames a visitor is asked to hold better.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from .photo import Glare, Shot, render_shot

_BASE45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


@dataclass(frozen=True, slots=True)
class Grade:
    """Ranges (low, high) that a grade's shots are drawn from uniformly."""

    name: str
    tilt_deg: tuple[float, float]  # magnitude of the combined yaw/pitch
    rotate_deg: tuple[float, float]  # magnitude of the in-plane rotation
    scale: tuple[float, float]
    brightness: tuple[float, float]
    exposure: tuple[float, float]
    blur_px: tuple[float, float]
    motion_px: tuple[float, float]
    glares: tuple[int, int]  # how many (inclusive range)
    glare_strength: tuple[float, float]
    moire_chance: float
    moire_amp: tuple[float, float]
    thumb_chance: float
    thumb_reach: tuple[float, float]
    noise_sigma: tuple[float, float]


GRADES: tuple[Grade, ...] = (
    Grade("easy", tilt_deg=(0, 8), rotate_deg=(0, 8), scale=(0.86, 0.92), brightness=(0.85, 1.0),
          exposure=(0.95, 1.05), blur_px=(0, 0.4), motion_px=(0, 0), glares=(0, 0), glare_strength=(0, 0),
          moire_chance=0.0, moire_amp=(0, 0), thumb_chance=0.0, thumb_reach=(0, 0), noise_sigma=(1, 2)),
    Grade("mild", tilt_deg=(5, 20), rotate_deg=(0, 25), scale=(0.84, 0.92), brightness=(0.6, 0.95),
          exposure=(0.85, 1.05), blur_px=(0.2, 0.8), motion_px=(0, 1), glares=(0, 1), glare_strength=(30, 70),
          moire_chance=0.3, moire_amp=(0.05, 0.12), thumb_chance=0.0, thumb_reach=(0, 0), noise_sigma=(2, 3)),
    Grade("moderate", tilt_deg=(15, 30), rotate_deg=(0, 45), scale=(0.82, 0.92), brightness=(0.45, 0.8),
          exposure=(0.7, 1.0), blur_px=(0.5, 1.0), motion_px=(0, 1.5), glares=(1, 1), glare_strength=(50, 110),
          moire_chance=0.5, moire_amp=(0.1, 0.2), thumb_chance=0.3, thumb_reach=(0.04, 0.1),
          noise_sigma=(3, 5)),
    Grade("hard", tilt_deg=(25, 35), rotate_deg=(0, 90), scale=(0.8, 0.92), brightness=(0.35, 0.7),
          exposure=(0.6, 0.9), blur_px=(0.6, 1.0), motion_px=(0, 1.5), glares=(1, 2), glare_strength=(70, 140),
          moire_chance=0.6, moire_amp=(0.12, 0.25), thumb_chance=0.5, thumb_reach=(0.06, 0.12),
          noise_sigma=(3, 5)),
    Grade("very hard", tilt_deg=(30, 40), rotate_deg=(0, 180), scale=(0.8, 0.92), brightness=(0.35, 0.6),
          exposure=(0.55, 0.8), blur_px=(0.6, 1.0), motion_px=(0.5, 1.5), glares=(2, 2),
          glare_strength=(90, 170), moire_chance=0.8, moire_amp=(0.12, 0.25), thumb_chance=0.7,
          thumb_reach=(0.08, 0.16), noise_sigma=(4, 6)),
)


def code_text(rng: np.random.Generator, length: int = 294) -> str:
    """A THP1-shaped text (prefix + Base45) of the length the platform issues: QR version 10."""
    return "THP1:" + "".join(rng.choice(list(_BASE45), size=length))


def sample_shot(grade: Grade, rng: np.random.Generator) -> Shot:
    """One shot drawn from the grade's ranges."""

    def u(r: tuple[float, float]) -> float:
        return float(rng.uniform(r[0], r[1])) if r[1] > r[0] else float(r[0])

    tilt = u(grade.tilt_deg)
    direction = rng.uniform(0, 2 * np.pi)  # how the tilt splits between yaw and pitch
    glares = tuple(
        Glare(u=u((0.15, 0.85)), v=u((0.25, 0.75)), radius=u((0.1, 0.25)), strength=u(grade.glare_strength))
        for _ in range(int(rng.integers(grade.glares[0], grade.glares[1] + 1)))
    )
    moire = rng.random() < grade.moire_chance
    thumb = rng.random() < grade.thumb_chance
    return Shot(
        tilt_deg=float(tilt * np.cos(direction)),
        pitch_deg=float(tilt * np.sin(direction)),
        rotate_deg=float(u(grade.rotate_deg) * rng.choice((-1, 1))),
        scale=u(grade.scale),
        offset=(u((-0.04, 0.04)), u((-0.02, 0.02))),
        brightness=u(grade.brightness),
        exposure=u(grade.exposure),
        blur_px=u(grade.blur_px),
        motion_px=u(grade.motion_px),
        motion_deg=u((0, 180)),
        glares=glares,
        moire_amp=u(grade.moire_amp) if moire else 0.0,
        moire_period_px=u((5, 14)),
        moire_deg=u((0, 180)),
        thumb_reach=u(grade.thumb_reach) if thumb else 0.0,
        thumb_side=int(rng.choice((-1, 1))),
        thumb_v=u((0.55, 0.75)),
        noise_sigma=u(grade.noise_sigma),
    )


@dataclass(frozen=True, slots=True)
class GradedFrame:
    grade: int  # 1-based, as in reports
    index: int
    text: str
    shot: Shot
    y: np.ndarray


def graded_frames(grade: int, count: int, *, seed: int = 0,
                  frame_size: tuple[int, int] = (640, 480)) -> Iterator[GradedFrame]:
    """`count` frames of grade `grade` (1..len(GRADES)); frame i depends only on (grade, i, seed)."""
    spec = GRADES[grade - 1]
    for i in range(count):
        rng = np.random.default_rng((seed, grade, i))
        text = code_text(rng)
        shot = sample_shot(spec, rng)
        y = render_shot(text, shot, frame_size=frame_size, seed=int(rng.integers(2**31)))
        yield GradedFrame(grade, i, text, shot, y)
