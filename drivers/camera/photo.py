"""A phone photographed at the door: perspective, glare, moiré, a thumb, dim screens, noise.

`render_phone` draws a phone as a clean camera would see it.  Real frames are worse in ways a
decoder must survive, and each has a physical cause that fixes how it is drawn here:

- *glare*: a lamp or the sky reflected in the glass adds light to dark and light modules alike
  (contrast drops, the centre clips to white), so it is an additive soft spot;
- *moiré*: the screen's pixel grid beats against the sensor's, which shows as low-frequency
  bands multiplying the screen's luminance;
- *a thumb*: the hand holding the phone covers part of the side of the screen, sometimes the
  code's quiet zone or its edge modules; it is a skin-toned capsule coming in from one side;
- *low brightness*: the phone's own brightness (`brightness`) and an under-exposed camera
  (`exposure`, a gain on the whole frame) both squeeze the code into a few grey levels;
- *blur*: defocus (Gaussian) and a hand that moves during the exposure (linear motion blur);
- *noise*: sensor noise, after the exposure gain, as in a camera.

Everything is drawn from a `Shot` (plain numbers), and every random choice comes from a seeded
generator, so a frame is reproducible from (text, shot, seed).  `photograph` does the same for
an arbitrary picture (a PNG of a code), which turns flat test vectors into camera frames.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from .phone import DEFAULT_PHONE_HEIGHT_FRAC, draw_phone, phone_corners, project_texture, room_background

SKIN_LUMA = 150.0


@dataclass(frozen=True, slots=True)
class Glare:
    """A reflected light on the glass: centre in phone coordinates (0..1 across, 0..1 down)."""

    u: float
    v: float
    radius: float  # as a fraction of the phone's width
    strength: float  # luminance added at the centre (0..255)


@dataclass(frozen=True, slots=True)
class Shot:
    """How one frame of a phone is taken.  Defaults are a clean, square-on, well-lit frame."""

    tilt_deg: float = 0.0  # yaw: the phone turned left/right (perspective)
    pitch_deg: float = 0.0  # the phone tipped back or forward (perspective)
    rotate_deg: float = 0.0  # turned in its own plane
    scale: float = DEFAULT_PHONE_HEIGHT_FRAC  # phone height as a fraction of the frame height
    offset: tuple[float, float] = (0.0, 0.0)  # centre shift, fractions of the frame size
    brightness: float = 1.0  # the phone's screen brightness
    exposure: float = 1.0  # the camera's gain on the whole frame (< 1: under-exposed)
    blur_px: float = 0.0  # defocus (Gaussian radius)
    motion_px: float = 0.0  # length of a linear motion blur
    motion_deg: float = 0.0  # its direction
    glares: tuple[Glare, ...] = ()
    moire_amp: float = 0.0  # relative amplitude of the bands (0..1)
    moire_period_px: float = 8.0
    moire_deg: float = 30.0
    thumb_reach: float = 0.0  # how far the thumb tip comes in from the side, fraction of width; 0 = no thumb
    thumb_side: int = 1  # +1 from the right edge, -1 from the left
    thumb_v: float = 0.7  # height of the thumb tip on the phone (0 top .. 1 bottom)
    noise_sigma: float = 0.0


def render_shot(text: str, shot: Shot, *, frame_size: tuple[int, int] = (640, 480),
                seed: int = 0) -> np.ndarray:
    """One (H, W) uint8 camera frame of a phone showing `text` as a QR code, taken as `shot` says."""
    w, h = frame_size
    canvas = room_background(frame_size).astype(np.float32)
    center = (w * (0.5 + shot.offset[0]), h * (0.5 + shot.offset[1]))
    quad = draw_phone(canvas, text, center=center, height_px=shot.scale * h, tilt_deg=shot.tilt_deg,
                      pitch_deg=shot.pitch_deg, rotate_deg=shot.rotate_deg, brightness=shot.brightness,
                      blur_px=shot.blur_px)
    return _develop(canvas, quad, shot, seed)


#: A code on a phone held at reading distance spans about this much of the frame height
#: (`render_phone`'s default phone: 0.9 of the height, the code ~45 % of the phone's height).
PICTURE_HEIGHT_FRAC = 0.45
_PICTURE_MARGIN = 0.06  # white screen around a picture, as a fraction of its size on each side


def photograph(picture: np.ndarray, shot: Shot, *, frame_size: tuple[int, int] = (640, 480),
               seed: int = 0) -> np.ndarray:
    """A flat luminance picture (a code's PNG) shown on a screen and photographed as `shot` says.

    The picture, on a little white screen margin, keeps its aspect ratio and is as tall as a
    code on a phone at `shot.scale` (so modules get the same pixels as in `render_shot`); its
    light levels are scaled by `shot.brightness`, as a dimmed screen would show them.
    """
    w, h = frame_size
    canvas = room_background(frame_size).astype(np.float32)
    margin = round(_PICTURE_MARGIN * max(picture.shape))
    screen = np.pad(picture, margin, constant_values=255).astype(np.float32) * shot.brightness
    ph, pw = screen.shape
    luma = Image.fromarray(np.clip(screen, 0, 255).astype(np.uint8))
    alpha = Image.new("L", (pw, ph), 255)
    center = (w * (0.5 + shot.offset[0]), h * (0.5 + shot.offset[1]))
    height_px = shot.scale / DEFAULT_PHONE_HEIGHT_FRAC * PICTURE_HEIGHT_FRAC * h
    quad = phone_corners(center, height_px, height_px * pw / ph, shot.tilt_deg, shot.rotate_deg,
                          focal_px=0.77 * w, pitch_deg=shot.pitch_deg)
    project_texture(canvas, luma, alpha, quad, blur_px=shot.blur_px)
    return _develop(canvas, quad, shot, seed)


# ------------------------------------------------------------------------------------ effects


def _develop(canvas: np.ndarray, quad: np.ndarray, shot: Shot, seed: int) -> np.ndarray:
    """Everything after the phone is in the frame: the glass, the hand, the camera."""
    rng = np.random.default_rng(seed)
    box = _box(quad, canvas.shape)
    if box is not None:
        if shot.moire_amp > 0:
            _moire(canvas, quad, box, shot, rng)
        for glare in shot.glares:
            _glare(canvas, quad, box, glare)
        if shot.thumb_reach > 0:
            _thumb(canvas, quad, shot)
        if shot.motion_px >= 1:
            _motion_blur(canvas, box, shot.motion_px, shot.motion_deg)
    if shot.exposure != 1.0:
        canvas *= shot.exposure
    if shot.noise_sigma > 0:
        canvas += rng.normal(0.0, shot.noise_sigma, size=canvas.shape).astype(np.float32)
    return np.clip(canvas + 0.5, 0, 255).astype(np.uint8)


def _box(quad: np.ndarray, shape: tuple[int, ...], margin: float = 4.0) -> tuple[int, int, int, int] | None:
    h, w = shape
    x0 = max(0, math.floor(quad[:, 0].min() - margin))
    y0 = max(0, math.floor(quad[:, 1].min() - margin))
    x1 = min(w, math.ceil(quad[:, 0].max() + margin))
    y1 = min(h, math.ceil(quad[:, 1].max() + margin))
    return None if x1 <= x0 or y1 <= y0 else (x0, y0, x1, y1)


def _on_phone(quad: np.ndarray, u: float, v: float) -> np.ndarray:
    """The frame point at (u across, v down) of the phone: bilinear in its corners (close enough)."""
    tl, tr, br, bl = quad
    return (1 - v) * ((1 - u) * tl + u * tr) + v * ((1 - u) * bl + u * br)


def _phone_width(quad: np.ndarray) -> float:
    return float(0.5 * (np.linalg.norm(quad[1] - quad[0]) + np.linalg.norm(quad[2] - quad[3])))


def _phone_mask(quad: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    x0, y0, x1, y1 = box
    mask = Image.new("L", (x1 - x0, y1 - y0), 0)
    ImageDraw.Draw(mask).polygon([(float(x) - x0, float(y) - y0) for x, y in quad], fill=255)
    return np.asarray(mask, dtype=np.float32) * (1.0 / 255.0)


def _moire(canvas: np.ndarray, quad: np.ndarray, box: tuple[int, int, int, int], shot: Shot,
           rng: np.random.Generator) -> None:
    """Bands where the screen's pixel grid beats against the sensor's: a multiplicative grating."""
    x0, y0, x1, y1 = box
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    a = math.radians(shot.moire_deg)
    phase = rng.uniform(0, 2 * math.pi)
    # two gratings at nearby angles: real moiré is a beat, not a single clean stripe
    bands = np.cos((xx * math.cos(a) + yy * math.sin(a)) * (2 * math.pi / shot.moire_period_px) + phase)
    bands += 0.5 * np.cos((xx * math.cos(a + 0.6) + yy * math.sin(a + 0.6))
                          * (2 * math.pi / (1.7 * shot.moire_period_px)))
    gain = 1.0 + (shot.moire_amp / 1.5) * bands * _phone_mask(quad, box)
    canvas[y0:y1, x0:x1] *= gain


def _glare(canvas: np.ndarray, quad: np.ndarray, box: tuple[int, int, int, int], glare: Glare) -> None:
    """A reflection on the glass: light added to everything under it, so the centre clips."""
    x0, y0, x1, y1 = box
    cx, cy = _on_phone(quad, glare.u, glare.v)
    r = max(1.0, glare.radius * _phone_width(quad))
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    # an elongated spot (a tube light, a window), on the glass only
    d2 = ((xx - cx) / (1.6 * r)) ** 2 + ((yy - cy) / r) ** 2
    canvas[y0:y1, x0:x1] += glare.strength * np.exp(-2.0 * d2) * _phone_mask(quad, box)


def _thumb(canvas: np.ndarray, quad: np.ndarray, shot: Shot) -> None:
    """The holder's thumb: a capsule from beyond the phone's side edge to `thumb_reach` inside it."""
    width = _phone_width(quad)
    edge_u = 1.0 if shot.thumb_side > 0 else 0.0
    tip = _on_phone(quad, edge_u - shot.thumb_side * shot.thumb_reach, shot.thumb_v)
    base = _on_phone(quad, edge_u + shot.thumb_side * 0.25, shot.thumb_v + 0.12)
    radius = 0.11 * width
    h, w = canvas.shape
    x0 = max(0, math.floor(min(tip[0], base[0]) - radius - 2))
    x1 = min(w, math.ceil(max(tip[0], base[0]) + radius + 2))
    y0 = max(0, math.floor(min(tip[1], base[1]) - radius - 2))
    y1 = min(h, math.ceil(max(tip[1], base[1]) + radius + 2))
    if x1 <= x0 or y1 <= y0:
        return
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    seg = base - tip
    t = np.clip(((xx - tip[0]) * seg[0] + (yy - tip[1]) * seg[1]) / float(seg @ seg), 0.0, 1.0)
    dist = np.hypot(xx - (tip[0] + t * seg[0]), yy - (tip[1] + t * seg[1]))
    cover = np.clip(radius - dist + 1.0, 0.0, 1.0)  # a soft edge about a pixel wide
    shade = SKIN_LUMA * (0.75 + 0.25 * np.clip(1.0 - dist / radius, 0.0, 1.0))  # rounder = lit
    region = canvas[y0:y1, x0:x1]
    region += cover * (shade - region)


def _motion_blur(canvas: np.ndarray, box: tuple[int, int, int, int], length: float, deg: float) -> None:
    """The hand moved during the exposure: the phone's region averaged along a line."""
    x0, y0, x1, y1 = box
    steps = max(2, round(length))
    dx, dy = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    src = canvas[y0:y1, x0:x1].copy()
    acc = np.zeros_like(src)
    for i in range(steps):
        s = i - (steps - 1) / 2
        acc += np.roll(src, (round(s * dy), round(s * dx)), axis=(0, 1))
    canvas[y0:y1, x0:x1] = acc / steps
