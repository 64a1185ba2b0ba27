"""Thermal screening: from the array's frames to who stands where and one honest temperature.

The parts:

* `Screening` (`kiosk.screening.thermal`, its records in `kiosk.screening.records`): placement
  (too far, too close, two people, fine) and readings with their uncertainty, from consecutive
  frames of one person standing still; `frame_plausible` refuses frames no working sensor produces;
* `find_faces` (`kiosk.screening.face`): warm basins over the room's background, split where two
  heads touch, the nearest face first;
* `Tracker` (`kiosk.screening.tracking`): faces followed from frame to frame, and the spot where
  the visitor being checked stands (queue members and passers-by are tracked, never in the spot);
* `DriftTracker` (`kiosk.screening.drift`): calibration drift seen through the crowd's median
  (beyond the fault bound, a fault).

Pure computation on numbers: no clock, no I/O.  The checkpoint (`kiosk.checkpoint`) decides what
a reading means.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kiosk.lazy import front

if TYPE_CHECKING:
    from kiosk.screening.drift import SKIN_RANGE_C, DriftReport, DriftTracker
    from kiosk.screening.face import FACE_WIDTH_M, Face, find_faces
    from kiosk.screening.records import Placement, Reading, ThermalObservation, frame_plausible
    from kiosk.screening.thermal import WARNING_AMBIENT, WARNING_DRIFT, Screening
    from kiosk.screening.tracking import (
        FACE_GATE_C,
        FRAME_S,
        MAX_GAP_S,
        SIDE_BY_SIDE_M,
        SPOT_MAX_M,
        End,
        Sighting,
        Track,
        TrackedFrame,
        Tracker,
        same_place,
    )

_EXPORTS = {
    "DriftReport": "drift",
    "DriftTracker": "drift",
    "End": "tracking",
    "FACE_GATE_C": "tracking",
    "FACE_WIDTH_M": "face",
    "FRAME_S": "tracking",
    "Face": "face",
    "MAX_GAP_S": "tracking",
    "Placement": "records",
    "Reading": "records",
    "SKIN_RANGE_C": "drift",
    "SIDE_BY_SIDE_M": "tracking",
    "SPOT_MAX_M": "tracking",
    "Screening": "thermal",
    "Sighting": "tracking",
    "ThermalObservation": "records",
    "Track": "tracking",
    "TrackedFrame": "tracking",
    "Tracker": "tracking",
    "WARNING_AMBIENT": "thermal",
    "WARNING_DRIFT": "thermal",
    "find_faces": "face",
    "frame_plausible": "records",
    "same_place": "tracking",
}
__getattr__, __dir__ = front(__name__, _EXPORTS)
__all__ = [
    "FACE_GATE_C",
    "FACE_WIDTH_M",
    "FRAME_S",
    "MAX_GAP_S",
    "SIDE_BY_SIDE_M",
    "SKIN_RANGE_C",
    "SPOT_MAX_M",
    "WARNING_AMBIENT",
    "WARNING_DRIFT",
    "DriftReport",
    "DriftTracker",
    "End",
    "Face",
    "Placement",
    "Reading",
    "Screening",
    "Sighting",
    "ThermalObservation",
    "Track",
    "TrackedFrame",
    "Tracker",
    "find_faces",
    "frame_plausible",
    "same_place",
]  # the same names as _EXPORTS
