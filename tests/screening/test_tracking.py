"""The tracker on its own: who is who from frame to frame, and who stands in the spot (issue 12).

Faces are placed in the room by distance and sideways offset (as the scene renders people), and
the tracker is fed them frame by frame; a few tests run `find_faces` on rendered images, where two
heads touch.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from drivers.mlx90640.scene import Person, render_people
from kiosk.screening import End, Face, Tracker, find_faces
from kiosk.screening.face import FACE_WIDTH_M, distance_for_width, label_regions
from kiosk.screening.tracking import MAX_GAP_S, SPOT_HALF_WIDTH_M

PIXEL = math.radians(55.0) / 32
DT = 0.25


def face(distance_m: float, lateral_m: float = 0.0, face_c: float = 36.5, *, pixels: int = 60,
         moving: bool = False) -> Face:
    """A face as `find_faces` reports it, for a person `distance_m` away and `lateral_m` to the side;
    `moving`: smeared across the array's two subpages, as anybody walking is."""
    width = 2 * math.atan(FACE_WIDTH_M / 2 / distance_m) / PIXEL
    col = math.atan2(lateral_m, distance_m) / PIXEL + 16 - 0.5
    assert distance_for_width(width, PIXEL) == pytest.approx(distance_m)
    return Face(pixels, width, face_c, distance_m, ((11, round(col)),), 8, (int(col - width / 2), int(col + width / 2)),
                (11.0, col), balance=0.5 if moving else 1.0, parity_shift=3.0 if moving else 0.0)


class Line:
    """A tracker fed a frame every `DT`."""

    def __init__(self) -> None:
        self.tracker = Tracker(PIXEL)
        self.t = 100.0

    def frame(self, *faces: Face):  # type: ignore[no-untyped-def]
        self.t += DT
        return self.tracker.update(list(faces), self.t)


def test_a_person_standing_still_is_one_track_in_the_spot_and_settles() -> None:
    line = Line()
    walking = line.frame(face(0.8, moving=True))
    (track,) = walking.tracks
    assert walking.spot == track.id and track.in_spot and not track.settled  # smeared: walking in
    first = line.frame(face(0.5))
    assert first.tracks == (track,) and track.bridged  # the walker, stepping straight closer: bridged
    assert not track.settled  # ... and settling anew from where the step ended
    assert line.frame(face(0.5)).track(track.id).settled  # seen twice alike since, nobody else: standing still
    assert not line.frame(face(0.5)).track(track.id).bridged
    for _ in range(5):
        now = line.frame(face(0.5 + 0.01, 0.005, 36.55))
    assert now.spot == track.id and now.track(track.id).settled and not now.crowded and not now.ended


def test_the_queue_off_axis_and_passers_behind_are_tracked_never_in_the_spot() -> None:
    line = Line()
    for i in range(6):
        frame = line.frame(face(1.4, -1.4 * math.tan(math.radians(21))),  # waiting at the line, 1.4 m away
                           face(2.3, -1.5 + 0.3 * i, moving=True),  # crossing 2.3 m away at 1.2 m/s
                           face(1.0, -0.5 + 0.3 * i, pixels=40, moving=True))  # crossing 1 m away, through the spot
        assert all(not t.settled or not t.in_spot for t in frame.tracks)
        assert frame.spot is None or not frame.track(frame.spot).settled
    assert 1.4 * math.tan(math.radians(21)) > SPOT_HALF_WIDTH_M


def test_a_leap_ends_the_track_and_the_face_starts_a_new_one() -> None:
    line = Line()
    (a,) = line.frame(face(0.5)).tracks
    line.frame(face(0.5))
    after = line.frame(face(1.2, 0.4))  # nobody moves 0.7 m back and 0.4 m aside in a quarter second
    (b,) = [t for t in after.tracks if t.seen]
    assert b.id != a.id
    gone = line.frame(face(1.2, 0.4))
    assert gone.ended == {a.id: End.GONE}


def test_a_split_and_a_merge_end_the_tracks_and_crowd_the_spot() -> None:
    line = Line()
    (a,) = line.frame(face(0.6)).tracks
    split = line.frame(face(0.62, -0.05), face(0.58, 0.06))  # one region becomes two people
    assert split.ended == {a.id: End.SPLIT} and split.crowded
    merged = line.frame(face(0.6))  # and two become one region
    assert set(merged.ended.values()) == {End.MERGED} and len(merged.ended) == 2 and merged.crowded


def test_side_by_side_in_the_spot_is_crowded_a_companion_behind_is_not() -> None:
    line = Line()
    line.frame(face(0.55, -0.12), face(0.6, 0.15))
    assert line.frame(face(0.55, -0.12), face(0.6, 0.15)).crowded
    line = Line()
    line.frame(face(0.5), face(1.1, 0.25))
    behind = line.frame(face(0.5), face(1.1, 0.25))
    assert not behind.crowded and behind.track(behind.spot).last.distance_m == pytest.approx(0.5)


def test_one_unseen_frame_is_bridged_only_where_the_person_was() -> None:
    line = Line()
    (a,) = line.frame(face(0.5)).tracks
    line.frame(face(0.5))
    smeared = line.frame()  # a quick step smears the face: nothing found this frame
    assert smeared.track(a.id) is not None and not smeared.track(a.id).seen and smeared.spot is None
    back = line.frame(face(0.52))
    assert back.track(a.id) is not None and back.track(a.id).seen
    # unseen, then a face reading degrees apart where they stood: somebody else
    line.frame()
    other = line.frame(face(0.52, face_c=38.9))
    assert other.track(a.id) is None and other.ended == {a.id: End.GONE}


def test_a_track_is_never_settled_in_the_frame_it_is_born_in() -> None:
    """A quick step smears a face out of one frame; the face standing again is a new track, which
    may be anybody (a passer-by whose image just parted from the visitor's): settled at the
    earliest in its second frame, and only when nobody else has been in the spot since it was born."""
    line = Line()
    line.frame(face(1.1))
    line.frame(face(1.1))
    line.frame()  # smeared by the step closer
    line.frame()  # ... the old track ends
    (again,) = [t for t in line.frame(face(0.5)).tracks if t.seen]
    assert not again.settled and again.frames == 1
    assert line.frame(face(0.5)).track(again.id).settled  # alone since it was born, and still


def test_a_slow_passer_by_never_settles() -> None:
    """Someone crossing the spot at 0.11 m/s moves under 3 cm a frame — less than a step — but keeps
    moving: over the last second they moved too far to be standing (issue 12, F1)."""
    line = Line()
    for i in range(16):
        now = line.frame(face(0.5, -0.3 + 0.11 * DT * i))
        assert all(not t.settled for t in now.tracks), i


def test_an_unseen_track_behind_the_spot_track_crowds_the_spot() -> None:
    """A (1.2 m) is hidden for a frame by somebody nearer (0.7 m): nobody can tell whose phone is up."""
    line = Line()
    for _ in range(4):
        line.frame(face(1.2, 0.05))
    line.frame(face(1.2, 0.05), face(0.7, -0.2))
    hidden = line.frame(face(0.7, -0.19))
    assert hidden.crowded and hidden.spot is not None


def test_a_still_track_is_not_continued_by_a_face_a_still_person_cannot_become() -> None:
    """A settled visitor's track does not take a face 14 cm further, nor aside, nor half a degree
    warmer, one frame later: that is somebody else stepping in as the visitor turns away (issue 12,
    F3).  A face nearer in the same line is the visitor stepping closer — or somebody stepping in
    front: it is continued only as a bridge (nothing taken before counts for a PASS)."""
    for moved in (face(0.5 * math.exp(0.3)), face(0.5, 0.15), face(0.5, face_c=37.1), face(0.5 * math.exp(-0.3))):
        line = Line()
        for _ in range(4):
            (a,) = line.frame(face(0.5)).tracks
        assert a.settled
        after = line.frame(moved)
        assert after.track(a.id) is None or not after.track(a.id).seen or after.track(a.id).bridged
        assert (after.track(a.id) is not None and after.track(a.id).bridged) == (moved.distance_m < 0.45)


def test_a_cool_head_never_becomes_a_warm_face() -> None:
    """The back of a head turning away (hair, 32 °C in a warm room) is tracked; the warm face that
    comes where it was is somebody else's track."""
    line = Line()
    (a,) = line.frame(face(0.9, face_c=36.8)).tracks
    assert line.frame(face(1.0, face_c=32.0)).track(a.id) is not None  # turned away: cooler, the same track
    after = line.frame(face(0.9, face_c=36.4))
    (b,) = [t for t in after.tracks if t.seen]
    assert b.id != a.id and not after.track(a.id).seen  # a: unseen (then gone); the face is b's


def test_an_unseen_track_is_not_given_a_face_somebody_seen_nearly_reaches() -> None:
    """B turns away (unseen) as C walks in from the queue: the face where B stood is C's, not B's."""
    line = Line()
    (b,) = line.frame(face(0.6)).tracks
    line.frame(face(0.6), face(1.35, -0.42))
    c = next(t for t in line.frame(face(1.34, -0.42)).tracks if t.id != b.id)  # B's face gone: turned away
    swap = line.frame(face(0.74, -0.14))  # C's face, beyond C's own gate, within B's
    assert swap.ended.get(b.id) == End.GONE
    (new,) = [t for t in swap.tracks if t.seen]
    assert new.id not in (b.id, c.id)


def test_frames_that_stop_coming_end_every_track() -> None:
    line = Line()
    line.frame(face(0.5), face(1.5, -0.6))
    line.t += MAX_GAP_S + 0.1
    later = line.frame(face(0.5))
    assert set(later.ended.values()) == {End.LOST} and len(later.ended) == 2


def test_a_febrile_head_in_the_queue_touching_the_visitor_is_never_part_of_their_face() -> None:
    """Rendered: the visitor at 0.3 m, a febrile head 1.4 m away whose image touches theirs (one warm
    region): split at the pass between the two foreheads."""
    room = 21.0
    pixels = render_people([Person(0.3, 36.4), Person(1.4, 39.5, x_m=-0.48)], room)
    assert label_regions((pixels >= 30.0) & (pixels >= room + 3.0))[1] == 1
    faces = find_faces(pixels, room, PIXEL)
    near = min(faces, key=lambda f: f.distance_m)
    assert len(faces) == 2 and near.face_c < 37.0 and near.distance_m == pytest.approx(0.3, rel=0.15)


def test_the_width_is_read_against_each_pixels_own_background() -> None:
    """A stale background (warm where a previous visitor stood) does not change a head's width."""
    room = 21.0
    pixels = render_people([Person(0.78, 38.2)], room)
    stale = pixels * 0 + room
    stale[5:14, 12:20] += 3.0  # clothing and hair of somebody before, learnt into the room
    plain = find_faces(pixels, room, PIXEL)[0].width_px
    assert find_faces(pixels, stale, PIXEL)[0].width_px == pytest.approx(plain, abs=0.3)


def test_a_walker_going_away_is_not_continued_by_a_face_coming_nearer() -> None:
    """S4: the leaver walks off back along the queue as the next one steps in from it: the last step
    widens a track's gate only the way it was going — a face nearer, where somebody walking away
    could not be a frame later, is somebody else."""
    line = Line()
    (a,) = line.frame(face(0.6, moving=True)).tracks
    assert line.frame(face(0.6 * math.exp(0.35), moving=True)).track(a.id).seen  # walking away
    assert line.frame(face(0.6 * math.exp(0.7), moving=True)).track(a.id).seen  # and on
    coming = line.frame(face(0.6 * math.exp(0.7 - 0.47), moving=True))  # a face nearer again: the next visitor
    assert coming.track(a.id) is None or not coming.track(a.id).seen


@pytest.mark.parametrize(("before", "after"), [(1.2, 0.9), (0.9, 0.6), (0.7, 0.52), (1.0, 0.55), (1.2, 0.56)])
def test_a_face_moving_while_the_frame_was_read_is_found_not_taken_for_a_body(before: float, after: float) -> None:
    """Stepping closer smears a face across the two subpages (one shows it where it was, the other
    where it is): its outline leaves cool flecks above it in one subpage only.  The face under them
    is a face, never the "body" of a fleck (a body is never warmer than the face it hangs from)."""
    room = 24.0
    was, now = render_people([Person(before, 36.7)], room), render_people([Person(after, 36.7)], room)
    rows, cols = np.indices(was.shape)
    faces = find_faces(np.where((rows + cols) % 2 == 0, was, now), room, PIXEL)
    assert faces and faces[0].face_c == pytest.approx(36.7, abs=0.1)
    assert after * 0.9 <= faces[0].distance_m <= before * 1.1
    clothed = render_people([Person(0.6, 36.7, clothing_above_ambient_c=9.0)], 28.0)
    assert len(find_faces(clothed, 28.0, PIXEL)) == 1  # warm clothes under a face: still its body


def test_a_visitor_stepping_closer_is_one_track_and_settles_as_soon_as_they_stand() -> None:
    """Standing too far, asked to step closer: the step (smeared, then a leap in depth no standing
    person makes in a frame) is bridged, one track throughout, settled on the first frame they
    stand still again — what lets the kiosk decide them at once instead of a second later."""
    line = Line()
    for _ in range(4):
        (a,) = line.frame(face(1.2)).tracks
    assert a.settled
    assert line.frame(face(1.03, moving=True)).tracks == (a,) and a.bridged  # smeared: beyond a still gate
    assert line.frame(face(0.6)).tracks == (a,) and not a.settled
    stood = line.frame(face(0.53))
    assert stood.tracks == (a,) and stood.spot == a.id and a.settled and not a.bridged and not stood.ended


def test_a_neck_warmer_than_a_cold_forehead_under_a_mask_is_still_that_persons_body() -> None:
    """Masks are worn: a forehead just in from the cold (34 °C) over a mask, and a neck kept warm by a
    collar (35 °C) under it — one person (the forehead as wide as a head is no fleck), not two."""
    room = 20.0
    pixels = np.full((24, 32), room)
    pixels[6:10, 11:21] = 34.0  # forehead and eyes
    pixels[10:14, 11:21] = 26.0  # the mask
    pixels[14:18, 13:19] = 35.0  # the neck
    faces = find_faces(pixels, room, PIXEL)
    assert len(faces) == 1 and faces[0].face_c == pytest.approx(34.0)



@pytest.mark.parametrize("step", [0.16, 0.18, 0.2])
def test_a_bridged_frame_is_never_a_still_one(step: float) -> None:
    """A settled person's face a little more than a still gate nearer (a bridge): not settled in that
    frame — nothing (a one-frame look) is taken of a frame that may show somebody else."""
    line = Line()
    for _ in range(6):
        (a,) = line.frame(face(0.7)).tracks
    after = line.frame(face(0.7 * math.exp(-step))).track(a.id)
    assert after is not None and after.bridged and not after.settled


@pytest.mark.parametrize("bridged_before", [True, False])
def test_the_frame_after_a_step_closer_may_show_its_smeared_end(bridged_before: bool) -> None:
    """A frame straddling the end of a step closer shows the face partly where it was: the step from
    it into the first still frame may read up to 20 % — but only right after a bridge (a walker's
    17 % step is no standing still)."""
    line = Line()
    if bridged_before:
        for _ in range(4):
            (a,) = line.frame(face(1.2)).tracks
        assert line.frame(face(0.75, moving=True)).tracks == (a,) and a.bridged
    else:
        (a,) = line.frame(face(0.75, moving=True)).tracks
    stood = line.frame(face(0.75 * math.exp(-0.17)))
    assert stood.tracks == (a,) and not a.bridged and a.settled is bridged_before
