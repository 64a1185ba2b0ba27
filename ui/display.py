"""The pygame implementation of `kiosk.ports.Display`, and off-screen rendering for tests and tools.

On the Pi the kiosk runs without a desktop, straight on the KMS/DRM console (`driver="kmsdrm"`);
on a workstation in an X11 window; in tests and CI on SDL's dummy driver.  Drawing itself never
needs a window: `render_to_surface` and `save_png` draw the very same screens into an off-screen
surface, which is what tests inspect and what `kiosk screens --out DIR` will write.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Literal

import pygame

from kiosk.ports import Screen, ScreenView
from ui.catalog import BilingualCatalog
from ui.fonts import Fonts
from ui.legibility import PANEL_SHORT_SIDE_MM
from ui.screens import draw_screen
from ui.site import SiteNotice
from ui.staff import STAFF_VIEW_S
from ui.text import Drawn, Typesetter

Driver = Literal["kmsdrm", "x11", "wayland", "dummy"]
DEFAULT_SIZE = (800, 480)  # the official 7-inch Raspberry Pi touch display
LONG_PRESS_S = 2.0  # a touch held this long opens the staff view: longer than any visitor's tap
STAFF_OVER = frozenset({Screen.ATTRACT, Screen.FAULT, Screen.MAINTENANCE})  # screens the staff view may cover


class ScreenRenderer:
    """Fonts, typesetter and catalogues, loaded once and reused for every frame and surface."""

    def __init__(self, *, fonts: Fonts | None = None, words: BilingualCatalog | None = None,
                 site: SiteNotice | None = None, short_side_mm: float = PANEL_SHORT_SIDE_MM) -> None:
        self.fonts = fonts if fonts is not None else Fonts.discover()
        self.words = words if words is not None else BilingualCatalog.load()
        self.site = site if site is not None else SiteNotice()
        self.short_side_mm = short_side_mm  # the panel's (`display.short_side_mm`): text is sized in mm
        self.typesetter = Typesetter(self.fonts)

    def draw(self, surface: pygame.Surface, view: ScreenView) -> list[Drawn]:
        """Draw `view` over the whole of `surface`; returns every paragraph drawn and where."""
        return draw_screen(surface, view, typesetter=self.typesetter, words=self.words, site=self.site,
                           short_side_mm=self.short_side_mm)


_shared: ScreenRenderer | None = None


def shared_renderer() -> ScreenRenderer:
    """One renderer per process for the off-screen helpers: font discovery is not free."""
    global _shared
    if _shared is None:
        _shared = ScreenRenderer()
    return _shared


def render_frame(view: ScreenView, size: tuple[int, int], *,
                 renderer: ScreenRenderer | None = None) -> tuple[pygame.Surface, list[Drawn]]:
    """`view` drawn on a new off-screen surface of `size`, with what was drawn where."""
    surface = pygame.Surface(size)
    drawn = (renderer or shared_renderer()).draw(surface, view)
    return surface, drawn


def render_to_surface(view: ScreenView, size: tuple[int, int], *,
                      renderer: ScreenRenderer | None = None) -> pygame.Surface:
    """`view` drawn on a new off-screen surface of `size` (no window, no display driver needed)."""
    return render_frame(view, size, renderer=renderer)[0]


def save_png(view: ScreenView, size: tuple[int, int], path: str | Path, *,
             renderer: ScreenRenderer | None = None) -> Path:
    """Render `view` at `size` and write it as a PNG; returns the path written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pygame.image.save(render_to_surface(view, size, renderer=renderer), str(path))
    return path


class PygameDisplay:
    """A full-screen (or windowed) pygame display for the kiosk loop.

    * On the Pi, `driver="kmsdrm"`: straight onto the console's KMS/DRM device, no desktop, full
      screen at the panel's own resolution.  (PyPI's pygame wheels bundle an SDL without KMSDRM;
      the Pi uses Debian's python3-pygame through a venv with system site packages.)
    * On a laptop, a window (`x11`/`wayland`, or SDL's choice).
    * Headless (`dummy`): the size must be passed, since the dummy driver's "full screen" is an
      arbitrary 1024×768; full screen is ignored there.

    The cursor is hidden but never grabbed: grabbing with a hidden cursor switches SDL to relative
    mouse mode, which breaks touch.  A touch panel sends both finger events and mouse events
    synthesised from them; only one of each tap is kept (`taps`): the finger event, or a mouse
    click that SDL did not synthesise from a touch.  Events are pumped on every `render` (the OS
    considers a window that does not pump "not responding"); a window-close request sets
    `closed`, which the kiosk loop reads to stop.

    The staff view: a touch held for `LONG_PRESS_S` opens it (`Screen.STAFF`, the status strip's
    details, which the public strip no longer shows); a short touch, or `STAFF_VIEW_S`, closes it.
    It is the display's own business — the loop keeps deciding and sending views, and the staff
    view is drawn from the status each view carries — and it only ever replaces an idle screen
    (`STAFF_OVER`): the moment the loop shows a visitor anything else, the visitor's screen wins.
    """

    def __init__(self, *, size: tuple[int, int] | None = None, fullscreen: bool = False,
                 driver: Driver | None = None, title: str = "入口检查 Entry check",
                 renderer: ScreenRenderer | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        if driver is not None:
            if pygame.display.get_init() and pygame.display.get_driver().lower() != driver:
                pygame.display.quit()  # the driver is chosen at init and cannot change afterwards
            os.environ["SDL_VIDEODRIVER"] = driver
        os.environ.setdefault("SDL_TOUCH_MOUSE_EVENTS", "0")  # fewer duplicates; `taps` filters the rest
        pygame.display.init()
        headless = pygame.display.get_driver().lower() in ("dummy", "offscreen")
        if headless:
            fullscreen = False
        if driver == "kmsdrm":
            fullscreen, size = True, None  # nothing to be a window in: the panel, at its own resolution
        # (0, 0) asks SDL for the screen's own resolution, which is what full screen should use.
        mode = size if size is not None else ((0, 0) if fullscreen else DEFAULT_SIZE)
        self.surface = pygame.display.set_mode(mode, pygame.FULLSCREEN if fullscreen else 0)
        pygame.display.set_caption(title)
        pygame.event.set_grab(False)
        pygame.mouse.set_visible(False)
        self.renderer = renderer if renderer is not None else ScreenRenderer()
        self.closed = False
        self.last_drawn: list[Drawn] = []
        self.taps: list[tuple[int, int]] = []  # one per touch or click, in surface pixels, oldest first
        self._clock = clock
        self._pressed_at: float | None = None  # the touch held now, if any, and since when
        self._press_opened = False  # that touch has already opened the staff view
        self._staff_until = 0.0  # the staff view is open until then

    @property
    def size(self) -> tuple[int, int]:
        return self.surface.get_size()

    def poll(self) -> bool:
        """Handle pending window events; True once the window has been asked to close."""
        width, height = self.surface.get_size()
        for event in pygame.event.get():
            if event.type in (pygame.QUIT, pygame.WINDOWCLOSE):
                self.closed = True
            elif event.type == pygame.FINGERDOWN:  # normalised 0..1 coordinates
                self._tap(round(event.x * (width - 1)), round(event.y * (height - 1)))
            elif event.type == pygame.MOUSEBUTTONDOWN and event.button == 1 and not getattr(event, "touch", False):
                self._tap(*event.pos)
            elif event.type == pygame.FINGERUP or (event.type == pygame.MOUSEBUTTONUP and event.button == 1
                                                   and not getattr(event, "touch", False)):
                self._release()
        if self._pressed_at is not None and not self._press_opened and (
                self._clock() - self._pressed_at >= LONG_PRESS_S):
            self._press_opened = True  # opens while still held: the member of staff sees it worked
            self._staff_until = self._clock() + STAFF_VIEW_S
        return self.closed

    def _tap(self, x: int, y: int) -> None:
        self.taps.append((x, y))
        del self.taps[:-32]  # nobody reads them yet: keep the last few, never grow
        self._pressed_at, self._press_opened = self._clock(), False

    def _release(self) -> None:
        if self._pressed_at is None:
            return
        now = self._clock()
        if not self._press_opened:
            if now - self._pressed_at >= LONG_PRESS_S:
                self._staff_until = now + STAFF_VIEW_S
            else:
                self._staff_until = 0.0  # a short touch closes the staff view
        self._pressed_at = None

    @property
    def staff_view_open(self) -> bool:
        return self._clock() < self._staff_until

    def shown(self, view: ScreenView) -> ScreenView:
        """What is drawn for `view`: the staff view over an idle screen while it is open, else `view`."""
        if not self.staff_view_open:
            return view
        if view.screen not in STAFF_OVER:
            self._staff_until = 0.0  # a visitor: their screen, at once, and the staff view stays closed
            return view
        return replace(view, screen=Screen.STAFF)

    def take_taps(self) -> list[tuple[int, int]]:
        """The taps since the last call, each touch counted once."""
        taps, self.taps = self.taps, []
        return taps

    def render(self, view: ScreenView) -> None:
        """Draw `view` and show it."""
        if not pygame.display.get_init():
            return  # closed: a late render from a stopping loop is not an error
        self.poll()
        self.last_drawn = self.renderer.draw(self.surface, self.shown(view))
        pygame.display.flip()

    def close(self) -> None:
        """Close the window; only the display module is shut down, not the rest of pygame."""
        self.closed = True
        if pygame.display.get_init():
            pygame.mouse.set_visible(True)
            pygame.display.quit()

    def __enter__(self) -> PygameDisplay:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
