"""Picamera2Source against a stand-in `picamera2` module that behaves like the real one.

The real library exists only on a Pi; the fake keeps its contract: a video configuration with a
main and a lores stream, `configure` before `start`, `capture_array("lores")` returning a fresh
(h * 3 // 2, stride) uint8 YUV420 array whose stride is the width rounded up to 64 bytes.
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
from kiosk.clock import VirtualClock
from kiosk.ports import CameraError, FrameSource


class AfModeEnum(enum.IntEnum):
    Manual = 0
    Auto = 1
    Continuous = 2


class FakePicamera2:
    instances: ClassVar[list[FakePicamera2]] = []
    has_autofocus = True
    fail_capture = False

    def __init__(self, camera_num: int = 0) -> None:
        self.camera_num = camera_num
        self.camera_controls: dict[str, tuple[Any, Any, Any]] = {"FrameRate": (1.0, 120.0, 30.0)}
        if self.has_autofocus:
            self.camera_controls["AfMode"] = (0, 2, 0)
        self.config: dict[str, Any] | None = None
        self.started = False
        self.closed = False
        self.calls: list[str] = []
        self.captured: list[np.ndarray] = []
        FakePicamera2.instances.append(self)

    def create_video_configuration(self, main: dict[str, Any] | None = None,
                                   lores: dict[str, Any] | None = None,
                                   controls: dict[str, Any] | None = None,
                                   buffer_count: int = 6, **kwargs: Any) -> dict[str, Any]:
        main = {"format": "XBGR8888", "size": (1280, 720), **(main or {})}
        return {"use_case": "video", "main": main, "lores": lores, "controls": dict(controls or {}),
                "buffer_count": buffer_count, **kwargs}

    def configure(self, config: dict[str, Any]) -> None:
        assert not self.started, "configure while running"
        lores, main = config["lores"], config["main"]
        if lores is not None and (lores["size"][0] > main["size"][0] or lores["size"][1] > main["size"][1]):
            raise RuntimeError("lores stream dimensions may not exceed main stream")
        self.config = config
        self.calls.append("configure")

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
        self.started = False
        self.calls.append("stop")

    def close(self) -> None:
        self.closed = True
        self.calls.append("close")


@pytest.fixture
def fake_picamera2(monkeypatch: pytest.MonkeyPatch) -> type[FakePicamera2]:
    module = types.ModuleType("picamera2")
    module.Picamera2 = FakePicamera2  # type: ignore[attr-defined]
    libcamera = types.ModuleType("libcamera")
    libcamera.controls = types.SimpleNamespace(AfModeEnum=AfModeEnum)  # type: ignore[attr-defined]
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


def test_continuous_autofocus_and_frame_rate_are_requested(fake_picamera2: Any) -> None:
    Picamera2Source(VirtualClock(), fps=10.0)
    controls = fake_picamera2.instances[0].config["controls"]
    assert controls == {"FrameRate": 10.0, "AfMode": AfModeEnum.Continuous}


def test_no_autofocus_control_on_a_fixed_focus_camera(fake_picamera2: Any,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fake_picamera2, "has_autofocus", False)
    Picamera2Source(VirtualClock())
    assert "AfMode" not in fake_picamera2.instances[0].config["controls"]


def test_autofocus_without_libcamera_bindings_uses_the_enum_value(fake_picamera2: Any,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "libcamera", None)
    Picamera2Source(VirtualClock())
    assert fake_picamera2.instances[0].config["controls"]["AfMode"] == 2


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


def test_next_frame_is_expected_one_period_after_the_last(fake_picamera2: Any) -> None:
    clock = VirtualClock(monotonic_start=50.0)
    src = Picamera2Source(clock, fps=8.0)
    assert src.next_frame_at() == 50.0
    src.read_frame()
    assert src.next_frame_at() == pytest.approx(50.125)
