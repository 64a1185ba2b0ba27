"""The person just decided (or sent back to warm up), known while they linger in the spot.

They are not a new visitor while they stand there reading their result, phone still up: the
checkpoint must not start a visit for them and re-read their code (a `code_replayed` STOP for the
person who just passed).  They are known by their thermal track — never by their code alone: a
screenshot handed back along the queue shows the same one — and, when that track is lost for a
frame or two (a smeared step, a turned head), by the track born where they were last seen
(`heir`).  Found again somewhere else after being lost, or continued only as a step a body's depth
straight closer (`Track.bridged`: somebody in front of them), or followed by a warm face where a
cool head was, the track may be the next visitor stepping in: it is nobody decided any more.

Pure logic on tracked frames, like the machine that holds it.
"""

from __future__ import annotations

import math

from kiosk.screening import FACE_GATE_C, FRAME_S, SIDE_BY_SIDE_M, Sighting, Track, TrackedFrame, same_place

IN_FRONT_WIDER_PX = 2.0  # somebody stepping in front of the person decided: a face this much wider (beyond
# the pixel a face's width wanders by) and `SIDE_BY_SIDE_M` nearer, in their line
OTHER_CODE_READS = 2  # a code not the decided person's, read this often, lets a lost-and-found track go ...
OTHER_FACE_C = 0.3  # ... whose face reads this far from the one decided (a still face wanders by a tenth)
NOT_ABOUT_THE_PERSON = frozenset({"sensor_fault", "clock_unsynced"})  # reasons a let-go visit does not inherit
HEIR_WITHIN_S = 0.55  # a track born where the one followed was seen at most this long before (two frames) is them


def heir(tracked: TrackedFrame, last: Sighting | None, *, warmer_max: float = math.inf) -> Track | None:
    """The one track born where `last` (the person followed, now lost) was seen, since then and within
    `HEIR_WITHIN_S` of it, and standing there now (None: none, or more than one), reading at most
    `warmer_max` warmer.  (A visit goes on in a new stretch whatever its heir reads: a fever shown
    before still stops it.  The person just decided is followed only by a face no more than
    `FACE_GATE_C` warmer: a head turning away cools, but a warm face where a cool head was is the
    next visitor stepping in as the last one walks off — or the same person turning back, measured
    anew.)"""
    if last is None or tracked.at - last.at > HEIR_WITHIN_S:
        return None
    born = [t for t in tracked.tracks if t.seen and t.in_spot and last.at < t.born_at <= last.at + HEIR_WITHIN_S
            and same_place(last, t.last) and t.last.face.face_c - last.face.face_c <= warmer_max]
    return born[0] if len(born) == 1 else None


class Decided:
    """Who was decided last, while they are still in the spot (see the module's doc)."""

    def __init__(self) -> None:
        self.track: int | None = None  # their track, while they are in the spot
        self.person: str | None = None  # the person key of the code they showed
        self.last: Sighting | None = None  # where they were last seen
        self.at = -1e9  # when they were decided
        self.stopped: tuple[str, ...] = ()  # the reasons they were stopped for (none: passed, or sent back)
        self.lost = False  # lost from sight since (unseen, or followed by an heir): who it is is less sure
        self._others: dict[str, int] = {}  # since then: reads of codes not theirs, by holder

    def set(self, track: int | None, person: str | None, last: Sighting | None, at: float | None = None,
            stopped: tuple[str, ...] = ()) -> None:
        self.track, self.person, self.last, self.stopped = track, person, last, stopped
        self.face_c = last.face.face_c if last is not None else math.nan  # their face as decided
        self.lost, self._others = False, {}
        if at is not None:
            self.at = at

    def code_read(self, person: str) -> tuple[str, ...] | None:
        """A code of `person` was read (alone in view) while the track followed stands in the spot.

        None: they are still the person decided.  Their own phone says the track is them; somebody
        else's, while they were followed without a break, is held over their shoulder (one at a time).

        Otherwise they are let go — the next visitor, taken for them as the two swapped places, to be
        measured in a new visit — when three things say so: the track was lost from sight since the
        decision, the face there now reads `OTHER_FACE_C` apart from the one decided (another body),
        and a code not theirs keeps being shown (read twice, theirs not read since).  The reasons
        returned are what that visit inherits: those the decided person was stopped for (none after a
        PASS), since it may be them after all — a staff check, never a PASS on somebody else's code."""
        if person == self.person:
            self.lost, self._others = False, {}
            return None
        if not self.lost or self.last is None or abs(self.last.face.face_c - self.face_c) < OTHER_FACE_C:
            return None
        self._others[person] = self._others.get(person, 0) + 1
        if self._others[person] < OTHER_CODE_READS:
            return None
        stopped = tuple(r for r in self.stopped if r not in NOT_ABOUT_THE_PERSON)
        self.set(None, None, None)
        return stopped

    def follow(self, tracked: TrackedFrame) -> None:
        """Keep them known in this frame (their track, or its heir), or let them go."""
        if self.track is None and self.last is None:
            return
        done = tracked.track(self.track) if self.track is not None else None
        last = self.last
        if done is not None and done.seen and last is not None and done.last.at - last.at > 1.5 * FRAME_S \
                and not same_place(last, done.last):
            self.track = self.last = None  # lost for a frame and found again elsewhere: maybe the next visitor
            return
        if done is not None and done.bridged and last is not None \
                and last.distance_m - done.last.distance_m >= SIDE_BY_SIDE_M \
                and done.last.face.width_px - last.face.width_px >= IN_FRONT_WIDER_PX:
            # A body's depth nearer, in their line: somebody stepping in front of them (nobody decided
            # is asked to step closer; a smaller step is them leaning in, or finishing their step; a
            # face a pixel wider far off is the width of a few pixels wandering).
            self.track = self.last = None
            return
        if done is None or not done.seen:
            self.lost, self._others = True, {}
            done = heir(tracked, last, warmer_max=FACE_GATE_C) or done
        if done is None or not done.in_spot:
            self.track = None  # the decided visitor has gone: whoever steps up next is new
            if done is not None or last is None or tracked.at - last.at > HEIR_WITHIN_S:
                self.last = None  # ... out of the spot, or unseen too long to be found again
            return
        self.track = done.id
        if done.seen:
            self.last = done.last
