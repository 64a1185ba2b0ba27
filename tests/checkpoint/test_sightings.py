"""Sightings: the same code over many frames is one visitor; two codes within the hold time are several."""

from __future__ import annotations

import pytest

from kiosk.checkpoint.sightings import CodesInView


def test_the_same_code_read_on_many_frames_is_one_sighting() -> None:
    view = CodesInView(hold_s=1.0)
    first = view.update(["A"], 0.0)
    assert first.new == ("A",) and first.one == "A" and not first.several
    for k in range(1, 20):
        s = view.update(["A"] if k % 3 else [], k * 0.125)  # read on two frames out of three
        assert s.new == () and s.in_view == ("A",)


def test_a_code_back_after_the_hold_time_is_a_new_sighting() -> None:
    view = CodesInView(hold_s=1.0)
    view.update(["A"], 0.0)
    assert view.update([], 0.9).in_view == ("A",)
    assert view.update([], 1.1).in_view == ()
    assert view.update(["A"], 1.2).new == ("A",)


def test_two_codes_on_different_frames_are_both_in_view() -> None:
    """Neither frame read both phones, yet two are shown: an error to explain, no decision."""
    view = CodesInView(hold_s=1.0)
    assert view.update(["A"], 0.0).one == "A"
    s = view.update(["B"], 0.125)
    assert s.several and s.in_view == ("A", "B") and s.new == ("B",) and s.one is None
    assert view.update(["B"], 1.5).in_view == ("B",)  # A went away


def test_a_code_twice_in_one_frame_is_one_code() -> None:
    s = CodesInView().update(["A", "A"], 0.0)
    assert s.in_view == ("A",) and not s.several


def test_clear_forgets_and_bad_hold_is_refused() -> None:
    view = CodesInView()
    view.update(["A"], 0.0)
    view.clear()
    assert view.update(["A"], 0.1).new == ("A",)
    with pytest.raises(ValueError):
        CodesInView(hold_s=-1)
