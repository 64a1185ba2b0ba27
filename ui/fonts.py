"""Finding a font that can draw Chinese, and keeping its sizes loaded.

The screens are bilingual, so a Latin-only font would draw every Chinese character as an empty
box (tofu) and the visitor would see nothing at all.  We therefore look for a CJK face and
*check* that it has glyphs, instead of trusting a file name.

`NotoSansCJK-*.ttc` is a collection of ten faces (JP, KR, SC, TC, HK and their Mono variants);
`pygame.font.Font` can only open the first (JP, whose Chinese glyph shapes differ), so we use
`pygame.freetype`, which takes a `font_index`, and pick the face whose family is
"Noto Sans CJK SC" by reading the names, not by assuming an index.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pygame.freetype

from kiosk.errors import KioskError

# Text that every usable face must have: Chinese, Latin and the degree sign of "36.5 °C".
PROBE_TEXT = "请止步体温健康码 STOP °C"

_NOTO_DIRS = (
    "/usr/share/fonts/opentype/noto",  # Debian / Raspberry Pi OS: fonts-noto-cjk
    "/usr/share/fonts/noto-cjk",  # Arch
    "/usr/share/fonts/google-noto-cjk",  # Fedora
    "/usr/share/fonts/opentype/noto-cjk",
    "/usr/local/share/fonts",
    "~/.local/share/fonts",
    "~/.fonts",
)
_NOTO_FILES = {
    False: ("NotoSansCJK-Regular.ttc", "NotoSansCJKsc-Regular.otf", "NotoSansSC-Regular.otf"),
    True: ("NotoSansCJK-Bold.ttc", "NotoSansCJKsc-Bold.otf", "NotoSansSC-Bold.otf"),
}
_FALLBACKS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",  # fonts-wqy-microhei
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",  # fonts-wqy-zenhei
    "/usr/share/fonts/wenquanyi/wqy-microhei/wqy-microhei.ttc",
    "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",
)
_PREFERRED_FAMILY = "Noto Sans CJK SC"
_MAX_FACES = 16


class FontNotFoundError(KioskError, FileNotFoundError):
    """No installed font can draw the Chinese text of the screens."""


@dataclass(frozen=True, slots=True)
class FontFace:
    """One face of a font file: the path plus, for a .ttc collection, which face inside it."""

    path: Path
    index: int = 0
    family: str = ""


def _init() -> None:
    if not pygame.freetype.get_init():
        pygame.freetype.init()


def _faces(path: Path) -> list[FontFace]:
    """Every face in a font file that has glyphs for `PROBE_TEXT`."""
    _init()
    found: list[FontFace] = []
    for index in range(_MAX_FACES):
        try:
            font = pygame.freetype.Font(str(path), 24, font_index=index)
        except (OSError, ValueError):  # past the last face of the collection, or not a font
            break
        if None not in font.get_metrics(PROBE_TEXT):
            found.append(FontFace(path, index, font.name or ""))
    return found


def _best_face(path: Path) -> FontFace | None:
    """The Simplified Chinese face of a collection if it has one, else its first usable face."""
    faces = _faces(path) if path.is_file() else []
    preferred = [f for f in faces if f.family.startswith(_PREFERRED_FAMILY)]
    return (preferred or faces or [None])[0]


def _noto_paths(bold: bool) -> Iterable[Path]:
    for directory in _NOTO_DIRS:
        for name in _NOTO_FILES[bold]:
            yield Path(directory).expanduser() / name


def _fontconfig(bold: bool) -> FontFace | None:
    """Ask fontconfig (when installed) for its best Simplified Chinese sans face."""
    fc_match = shutil.which("fc-match")
    if fc_match is None:
        return None
    pattern = f"{_PREFERRED_FAMILY}:lang=zh-cn" + (":weight=bold" if bold else "")
    try:
        out = subprocess.run([fc_match, "-f", "%{file}\n%{index}", pattern],
                             capture_output=True, text=True, timeout=5, check=True).stdout
        file, index = out.splitlines()[:2]
        path = Path(file)
        faces = _faces(path) if path.is_file() else []
    except (OSError, ValueError, subprocess.SubprocessError):
        return None
    return next((f for f in faces if f.index == int(index)), faces[0] if faces else None)


@cache
def find_cjk_font(*, bold: bool = False, candidates: tuple[str | Path, ...] | None = None,
                  use_fontconfig: bool = True) -> FontFace:
    """The best installed face for the screens.

    Order: Noto Sans CJK SC in the usual directories, then whatever fontconfig prefers for
    Simplified Chinese, then WenQuanYi.  `candidates` replaces the built-in file list (tests,
    or a site that ships its own font).  Raises `FontNotFoundError` when nothing can draw Chinese.
    """
    paths = [Path(p) for p in candidates] if candidates is not None else [*_noto_paths(bold)]
    for path in paths:
        if face := _best_face(path):
            return face
    if use_fontconfig and (face := _fontconfig(bold)):
        return face
    if candidates is None:
        for path in map(Path, _FALLBACKS):
            if face := _best_face(path):
                return face
    looked = ", ".join(str(p) for p in paths[:4]) + (", …" if len(paths) > 4 else "")
    raise FontNotFoundError(
        f"no font that can draw Chinese was found (looked in {looked}"
        f"{' and asked fc-match' if use_fontconfig else ''}). "
        "Install one: sudo apt install fonts-noto-cjk (or fonts-wqy-microhei)."
    )


class Fonts:
    """The regular and bold CJK faces, one loaded `freetype.Font` per (weight, pixel size).

    One object per size keeps freetype's glyph cache warm for that size, so a kiosk redrawing
    the same screen thirty times a second rasterises each glyph once.  Widths are memoised too:
    shrink-to-fit measures the same strings at many sizes.
    """

    def __init__(self, regular: FontFace, bold: FontFace | None = None) -> None:
        _init()
        self.regular = regular
        self.bold = bold
        self._fonts: dict[tuple[bool, int], pygame.freetype.Font] = {}
        self._widths: dict[tuple[bool, int, str], float] = {}

    @classmethod
    def discover(cls) -> Fonts:
        """The installed CJK faces; bold falls back to a synthetic emboldening of the regular face."""
        regular = find_cjk_font()
        try:
            bold: FontFace | None = find_cjk_font(bold=True)
        except FontNotFoundError:
            bold = None
        # fontconfig may answer a bold request with the regular file: emboldening is better then.
        return cls(regular, bold if bold is not None and bold != regular else None)

    def font(self, size: int, *, bold: bool = False) -> pygame.freetype.Font:
        """The face at `size` pixels, loaded once.  `origin` is set: draw positions are baselines."""
        key = (bold, max(1, int(size)))
        font = self._fonts.get(key)
        if font is None:
            face = self.bold if bold and self.bold is not None else self.regular
            font = pygame.freetype.Font(str(face.path), key[1], font_index=face.index)
            font.origin = True
            font.pad = False
            if bold and self.bold is None:
                font.strong = True
            self._fonts[key] = font
        return font

    def width(self, text: str, size: int, *, bold: bool = False) -> float:
        """Advance width of `text` in pixels (what a line of it occupies, not its ink)."""
        key = (bold, size, text)
        width = self._widths.get(key)
        if width is None:
            if len(self._widths) > 50_000:  # a long-running kiosk must not grow without bound
                self._widths.clear()
            metrics = self.font(size, bold=bold).get_metrics(text)
            width = sum(m[4] if m is not None else size for m in metrics)
            self._widths[key] = width
        return width

    def missing_glyphs(self, text: str, *, bold: bool = False) -> set[str]:
        """The characters of `text` that this face would draw as tofu."""
        metrics = self.font(24, bold=bold).get_metrics(text)
        return {ch for ch, m in zip(text, metrics, strict=True) if m is None and not ch.isspace()}
