"""Faces in a 32×24 thermal image: who is where, how far, and how warm — one frame at a time.

Pure functions over one (24, 32) °C image and the room's background, no state:

* people are 4-connected regions of skin-warm pixels (above `SKIN_MIN_C` and well above the
  background), each split into *basins* around its prominent peaks (`segment`): a head in the
  queue whose image touches the visitor's is a second person, never part of the visitor's face —
  a febrile neighbour's forehead must not become the visitor's reading.  A peak is prominent when
  it stands `PROMINENCE_C` above the lowest pass that joins it to a higher one: two foreheads
  are separated by cheeks, hair or a blended edge (1 °C and more), while the sensor's noise on
  one forehead makes bumps of a few tenths (on a noisy sensor the bar rises with the noise the
  room's pixels show, `pixel_noise_c`);
* a face's *temperature* is a robust maximum: the mean of the pixels within `FACE_BAND_C` of its
  `ROBUST_RANK`-th hottest pixel.  Anchoring on the 3rd-hottest pixel means one or two hot
  (glitched) pixels can neither make a fever nor, being outside the band, shift the mean;
  averaging the forehead plateau instead of taking a single order statistic removes the upward
  bias a noisy maximum has;
* its *width* is measured on the forehead rows as the sum of the pixels' fill fractions
  ((value − room) / (row peak − room), each pixel against its own background), so a head half
  covering an edge pixel counts half: the
  optics blend linearly, and whole pixels alone would make distance jump in 10–20 % steps.
  Only the forehead rows are used because below the head, in a warm room, clothing is as warm
  as skin; a pixel of another basin ends the row (it is somebody else);
* its *centre* (the forehead plateau's mean column and row) is where it stands in the view:
  the tracker (`kiosk.screening.tracking`) follows it from frame to frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

FACE_WIDTH_M = 0.16  # a typical adult head seen from the front (= drivers.mlx90640.scene.FACE_WIDTH_M)
SKIN_MIN_C = 30.0  # a pixel this warm (and well above the room) may be skin
ABOVE_ROOM_C = 3.0  # ... and must be at least this much warmer than the background
FACE_MIN_PIXELS = 2  # a warm region smaller than this is noise or a far-away head
ROBUST_RANK = 3  # the n-th hottest pixel anchors the face temperature
FACE_BAND_C = 0.25  # pixels within this of the anchor are the forehead plateau
FOREHEAD_ROWS_C = 0.6  # rows whose peak is within this of the face's are forehead rows
PROMINENCE_C = 0.6  # a peak this far above its pass to a higher one is a head of its own ...
PROMINENCE_SIGMAS = 3.0  # ... and at least this many times the frame's pixel noise (a noisy sensor)
COLS = 32
STEADY_MIN_PIXELS = 12  # smaller faces are too few pixels to compare the two subpages' halves
STEADY_BALANCE = 0.8  # the two subpages' halves of a still face hold about as many warm pixels ...
STEADY_SHIFT_COLS = 0.6  # ... centred within this many columns of each other
FLECK_SHARE = 0.25  # a region under one less than this share of its width is not that one's body ...
BODY_WARMER_C = 0.5  # ... when it reads this much warmer (a face, under flecks of its own outline)


@dataclass(frozen=True, slots=True)
class Face:
    """One warm basin, measured: a head (or a hand, a cup of tea…)."""

    pixels: int
    width_px: float  # sub-pixel width on the forehead rows
    face_c: float  # robust maximum (uncalibrated)
    distance_m: float
    plateau: tuple[tuple[int, int], ...] = ()  # (row, col) of the pixels averaged into face_c
    top_row: int = 0  # the region's highest row
    columns: tuple[int, int] = (0, 31)  # the region's leftmost and rightmost column
    centre: tuple[float, float] = (11.5, 15.5)  # (row, column) of the forehead plateau's middle
    balance: float = 1.0  # warm pixels of the rarer chess parity over the commoner (1: alike)
    parity_shift: float = 0.0  # columns between the warm pixels' centres on the two chess parities

    @property
    def steady(self) -> bool:
        """Both of the array's interleaved subpages (a chess pattern: one per parity of row + column,
        read a frame period apart) show this face alike: the person did not move while the frame was
        read.  A face moving between the two shows as two half-images of different size or place."""
        return self.pixels < STEADY_MIN_PIXELS or (self.balance >= STEADY_BALANCE
                                                   and self.parity_shift <= STEADY_SHIFT_COLS)

    def is_body_of(self, face: Face) -> bool:
        """This region hangs below `face` and under it: that person's neck, shoulders or warm
        clothes (a warm room makes clothing as warm as skin), not a second person.  Unless `face`
        is a mere fleck over it (`FLECK_SHARE` of its width) and it reads warmer: a head moving while
        the frame was read leaves cool flecks of its outline above it, in one subpage only, and the
        face under them is a face.  (A neck warmer than a cold forehead, a mask between them, is
        still the body of a forehead as wide as a head.)"""
        (left, right), (face_left, face_right) = self.columns, face.columns
        if not (self.top_row > face.top_row and left <= face_right and right >= face_left):
            return False
        fleck = face_right - face_left + 1 < FLECK_SHARE * (right - left + 1)
        return not (fleck and self.face_c > face.face_c + BODY_WARMER_C)

    @property
    def centre_col(self) -> float:
        return self.centre[1]

    def offset_rad(self, pixel_rad: float) -> float:
        """Horizontal angle of the face's centre from the optical axis (+ = image right)."""
        return (self.centre[1] + 0.5 - COLS / 2) * pixel_rad

    def lateral_m(self, pixel_rad: float) -> float:
        """How far (m) the face stands to the side of the optical axis, at its distance."""
        return self.distance_m * math.tan(self.offset_rad(pixel_rad))


def label_regions(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """4-connected component labelling of a small boolean image (plain BFS)."""
    labels = np.zeros(mask.shape, dtype=np.int32)
    rows, cols = mask.shape
    count = 0
    for r0, c0 in zip(*np.nonzero(mask), strict=True):
        if labels[r0, c0]:
            continue
        count += 1
        labels[r0, c0] = count
        stack = [(r0, c0)]
        while stack:
            r, c = stack.pop()
            for rr, cc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
                if 0 <= rr < rows and 0 <= cc < cols and mask[rr, cc] and not labels[rr, cc]:
                    labels[rr, cc] = count
                    stack.append((rr, cc))
    return labels, count


def segment(values: np.ndarray, mask: np.ndarray, prominence: float = PROMINENCE_C) -> tuple[np.ndarray, int]:
    """Label the masked pixels by basin: 4-connected, and split at passes below prominent peaks.

    Pixels are visited from the hottest down (a flood from the peaks).  A pixel with no visited
    neighbour starts a basin; one touching several joins the basin of its warmest neighbour, and
    basins meeting there merge unless each of the lower ones still stands `prominence` above the
    pass.  Returns (labels, count) like `label_regions`; label 0 is outside the mask.
    """
    rows, cols = values.shape
    flat = values.ravel()
    where = np.flatnonzero(mask.ravel())
    order = where[np.argsort(-flat[where], kind="stable")]
    parent = np.full(flat.size, -1, dtype=np.int64)
    peak: dict[int, float] = {}

    def find(i: int) -> int:
        root = i
        while parent[root] != root:
            root = parent[root]
        while parent[i] != root:  # path compression
            parent[i], i = root, parent[i]
        return root

    for p in order.tolist():
        r, c = divmod(p, cols)
        v = float(flat[p])
        seen = [q for q in ((p - cols) if r else -1, (p + cols) if r + 1 < rows else -1,
                            (p - 1) if c else -1, (p + 1) if c + 1 < cols else -1)
                if q >= 0 and parent[q] >= 0]
        if not seen:
            parent[p] = p
            peak[p] = v
            continue
        roots = {find(q) for q in seen}
        if len(roots) > 1:
            top = max(roots, key=lambda root: peak[root])
            for root in roots:
                if root != top and peak[root] - v < prominence:
                    parent[root] = top  # a bump on the same head: one basin
        warmest = max(seen, key=lambda q: flat[q])
        parent[p] = find(warmest)
    labels = np.zeros(flat.size, dtype=np.int32)
    numbers: dict[int, int] = {}
    for p in order.tolist():
        root = find(p)
        labels[p] = numbers.setdefault(root, len(numbers) + 1)
    return labels.reshape(values.shape), len(numbers)


def pixel_noise_c(finite: np.ndarray, room: np.ndarray, mask: np.ndarray) -> float:
    """The frame's pixel noise (°C, 1σ), from how the room's own pixels scatter around the background."""
    residual = (finite - room)[~mask & np.isfinite(finite)]
    if residual.size < 16:
        return 0.0
    return float(1.4826 * np.median(np.abs(residual - np.median(residual))))


def distance_for_width(width_px: float, pixel_rad: float) -> float:
    """Distance (m) at which a face spans `width_px` pixels of `pixel_rad` radians each."""
    angle = max(width_px, 0.5) * pixel_rad
    return FACE_WIDTH_M / (2 * math.tan(angle / 2))


def robust_face_c(values: np.ndarray) -> tuple[float, np.ndarray]:
    """(face temperature, mask of the values used): the mean of the plateau around the
    `ROBUST_RANK`-th hottest value."""
    order = np.sort(values)[::-1]
    anchor = float(order[min(ROBUST_RANK, order.size) - 1])
    used = np.abs(values - anchor) <= FACE_BAND_C
    return float(values[used].mean()), used


def _row_width(row: np.ndarray, inside: np.ndarray, others: np.ndarray, peak_col: int, room: np.ndarray) -> float:
    """Sum of fill fractions of the basin's run through `peak_col`, plus the partly covered
    pixel just outside each end (too cool to be in the basin, but part of the head) unless it
    belongs to another basin.  A pixel is a blend of the face (the row's peak) and the room behind
    *it* (its own background): fill = (value − room) / (peak − room), so a background that is not
    even (a warm wall, a sunny patch) does not make the head narrower or wider."""
    peak_value = row[peak_col]
    if not peak_value - room[peak_col] > 0:
        return 0.0
    width = 0.0
    for step in (-1, 1):
        c = peak_col if step == 1 else peak_col - 1
        while 0 <= c < row.size:
            if others[c]:
                break  # somebody else's pixel: this head ends here
            span = peak_value - room[c]
            fill = (row[c] - room[c]) / span if span > 0 else 0.0
            if not fill > 0.05:
                break
            width += min(1.0, fill)
            if not inside[c]:
                break  # the edge pixel is counted; what lies beyond belongs to something else
            c += step
    return width


def find_faces(pixels: np.ndarray, room: np.ndarray | float, pixel_rad: float) -> list[Face]:
    """Every warm basin big enough to be a head, nearest (widest) first."""
    finite = np.where(np.isfinite(pixels), pixels, -np.inf)
    room_img = np.broadcast_to(np.asarray(room, dtype=np.float64), pixels.shape)
    mask = (finite >= SKIN_MIN_C) & (finite >= room_img + ABOVE_ROOM_C)
    prominence = max(PROMINENCE_C, PROMINENCE_SIGMAS * pixel_noise_c(finite, room_img, mask))
    labels, count = segment(finite, mask, prominence)
    faces = []
    for label in range(1, count + 1):
        where = labels == label
        n = int(where.sum())
        if n < FACE_MIN_PIXELS:
            continue
        face_c, used = robust_face_c(finite[where])
        coords = np.argwhere(where)
        plateau = tuple((int(r), int(c)) for r, c in coords[used])
        others = mask & ~where
        inside = np.where(where, finite, -np.inf)
        row_peaks = inside.max(axis=1)
        width = 0.0
        for r in np.flatnonzero(row_peaks >= face_c - FOREHEAD_ROWS_C):
            row = np.where(np.isfinite(pixels[r]), pixels[r], room_img[r])
            width = max(width, _row_width(row, where[r], others[r], int(np.argmax(inside[r])), room_img[r]))
        width = max(width, 1.0)
        middle = coords[used].mean(axis=0)
        parity = (coords[:, 0] + coords[:, 1]) % 2 == 0
        halves = (coords[parity], coords[~parity])
        counts = sorted((len(halves[0]), len(halves[1])))
        balance = counts[0] / counts[1] if counts[1] else 1.0
        shift = abs(float(halves[0][:, 1].mean()) - float(halves[1][:, 1].mean())) if counts[0] else 0.0
        faces.append(Face(n, width, face_c, distance_for_width(width, pixel_rad), plateau,
                          int(coords[:, 0].min()), (int(coords[:, 1].min()), int(coords[:, 1].max())),
                          (float(middle[0]), float(middle[1])), balance, shift))
    # A region hanging under another one is that person's body (however wide), not a person.
    faces = [f for f in faces if not any(f.is_body_of(g) for g in faces if g is not f)]
    faces.sort(key=lambda f: f.width_px, reverse=True)
    return faces
