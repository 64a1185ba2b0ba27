"""Read rate per difficulty grade: pyzbar alone, pyzbar with pre-processing, and zxing-cpp (alone and with).

    .venv/bin/python bench/decode_read_rate.py [--per-grade N] [--seed S]

The graded set (`drivers/camera/grades.py`, easy → very hard) is drawn from the seed, N frames
per grade at 640×480.  Columns: `pyzbar` plain zbar on the Y plane; `pyzbar+pre` zbar with every
clean-up pass of `drivers/qr/preprocess.py`; `zxing` zxing-cpp (the kiosk's default);
`zxing+pre` zxing-cpp with every clean-up pass; `zxing+pre1` with one pass per frame in
rotation, as `camera.decoder = "zxing+preprocess"` runs in the kiosk (a phone held up for a
few frames gets every pass; this per-frame figure is its worst case).  A frame counts as read
when the decoder returns exactly its code.  Then the same for real pictures of codes (the
shared health-pass vectors, PNGs of issued codes): as they are, and photographed by the
renderer with each grade's degradations.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from drivers.camera.grades import GRADES, graded_frames, sample_shot
from drivers.camera.photo import photograph
from drivers.qr.images import load_gray
from drivers.qr.preprocess import ZXING_PASSES, PreprocessingDecoder
from drivers.qr.pyzbar_decoder import PyzbarDecoder
from drivers.qr.zxing_decoder import ZxingDecoder

VECTORS = Path(__file__).resolve().parents[2] / "shared" / "health-pass" / "vectors" / "png"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-grade", type=int, default=60)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    decoders = {
        "pyzbar": PyzbarDecoder(invert=False),
        "pyzbar+pre": PreprocessingDecoder(PyzbarDecoder(invert=False)),
        "zxing": ZxingDecoder(),
        "zxing+pre": PreprocessingDecoder(ZxingDecoder(), passes=ZXING_PASSES),
        "zxing+pre1": PreprocessingDecoder(ZxingDecoder(), passes=ZXING_PASSES, passes_per_frame=1),
    }
    seconds = dict.fromkeys(decoders, 0.0)
    frames_seen = 0

    def score(y: np.ndarray, want: list[str]) -> dict[str, bool]:
        nonlocal frames_seen
        frames_seen += 1
        hits = {}
        for name, decoder in decoders.items():
            started = time.perf_counter()
            hits[name] = decoder.decode(y) == want
            seconds[name] += time.perf_counter() - started
        return hits

    def row(label: str, counts: dict[str, int], n: int) -> None:
        cells = "".join(f"{100.0 * counts[k] / n:>11.0f}%" for k in decoders)
        print(f"{label:<34}{n:>5}{cells}")

    header = "".join(f"{k:>12}" for k in decoders)
    print(f"{'rendered phones, grade':<34}{'n':>5}{header}")
    totals = dict.fromkeys(decoders, 0)
    for g, grade in enumerate(GRADES, start=1):
        counts = dict.fromkeys(decoders, 0)
        for frame in graded_frames(g, args.per_grade, seed=args.seed):
            for name, hit in score(frame.y, [frame.text]).items():
                counts[name] += hit
        for k in decoders:
            totals[k] += counts[k]
        row(f"{g} {grade.name}", counts, args.per_grade)
    row("all grades", totals, args.per_grade * len(GRADES))

    pictures = sorted(VECTORS.glob("*.png")) if VECTORS.is_dir() else []
    if pictures:
        print(f"\n{'real code pictures (shared vectors)':<34}{'n':>5}{header}")
        reference = ZxingDecoder()
        flat = [load_gray(p) for p in pictures]
        texts = [reference.decode(y) for y in flat]
        counts = dict.fromkeys(decoders, 0)
        for y, want in zip(flat, texts, strict=True):
            for name, hit in score(y, want).items():
                counts[name] += hit
        row("as issued (flat PNG)", counts, len(flat))
        for g, grade in enumerate(GRADES, start=1):
            counts = dict.fromkeys(decoders, 0)
            n = 0
            for i in range(max(1, args.per_grade // len(flat))):
                for j, (y, want) in enumerate(zip(flat, texts, strict=True)):
                    rng = np.random.default_rng((args.seed, 100 + g, i, j))
                    shot = sample_shot(grade, rng)
                    frame = photograph(y, shot, seed=int(rng.integers(2**31)))
                    n += 1
                    for name, hit in score(frame, want).items():
                        counts[name] += hit
            row(f"photographed, grade {g} {grade.name}", counts, n)
    else:
        print(f"\n(no shared vectors at {VECTORS}: real pictures skipped)")
    print("\nmean decode time per frame: " + ", ".join(f"{k} {1000 * s / frames_seen:.1f} ms"
                                                        for k, s in seconds.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
