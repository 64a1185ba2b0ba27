"""Frame rate and main-loop latency while visitors are processed: worker threads vs the old inline loop.

    .venv/bin/python bench/ui_frame_rate.py [--seconds 14] [--bus-hz 100000] [--decode-extra-ms 40]

Real time (RealClock), the real emulated pipeline (MLX90640 registers over an emulated I²C bus →
driver → screening; rendered phones → zbar → THP1 verifier; SQLite outbox) and the real pygame
screens (SDL dummy driver, 800×480).  Made hard on purpose: the I²C bus is slow (`--bus-hz`, a
long cable at 100 kHz instead of 400 kHz), and each decode takes `--decode-extra-ms` longer (a Pi's
slower CPU; the padding sleeps, i.e. releases the GIL, as the native decoders do).

The same visitors are played three times: `threaded` (sensor and camera+decoder in worker
threads, the screen redrawn at display.fps), `inline` (the old single loop that reads and decodes
in place and redraws an unchanged screen every 0.5 s) and `inline-20fps` (the old loop asked for
display.fps).  Printed per mode: frames drawn per second, the gaps between frames (p50/p95/max),
the main loop's pass-to-pass gaps (`LoopWatch`) and passes later than 250 ms, the time per pass
the loop was *blocked* (its gap less the time it spent waiting: while blocked it can neither
draw nor pump window events), decisions and their latency; then the ratios.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kiosk.clock import RealClock
from kiosk.config import KioskConfig
from kiosk.ports import ScreenView
from kiosk.simulation import Scenario, build_simulated_kiosk, scenario_config

VISITORS = [
    {"id": "a", "arrive_s": 0.5, "forehead_c": 36.5, "distance_m": 0.5, "code": {"colour": "G"},
     "expect": {"decision": "PASS", "reasons": []}},
    {"id": "b", "arrive_s": 5.0, "forehead_c": 36.6, "distance_m": 0.5, "code": {"colour": "R"},
     "expect": {"decision": "STOP", "reasons": ["code_red"]}},
    {"id": "c", "arrive_s": 9.5, "forehead_c": 36.4, "distance_m": 0.5, "code": {"colour": "G"},
     "expect": {"decision": "PASS", "reasons": []}},
]


class TimedDisplay:
    """The real pygame display, noting the real time of every frame drawn."""

    def __init__(self, size: tuple[int, int]) -> None:
        from ui.display import PygameDisplay

        self.inner = PygameDisplay(size=size, driver="dummy")
        self.times: list[float] = []

    def render(self, view: ScreenView) -> None:
        self.inner.render(view)
        self.times.append(time.perf_counter())

    def close(self) -> None:
        pass  # shared between the two runs


class BusyDecoder:
    """The real zbar decoder, plus `extra_s` of waiting per frame (a slower CPU, GIL released)."""

    def __init__(self, inner, extra_s: float) -> None:  # type: ignore[no-untyped-def]
        self.inner = inner
        self.extra_s = extra_s
        self.seconds = 0.0
        self.frames = 0

    def decode(self, y):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        texts = self.inner.decode(y)
        time.sleep(self.extra_s)
        self.seconds += time.perf_counter() - started
        self.frames += 1
        return texts


class WaitMeter:
    """Counts the time the loop spends waiting (sleeping on the clock, or on the workers' wake-up)."""

    def __init__(self) -> None:
        self.waited = 0.0

    def timed(self, call):  # type: ignore[no-untyped-def]
        def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
            started = time.perf_counter()
            try:
                return call(*args, **kwargs)
            finally:
                self.waited += time.perf_counter() - started
        return wrapper


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def run(mode: str, display: TimedDisplay, args: argparse.Namespace) -> dict[str, float]:
    scenario = Scenario.model_validate({"name": f"bench {mode}", "start": time.time(), "visitors": VISITORS})
    with tempfile.TemporaryDirectory(prefix="bench-ui-") as tmp:
        config = scenario_config(scenario, KioskConfig(), tmp)
        kiosk, world, device = build_simulated_kiosk(scenario, config, RealClock(), display=display)  # type: ignore[arg-type]
        device.bus_hz = args.bus_hz  # type: ignore[attr-defined]
        decoder = BusyDecoder(kiosk.decoder, args.decode_extra_ms / 1000)
        kiosk.decoder = decoder
        kiosk.threaded = mode == "threaded"
        # The old loop re-rendered an unchanged screen every 0.5 s; "inline-20fps" asks it for display.fps.
        kiosk.presenter.interval = 0.5 if mode == "inline" else 1 / config.display.fps
        meter = WaitMeter()
        kiosk.clock.sleep_until = meter.timed(kiosk.clock.sleep_until)  # type: ignore[method-assign]
        kiosk.workers.wake.wait = meter.timed(kiosk.workers.wake.wait)  # type: ignore[method-assign]
        busy: list[float] = []  # per pass: the time the loop could not react (its gap less its waiting)
        mark = [time.perf_counter(), 0.0]

        def pass_done(_now: float) -> None:
            t = time.perf_counter()
            busy.append((t - mark[0]) - (meter.waited - mark[1]))
            mark[:] = [t, meter.waited]

        kiosk.on_beat.append(pass_done)
        display.times.clear()
        started = time.perf_counter()
        end = started + args.seconds
        try:
            kiosk.run(until=lambda: time.perf_counter() > end)
        finally:
            kiosk.close()
        elapsed = time.perf_counter() - started
        frames = [b - a for a, b in zip(display.times, display.times[1:], strict=False)]
        gaps = list(kiosk.loop_watch.gaps)
        records = world.records()
        latencies = [r.latency_s for r in records if r.latency_s is not None]
        right = sum(1 for r, v in zip(records, VISITORS, strict=False) if r.decision == v["expect"]["decision"])
        return {
            "fps": len(display.times) / elapsed,
            "frame_p50_ms": 1000 * _pct(frames, 0.5),
            "frame_p95_ms": 1000 * _pct(frames, 0.95),
            "frame_max_ms": 1000 * max(frames, default=float("nan")),
            "loop_p50_ms": 1000 * _pct(gaps, 0.5),
            "loop_p95_ms": 1000 * _pct(gaps, 0.95),
            "loop_max_ms": 1000 * max(gaps, default=float("nan")),
            "late_passes": sum(1 for g in gaps if g > 0.25),
            "blocked_p50_ms": 1000 * _pct(busy[1:], 0.5),
            "blocked_p95_ms": 1000 * _pct(busy[1:], 0.95),
            "blocked_max_ms": 1000 * max(busy[1:], default=float("nan")),
            "decided": len(records),
            "as_expected": right,
            "latency_mean_s": statistics.fmean(latencies) if latencies else float("nan"),
            "decode_ms": 1000 * decoder.seconds / max(1, decoder.frames),
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=14.0, help="real seconds per mode (default 14)")
    parser.add_argument("--bus-hz", type=float, default=100_000, help="emulated I²C clock (default 100 kHz)")
    parser.add_argument("--decode-extra-ms", type=float, default=40.0, help="added to each decode (default 40)")
    parser.add_argument("--size", default="800x480", help="panel size WxH (default 800x480)")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    display = TimedDisplay((width, height))
    from ui.samples import gallery

    for view in gallery().values():  # load fonts and fit each screen once, so that neither mode pays for it
        display.inner.renderer.draw(display.inner.surface, view)
    print(f"{args.seconds:.0f} s per mode, {len(VISITORS)} visitors, I²C at {args.bus_hz / 1000:.0f} kHz, "
          f"decode +{args.decode_extra_ms:.0f} ms, {width}x{height}, display.fps {KioskConfig().display.fps:.0f}")
    results = {mode: run(mode, display, args) for mode in ("threaded", "inline", "inline-20fps")}
    keys = list(results["threaded"])
    print(f"{'':16}" + "".join(f"{m:>12}" for m in results))
    for key in keys:
        print(f"{key:16}" + "".join(f"{results[m][key]:12.1f}" for m in results))
    t, i = results["threaded"], results["inline"]
    f = results["inline-20fps"]
    for name, other in (("inline", i), ("inline-20fps", f)):
        print(f"threaded vs {name}: fps x{t['fps'] / other['fps']:.1f}, "
              f"p95 frame gap x{t['frame_p95_ms'] / other['frame_p95_ms']:.2f}, "
              f"worst frame gap x{t['frame_max_ms'] / other['frame_max_ms']:.2f}, "
              f"p95 blocked x{t['blocked_p95_ms'] / other['blocked_p95_ms']:.2f}, "
              f"worst blocked x{t['blocked_max_ms'] / other['blocked_max_ms']:.2f}")
    display.inner.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
