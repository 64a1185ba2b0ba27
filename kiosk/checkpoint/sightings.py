"""Which codes are in front of the camera, from frame-by-frame reads that flicker.

A decoder reads a held-up phone on most frames, not all: glare moves, the hand shakes.  Read
frame by frame, one visitor's code would appear, vanish and appear again, and two phones held
up together would often show as one (each frame reading whichever is sharper).  `CodesInView`
turns reads into *sightings*: a code is in view from its first read until it has gone unread
for `hold_s`, so

- the same code read on many frames is one sighting (`new` names it once: one visitor), and a
  code that drops out for a frame or two does not start a new sighting;
- two codes read within `hold_s` of each other are both in view (`several`), even when no
  single frame read both: the kiosk must not decide on either and must say why.

What it does *not* decide: whether a sighting is a new visitor for the checkpoint.  The
checkpoint gives a code to the person standing alone in the spot (their thermal track), ignores
the code of the person just decided while they linger, and keeps the first valid code of a
visit; this module only removes the frame-level flicker beneath those rules.  Texts stay in memory only while in view.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

DEFAULT_HOLD_S = 1.0  # ~8 frames at 8 fps: a code unread for longer has left (or been covered)


@dataclass(frozen=True, slots=True)
class Sightings:
    """The codes in view after one frame."""

    in_view: tuple[str, ...]  # every code seen within hold_s, first-seen first
    new: tuple[str, ...]  # codes whose sighting began with this frame

    @property
    def several(self) -> bool:
        """More than one code in view: an error to explain, not a code to decide on."""
        return len(self.in_view) > 1

    @property
    def one(self) -> str | None:
        """The code in view when there is exactly one, else None."""
        return self.in_view[0] if len(self.in_view) == 1 else None


class CodesInView:
    """Debounces decoded texts into sightings; feed it every successfully decoded frame."""

    def __init__(self, *, hold_s: float = DEFAULT_HOLD_S) -> None:
        if hold_s < 0:
            raise ValueError("hold_s must not be negative")
        self._hold_s = hold_s
        self._last_read: dict[str, float] = {}  # text -> when last read (insertion order = first seen)

    def update(self, texts: Iterable[str], now: float) -> Sightings:
        """Record one frame's reads at `now` (Clock.monotonic) and return what is in view.

        A frame the decoder failed on (crash, timeout) must not be fed: it says nothing about
        what is in view.  A frame that decoded to nothing is fed as an empty list.
        """
        self._last_read = {t: at for t, at in self._last_read.items() if now - at <= self._hold_s}
        new = []
        for text in dict.fromkeys(texts):  # the same code twice in one frame is one code
            if text not in self._last_read:
                new.append(text)
            self._last_read[text] = now
        return Sightings(in_view=tuple(self._last_read), new=tuple(new))

    def clear(self) -> None:
        """Forget every sighting (the camera restarted, the kiosk went to maintenance)."""
        self._last_read.clear()
