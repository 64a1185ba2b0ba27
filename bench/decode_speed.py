"""Frame → decoded text: the kiosk's Y-plane paths against the naive RGB → PIL → pyzbar path.

    .venv/bin/python bench/decode_speed.py [--repeat N]

For 640×480 and 1280×720 frames of a phone showing a THP1-length code (QR version 10), and for
an empty room (the commonest frame), it times, per frame, the fastest and the median of N rounds
(the paths take turns within a round; the machine is shared, the fastest run is the one least
disturbed by other processes, and the ratios are taken between fastest runs):

- naive: the camera's RGB frame → `PIL.Image.fromarray` → `pyzbar.decode` (all symbologies);
- pyzbar Y: `PyzbarDecoder` on the Y plane of a YUV420 buffer (a strided view, QR only), with
  and without its inverted retry (which doubles the cost of a frame with no code);
- zxing Y: `ZxingDecoder` on the same view (the kiosk's default), and with the clean-up retries
  of `drivers.qr.preprocess` (`zxing+preprocess`: same cost when a code is read at once, one
  clean-up pass more on a frame with no code);
- zxing Y, isolated: the default in its child process (`IsolatedDecoder`: copy + pipe round trip).

Ratios are against the naive path measured in the same run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from drivers.camera.grades import code_text
from drivers.camera.phone import render_phone, room_background
from drivers.qr.decoders import make_decoder
from drivers.qr.isolated import IsolatedDecoder
from drivers.qr.pyzbar_decoder import PyzbarDecoder
from drivers.qr.zxing_decoder import ZxingDecoder


def yuv420_view(y: np.ndarray) -> np.ndarray:
    """The frame as picamera2 hands it over: a YUV420 buffer with a 64-byte-aligned stride; return its Y view."""
    h, w = y.shape
    buffer = np.full((h * 3 // 2, -(-w // 64) * 64 + 64), 128, np.uint8)
    buffer[:h, :w] = y
    return buffer[:h, :w]


def naive(rgb: np.ndarray) -> list[str]:
    from PIL import Image
    from pyzbar import pyzbar

    return [s.data.decode("utf-8") for s in pyzbar.decode(Image.fromarray(rgb))]


def timed(paths: dict[str, Callable[[], list[str]]], repeat: int) -> dict[str, tuple[float, float, list[str]]]:
    """Per path: (fastest ms, median ms, the answer).

    The paths run in turn within each round, so that a burst of load from another process on
    this shared machine hits all of them alike rather than whichever was running then.
    """
    answers = {name: fn() for name, fn in paths.items()}  # warm up (and the answers)
    times: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(repeat):
        for name, fn in paths.items():
            started = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - started)
    return {name: (min(t) * 1000.0, statistics.median(t) * 1000.0, answers[name]) for name, t in times.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=40)
    args = parser.parse_args()
    text = code_text(np.random.default_rng(1))
    zbar, zbar_once, zxing = PyzbarDecoder(), PyzbarDecoder(invert=False), ZxingDecoder()
    zxing_pre = make_decoder("zxing+preprocess")
    isolated = IsolatedDecoder("zxing", timeout_s=2.0)
    ok = True
    try:
        print(f"{'frame':<22}{'path':<22}{'ms fastest':>11}{'median':>9}{'× faster':>10}  read")
        for size in ((640, 480), (1280, 720)):
            frames = {
                "phone": render_phone(text, frame_size=size, noise_sigma=1.5),
                "empty room": np.array(room_background(size)),
            }
            for kind, y in frames.items():
                rgb = np.ascontiguousarray(np.repeat(y[:, :, None], 3, axis=2))
                view = yuv420_view(y)
                paths: dict[str, Callable[[], list[str]]] = {
                    "naive RGB→PIL→pyzbar": lambda rgb=rgb: naive(rgb),
                    "pyzbar Y, no retry": lambda view=view: zbar_once.decode(view),
                    "pyzbar Y + inverted": lambda view=view: zbar.decode(view),
                    "zxing Y plane": lambda view=view: zxing.decode(view),
                    "zxing+pre Y plane": lambda view=view: zxing_pre.decode(view),
                    "zxing Y, isolated": lambda view=view: isolated.decode(view),
                }
                base = None
                for name, (ms, median, texts) in timed(paths, args.repeat).items():
                    base = base or ms
                    want = [text] if kind == "phone" else []
                    ok &= texts == want
                    label = f"{size[0]}×{size[1]} {kind}"
                    print(f"{label:<22}{name:<22}{ms:>11.2f}{median:>9.2f}{base / ms:>10.1f}  "
                          f"{'ok' if texts == want else 'WRONG'}")
    finally:
        isolated.close()
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
