"""The checkpoint on a plain time line: synthetic frames and codes, a frame every `DT`, ticks after each.

Used by the checkpoint's own tests (through the `rig` fixture of tests/checkpoint/conftest.py) and
by the loop's review tests (tests/loop/test_decision_safety.py), which import it from here.
"""

from __future__ import annotations

import numpy as np

from kiosk.checkpoint import Checkpoint, CodeFacts, PolicyInForce, ScannedCode, VisitorOutcome
from kiosk.config import CheckpointConfig, PolicyConfig, ThermalConfig
from kiosk.ports import Screen, ThermalFrame
from kiosk.screening import Screening

DT = 0.25  # one frame per subpage at 4 Hz
WALL0 = 1_764_000_000.0
GREEN = ScannedCode("green", CodeFacts(True, "G"))
RED = ScannedCode("red", CodeFacts(True, "R"))
FORGED = ScannedCode("forged", CodeFacts(False))


def frame(t: float, face_c: float | None = None, *, width: int = 10, second: tuple[int, float] | None = None,
          ambient: float = 24.0) -> ThermalFrame:
    """A frame at `t`: the room at `ambient`, a face of `face_c` `width` pixels wide, maybe a `second` (width, °C)."""
    px = np.full((24, 32), ambient)
    if face_c is not None:
        c0 = 16 - width // 2
        px[4:14, c0:c0 + width] = face_c - 1.0
        px[5:8, c0 + 1:c0 + width - 1] = face_c  # forehead band
    if second is not None:
        w, temp = second
        px[3:9, 1:1 + w] = temp
    return ThermalFrame(px, ambient + 8.0, t)  # ambient_c is the die: about 8 °C above the room


class Rig:
    """A checkpoint with a time line: `run(seconds, ...)` feeds a frame every DT and ticks.

    `policy` is the checkpoint's policy in force (replace it to change the rules mid-test).
    """

    def __init__(self, **checkpoint: object) -> None:
        self.t = 100.0
        self.policy = PolicyInForce(PolicyConfig())
        self.cp = Checkpoint(self.policy, CheckpointConfig(**checkpoint),
                             Screening(ThermalConfig(), frames_per_reading=4), now=self.t)
        self.outcomes: list[VisitorOutcome] = []
        self.screens: list[Screen] = []

    def run(self, seconds: float, face_c: float | None = None, *, code: ScannedCode | None = None,
            frames: bool = True, **kw: object) -> None:
        end = self.t + seconds
        while self.t < end - 1e-9:
            self.t += DT
            if frames:
                self.cp.on_frame(self.t, frame(self.t, face_c, **kw))
            else:
                self.cp.on_sensor_error(self.t)
            if code is not None:
                self.cp.on_code(self.t, code)
            self.outcomes.extend(self.cp.tick(self.t, WALL0 + self.t))
            if not self.screens or self.screens[-1] is not self.cp.screen:
                self.screens.append(self.cp.screen)
