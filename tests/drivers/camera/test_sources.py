"""The other frame sources: a region of interest, a V4L2 webcam through OpenCV, and how the app picks them."""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
from PIL import Image

from drivers.camera.region import CroppedSource, Region
from drivers.camera.webcam import WebcamSource
from kiosk.clock import VirtualClock
from kiosk.config import parse_config
from kiosk.errors import CameraError, StartupError
from kiosk.ports import FrameSource, GrayFrame
from kiosk.service.app import build_camera, build_decoder


# ---------------------------------------------------------------------------------------- region
def test_region_cuts_a_view_in_fractions_of_the_frame() -> None:
    y = np.arange(480 * 640, dtype=np.uint32).reshape(480, 640).astype(np.uint8)
    region = Region(0.25, 0.5, 0.5, 0.25)
    cut = region.crop(y)
    assert cut.shape == (120, 320) and np.shares_memory(cut, y)
    assert np.array_equal(cut, y[240:360, 160:480])
    assert Region().crop(y) is y and Region().is_full


@pytest.mark.parametrize("bad", [(0.5, 0, 0.6, 1), (0, 0, 0, 1), (-0.1, 0, 0.5, 0.5), (0, 0.9, 1, 0.2)])
def test_a_region_outside_the_frame_is_refused(bad: tuple[float, float, float, float]) -> None:
    with pytest.raises(ValueError):
        Region(*bad)


class StillSource:
    def __init__(self, y: np.ndarray) -> None:
        self.y, self.closed = y, False

    def next_frame_at(self) -> float:
        return 0.0

    def read_frame(self) -> GrayFrame:
        return GrayFrame(self.y, 1.5)

    def close(self) -> None:
        self.closed = True


def test_cropped_source_cuts_every_frame_and_closes_its_source() -> None:
    inner = StillSource(np.zeros((100, 200), np.uint8))
    with CroppedSource(inner, Region(0.5, 0.0, 0.5, 0.5)) as src:
        assert isinstance(src, FrameSource)
        frame = src.read_frame()
        assert frame.y.shape == (50, 100) and frame.taken_at == 1.5 and frame.y.base is inner.y
    assert inner.closed


# ---------------------------------------------------------------------------------------- webcam
class FakeCapture:
    """cv2.VideoCapture as OpenCV behaves with a V4L2 device: BGR frames, `set` returning bool."""

    opened: ClassVar[list[FakeCapture]] = []
    present = True

    def __init__(self, device: int, api: int) -> None:
        self.device, self.api = device, api
        self.props: dict[int, float] = {}
        self.released = False
        self.frames = 0
        FakeCapture.opened.append(self)

    def isOpened(self) -> bool:
        return self.present

    def set(self, prop: int, value: float) -> bool:
        self.props[prop] = value
        return True

    def read(self) -> tuple[bool, np.ndarray | None]:
        if self.released:
            return False, None
        self.frames += 1
        h, w = int(self.props.get(4, 480)), int(self.props.get(3, 640))
        bgr = np.zeros((h, w, 3), np.uint8)
        bgr[..., 1] = 200  # pure green: luma 0.587 * 200
        return True, bgr

    def release(self) -> None:
        self.released = True


@pytest.fixture
def fake_cv2(monkeypatch: pytest.MonkeyPatch) -> Any:
    cv2 = types.ModuleType("cv2")
    cv2.CAP_V4L2, cv2.CAP_PROP_FRAME_WIDTH, cv2.CAP_PROP_FRAME_HEIGHT = 200, 3, 4  # type: ignore[attr-defined]
    cv2.CAP_PROP_FPS, cv2.CAP_PROP_BUFFERSIZE, cv2.COLOR_BGR2GRAY = 5, 38, 6  # type: ignore[attr-defined]
    cv2.VideoCapture = FakeCapture  # type: ignore[attr-defined]

    def cvt_color(image: np.ndarray, code: int) -> np.ndarray:
        assert code == 6
        b, g, r = (image[..., i].astype(np.float32) for i in range(3))
        return np.rint(0.114 * b + 0.587 * g + 0.299 * r).astype(np.uint8)

    cv2.cvtColor = cvt_color  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "cv2", cv2)
    monkeypatch.setattr(FakeCapture, "opened", [])
    return cv2


def test_webcam_without_opencv_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "cv2", None)
    with pytest.raises(ImportError, match="needs OpenCV, which is not installed: pip install opencv"):
        WebcamSource(VirtualClock())


def test_webcam_gives_grey_frames_at_the_asked_size_and_releases(fake_cv2: Any) -> None:
    clock = VirtualClock(monotonic_start=3.0)
    with WebcamSource(clock, device=2, size=(320, 240), fps=10.0) as src:
        assert isinstance(src, FrameSource)
        cap = FakeCapture.opened[0]
        assert cap.device == 2 and cap.api == fake_cv2.CAP_V4L2
        assert cap.props[fake_cv2.CAP_PROP_BUFFERSIZE] == 1  # the newest frame, no queue
        frame = src.read_frame()
        assert frame.y.shape == (240, 320) and frame.y.dtype == np.uint8 and int(frame.y[0, 0]) == 117
        assert src.next_frame_at() == pytest.approx(3.1)
    assert cap.released
    with pytest.raises(CameraError):
        src.read_frame()


def test_a_missing_webcam_is_a_camera_error(fake_cv2: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(FakeCapture, "present", False)
    with pytest.raises(CameraError, match="/dev/video0"):
        WebcamSource(VirtualClock())
    assert FakeCapture.opened[0].released


# ---------------------------------------------------------------------------------- composition
def config(**camera: Any) -> Any:
    return parse_config({"camera": camera})


def test_the_app_builds_a_folder_source_cut_to_the_region(tmp_path: Path) -> None:
    Image.new("L", (200, 100), 90).save(tmp_path / "a.png")
    src = build_camera(config(source="folder", folder=str(tmp_path), region=[0.5, 0.0, 0.5, 1.0]), VirtualClock())
    assert isinstance(src, CroppedSource) and src.read_frame().y.shape == (100, 100)
    src.close()


@pytest.mark.parametrize("source", ["video", "webcam"])
def test_the_app_says_opencv_is_missing_for_video_and_webcam(source: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "cv2", None)
    with pytest.raises(StartupError, match="OpenCV"):
        build_camera(config(source=source, video_file="clip.mp4"), VirtualClock())


def test_a_region_outside_the_frame_or_a_source_without_its_file_is_a_config_error() -> None:
    with pytest.raises(ValueError, match="region"):
        config(region=[0.5, 0.5, 0.6, 0.2])
    with pytest.raises(ValueError, match=r"camera\.video_file"):
        config(source="video")
    with pytest.raises(ValueError, match=r"camera\.folder"):
        config(source="folder")


def test_the_app_builds_the_configured_decoder() -> None:
    from drivers.qr.isolated import IsolatedDecoder
    from drivers.qr.preprocess import PreprocessingDecoder
    from drivers.qr.zxing_decoder import ZxingDecoder

    assert config().camera.decoder == "zxing" and config().camera.decoder_isolated
    assert isinstance(build_decoder(config(decoder_isolated=False)), ZxingDecoder)
    assert isinstance(build_decoder(config(decoder="zxing+preprocess", decoder_isolated=False)),
                      PreprocessingDecoder)
    assert isinstance(build_decoder(config(decoder="pyzbar+preprocess", decoder_isolated=False)),
                      PreprocessingDecoder)
    isolated = build_decoder(config(decoder="pyzbar", decode_timeout_s=1.0))
    try:
        assert isinstance(isolated, IsolatedDecoder) and isolated.pid is not None
    finally:
        isolated.close()
