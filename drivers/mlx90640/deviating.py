"""Deviating (broken or outlier) pixels: filled in from their neighbours.

The EEPROM flags up to four pixels that cannot be trusted.  The Melexis library
(`MLX90640_BadPixelsCorrection`) replaces them from neighbours *of the same subpage* — the
diagonal ones in chess mode, the horizontal ones in interleaved mode — so a subpage can be
corrected on its own, before the other half of the image exists.  Same here, except that a
neighbour which is itself deviating (or NaN) is skipped rather than used.
"""

from __future__ import annotations

import math

import numpy as np

from . import registers as reg


def interpolate_deviating(to: np.ndarray, bad: list[int], all_bad: set[int], *, chess: bool) -> None:
    """Replace `bad` pixels of `to` (768,) in place from good same-subpage neighbours.

    Chess: the median of the in-grid diagonal neighbours (one for a corner, two on an edge, four
    inside — exactly the reference's cases).  Interleaved: the horizontal neighbours, with the
    reference's gradient extrapolation when both pixels two columns away are good.  Deviating
    neighbours are skipped; with none left the pixel becomes NaN.
    """

    def good(p: int) -> bool:
        return p not in all_bad and math.isfinite(to[p])

    for p in bad:
        row, col = divmod(p, reg.COLS)
        if chess:
            near = [
                (row + dr) * reg.COLS + col + dc
                for dr in (-1, 1) for dc in (-1, 1)
                if 0 <= row + dr < reg.ROWS and 0 <= col + dc < reg.COLS
            ]
            values = sorted(float(to[q]) for q in near if good(q))
            mid = len(values) // 2  # the median of at most four, without numpy's overhead
            to[p] = (values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2) if values else np.nan
            continue
        left = p - 1 if col > 0 and good(p - 1) else None
        right = p + 1 if col < reg.COLS - 1 and good(p + 1) else None
        if left is not None and right is not None:
            if 2 <= col <= reg.COLS - 3 and good(p - 2) and good(p + 2):
                grad_r, grad_l = to[p + 1] - to[p + 2], to[p - 1] - to[p - 2]
                to[p] = to[p - 1] + grad_l if abs(grad_r) > abs(grad_l) else to[p + 1] + grad_r
            else:
                to[p] = (to[left] + to[right]) / 2.0
        elif left is not None or right is not None:
            to[p] = to[left if left is not None else right]
        else:
            to[p] = np.nan
