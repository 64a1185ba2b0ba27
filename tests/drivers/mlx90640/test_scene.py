"""Rendering people: geometry the screening can rely on, occlusion, anti-aliasing."""

from __future__ import annotations

import math

import numpy as np
import pytest

from drivers.mlx90640.emulator import Scene
from drivers.mlx90640.scene import (
    FACE_WIDTH_M,
    PIXEL_ANGLE_H_DEG,
    PeopleScene,
    Person,
    pixels_per_metre_at,
    render_people,
)


def test_geometry_constants() -> None:
    assert math.isclose(PIXEL_ANGLE_H_DEG, 55.0 / 32)
    assert pixels_per_metre_at(1.0) == pytest.approx(1 / (2 * math.tan(math.radians(55 / 64))))
    assert pixels_per_metre_at(2.0) == pytest.approx(pixels_per_metre_at(1.0) / 2)
    assert FACE_WIDTH_M * pixels_per_metre_at(1.2) == pytest.approx(4.44, abs=0.01)


@pytest.mark.parametrize("distance", [0.5, 0.8, 1.2])
def test_rendered_face_width_matches_pixels_per_metre(distance: float) -> None:
    person = Person(distance, 36.5, hair=False, clothing_above_ambient_c=0.0)  # only skin is warm
    image = render_people([person], 24.0, supersample=8)
    coverage = np.clip((image - 24.0) / (35.3 - 24.0), 0, 1).sum(axis=1)  # partial pixels count partly
    assert coverage.max() == pytest.approx(FACE_WIDTH_M * pixels_per_metre_at(distance), rel=0.05)


def test_forehead_covers_at_least_three_full_pixels_at_1_2_m_wherever_it_falls() -> None:
    for dx in np.linspace(0, 0.04, 9):  # one pixel spans 3.6 cm at 1.2 m
        for dy in np.linspace(0, 0.03, 7):
            image = render_people([Person(1.2, 38.4, x_m=dx, y_m=dy)], 24.0)
            assert (image == 38.4).sum() >= 3, (dx, dy)


def test_layout_background_head_torso_row_0_on_top() -> None:
    image = render_people([Person(0.7, 37.0)], 22.0)
    assert image[0, 0] == 22.0 and image[0, 31] == 22.0
    hot_rows = np.flatnonzero((image == 37.0).any(axis=1))
    clothing_rows = np.flatnonzero((np.abs(image - 26.0) < 1e-9).any(axis=1))
    assert hot_rows.size and clothing_rows.size and hot_rows.max() < clothing_rows.min()
    assert image.max() == 37.0  # nothing is hotter than the forehead
    skin = image[(image > 30) & (image < 37)]
    assert skin.size and np.median(skin) < 37.0


def test_lateral_offset_moves_the_face_right() -> None:
    centre = render_people([Person(0.8, 37.0)], 24.0)
    right = render_people([Person(0.8, 37.0, x_m=0.2)], 24.0)
    cols = np.arange(32)
    assert (right == 37.0).any(axis=0) @ cols / (right == 37.0).any(axis=0).sum() > \
        (centre == 37.0).any(axis=0) @ cols / (centre == 37.0).any(axis=0).sum() + 5


def test_nearer_person_occludes_the_farther_whatever_the_order() -> None:
    near, far = Person(0.6, 36.0), Person(1.5, 39.0, x_m=0.05)
    a = render_people([near, far], 24.0)
    b = render_people([far, near], 24.0)
    np.testing.assert_array_equal(a, b)
    assert (a == 39.0).sum() == 0  # the far forehead is hidden behind the near head
    beside = render_people([near, Person(1.5, 39.0, x_m=0.7)], 24.0)
    assert (beside == 39.0).sum() >= 1


def test_edges_are_anti_aliased() -> None:
    hard = render_people([Person(1.0, 37.0)], 24.0, supersample=1)
    smooth = render_people([Person(1.0, 37.0)], 24.0, supersample=4)
    assert len(np.unique(hard)) <= 5  # room, clothing, skin, forehead, hair: nothing in between
    assert len(np.unique(smooth)) > 15  # pixels partly covered blend
    assert smooth.max() == 37.0 and smooth.min() == 24.0


def test_people_scene_is_an_emulator_scene_and_moves_in_time() -> None:
    walk = PeopleScene(lambda t: [Person(2.0 - t, 36.8)], ambient_c=23.0, emissivity=0.97)
    assert isinstance(walk, Scene)
    far, _, _ = walk.render(0.0)
    near, emissivity, ambient = walk.render(1.4)
    assert emissivity == 0.97 and ambient == 23.0
    assert (near > 30).sum() > 3 * (far > 30).sum()
    assert PeopleScene().render(0.0)[0].tolist() == np.full((24, 32), 24.0).tolist()
    with pytest.raises(ValueError):
        render_people([Person(0.0)], 24.0)
