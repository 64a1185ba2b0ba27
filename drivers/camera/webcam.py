"""A USB webcam (V4L2) through OpenCV, for a laptop bench or a kiosk built without a Pi camera.

OpenCV is optional: it is large, and the Pi image reads its camera through picamera2.  It is
imported in the constructor, which says what to install when it is missing.  V4L2 cameras
deliver YUYV or MJPEG, which OpenCV hands over as BGR: it is converted to grey once per frame
with OpenCV's own fast path (there is no portable way to get the Y plane alone).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kiosk.errors import CameraError
from kiosk.ports import Clock, GrayFrame

OPENCV_MISSING = ("the {what} needs OpenCV, which is not installed: "
                  "pip install opencv-python-headless (or apt install python3-opencv)")


def import_cv2(what: str) -> Any:
    """OpenCV, or an `ImportError` saying what needs it and how to install it."""
    try:
        import cv2
    except ImportError as exc:
        raise ImportError(OPENCV_MISSING.format(what=what)) from exc
    return cv2


class WebcamSource:
    """A `FrameSource` on /dev/video`device`, at the requested size and rate if the camera offers it."""

    def __init__(self, clock: Clock, *, device: int = 0, size: tuple[int, int] = (640, 480),
                 fps: float = 8.0) -> None:
        cv2 = import_cv2("webcam source")
        self._cv2 = cv2
        self._clock = clock
        self._period = 1.0 / fps
        self._last: float | None = None
        self._capture = cv2.VideoCapture(device, cv2.CAP_V4L2)
        if not self._capture.isOpened():
            self._capture.release()
            raise CameraError(f"cannot open webcam /dev/video{device}")
        self._capture.set(cv2.CAP_PROP_FRAME_WIDTH, size[0])
        self._capture.set(cv2.CAP_PROP_FRAME_HEIGHT, size[1])
        self._capture.set(cv2.CAP_PROP_FPS, fps)
        self._capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # the newest frame, not a queue of old ones
        self._closed = False

    def next_frame_at(self) -> float:
        now = self._clock.monotonic()
        return now if self._last is None else max(now, self._last + self._period)

    def read_frame(self) -> GrayFrame:
        if self._closed:
            raise CameraError("webcam is closed")
        ok, image = self._capture.read()
        if not ok or image is None:
            raise CameraError("webcam delivered no frame")
        if image.ndim == 3:
            image = self._cv2.cvtColor(image, self._cv2.COLOR_BGR2GRAY)
        self._last = self._clock.monotonic()
        return GrayFrame(y=np.asarray(image, dtype=np.uint8), taken_at=self._last)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._capture.release()

    def __enter__(self) -> WebcamSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
