"""When a visit can be decided: the deadlines, and what must be in before a verdict.

A part of the checkpoint's rules, pure functions of the visit and the time:

* the code deadline runs `no_code_timeout_s` from when the visitor first stood in range (or the
  visit began): whoever shows no code by then is STOP `no_code`;
* a verdict needs the temperature settled (the readings done, or a fault or a failed re-measure
  that decides on its own) and a code — a valid one at once, an invalid one after
  `INVALID_CODE_GRACE_S` (the right phone may follow the wrong QR), none at the deadline;
* not while frames have stopped (nobody can tell the visitor is still there), and not while
  somebody stands beside them before the deadline (nothing is shown to two people at once);
* a visitor who never gets a reading is decided at twice the deadline, without a temperature.
"""

from __future__ import annotations

from kiosk.checkpoint.visit import Visit
from kiosk.config import CheckpointConfig
from kiosk.screening import MAX_GAP_S, Placement

INVALID_CODE_GRACE_S = 1.5  # an invalid code waits this long for a valid one (wrong QR shown first)


def code_deadline(visit: Visit, config: CheckpointConfig) -> float:
    return (visit.in_range_at or visit.started_at) + config.no_code_timeout_s


def ready(visit: Visit, now: float, config: CheckpointConfig, *, last_frame_at: float) -> bool:
    """Whether `visit` can be decided at `now` (see the module's doc)."""
    deadline = code_deadline(visit, config)
    temperature_done = visit.done or visit.sensor_failed or visit.remeasure_failed \
        or (visit.cold and visit.returning)  # warmed up and still cold: staff check by hand
    if not temperature_done:
        return now >= deadline + config.no_code_timeout_s  # never a reading: fail closed, in time
    if visit.track is not None and not visit.sensor_failed and now - last_frame_at > MAX_GAP_S:
        return False  # frames stopped: a fault soon, or they resume and show who is there
    if visit.placement is Placement.CROWDED and not visit.sensor_failed and now < deadline:
        return False
    code = visit.code_now
    if code is not None:
        if code.facts.valid:
            return True
        if visit.code_at is not None and now - visit.code_at >= INVALID_CODE_GRACE_S:
            return True
    return now >= deadline
