"""The Pi camera, through picamera2, as a `FrameSource` of luminance frames.

The QR decoder wants luminance only, and the ISP already makes it: a low-resolution ("lores")
YUV420 stream whose first `h` rows are the Y plane.  Taking a view of those rows costs nothing,
where converting RGB to grey on the Pi's CPU would cost more than decoding.

picamera2 exists only on a Pi (it needs libcamera), so it is imported inside the constructor:
this module imports anywhere, and tests inject a fake `picamera2` module.
"""

from __future__ import annotations

from typing import Any

from kiosk.ports import CameraError, Clock, GrayFrame

_AF_MODE_CONTINUOUS = 2  # libcamera.controls.AfModeEnum.Continuous, should libcamera not import


def _continuous_af() -> Any:
    try:
        from libcamera import controls
    except ImportError:
        return _AF_MODE_CONTINUOUS
    return controls.AfModeEnum.Continuous


class Picamera2Source:
    """Frames from the lores YUV420 stream; `GrayFrame.y` is a view of its Y plane.

    `size` is the lores stream (what the decoder sees); `main_size` the main stream it is scaled
    from (same aspect by default, twice the size, so a snapshot for a bench report is at hand).
    With a Camera Module 3 (autofocus) the lens runs in continuous AF: a visitor holds the phone
    at whatever distance they like.  `next_frame_at` is an estimate from the frame rate; the
    capture call itself blocks until the camera completes a frame.
    """

    def __init__(self, clock: Clock, *, size: tuple[int, int] = (640, 480),
                 main_size: tuple[int, int] | None = None, fps: float = 8.0, camera_num: int = 0,
                 autofocus: bool = True) -> None:
        try:
            from picamera2 import Picamera2
        except ImportError as exc:
            raise ImportError("Picamera2Source needs picamera2 (apt install python3-picamera2)") from exc
        self._clock = clock
        self._w, self._h = int(size[0]), int(size[1])
        self._period = 1.0 / fps
        self._last: float | None = None
        self._closed = False
        try:
            self._camera = Picamera2(camera_num)
        except (IndexError, RuntimeError, OSError) as exc:  # no camera, or it is in use
            raise CameraError(f"no camera {camera_num}: {exc}") from exc
        try:
            controls: dict[str, Any] = {"FrameRate": float(fps)}
            if autofocus and "AfMode" in self._camera.camera_controls:
                controls["AfMode"] = _continuous_af()
            config = self._camera.create_video_configuration(
                main={"size": tuple(main_size or (2 * self._w, 2 * self._h)), "format": "YUV420"},
                lores={"size": (self._w, self._h), "format": "YUV420"},
                controls=controls,
            )
            self._camera.configure(config)
            self._camera.start()
        except Exception as exc:
            self._camera.close()
            raise CameraError(f"camera {camera_num} would not start: {exc}") from exc

    def next_frame_at(self) -> float:
        now = self._clock.monotonic()
        return now if self._last is None else max(now, self._last + self._period)

    def read_frame(self) -> GrayFrame:
        if self._closed:
            raise CameraError("camera is closed")
        try:
            yuv = self._camera.capture_array("lores")
        except (RuntimeError, OSError, TimeoutError) as exc:
            raise CameraError(f"camera delivered no frame: {exc}") from exc
        if yuv.ndim != 2 or yuv.shape[0] < self._h or yuv.shape[1] < self._w:
            raise CameraError(f"lores frame of shape {yuv.shape} is no {self._w}×{self._h} YUV420")
        self._last = self._clock.monotonic()
        return GrayFrame(y=yuv[: self._h, : self._w], taken_at=self._last)  # a view: no copy

    def close(self) -> None:
        """Stop and release the camera; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        try:
            self._camera.stop()
        finally:
            self._camera.close()

    def __enter__(self) -> Picamera2Source:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
