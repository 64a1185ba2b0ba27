"""The readings of the visitor in the spot: when one is taken, of how many frames, what it comes to.

A part of the checkpoint (`kiosk.checkpoint.machine.Checkpoint` holds one): it takes readings of
the visit's track from the screener, applies the readings rule (`kiosk.checkpoint.readings`) and
keeps the readings honest while the visit lasts:

* the first reading of a settled, tracked person is a *look* at one full frame (`QUICK_FRAMES`:
  both subpages, every pixel once — well within the calibration's uncertainty, a few hundredths
  high); while they are still settling, two frames; a re-measure is careful (the configured
  `frames_per_reading`, a look's frame among them), so a verdict at the threshold never rests on
  one frame;
* a reading that would pass somebody is theirs only while they stand as they stood when it was
  taken (`still`: same place, same distance, not warmer) — otherwise they are measured again;
* a frame their track goes unseen in (`unseen`) asks for a fresh reading before a PASS (the
  readings before it still count against one).

Pure logic, like the machine.
"""

from __future__ import annotations

import math

from kiosk.checkpoint.policy import PolicyInForce
from kiosk.checkpoint.readings import Next, TakenReading, judged, next_step
from kiosk.checkpoint.visit import Visit
from kiosk.config import CheckpointConfig
from kiosk.screening import Placement, Reading, Screening, ThermalObservation

QUICK_FRAMES = 1  # the first reading of a settled, tracked person: one full frame (both subpages)
SETTLING_FRAMES = 2  # a first reading while the person is still settling
IMPLAUSIBLE_READINGS = 2  # this many readings above the skin range in one visit: a sensor fault
STILL_COLS = 1.5  # a reading stays good while its face stays this close (columns) to where it was read ...
STILL_DEPTH = 0.15  # ... within this share of its distance (|ln d1/d0|) ...
HOTTER_C = 0.3  # ... and no warmer than this above its frames (a warmer face is not the one read)


class Measuring:
    """Takes and judges the readings of one visit at a time (see the module's doc)."""

    def __init__(self, screening: Screening, policy: PolicyInForce, config: CheckpointConfig) -> None:
        self.screening = screening
        self._policy = policy
        self._cfg = config

    @property
    def threshold_c(self) -> float:
        return self._policy.policy.fever_c

    def settled(self, track_id: int | None) -> bool:
        """The track stands settled (`Track.settled`: never in a frame it was born or bridged in):
        what a code or a one-frame look may be taken of."""
        track = self.screening.tracked.track(track_id) if track_id is not None else None
        return track is not None and track.settled

    def frames_for(self, visit: Visit | None) -> int | None:
        """Frames the next reading is made of (None: the configured number)."""
        if visit is None or not visit.current_readings:
            return QUICK_FRAMES if visit is not None and self.settled(visit.track) else SETTLING_FRAMES
        return None

    def collect(self, now: float, visit: Visit) -> Next | None:
        """Take the next reading if it can be made; what the readings then call for (None: no reading)."""
        if visit.done or visit.remeasure_from is not None:
            return None
        unsteady_before = self.screening.unstable_windows
        frames = self.frames_for(visit)
        # A look keeps its frame: measured again at once, it is the first frame of the careful reading.
        reading = self.screening.take_reading(frames, consume=frames != QUICK_FRAMES)
        threshold = self.threshold_c
        if reading is None:
            if self.screening.unstable_windows > unsteady_before:
                visit.unsteady += 1
            if self.screening.implausible_readings >= IMPLAUSIBLE_READINGS:
                visit.sensor_failed = True  # "above 43 °C" again and again: the sensor, not a person
            return None
        visit.unsteady = 0
        if self.is_cold(reading):
            # Not a temperature: nothing of it is shown or stored.
            if visit.readings:
                # Cold on a re-measure (head turned, a hand on the forehead): nobody is sent away
                # mid-check.  After a fever the re-measure has failed and the fever stands; after a
                # reading only near the threshold the kiosk simply measures again.
                visit.remeasure_failed = visit.fever_shown(threshold)
                return None
            visit.cold = True  # first time: come back later; back again and still cold: staff
            return None
        visit.cold = False
        visit.readings.append(TakenReading(round(reading.temperature_c, 1), reading.uncertainty_c, now,
                                           reading.track, reading.raw_c, reading.centre_col, reading.distance_m,
                                           reading.frames, visit.stretch))
        if visit.fever_before(threshold):
            visit.done = True  # a fever shown earlier stops them (staff check); this reading is their own temperature
            return Next.DONE
        step = next_step(visit.current_readings, threshold, remeasure=self._policy.policy.remeasure)
        if step is Next.DONE:
            visit.done = True
        elif step is Next.REMEASURE:
            visit.remeasure_from = now + self._cfg.remeasure_pause_s
        return step

    def is_cold(self, reading: Reading) -> bool:
        return reading.cold or (self.screening.cold_room and reading.temperature_c < self._cfg.cold_room_skin_c)

    def unseen(self, now: float, visit: Visit) -> None:
        """Their track was not seen in this frame (a smeared step, a turned head), or was bridged
        (`Track.bridged`: a step straight closer — or somebody stepping in front): it goes on, but in
        a new stretch (`Visit.stretch`): their code read again, a fresh reading made (the ones before
        are kept: a fever read earlier still stops them)."""
        if visit.sensor_failed:
            return
        visit.new_stretch(now)
        visit.done = False  # measured again: a temperature reported is always of the stretch they are in

    def still(self, visit: Visit, obs: ThermalObservation) -> bool:
        """Whether the readings a PASS would rest on still describe the person in this frame; if
        not (a face that moved, or reads warmer), they are dropped to be taken again."""
        readings = visit.current_readings
        if not visit.done or not readings or obs.placement is Placement.NOBODY:
            return True
        verdict = judged(readings, self.threshold_c)
        if verdict is None or verdict.c >= self.threshold_c or visit.fever_before(self.threshold_c):
            return True  # a fever stands whatever happens next
        ref = readings[-1]
        moved = (ref.centre_col is not None and obs.centre_col is not None
                 and abs(obs.centre_col - ref.centre_col) > STILL_COLS) or bool(
                ref.distance_m and obs.distance_m and abs(math.log(obs.distance_m / ref.distance_m)) > STILL_DEPTH)
        warmer = ref.raw_c is not None and obs.face_c is not None and obs.face_c > ref.raw_c + HOTTER_C
        if moved or warmer:
            visit.readings[:] = [r for r in visit.readings if r.stretch != visit.stretch]
            visit.done = False
            return False
        return True
