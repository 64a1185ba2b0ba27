"""Picamera2Source against a stand-in `picamera2` module that behaves like the real one.

The real library exists only on a Pi; the fake keeps its contract: a video configuration with a
main and a lores stream, `configure` before `start`, controls checked against what the camera
advertises (libcamera refuses others: `RuntimeError("Control X is not advertised by libcamera")`,
`FrameRate` being picamera2's own alias), `camera_properties` with the sensor's model and crop
limits, `capture_array("lores")` returning a fresh (h * 3 // 2, stride) uint8 YUV420 array whose
stride is the width rounded up to 64 bytes, and `stop`/`close` that may be called in any state.
"""

from __future__ import annotations

import enum
import importlib
import sys
import types
from typing import Any, ClassVar

import numpy as np
import pytest

from drivers.camera.picamera2_source import Picamera2Source
from drivers.camera.region import Region
from kiosk.clock import VirtualClock
from kiosk.errors import CameraError
from kiosk.ports import FrameSource


class AfModeEnum(enum.IntEnum):
    Manual = 0
    Auto = 1
    Continuous = 2


class AfRangeEnum(enum.IntEnum):
    Normal = 0
    Macro = 1
    Full = 2


class AfSpeedEnum(enum.IntEnum):
    Normal = 0
    Fast = 1


class AfMeteringEnum(enum.IntEnum):
    Auto = 0
    Windows = 1


class AeMeteringModeEnum(enum.IntEnum):
    CentreWeighted = 0
    Spot = 1
    Matrix = 2


class AeExposureModeEnum(enum.IntEnum):
    Normal = 0
    Short = 1
    Long = 2


#: What libcamera advertises for the two kinds of module (min, max, default), abridged.
COMMON_CONTROLS = {
    "FrameDurationLimits": (33333, 120000000, None),
    "ExposureValue": (-8.0, 8.0, 0.0),
    "AeMeteringMode": (0, 3, 0),
    "AeExposureMode": (0, 3, 0),
    "ScalerCrop": ((0, 0, 0, 0), (65535, 65535, 65535, 65535), None),
}
AF_CONTROLS = {"AfMode": (0, 2, 0), "AfRange": (0, 2, 0), "AfSpeed": (0, 1, 0), "AfMetering": (0, 1, 0),
               "AfWindows": ((0, 0, 0, 0), (65535, 65535, 65535, 65535), None), "LensPosition": (0.0, 32.0, 1.0)}
SENSORS = {  # model -> (pixel array, crop maximum)
    "imx708": ((4608, 2592), (16, 24, 4608, 2592)),  # Camera Module 3: autofocus
    "imx219": ((3280, 2464), (0, 0, 3280, 2464)),  # Camera Module 2: fixed focus
}


class FakePicamera2:
    instances: ClassVar[list[FakePicamera2]] = []
    model = "imx708"
    fail_capture = False
    fail_stop = False

    def __init__(self, camera_num: int = 0, tuning: Any = None) -> None:
        self.camera_num = camera_num
        pixels, crop = SENSORS[self.model]
        self.camera_properties: dict[str, Any] = {"Model": self.model, "PixelArraySize": pixels,
                                                  "ScalerCropMaximum": crop, "Location": 2, "Rotation": 0}
        self.camera_controls: dict[str, tuple[Any, Any, Any]] = dict(COMMON_CONTROLS)
        if self.model == "imx708":
            self.camera_controls |= AF_CONTROLS
        self.config: dict[str, Any] | None = None
        self.controls: dict[str, Any] = {}
        self.started = False
        self.closed = False
        self.calls: list[str] = []
        self.captured: list[np.ndarray] = []
        FakePicamera2.instances.append(self)

    def create_video_configuration(self, main: dict[str, Any] | None = None,
                                   lores: dict[str, Any] | None = None, raw: dict[str, Any] | None = None,
                                   transform: Any = None, colour_space: Any = None, buffer_count: int = 6,
                                   controls: dict[str, Any] | None = None, display: str | None = "main",
                                   encode: str | None = "main", queue: bool = True,
                                   sensor: dict[str, Any] | None = None, use_case: str = "video") -> dict[str, Any]:
        main = {"format": "XBGR8888", "size": (1280, 720), **(main or {})}
        return {"use_case": use_case, "main": main, "lores": lores, "controls": dict(controls or {}),
                "buffer_count": buffer_count, "queue": queue, "display": display, "encode": encode}

    def _check_controls(self, controls: dict[str, Any]) -> None:
        for name in controls:
            if name not in self.camera_controls and name != "FrameRate":
                raise RuntimeError(f"Control {name} is not advertised by libcamera")

    def configure(self, config: dict[str, Any]) -> None:
        assert not self.started, "configure while running"
        lores, main = config["lores"], config["main"]
        if lores is not None and (lores["size"][0] > main["size"][0] or lores["size"][1] > main["size"][1]):
            raise RuntimeError("lores stream dimensions may not exceed main stream")
        if config["display"] not in (None, "main", "lores") or config["encode"] not in (None, "main", "lores"):
            raise RuntimeError("display and encode must name a stream")
        self._check_controls(config["controls"])
        self.config = config
        self.controls = dict(config["controls"])
        self.calls.append("configure")

    def set_controls(self, controls: dict[str, Any]) -> None:
        self._check_controls(controls)
        self.controls |= controls
        self.calls.append("set_controls")

    def start(self) -> None:
        assert self.config is not None, "start before configure"
        self.started = True
        self.calls.append("start")

    def capture_array(self, name: str = "main") -> np.ndarray:
        assert self.started, "capture before start"
        assert self.config is not None
        if self.fail_capture:
            raise RuntimeError("Camera frontend has timed out!")
        stream = self.config[name]
        assert stream["format"] == "YUV420"
        w, h = stream["size"]
        stride = -(-w // 64) * 64
        yuv = np.full((h * 3 // 2, stride), 128, dtype=np.uint8)
        yuv[:h, :w] = (np.arange(w)[None, :] + 3 * np.arange(h)[:, None] + len(self.captured)) % 256
        yuv[:h, w:] = 7  # stride padding, which must not reach the decoder
        self.captured.append(yuv)
        return yuv

    def stop(self) -> None:
        if self.fail_stop:
            raise RuntimeError("Device or resource busy")
        self.started = False
        self.calls.append("stop")

    def close(self) -> None:
        if self.started:
            self.started = False
        self.closed = True
        self.calls.append("close")


@pytest.fixture
def fake_picamera2(monkeypatch: pytest.MonkeyPatch) -> type[FakePicamera2]:
    module = types.ModuleType("picamera2")
    module.Picamera2 = FakePicamera2  # type: ignore[attr-defined]
    libcamera = types.ModuleType("libcamera")
    libcamera.controls = types.SimpleNamespace(  # type: ignore[attr-defined]
        AfModeEnum=AfModeEnum, AfRangeEnum=AfRangeEnum, AfSpeedEnum=AfSpeedEnum, AfMeteringEnum=AfMeteringEnum,
        AeMeteringModeEnum=AeMeteringModeEnum, AeExposureModeEnum=AeExposureModeEnum)
    monkeypatch.setitem(sys.modules, "picamera2", module)
    monkeypatch.setitem(sys.modules, "libcamera", libcamera)
    monkeypatch.setattr(FakePicamera2, "instances", [])
    return FakePicamera2


def test_module_imports_without_picamera2() -> None:
    assert "picamera2" not in sys.modules
    importlib.reload(importlib.import_module("drivers.camera.picamera2_source"))
    assert "picamera2" not in sys.modules


def test_without_picamera2_the_constructor_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "picamera2", None)
    with pytest.raises(ImportError, match="picamera2"):
        Picamera2Source(VirtualClock())


def test_frames_are_the_y_plane_of_the_lores_stream_without_a_copy(fake_picamera2: Any) -> None:
    clock = VirtualClock()
    src = Picamera2Source(clock, size=(600, 400))
    assert isinstance(src, FrameSource)
    cam = fake_picamera2.instances[0]
    assert cam.calls == ["configure", "start"]
    assert cam.config["lores"] == {"size": (600, 400), "format": "YUV420"}
    assert cam.config["main"]["size"] == (1200, 800)  # same aspect as lores

    frame = src.read_frame()
    yuv = cam.captured[-1]
    assert yuv.shape == (600, 640)  # 400 * 3 // 2 rows, stride 640
    assert frame.y.shape == (400, 600) and frame.y.dtype == np.uint8
    assert np.shares_memory(frame.y, yuv) and frame.y.base is yuv  # a view, no copy
    assert np.array_equal(frame.y, yuv[:400, :600])
    assert (frame.y != 7).any() and frame.taken_at == clock.monotonic()


def test_camera_module_3_gets_continuous_fast_autofocus_and_screen_exposure(fake_picamera2: Any) -> None:
    src = Picamera2Source(VirtualClock(), fps=10.0)
    cam = fake_picamera2.instances[0]
    assert src.model == "imx708" and src.has_autofocus
    assert cam.controls == {
        "FrameRate": 10.0, "ExposureValue": -0.5, "AeMeteringMode": AeMeteringModeEnum.Spot,
        "AeExposureMode": AeExposureModeEnum.Short, "AfMode": AfModeEnum.Continuous,
        "AfSpeed": AfSpeedEnum.Fast, "AfRange": AfRangeEnum.Normal,
    }
    assert cam.config["queue"] is False and cam.config["display"] is None  # fresh frames, no preview


def test_no_autofocus_control_on_a_fixed_focus_camera(fake_picamera2: Any,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fake_picamera2, "model", "imx219")
    src = Picamera2Source(VirtualClock(), region=Region(0.25, 0.25, 0.5, 0.5))
    controls = fake_picamera2.instances[0].controls
    assert not src.has_autofocus
    assert not [name for name in controls if name.startswith("Af")]  # libcamera would refuse them
    assert controls["ExposureValue"] == -0.5


def test_autofocus_can_be_turned_off(fake_picamera2: Any) -> None:
    Picamera2Source(VirtualClock(), autofocus=False, exposure_ev=0.0)
    controls = fake_picamera2.instances[0].controls
    assert "AfMode" not in controls and controls["ExposureValue"] == 0.0


def test_only_advertised_controls_are_sent(fake_picamera2: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """An older libcamera without exposure modes: the camera still starts, without them."""
    monkeypatch.setattr(fake_picamera2, "model", "imx219")
    original = FakePicamera2.__init__

    def without_ae(self: FakePicamera2, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        del self.camera_controls["AeExposureMode"]

    monkeypatch.setattr(FakePicamera2, "__init__", without_ae)
    Picamera2Source(VirtualClock())
    assert "AeExposureMode" not in fake_picamera2.instances[0].controls


def test_autofocus_without_libcamera_bindings_uses_the_enum_values(fake_picamera2: Any,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "libcamera", None)
    Picamera2Source(VirtualClock())
    controls = fake_picamera2.instances[0].controls
    assert (controls["AfMode"], controls["AfSpeed"], controls["AeMeteringMode"]) == (2, 1, 1)


def test_region_of_interest_is_a_view_and_aims_the_autofocus(fake_picamera2: Any) -> None:
    src = Picamera2Source(VirtualClock(), size=(640, 480), region=Region(0.25, 0.1, 0.5, 0.8))
    cam = fake_picamera2.instances[0]
    frame = src.read_frame()
    yuv = cam.captured[-1]
    assert frame.y.shape == (384, 320)
    assert np.shares_memory(frame.y, yuv) and frame.y.base is yuv
    assert np.array_equal(frame.y, yuv[48:432, 160:480])
    assert cam.controls["AfMetering"] == AfMeteringEnum.Windows
    assert cam.controls["AfWindows"] == [(16 + 1152, 24 + 259, 2304, 2074)]  # in sensor pixels


def test_capture_failure_is_a_camera_error(fake_picamera2: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    src = Picamera2Source(VirtualClock())
    monkeypatch.setattr(fake_picamera2, "fail_capture", True)
    with pytest.raises(CameraError, match="timed out"):
        src.read_frame()


def test_a_camera_that_will_not_configure_is_released(fake_picamera2: Any) -> None:
    with pytest.raises(CameraError):
        Picamera2Source(VirtualClock(), size=(640, 480), main_size=(320, 240))
    assert fake_picamera2.instances[0].closed


def test_close_stops_then_closes_once(fake_picamera2: Any) -> None:
    with Picamera2Source(VirtualClock()) as src:
        src.read_frame()
    src.close()
    assert fake_picamera2.instances[0].calls == ["configure", "start", "stop", "close"]
    with pytest.raises(CameraError):
        src.read_frame()


def test_close_releases_the_camera_even_when_stop_fails(fake_picamera2: Any,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    src = Picamera2Source(VirtualClock())
    monkeypatch.setattr(fake_picamera2, "fail_stop", True)
    src.close()
    assert fake_picamera2.instances[0].closed
    src.close()
    assert fake_picamera2.instances[0].calls.count("close") == 1


def test_next_frame_is_expected_one_period_after_the_last(fake_picamera2: Any) -> None:
    clock = VirtualClock(monotonic_start=50.0)
    src = Picamera2Source(clock, fps=8.0)
    assert src.next_frame_at() == 50.0
    src.read_frame()
    assert src.next_frame_at() == pytest.approx(50.125)
