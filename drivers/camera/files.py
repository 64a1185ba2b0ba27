"""Frame sources that replay recorded pictures: a folder of images, or a video file.

For bench work and regression tests with real photographs of phones (glare, moiré, a cracked
screen) that no renderer makes.  Both pace themselves on a `Clock` like a camera would, and
both loop, so a kiosk can run on them unattended.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from kiosk.errors import CameraError
from kiosk.ports import Clock, GrayFrame

from .pacing import FrameGrid

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".pgm", ".ppm", ".tif", ".tiff",
                            ".webp"})


def _image_paths(path_or_paths: str | Path | Iterable[str | Path]) -> list[Path]:
    """A folder's images in name order, or the given files in the given order."""
    if isinstance(path_or_paths, str | Path):
        root = Path(path_or_paths)
        if not root.is_dir():
            return [root]
        return sorted(p for p in root.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    return [Path(p) for p in path_or_paths]


class ImageFolderSource:
    """A `FrameSource` cycling through image files, converted to luminance (Pillow mode "L").

    Images are decoded once and kept: folders used this way hold tens of frames, and decoding a
    JPEG per frame on a Pi would cost more than the QR decoder itself.
    """

    def __init__(self, path_or_paths: str | Path | Iterable[str | Path], clock: Clock,
                 fps: float = 8.0) -> None:
        self._paths = _image_paths(path_or_paths)
        if not self._paths:
            raise ValueError(f"no image files in {path_or_paths!r}")
        self._frames: dict[int, np.ndarray] = {}
        self._grid = FrameGrid(clock, fps)
        self._next = 0
        self._closed = False

    @property
    def paths(self) -> list[Path]:
        return list(self._paths)

    def next_frame_at(self) -> float:
        return self._grid.next_frame_at()

    def read_frame(self) -> GrayFrame:
        if self._closed:
            raise CameraError("image source is closed")
        taken_at = self._grid.wait()
        i = self._next
        self._next = (i + 1) % len(self._paths)
        return GrayFrame(y=self._load(i), taken_at=taken_at)

    def _load(self, i: int) -> np.ndarray:
        if i not in self._frames:
            try:
                with Image.open(self._paths[i]) as im:
                    y = np.asarray(im.convert("L"))
            except (OSError, UnidentifiedImageError) as exc:
                raise CameraError(f"cannot read {self._paths[i]}: {exc}") from exc
            y.flags.writeable = False  # shared by every pass over the folder
            self._frames[i] = y
        return self._frames[i]

    def close(self) -> None:
        self._closed = True
        self._frames.clear()

    def __enter__(self) -> ImageFolderSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class VideoFileSource:
    """A `FrameSource` reading a video file through OpenCV, looping at its end.

    OpenCV is optional (it is large and the Pi image does not need it), so it is imported here,
    not at module load; without it the constructor raises `ImportError`.  Frames are paced at
    `fps`, by default the file's own rate.
    """

    def __init__(self, path: str | Path, clock: Clock, *, fps: float | None = None,
                 loop: bool = True) -> None:
        from .webcam import import_cv2

        cv2 = import_cv2("video file source")
        self._cv2: Any = cv2
        self._path = Path(path)
        self._capture = cv2.VideoCapture(str(self._path))
        if not self._capture.isOpened():
            self._capture.release()
            raise CameraError(f"cannot open video {self._path}")
        file_fps = float(self._capture.get(cv2.CAP_PROP_FPS) or 0.0)
        self._grid = FrameGrid(clock, fps or (file_fps if file_fps > 0 else 8.0))
        self._loop = loop
        self._closed = False

    def next_frame_at(self) -> float:
        return self._grid.next_frame_at()

    def read_frame(self) -> GrayFrame:
        if self._closed:
            raise CameraError("video source is closed")
        taken_at = self._grid.wait()
        ok, image = self._capture.read()
        if not ok and self._loop:
            self._capture.set(self._cv2.CAP_PROP_POS_FRAMES, 0)
            ok, image = self._capture.read()
        if not ok:
            raise CameraError(f"no more frames in {self._path}")
        if image.ndim == 3:
            image = self._cv2.cvtColor(image, self._cv2.COLOR_BGR2GRAY)
        return GrayFrame(y=image, taken_at=taken_at)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._capture.release()

    def __enter__(self) -> VideoFileSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
