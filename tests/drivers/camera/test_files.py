"""Recorded frames: a folder of images cycles; video needs OpenCV, imported only when used."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from drivers.camera.files import ImageFolderSource, VideoFileSource
from kiosk.clock import VirtualClock
from kiosk.errors import CameraError
from kiosk.ports import FrameSource


def write_images(folder: Path) -> list[int]:
    """Three RGB images whose grey level tells them apart, and a file that is no image."""
    levels = [30, 120, 210]
    for name, level in zip(["b.png", "a.jpg", "c.bmp"], levels, strict=True):
        Image.new("RGB", (64, 48), (level, level, level)).save(folder / name)
    (folder / "notes.txt").write_text("not a frame")
    return levels


def test_folder_source_cycles_in_name_order_as_luminance(tmp_path: Path) -> None:
    write_images(tmp_path)
    clock = VirtualClock(monotonic_start=0.0)
    src = ImageFolderSource(tmp_path, clock, fps=4.0)
    assert isinstance(src, FrameSource)
    assert [p.name for p in src.paths] == ["a.jpg", "b.png", "c.bmp"]
    frames = [src.read_frame() for _ in range(7)]
    means = [round(float(f.y.mean()) / 10) * 10 for f in frames]  # JPEG is lossy
    assert means == [120, 30, 210, 120, 30, 210, 120]
    assert all(f.y.dtype == np.uint8 and f.y.shape == (48, 64) for f in frames)
    assert [f.taken_at for f in frames] == pytest.approx([0.25 * k for k in range(1, 8)])
    assert frames[3].y is frames[0].y  # decoded once


def test_folder_source_takes_an_explicit_list_in_its_order(tmp_path: Path) -> None:
    write_images(tmp_path)
    src = ImageFolderSource([tmp_path / "c.bmp", tmp_path / "b.png"], VirtualClock(), fps=8.0)
    assert [int(src.read_frame().y.mean()) for _ in range(3)] == [210, 30, 210]


def test_an_empty_folder_fails_at_construction(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        ImageFolderSource(tmp_path, VirtualClock())


def test_an_unreadable_image_is_a_camera_error(tmp_path: Path) -> None:
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG not really")
    src = ImageFolderSource([bad], VirtualClock())
    with pytest.raises(CameraError):
        src.read_frame()


def test_video_source_without_opencv_says_so(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "cv2", None)  # makes `import cv2` fail
    with pytest.raises(ImportError, match="OpenCV"):
        VideoFileSource(tmp_path / "clip.avi", VirtualClock())


def test_video_source_loops_through_a_file(tmp_path: Path) -> None:
    cv2 = pytest.importorskip("cv2")
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 5.0, (64, 48))
    for level in (40, 140, 240):
        writer.write(np.full((48, 64, 3), level, dtype=np.uint8))
    writer.release()
    clock = VirtualClock(monotonic_start=0.0)
    with VideoFileSource(path, clock) as src:
        frames = [src.read_frame() for _ in range(4)]
    assert [round(float(f.y.mean()) / 20) * 20 for f in frames] == [40, 140, 240, 40]
    assert frames[0].y.ndim == 2
    assert frames[-1].taken_at == pytest.approx(0.8)  # the file's own 5 fps
