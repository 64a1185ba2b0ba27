"""Where people are in front of the kiosk: paths in time, the queue's places, passers-by.

Positions are (distance from the kiosk along its axis, lateral offset; metres, + = the image's
right), as `drivers.mlx90640.scene.Person` takes them.  A `Path` is a person's whole history of
movements, so the world can tell where anybody stood at any past moment (to attribute a kiosk's
outcome to the person its visit was about, from the outcome's own times).

The queue waits behind the one-metre line, off the kiosk's axis toward the image's left, at
`QUEUE_ANGLE_DEG` and more: in the sensor's view, as in a real doorway, but beside the spot, not
in it.  Visitors step in from there; a visitor who leaves turns first and walks on past the kiosk
— to the right (into the building), to the left past the queue, or back along it (`exit_for`) —
so that the next one stepping in eagerly overlaps them in the sensor's view for about a second,
on either side.  Passers-by cross the whole view at their own distance.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field

from drivers.mlx90640.scene import FOV_H_DEG

Position = tuple[float, float]  # (distance m, lateral m)

QUEUE_ANGLE_DEG = 21.0  # the first in the queue stands this far off the axis, as the sensor sees it
QUEUE_STEP_ANGLE_DEG = 2.5  # each one behind, further off
QUEUE_SPACING_M = 0.5  # people in a queue stand about this far apart
QUEUE_SHOWN = 4  # farther back, people are hidden behind the first ones
EXIT: Position = (1.3, 1.6)  # where a leaving visitor is headed: past the kiosk, out of view ...
# ... or, as people do, the other way: past the queue's side, or back along the queue (turned away).
EXITS: tuple[Position, ...] = (EXIT, (1.3, -1.6), (2.6, -1.1))
GONE: Position = (3.5, 0.0)  # off the scene (v1: the leaver walks straight back)
PASSER_MARGIN_M = 0.4  # passers start and end this far outside the view


def exit_for(visitor_id: str) -> Position:
    """Where this visitor walks off to (the same every run: a digest of their id picks one of `EXITS`)."""
    return EXITS[zlib.crc32(visitor_id.encode("utf-8")) % len(EXITS)]


def queue_place(index: int, queue_m: float) -> Position:
    """The `index`-th place in the queue (0: first in line)."""
    d = queue_m + QUEUE_SPACING_M * index
    angle = math.radians(QUEUE_ANGLE_DEG + QUEUE_STEP_ANGLE_DEG * index)
    return d, -d * math.tan(angle)


@dataclass(frozen=True, slots=True)
class Leg:
    """One movement from `p0` at `t0` to `p1` at `t1`; `ease` "out" slows into the stop, "in" starts slowly."""

    t0: float
    p0: Position
    t1: float
    p1: Position
    ease: str = "linear"

    def at(self, t: float) -> Position:
        if t >= self.t1:
            return self.p1
        if t <= self.t0:
            return self.p0
        s = (t - self.t0) / (self.t1 - self.t0)
        if self.ease == "out":
            s = 1.0 - (1.0 - s) ** 2
        elif self.ease == "in":
            s = s * s
        return self.p0[0] + (self.p1[0] - self.p0[0]) * s, self.p0[1] + (self.p1[1] - self.p0[1]) * s


@dataclass(slots=True)
class Path:
    """Every movement of one person, in order, and when they were not in the scene at all.

    `at(t)` is where they were at `t` (None: not in the scene), for any moment of the run.
    """

    legs: list[Leg] = field(default_factory=list)
    absent: list[list[float]] = field(default_factory=list)  # [from, until) off the scene

    def move(self, t0: float, t1: float, p1: Position, *, start: Position | None = None, ease: str = "linear") -> None:
        """From where they are at `t0` (or `start`) to `p1` by `t1`."""
        p0 = start or self.at(t0) or p1
        self.legs.append(Leg(t0, p0, t1, p1, ease))

    def cancel_after(self, t: float) -> None:
        """Drop the movements planned to start after `t` (a visitor who stops adjusting their place)."""
        self.legs = [leg for leg in self.legs if leg.t0 <= t]

    def leave_scene(self, t: float) -> None:
        self.absent.append([t, math.inf])

    def enter_scene(self, t: float) -> None:
        if self.absent and self.absent[-1][1] == math.inf:
            self.absent[-1][1] = t

    def at(self, t: float) -> Position | None:
        if not self.legs or t < self.legs[0].t0 or any(a <= t < b for a, b in self.absent):
            return None
        current = self.legs[0]
        for leg in self.legs:
            if leg.t0 > t:
                break
            current = leg
        return current.at(t)


def in_view(p: Position, fov_h_deg: float = FOV_H_DEG) -> bool:
    return abs(math.atan2(p[1], p[0])) <= math.radians(fov_h_deg / 2) + math.atan2(0.2, p[0])


def passer_path(at: float, distance_m: float, direction: str, speed_m_s: float,
                fov_h_deg: float = FOV_H_DEG) -> Path:
    """A crossing of the whole view at `distance_m`, starting and ending just outside it."""
    half = distance_m * math.tan(math.radians(fov_h_deg / 2)) + PASSER_MARGIN_M
    sign = -1.0 if direction == "left" else 1.0  # "left": walking toward the image's left
    start, end = (distance_m, -sign * half), (distance_m, sign * half)
    path = Path()
    path.move(at, at + 2 * half / speed_m_s, end, start=start)
    path.leave_scene(at + 2 * half / speed_m_s)
    return path
