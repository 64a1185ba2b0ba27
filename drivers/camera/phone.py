"""A phone held up to the camera, showing a health-code QR: rendered into a luminance image.

The simulator and the tests need camera frames that a real QR decoder must work for: a THP1 code
is ~290 alphanumeric characters (QR version 10, 57 modules at level M), so at 640×480 the phone
has to be close for each module to cover the ≥3 px that zbar needs.  That is why the default
phone fills 90 % of the frame height (3.1 px per module for version 10; at 70 % a phone of real
proportions gets only ~2.4 px per module; `qr_module_px` says what a given layout yields).

How it is drawn: the phone's face (dark bezel, white screen, app header, the code, a few text
lines) is built once per text and brightness as a small texture, then projected into the frame
with a homography (in-plane rotation, a yaw tilt with perspective) using Pillow's PERSPECTIVE
transform, and alpha-blended over a dim room background.  Only the phone's bounding box is
transformed, so a frame costs a few milliseconds.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import segno
from PIL import Image, ImageFilter

#: Width / height of the phone body (a modern phone is 0.46–0.49).
PHONE_ASPECT = 0.49
#: Default phone height as a fraction of the frame height (see module docstring).
DEFAULT_PHONE_HEIGHT_FRAC = 0.9

_TEXELS_PER_MODULE = 4  # texture resolution; the projection scales it to the frame
_QR_BORDER = 2  # quiet zone drawn by the code itself, in modules …
_SCREEN_MARGIN = 1  # … plus this much white screen on each side: 3 modules of quiet zone in all
_SIDE_BEZEL = 0.035  # of the phone width
_END_BEZEL = 0.06  # top and bottom, of the phone height
_CORNER = 0.09  # corner radius, of the phone width
_PAD = 2  # transparent texels around the body so that bilinear sampling gives a soft edge
_BEZEL_LUMA = 22.0
_SCREEN_WHITE = 235.0


@functools.lru_cache(maxsize=64)
def qr_modules(text: str) -> np.ndarray:
    """The code's module matrix (True = dark), without quiet zone, at error level M.

    Cached per text because the simulator renders the same code for many frames; returned
    read-only so that the cached value cannot be changed by a caller.
    """
    qr = segno.make(text, error="m", boost_error=False, micro=False)
    matrix = np.array([list(row) for row in qr.matrix], dtype=bool)
    matrix.flags.writeable = False
    return matrix


def _face_size(modules: int) -> tuple[int, int]:
    """Phone body size in texels (width, height) for a code of `modules` modules per side."""
    screen_w = (modules + 2 * _QR_BORDER + 2 * _SCREEN_MARGIN) * _TEXELS_PER_MODULE
    phone_w = round(screen_w / (1.0 - 2 * _SIDE_BEZEL))
    return phone_w, round(phone_w / PHONE_ASPECT)


def qr_module_px(text: str, *, frame_size: tuple[int, int] = (640, 480),
                 phone_height_frac: float = DEFAULT_PHONE_HEIGHT_FRAC) -> float:
    """Pixels per QR module of an untilted phone of that height (zbar wants at least 3)."""
    _, face_h = _face_size(qr_modules(text).shape[0])
    return _TEXELS_PER_MODULE * phone_height_frac * frame_size[1] / face_h


@functools.lru_cache(maxsize=16)
def _phone_face(text: str, brightness: float) -> tuple[Image.Image, Image.Image]:
    """The phone seen face-on, as (luminance, alpha) texture images padded by `_PAD` texels."""
    matrix = qr_modules(text)
    n, m = matrix.shape[0], _TEXELS_PER_MODULE
    body_w, body_h = _face_size(n)
    side, end = round(_SIDE_BEZEL * body_w), round(_END_BEZEL * body_h)
    white = _SCREEN_WHITE * brightness
    dark = 10.0 + 0.05 * white  # an LCD's black still leaks backlight

    luma = np.full((body_h, body_w), _BEZEL_LUMA, dtype=np.float32)
    screen = luma[end:body_h - end, side:body_w - side]
    screen[:] = white
    sh, sw = screen.shape
    screen[: max(2, sh // 40)] = 0.15 * white  # status bar
    header = sh // 40 + sh // 10
    screen[sh // 40: header] = 0.55 * white  # the app's coloured header, seen in grey
    for i in range(2):  # a title under the header
        y = header + m * (2 + 3 * i)
        screen[y: y + m, sw // 5: sw - sw // 5 - i * sw // 6] = 0.35 * white

    qr_px = (n + 2 * _QR_BORDER) * m
    top = max(header + 9 * m, (sh - qr_px) // 2 - 2 * m)
    left = (sw - qr_px) // 2
    code = np.kron(matrix, np.ones((m, m), dtype=bool))
    x0, y0 = left + _QR_BORDER * m, top + _QR_BORDER * m
    screen[y0: y0 + n * m, x0: x0 + n * m] = np.where(code, dark, white)
    for i in range(3):  # the holder's name and the code's time stamp below it
        y = top + qr_px + m * (2 + 3 * i)
        if y + m < sh - m:
            screen[y: y + m, sw // 6: sw - sw // 6 - i * sw // 8] = 0.4 * white

    yy, xx = np.mgrid[0:body_h, 0:body_w].astype(np.float32) + 0.5
    r = _CORNER * body_w
    dx = np.maximum(np.maximum(r - xx, xx - (body_w - r)), 0.0)
    dy = np.maximum(np.maximum(r - yy, yy - (body_h - r)), 0.0)
    inside = np.clip(r - np.hypot(dx, dy) + 0.5, 0.0, 1.0)  # rounded corners, one texel of ramp

    luma = np.pad(luma, _PAD, mode="edge")
    alpha = np.pad(inside * 255.0, _PAD)
    return (Image.fromarray(np.clip(luma, 0, 255).astype(np.uint8)),
            Image.fromarray(alpha.astype(np.uint8)))


def _homography(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The 3×3 projective map taking the four points `src` onto `dst` (rows of (x, y))."""
    a = np.zeros((8, 8))
    b = np.zeros(8)
    for i, ((x, y), (u, v)) in enumerate(zip(src, dst, strict=True)):
        a[2 * i] = (x, y, 1, 0, 0, 0, -u * x, -u * y)
        a[2 * i + 1] = (0, 0, 0, x, y, 1, -v * x, -v * y)
        b[2 * i], b[2 * i + 1] = u, v
    return np.append(np.linalg.solve(a, b), 1.0).reshape(3, 3)


def phone_corners(center: tuple[float, float], height_px: float, width_px: float,
                   tilt_deg: float, rotate_deg: float, focal_px: float,
                   pitch_deg: float = 0.0) -> np.ndarray:
    """Where the body's corners land in the frame (TL, TR, BR, BL).

    The phone is first turned in its own plane (`rotate_deg`), then yawed about the vertical
    axis (`tilt_deg`) and pitched about the horizontal one (`pitch_deg`, top edge away from the
    lens when positive), then seen through a pinhole whose focal length is `focal_px`, with the
    phone's centre at the depth where one unit of the phone plane is one pixel.
    """
    hw, hh = width_px / 2, height_px / 2
    pts = np.array([(-hw, -hh), (hw, -hh), (hw, hh), (-hw, hh)])
    c, s = math.cos(math.radians(rotate_deg)), math.sin(math.radians(rotate_deg))
    x, y = pts[:, 0] * c - pts[:, 1] * s, pts[:, 0] * s + pts[:, 1] * c
    ct, st = math.cos(math.radians(tilt_deg)), math.sin(math.radians(tilt_deg))
    x, z = x * ct, x * st
    cp, sp = math.cos(math.radians(pitch_deg)), math.sin(math.radians(pitch_deg))
    y, z = y * cp, z - y * sp
    k = focal_px / (focal_px + z)
    return np.stack([center[0] + x * k, center[1] + y * k], axis=1)


def draw_phone(canvas: np.ndarray, text: str, *, center: tuple[float, float], height_px: float,
               tilt_deg: float = 0.0, rotate_deg: float = 0.0, brightness: float = 1.0,
               blur_px: float = 0.0, pitch_deg: float = 0.0) -> np.ndarray:
    """Blend a phone showing `text` into `canvas` (float32, H×W, modified in place).

    The building block of `render_phone` and of the simulated camera, which places several
    phones side by side.  `blur_px` is a Gaussian radius applied to the phone only (focus).
    Returns the body's corners in the frame (TL, TR, BR, BL), where photographic effects
    (glare, a thumb) are placed.
    """
    frame_w = canvas.shape[1]
    luma, alpha = _phone_face(text, round(float(brightness), 3))
    tex_w, tex_h = luma.size
    body_w, body_h = tex_w - 2 * _PAD, tex_h - 2 * _PAD
    quad = phone_corners(center, height_px, height_px * body_w / body_h, tilt_deg, rotate_deg,
                          focal_px=0.77 * frame_w, pitch_deg=pitch_deg)  # ~66° field, as Camera Module 3
    project_texture(canvas, luma, alpha, quad, pad=_PAD, blur_px=blur_px)
    return quad


def project_texture(canvas: np.ndarray, luma: Image.Image, alpha: Image.Image, quad: np.ndarray, *,
                    pad: int = 0, blur_px: float = 0.0) -> None:
    """Blend a flat picture (luminance + alpha texture) into `canvas` with its corners at `quad`.

    `pad` transparent texels surround the picture proper in the texture (a soft edge).
    """
    frame_h, frame_w = canvas.shape
    tex_w, tex_h = luma.size
    body_w, body_h = tex_w - 2 * pad, tex_h - 2 * pad

    margin = 2 + 3 * blur_px
    x0 = max(0, math.floor(quad[:, 0].min() - margin))
    y0 = max(0, math.floor(quad[:, 1].min() - margin))
    x1 = min(frame_w, math.ceil(quad[:, 0].max() + margin))
    y1 = min(frame_h, math.ceil(quad[:, 1].max() + margin))
    if x1 <= x0 or y1 <= y0:
        return  # entirely out of view

    body = np.array([(pad, pad), (pad + body_w, pad), (pad + body_w, pad + body_h),
                     (pad, pad + body_h)], dtype=float)
    to_texture = _homography(quad - (x0, y0), body)  # output pixel -> texel, as Pillow wants
    coeffs = tuple((to_texture / to_texture[2, 2]).ravel()[:8])
    size = (x1 - x0, y1 - y0)
    patch = luma.transform(size, Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BILINEAR)
    cover = alpha.transform(size, Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BILINEAR,
                            fillcolor=0)
    if blur_px > 0:
        patch = patch.filter(ImageFilter.GaussianBlur(blur_px))
        cover = cover.filter(ImageFilter.GaussianBlur(blur_px))
    a = np.asarray(cover, dtype=np.float32) * (1.0 / 255.0)
    region = canvas[y0:y1, x0:x1]
    region += a * (np.asarray(patch, dtype=np.float32) - region)


@functools.lru_cache(maxsize=8)
def room_background(frame_size: tuple[int, int] = (640, 480), seed: int = 0) -> np.ndarray:
    """A dim, smooth room (wall gradient, a doorway, a notice on the wall), uint8, read-only.

    Cached: an empty-room frame is the commonest frame the kiosk sees.  It has structure and
    edges on purpose, so that a decoder finding nothing in it means something.
    """
    w, h = frame_size
    rng = np.random.default_rng(seed)
    coarse = rng.normal(0.0, 6.0, size=(max(2, h // 32), max(2, w // 32))).astype(np.float32)
    blotches = np.asarray(Image.fromarray(coarse, mode="F").resize((w, h), Image.Resampling.BICUBIC))
    rows = np.linspace(70.0, 40.0, h, dtype=np.float32)[:, None]  # light from the ceiling
    room = rows + blotches
    room[int(0.25 * h):, int(0.08 * w): int(0.22 * w)] -= 18.0  # doorway
    room[int(0.2 * h): int(0.45 * h), int(0.75 * w): int(0.9 * w)] += 25.0  # a notice
    room[int(0.86 * h):] -= 12.0  # the counter top
    out = np.clip(room, 0, 255).astype(np.uint8)
    out.flags.writeable = False
    return out


def finish(canvas: np.ndarray, *, noise_sigma: float = 0.0,
           rng: np.random.Generator | None = None) -> np.ndarray:
    """Sensor noise and quantisation: float canvas -> uint8 frame."""
    if noise_sigma > 0:
        rng = rng if rng is not None else np.random.default_rng(0)
        canvas = canvas + rng.normal(0.0, noise_sigma, size=canvas.shape).astype(np.float32)
    return np.clip(canvas + 0.5, 0, 255).astype(np.uint8)


def render_phone(text: str, *, frame_size: tuple[int, int] = (640, 480),
                 phone_height_frac: float = DEFAULT_PHONE_HEIGHT_FRAC, tilt_deg: float = 0.0,
                 rotate_deg: float = 0.0, brightness: float = 1.0, blur_px: float = 0.0,
                 noise_sigma: float = 0.0, rng: np.random.Generator | None = None) -> np.ndarray:
    """One camera frame (H, W) uint8 of a phone showing `text` as a QR code, centred.

    `tilt_deg` yaws the phone (perspective), `rotate_deg` turns it in its plane, `brightness`
    scales its screen (a dimmed phone), `blur_px` defocuses it, `noise_sigma` adds sensor
    noise from `rng` (a fixed generator when None, so that frames are reproducible).
    """
    w, h = frame_size
    canvas = room_background(frame_size).astype(np.float32)
    draw_phone(canvas, text, center=(w / 2, h / 2), height_px=phone_height_frac * h,
               tilt_deg=tilt_deg, rotate_deg=rotate_deg, brightness=brightness, blur_px=blur_px)
    return finish(canvas, noise_sigma=noise_sigma, rng=rng)
