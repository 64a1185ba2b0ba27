"""The checkpoint's phases (`kiosk.checkpoint.machine`), in their own module: the screen
(`kiosk.checkpoint.shown`) reads them too."""

from __future__ import annotations

import enum


class Phase(enum.Enum):
    IDLE = "idle"
    MEASURING = "measuring"
    REMEASURE = "remeasure"
    DECIDED = "decided"
    COME_BACK = "come_back"  # cold arrival: asked to warm up and come back; no entry is recorded
    CLEARING = "clearing"  # the decided (or sent back) visitor still stands in the spot
