"""Thermal screening: from the array's frames to who stands where and one honest temperature.

The parts:

* `Screening` (`kiosk.screening.thermal`): placement (too far, too close, two people, fine) and
  readings with their uncertainty, from consecutive frames of a visitor standing still;
  `frame_plausible` refuses frames no working sensor produces;
* `find_faces` (`kiosk.screening.face`): warm regions over the empty room's background, the
  nearest face first;
* `DriftTracker` (`kiosk.screening.drift`): calibration drift seen through the crowd's median.

Pure computation on numbers: no clock, no I/O.  The checkpoint (`kiosk.checkpoint`) decides what
a reading means.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kiosk.lazy import front

if TYPE_CHECKING:
    from kiosk.screening.drift import SKIN_RANGE_C, DriftReport, DriftTracker
    from kiosk.screening.face import FACE_WIDTH_M, Face, find_faces
    from kiosk.screening.thermal import (
        WARNING_AMBIENT,
        WARNING_DRIFT,
        Placement,
        Reading,
        Screening,
        ThermalObservation,
        frame_plausible,
    )

_EXPORTS = {
    "DriftReport": "drift",
    "DriftTracker": "drift",
    "FACE_WIDTH_M": "face",
    "Face": "face",
    "Placement": "thermal",
    "Reading": "thermal",
    "SKIN_RANGE_C": "drift",
    "Screening": "thermal",
    "ThermalObservation": "thermal",
    "WARNING_AMBIENT": "thermal",
    "WARNING_DRIFT": "thermal",
    "find_faces": "face",
    "frame_plausible": "thermal",
}
__getattr__, __dir__ = front(__name__, _EXPORTS)
__all__ = [
    "FACE_WIDTH_M",
    "SKIN_RANGE_C",
    "WARNING_AMBIENT",
    "WARNING_DRIFT",
    "DriftReport",
    "DriftTracker",
    "Face",
    "Placement",
    "Reading",
    "Screening",
    "ThermalObservation",
    "find_faces",
    "frame_plausible",
]  # the same names as _EXPORTS
