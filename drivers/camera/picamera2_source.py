"""The Pi camera, through picamera2, as a `FrameSource` of luminance frames.

The QR decoder wants luminance only, and the ISP already makes it: a low-resolution ("lores")
YUV420 stream whose first `h` rows are the Y plane.  Taking a view of those rows (and of the
region of interest inside them) costs nothing, where converting RGB to grey on the Pi's CPU
would cost more than decoding.

Tuned for phone screens:

- *focus*: a Camera Module 3 (imx708, the only module with `AfMode`) runs continuous autofocus
  at fast speed over the normal range, metering on the region of interest, so a visitor can
  hold the phone at whatever distance they like; fixed-focus modules (v1, v2, HQ) get no AF
  controls at all (libcamera rejects controls a camera does not advertise).
- *exposure*: a lit screen is brighter than the room around it, so metering is on the spot
  where phones are held and the exposure is pulled down (`exposure_ev`, default -0.5 EV) to
  keep the screen's white from clipping; the short-exposure mode limits motion blur from a
  moving hand.  Every control is set only if the camera advertises it.

picamera2 exists only on a Pi (it needs libcamera), so it is imported inside the constructor:
this module imports anywhere, and tests inject a fake `picamera2` module.
"""

from __future__ import annotations

import logging
from typing import Any

from kiosk.errors import CameraError
from kiosk.ports import Clock, GrayFrame

from .region import Region

log = logging.getLogger(__name__)

# libcamera enum values, used should the `libcamera` bindings not import (they always do on a Pi)
_ENUMS = {
    ("AfModeEnum", "Continuous"): 2,
    ("AfRangeEnum", "Normal"): 0,
    ("AfSpeedEnum", "Fast"): 1,
    ("AfMeteringEnum", "Windows"): 1,
    ("AeMeteringModeEnum", "Spot"): 1,
    ("AeExposureModeEnum", "Short"): 1,
}


def _enum(enum_name: str, member: str) -> Any:
    try:
        from libcamera import controls
    except ImportError:
        return _ENUMS[(enum_name, member)]
    return getattr(getattr(controls, enum_name), member)


class Picamera2Source:
    """Frames from the lores YUV420 stream; `GrayFrame.y` is a view of its Y plane (cut to `region`).

    `size` is the lores stream (what the decoder sees); `main_size` the main stream it is scaled
    from (same aspect by default, twice the size, so a snapshot for a bench report is at hand).
    `next_frame_at` is an estimate from the frame rate; the capture call itself blocks until
    the camera completes a frame.
    """

    def __init__(self, clock: Clock, *, size: tuple[int, int] = (640, 480),
                 main_size: tuple[int, int] | None = None, fps: float = 8.0, camera_num: int = 0,
                 autofocus: bool = True, exposure_ev: float = -0.5, region: Region | None = None) -> None:
        try:
            from picamera2 import Picamera2
        except ImportError as exc:
            raise ImportError("Picamera2Source needs picamera2 (apt install python3-picamera2)") from exc
        self._clock = clock
        self._w, self._h = int(size[0]), int(size[1])
        self._region = region or Region()
        self._period = 1.0 / fps
        self._last: float | None = None
        self._closed = False
        try:
            self._camera = Picamera2(camera_num)
        except (IndexError, RuntimeError, OSError) as exc:  # no camera, or it is in use
            raise CameraError(f"no camera {camera_num}: {exc}") from exc
        try:
            self.model = str(self._camera.camera_properties.get("Model", "unknown"))
            controls = self._controls(fps, autofocus, exposure_ev)
            config = self._camera.create_video_configuration(
                main={"size": tuple(main_size or (2 * self._w, 2 * self._h)), "format": "YUV420"},
                lores={"size": (self._w, self._h), "format": "YUV420"},
                controls=controls,
                buffer_count=4,
                queue=False,  # a capture waits for a fresh frame, never returns a stale queued one
                display=None,
                encode=None,
            )
            self._camera.configure(config)
            self._camera.start()
        except Exception as exc:
            self._camera.close()
            raise CameraError(f"camera {camera_num} would not start: {exc}") from exc
        self.controls = controls
        log.info("camera %s (%s): lores %dx%d, %s", camera_num, self.model, self._w, self._h,
                 "autofocus" if "AfMode" in controls else "fixed focus")

    @property
    def has_autofocus(self) -> bool:
        return "AfMode" in self._camera.camera_controls

    def _controls(self, fps: float, autofocus: bool, exposure_ev: float) -> dict[str, Any]:
        """The controls for phone screens, limited to what this camera advertises."""
        offered = self._camera.camera_controls
        wanted: dict[str, Any] = {
            "FrameRate": float(fps),
            "ExposureValue": float(exposure_ev),
            "AeMeteringMode": _enum("AeMeteringModeEnum", "Spot"),
            "AeExposureMode": _enum("AeExposureModeEnum", "Short"),
        }
        if autofocus and "AfMode" in offered:
            wanted |= {
                "AfMode": _enum("AfModeEnum", "Continuous"),
                "AfSpeed": _enum("AfSpeedEnum", "Fast"),
                "AfRange": _enum("AfRangeEnum", "Normal"),
            }
            window = self._sensor_window()
            if window is not None:
                wanted |= {"AfMetering": _enum("AfMeteringEnum", "Windows"), "AfWindows": [window]}
        return {name: value for name, value in wanted.items() if name == "FrameRate" or name in offered}

    def _sensor_window(self) -> tuple[int, int, int, int] | None:
        """The region of interest in sensor pixels (x, y, w, h), where AF windows are given."""
        if self._region.is_full:
            return None
        crop = self._camera.camera_properties.get("ScalerCropMaximum")
        if crop is None:
            return None
        x0, y0, w, h = crop
        left, top, right, bottom = self._region.pixels(w, h)
        return (x0 + left, y0 + top, right - left, bottom - top)

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
        y = self._region.crop(yuv[: self._h, : self._w])  # views: no copy
        return GrayFrame(y=y, taken_at=self._last)

    def close(self) -> None:
        """Stop and release the camera; safe to call twice, and releases it even if stopping fails."""
        if self._closed:
            return
        self._closed = True
        try:
            self._camera.stop()
        except Exception:
            log.exception("camera did not stop cleanly")
        finally:
            self._camera.close()

    def __enter__(self) -> Picamera2Source:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
