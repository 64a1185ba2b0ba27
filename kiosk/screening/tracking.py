"""Who is who from one thermal frame to the next: faces followed as tracks, and the spot.

A reading and a code may only decide the person they were taken of.  A 32×24 array cannot
recognise anybody, but it can follow a face: where it is in the view (its centre column), how
far (its width) and since when.  `Tracker.update` associates each frame's faces with the tracks
of the frame before:

* a face *continues* a track when it is the only face within the track's gate and the track is
  the only one whose gate holds the face.  The gate is what a person standing, shifting or taking
  a step can do in one frame (`LATERAL_GATE_M` sideways, a `DEPTH_GATE` share of the distance,
  and never `FACE_RISE_C` warmer: the back of a head turning away may cool, but what follows it
  warm is a face coming in — somebody else, or the same person turning back, measured anew),
  widened by the step the track made in its last frame (a walker keeps walking, then stops: up to
  `MOMENTUM_CAP` more) and scaled by the time since the track was last seen;
* a face nearer in the same line, reading alike, continues a track seen in the spot in the last
  frame (and not walking away) as a *bridge* (`Track.bridged`): a visitor asked to step closer
  steps 0.5 m in half a second, beyond any standing person's gate.  Across a bridge the person is
  the same track — they settle again as soon as they stand — but nothing taken before it counts
  for a PASS until taken again (as after a frame unseen), and the person just decided is let go;
* a track *ends* when no face has lain within its gate for `MISSES_ALLOWED` + 1 frames in a row
  (the person left the view, turned away, or moved further than a person standing does: a jump;
  one frame may be missed, as when a quick step smears a face across the array's two interleaved
  subpages — the face must then come back within one frame's gate of where it was last seen (not
  two frames' worth), reading within `FACE_GATE_C` of what it read, and not where anybody seen in
  the last frame nearly reaches — and the track is *unseen* meanwhile: nothing is taken of it, and whatever was taken
  before counts for a PASS only once taken again — see `kiosk.checkpoint.machine`), when two
  faces lie within it (a *split*: which one is the person?), when its face lies within another
  track's gate too (a *merge*: two people whose images touch; a track seen in the last frame
  keeps its face against one that was not, whose ghost it is), or when frames stopped coming
  for longer than `MAX_GAP_S`
  (nobody could see what happened meanwhile);
* every face that continues no track starts a new one.

A track is *settled* (`Track.settled`: somebody standing still, facing the kiosk) once it has stood
still over its last frames — never in the frame it is born in, and judged over up to a second, so
that a slow passer-by, who moves little per frame but keeps moving, never is.  A settled track's
gate is tight (a person standing still does not step 14 cm, nor read half a degree apart, in one
frame), and lost while still it is found again only where it stood.

Nothing is ever carried across an ambiguity: the end of a track is cheap (the person is measured
again, their phone read again), a wrong continuation is the worst failure a kiosk can have
(somebody decided on somebody else's reading).

*The spot* is where the visitor being checked stands: within `SPOT_MAX_M` of the kiosk and
within `SPOT_HALF_WIDTH_M` of its axis (a track keeps its place with a small margin, so that
measurement noise does not flicker it in and out).  The queue behind the one-metre line stands
off-axis and further back, and passers-by cross far behind: their tracks are in view but never
in the spot, so they never start, join or end a visit.  The *spot track* is the nearest track in
the spot; another track in the spot beside it (within `SIDE_BY_SIDE_M` in depth) makes the spot
*crowded*, as does a merge or split in the spot this frame, or a track in the spot beside or behind
it that went unseen this frame (hidden by whoever is in front): nothing of anybody is taken then.

Pure computation on faces and times: no clock, no I/O.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from dataclasses import dataclass, field

from kiosk.screening.face import Face

SPOT_MAX_M = 1.45  # farther than this, a person is behind the spot (the queue, passers-by)
SPOT_HALF_WIDTH_M = 0.3  # further to the side than this, a person is beside the spot (the queue)
SPOT_MARGIN = 1.1  # a track in the spot leaves it only beyond 110 % of these bounds
SIDE_BY_SIDE_M = 0.25  # a second person in the spot this close in depth stands beside the visitor
LATERAL_GATE_M = 0.15  # sideways movement of one person in one frame period
DEPTH_GATE = 0.4  # |ln(d1 / d0)| of one person in one frame period (a step toward or away)
FACE_RISE_C = 2.0  # a track's face never warms by more than this from one frame to the next
FACE_GATE_C = 1.0  # an unseen track found again reads within this of what it read (else: somebody else)
MOMENTUM_CAP = 2.0  # the last step widens the gate by at most this many times the gate itself
FRAME_S = 0.25  # the frame period the gates are given for (4 Hz); they scale with the time since last seen
SETTLED_DEPTH = 0.15  # a settled track's every step: at most this share of its distance (|ln d1/d0|) —
ENDING_STEP_DEPTH = 0.2  # — or this in the ENDING_FRAMES frames after a step closer (a frame straddling the
ENDING_FRAMES = 2  # step's end shows the face partly where it was, in one subpage: a pixel of width farther) ...
SETTLED_LATERAL_M = 0.1  # ... and this far sideways (a passer-by walks 0.3 m a frame) ...
SETTLED_FACE_C = 0.3  # ... and its face value changed by at most this (a turning head changes more)
SETTLE_FRAMES = 3  # a track is settled once seen this many frames in a row (0.5 s at 4 Hz) — or two, when
# nobody else has been in the spot since it was born — moving sideways over its last second no more than
SETTLED_NOISE_M = 0.008  # ... this (where a face's centre wanders in a still head) ...
SETTLED_SPEED_M_S = 0.06  # ... plus this much a second: a slow passer-by walks 0.11 m/s and more
WINDOW_FRAMES = 5  # the sightings its stillness is judged on (1 s at 4 Hz)
SETTLED_DRIFT = 0.15  # ... and at most this share of its distance, smoothed, toward or away over them
STILL_LATERAL_M = 0.1  # a settled person's gate: this far sideways in one frame period ...
STILL_DEPTH = 0.15  # ... this share of the distance (a still person does not step 14 cm in 0.25 s) ...
STILL_FACE_JUMP_C = 0.5  # ... and a face reading this much warmer or cooler at once is somebody else
APPROACH_DEPTH = 0.7  # a person in the spot stepping straight closer: up to this |ln d1/d0| in a frame (1 m to 0.5 m)
SMOOTHING_FRAMES = 3  # a track's distance is the median of this many sightings
MISSES_ALLOWED = 1  # frames in a row a track may go unseen before it ends
MAX_GAP_S = 0.6  # no frame for longer: every track ends (a sensor fault, a stalled loop)
FAR_M = 4.0  # faces estimated farther than this are noise or a head too small to follow


class End:
    """Why a track ended (for logs and tests)."""

    GONE = "gone"  # no face within its gate: left the view, turned away, or jumped
    SPLIT = "split"  # two faces within its gate
    MERGED = "merged"  # its face lies within another track's gate too
    LOST = "lost"  # no frames for longer than MAX_GAP_S


@dataclass(frozen=True, slots=True)
class Sighting:
    """One face in one frame, placed in the room."""

    face: Face
    at: float
    distance_m: float
    lateral_m: float  # + = to the image's right
    in_spot: bool

    @property
    def centre_col(self) -> float:
        return self.face.centre[1]


@dataclass(slots=True)
class Track:
    """One person followed through consecutive frames."""

    id: int
    born_at: float
    last: Sighting
    frames: int = 1  # frames this track has been seen in
    spot_since: float | None = None  # when it entered the spot (None: not in the spot)
    step_depth: float = 0.0  # |ln(d1/d0)| of its last frame, per frame period
    step_lateral_m: float = 0.0  # its sideways step in its last frame, per frame period
    heading: tuple[float, float] = (0.0, 0.0)  # the signs of that step (toward/away, left/right)
    step_face_c: float = 0.0  # |change| of its face value in its last frame
    misses: int = 0  # frames in a row it was not seen in (0: seen in the last frame)
    recent_m: deque[float] = field(default_factory=lambda: deque(maxlen=SMOOTHING_FRAMES))  # distances seen
    # The last SETTLE_FRAMES consecutive sightings: (sideways m, smoothed distance, that step was still).
    window: deque[tuple[float, float, bool]] = field(default_factory=lambda: deque(maxlen=WINDOW_FRAMES))
    alone: bool = True  # nobody else has been in the spot in any frame since it was born
    lost_still: bool = False  # unseen now, and settled when last seen
    bridged: bool = False  # continued in this frame through a step closer (`Tracker._approach`): taken anew
    bridged_at: float = -math.inf  # the last frame it was

    @property
    def distance_m(self) -> float:
        """Its distance, the median of its last few sightings: a face's width in pixels wanders by
        one pixel from frame to frame (which rows count as forehead), 10-15 % of the distance."""
        return statistics.median(self.recent_m) if self.recent_m else self.last.distance_m

    @property
    def in_spot(self) -> bool:
        return self.last.in_spot

    @property
    def settled(self) -> bool:
        """Somebody standing still, facing the kiosk — not walking through, not turning their head.

        Seen in each of its last `SETTLE_FRAMES` frames (two, if nobody else has been in the spot
        since it was born: a visitor standing again after a step), never only in the frame it was
        born in (a new track may be anybody: a passer-by whose image just parted from the visitor's);
        every step of its last second hardly moving and reading alike, and in all no further sideways
        than a still head wanders plus `SETTLED_SPEED_M_S` (a slow passer-by moves little per frame,
        but keeps moving), nor `SETTLED_DRIFT` in depth; and alike in both subpages of the last frame
        (`Face.steady`: still while the frame was read)."""
        if self.misses or not self.last.face.steady:
            return False
        w = list(self.window)
        moved = [i for i, (_, _, still) in enumerate(w) if not still]
        w = w[moved[-1]:] if moved else w  # where its last step that was not still ended, and since
        if len(w) < (2 if self.alone else SETTLE_FRAMES):
            return False
        laterals = [lat for lat, _, _ in w]
        depths = [d for _, d, _ in (w[1:] if moved else w)]  # smoothed: those before it stopped lag behind
        spread = SETTLED_NOISE_M + SETTLED_SPEED_M_S * FRAME_S * (len(w) - 1)
        return max(laterals) - min(laterals) <= spread and abs(math.log(depths[-1] / depths[0])) <= SETTLED_DRIFT

    @property
    def seen(self) -> bool:
        """Seen in the last frame (an unseen track is kept for a frame, but nothing is taken of it)."""
        return self.misses == 0


def same_place(last: Sighting, s: Sighting) -> bool:
    """`s` is where somebody standing still, last seen as `last`, still is (up to two frame periods
    later): the face there may have changed (a turned head, a hand on the forehead), the place not."""
    periods = min(2.0, max(1.0, (s.at - last.at) / FRAME_S))
    return abs(s.lateral_m - last.lateral_m) <= STILL_LATERAL_M * periods \
        and abs(math.log(s.distance_m / last.distance_m)) <= STILL_DEPTH * periods


@dataclass(frozen=True, slots=True)
class TrackedFrame:
    """What one frame showed: the live tracks, the spot, and the tracks that ended with it."""

    at: float
    tracks: tuple[Track, ...] = ()
    spot: int | None = None  # the nearest track in the spot
    crowded: bool = False  # somebody beside the spot track, or a merge/split in the spot
    ended: dict[int, str] = field(default_factory=dict)  # track id -> End reason

    def track(self, track_id: int | None) -> Track | None:
        return next((t for t in self.tracks if t.id == track_id), None)

    def in_spot(self) -> list[Track]:
        return [t for t in self.tracks if t.in_spot]


class Tracker:
    """Follows faces from frame to frame (see the module's doc); `update` once per frame."""

    def __init__(self, pixel_rad: float) -> None:
        self._pixel_rad = pixel_rad
        self._tracks: list[Track] = []
        self._next_id = 1
        self._last_at: float | None = None

    @property
    def tracks(self) -> tuple[Track, ...]:
        return tuple(self._tracks)

    def reset(self) -> TrackedFrame:
        """Forget everybody (the sensor was away): every track ends as lost."""
        ended = {t.id: End.LOST for t in self._tracks}
        self._tracks = []
        self._last_at = None
        return TrackedFrame(at=0.0, ended=ended)

    def sighting(self, face: Face, at: float, was_in_spot: bool = False) -> Sighting:
        lateral = face.lateral_m(self._pixel_rad)
        margin = SPOT_MARGIN if was_in_spot else 1.0
        in_spot = face.distance_m <= SPOT_MAX_M * margin and abs(lateral) <= SPOT_HALF_WIDTH_M * margin
        return Sighting(face, at, face.distance_m, lateral, in_spot)

    @staticmethod
    def _steps(track: Track, s: Sighting) -> tuple[float, float, float]:
        """(periods since last seen, |ln d1/d0|, sideways metres) from the track's last sighting to `s`."""
        periods = max(1.0, (s.at - track.last.at) / FRAME_S)
        return periods, abs(math.log(s.distance_m / track.last.distance_m)), abs(s.lateral_m - track.last.lateral_m)

    def _gated(self, track: Track, s: Sighting, scale: float = 1.0, *, reach: bool = False) -> bool:
        """Whether `s` lies within `track`'s gate (`reach`: within what the person could do, still
        or not — who could have come there — rather than what they are taken to have done): what
        a person standing or walking does in a frame (`_within`), or a step straight closer
        (`_approach`)."""
        return self._within(track, s, scale, reach=reach) or self._approach(track, s, scale)

    def _within(self, track: Track, s: Sighting, scale: float = 1.0, *, reach: bool = False) -> bool:
        """What a person standing, shifting or walking on does in one frame (see the module's doc)."""
        if not track.seen and abs(s.face.face_c - track.last.face.face_c) > FACE_GATE_C * scale:
            return False  # lost for a frame and back reading degrees apart: somebody else
        if s.face.face_c - track.last.face.face_c > FACE_RISE_C * scale:
            return False  # a cool head (turned away, hair) does not become a warm face: somebody else
        periods, depth, lateral = self._steps(track, s)
        periods *= scale
        if not track.seen and track.lost_still and not reach:
            # Standing still when lost (turned away, hidden): found again only where they stood —
            # whoever comes near meanwhile is somebody stepping in.
            return abs(s.face.face_c - track.last.face.face_c) <= FACE_GATE_C * scale and same_place(track.last, s)
        if track.settled and track.seen and not reach:
            # Somebody standing still does not move 14 cm in depth, nor read half a degree apart, in
            # one frame: whoever does is somebody else (the visitor turned away as the next stepped in).
            if abs(s.face.face_c - track.last.face.face_c) > STILL_FACE_JUMP_C * scale:
                return False
            return depth <= STILL_DEPTH * periods and lateral <= STILL_LATERAL_M * periods
        # A walker keeps walking the way they walked: the last step widens the gate that way only
        # (somebody walking away does not come back nearer within a frame: that is somebody else).
        way = (math.copysign(1.0, math.log(s.distance_m / track.last.distance_m)),
               math.copysign(1.0, s.lateral_m - track.last.lateral_m))
        depth_gate = DEPTH_GATE + (min(track.step_depth, MOMENTUM_CAP * DEPTH_GATE)
                                   if way[0] == track.heading[0] else 0.0)
        lateral_gate = LATERAL_GATE_M + (min(track.step_lateral_m, MOMENTUM_CAP * LATERAL_GATE_M)
                                         if way[1] == track.heading[1] else 0.0)
        if not track.seen:
            # Unseen in the last frame: found again only within one frame's gate of where it was last
            # seen — a smeared frame bridged, never a leap to whoever comes near meanwhile.
            periods = scale
        return depth <= depth_gate * periods and lateral <= lateral_gate * periods

    def _approach(self, track: Track, s: Sighting, scale: float = 1.0) -> bool:
        """`s` is `track`, seen in the spot in the last frame, stepping straight closer — as the screen
        asks a visitor who stands too far: nearer by up to `APPROACH_DEPTH`, in the same line
        (`STILL_LATERAL_M`), reading alike (`STILL_FACE_JUMP_C`).  A step that fast leaves the usual
        gates (a settled person's is tight), and ending the track there would make the visitor settle
        from nothing after it.  Continued only as a *bridge* (`Track.bridged`): whatever was taken
        of it before counts for a PASS only once taken again, as after a frame it went unseen in."""
        if not track.seen or not track.in_spot or s.distance_m >= track.last.distance_m:
            return False
        if not track.settled and track.heading[0] > 0 and track.step_depth > STILL_DEPTH:
            return False  # walking away: a face nearer a frame later is the next one stepping in
        periods, depth, lateral = self._steps(track, s)
        periods *= scale
        return depth <= APPROACH_DEPTH * periods and lateral <= STILL_LATERAL_M * periods \
            and abs(s.face.face_c - track.last.face.face_c) <= STILL_FACE_JUMP_C * scale

    def update(self, faces: list[Face], at: float) -> TrackedFrame:
        """Associate this frame's faces (taken at `at`) with the tracks; see the module's doc."""
        ended: dict[int, str] = {}
        if self._last_at is not None and at - self._last_at > MAX_GAP_S:
            ended.update(self.reset().ended)
        self._last_at = at
        faces = [f for f in faces if f.distance_m <= FAR_M]
        plain = [self.sighting(f, at) for f in faces]
        claims: dict[int, list[int]] = {t.id: [i for i, s in enumerate(plain) if self._gated(t, s)]
                                        for t in self._tracks}
        claimants: dict[int, list[int]] = {i: [tid for tid, got in claims.items() if i in got]
                                           for i in range(len(plain))}
        seen = {t.id for t in self._tracks if t.seen}
        for track in self._tracks:
            if track.id not in seen:
                # An unseen track is found again only where nobody seen in the last frame could
                # have come to: a face another person's track nearly reaches is not given to it.
                claims[track.id] = [i for i in claims[track.id]
                                    if not any(self._gated(t, plain[i], scale=2.0, reach=True) for t in self._tracks
                                               if t.id in seen and t.id != track.id)]
        claimants = {i: [tid for tid, got in claims.items() if i in got] for i in range(len(plain))}
        for i, tids in claimants.items():
            # A track seen in the last frame keeps its face against one that was not (a smeared
            # step leaves ghosts behind); two tracks both seen, or both unseen, make a merge.
            sure = [tid for tid in tids if tid in seen and claims[tid] == [i]]
            if len(tids) > 1 and len(sure) == 1 and all(tid not in seen for tid in tids if tid != sure[0]):
                for tid in tids:
                    if tid != sure[0]:
                        claims[tid] = [j for j in claims[tid] if j != i]
                claimants[i] = sure
        live: list[Track] = []
        used: set[int] = set()
        crowded = False
        for track in self._tracks:
            got = claims[track.id]
            if len(got) == 1 and claimants[got[0]] == [track.id]:
                i = got[0]
                used.add(i)
                s = self.sighting(faces[i], at, was_in_spot=track.in_spot)
                track.bridged = not self._within(track, s)  # (judged on the track as it stood)
                periods, depth, lateral = self._steps(track, s)
                track.step_depth, track.step_lateral_m = depth / periods, lateral / periods
                track.heading = (math.copysign(1.0, math.log(s.distance_m / track.last.distance_m)),
                                 math.copysign(1.0, s.lateral_m - track.last.lateral_m))
                track.step_face_c = abs(s.face.face_c - track.last.face.face_c)
                if track.bridged:
                    track.bridged_at = at
                ending = at - track.bridged_at <= (ENDING_FRAMES + 0.5) * FRAME_S  # straddling a step's end
                still = track.step_depth <= (ENDING_STEP_DEPTH if ending else SETTLED_DEPTH) \
                    and track.step_lateral_m <= SETTLED_LATERAL_M and track.step_face_c <= SETTLED_FACE_C \
                    and not track.bridged
                if track.misses:
                    track.window.clear()  # unseen meanwhile: nobody knows what it did, it settles anew
                    track.lost_still = False
                track.last = s
                track.recent_m.append(s.distance_m)
                track.window.append((s.lateral_m, track.distance_m, still))
                track.misses = 0
                track.frames += 1
                track.spot_since = (track.spot_since or at) if s.in_spot else None
                live.append(track)
                continue
            if not got and track.misses < MISSES_ALLOWED:
                track.lost_still = track.lost_still or track.settled
                track.misses += 1  # not seen in this frame: kept for one more (a smeared step)
                track.bridged = False
                live.append(track)
                continue
            reason = End.GONE if not got else End.SPLIT if len(got) > 1 else End.MERGED
            ended[track.id] = reason
            if reason != End.GONE and (track.in_spot or any(plain[i].in_spot for i in got)):
                crowded = True  # two people's images touch in the spot: nothing is taken of either
        for i, s in enumerate(plain):
            if i in used:
                continue
            if len(claimants[i]) > 1 and s.in_spot:
                crowded = True
            track = Track(self._next_id, at, s, spot_since=at if s.in_spot else None,
                          recent_m=deque([s.distance_m], maxlen=SMOOTHING_FRAMES))
            track.window.append((s.lateral_m, s.distance_m, False))  # a first sighting: no step seen yet
            live.append(track)
            self._next_id += 1
        self._tracks = live
        in_spot = [t for t in live if t.in_spot]
        for t in in_spot:
            if crowded or len(in_spot) > 1:
                t.alone = False
        spot_tracks = sorted((t for t in live if t.in_spot and t.seen), key=lambda t: t.last.distance_m)
        spot = spot_tracks[0] if spot_tracks else None
        if spot is not None and any(t.last.distance_m < spot.last.distance_m + SIDE_BY_SIDE_M for t in spot_tracks[1:]):
            crowded = True
        behind = spot.last.distance_m - SIDE_BY_SIDE_M if spot is not None else math.inf
        if any(t.in_spot and not t.seen and t.last.distance_m > behind for t in live):
            # Somebody in the spot beside or behind the spot track went unseen this frame (hidden
            # behind whoever is in front, turned away): still present, and nobody can tell whose
            # phone or face is whose.  (Unseen in front of it, they stepped away: nobody hides them.)
            crowded = True
        return TrackedFrame(at, tuple(live), spot.id if spot else None, crowded, ended)
