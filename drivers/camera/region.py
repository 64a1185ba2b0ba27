"""The region of interest: the part of the frame where visitors hold their phones.

A kiosk's camera sees more than the spot in front of it (the queue, a doorway, a poster with a
QR on it).  Decoding only the region where phones are shown is faster and stops a code on the
wall or in the queue from being read.  The region is given as fractions of the frame, so it
survives a change of resolution, and is cut as a numpy view: no copy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kiosk.ports import FrameSource, GrayFrame


@dataclass(frozen=True, slots=True)
class Region:
    """x, y (left, top) and width, height as fractions of the frame (0..1)."""

    x: float = 0.0
    y: float = 0.0
    width: float = 1.0
    height: float = 1.0

    def __post_init__(self) -> None:
        if not (0 <= self.x < 1 and 0 <= self.y < 1 and 0 < self.width <= 1 and 0 < self.height <= 1):
            raise ValueError(f"region {self} must lie within the frame (fractions 0..1)")
        if self.x + self.width > 1 + 1e-9 or self.y + self.height > 1 + 1e-9:
            raise ValueError(f"region {self} extends past the frame's edge")

    @property
    def is_full(self) -> bool:
        return (self.x, self.y, self.width, self.height) == (0.0, 0.0, 1.0, 1.0)

    def pixels(self, width: int, height: int) -> tuple[int, int, int, int]:
        """(left, top, right, bottom) in pixels of a `width`×`height` frame; never empty."""
        left, top = round(self.x * width), round(self.y * height)
        right = max(left + 1, min(width, round((self.x + self.width) * width)))
        bottom = max(top + 1, min(height, round((self.y + self.height) * height)))
        return left, top, right, bottom

    def crop(self, y: np.ndarray) -> np.ndarray:
        """The region of a (H, W) frame, as a view of it."""
        if self.is_full:
            return y
        left, top, right, bottom = self.pixels(y.shape[1], y.shape[0])
        return y[top:bottom, left:right]


class CroppedSource:
    """Any `FrameSource`, with its frames cut to a region (a view: no copy)."""

    def __init__(self, source: FrameSource, region: Region) -> None:
        self._source = source
        self.region = region

    def next_frame_at(self) -> float:
        return self._source.next_frame_at()

    def read_frame(self) -> GrayFrame:
        frame = self._source.read_frame()
        return GrayFrame(y=self.region.crop(frame.y), taken_at=frame.taken_at)

    def close(self) -> None:
        self._source.close()

    def __enter__(self) -> CroppedSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


