"""The pygame implementation of `kiosk.ports.Display`, and off-screen rendering for tests and tools.

On the Pi the kiosk runs without a desktop, straight on the KMS/DRM console (`driver="kmsdrm"`);
on a workstation in an X11 window; in tests and CI on SDL's dummy driver.  Drawing itself never
needs a window: `render_to_surface` and `save_png` draw the very same screens into an off-screen
surface, which is what tests inspect and what `kiosk screens --out DIR` will write.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import pygame

from kiosk.ports import ScreenView
from ui.catalog import BilingualCatalog
from ui.fonts import Fonts
from ui.screens import draw_screen
from ui.text import Drawn, Typesetter

Driver = Literal["kmsdrm", "x11", "wayland", "dummy"]
DEFAULT_SIZE = (800, 480)  # the official 7-inch Raspberry Pi touch display


class ScreenRenderer:
    """Fonts, typesetter and catalogues, loaded once and reused for every frame and surface."""

    def __init__(self, *, fonts: Fonts | None = None, words: BilingualCatalog | None = None) -> None:
        self.fonts = fonts if fonts is not None else Fonts.discover()
        self.words = words if words is not None else BilingualCatalog.load()
        self.typesetter = Typesetter(self.fonts)

    def draw(self, surface: pygame.Surface, view: ScreenView) -> list[Drawn]:
        """Draw `view` over the whole of `surface`; returns every paragraph drawn and where."""
        return draw_screen(surface, view, typesetter=self.typesetter, words=self.words)


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

    The cursor is hidden but not grabbed, so a technician with a mouse can still reach other
    windows.  Events are pumped on every `render` (the OS considers a window that does not pump
    "not responding"); a window-close request sets `closed`, which the kiosk loop reads to stop.
    """

    def __init__(self, *, size: tuple[int, int] | None = None, fullscreen: bool = False,
                 driver: Driver | None = None, title: str = "入口检查 Entry check",
                 renderer: ScreenRenderer | None = None) -> None:
        if driver is not None:
            if pygame.display.get_init() and pygame.display.get_driver().lower() != driver:
                pygame.display.quit()  # the driver is chosen at init and cannot change afterwards
            os.environ["SDL_VIDEODRIVER"] = driver
        pygame.display.init()
        # (0, 0) asks SDL for the screen's own resolution, which is what full screen should use.
        mode = size if size is not None else ((0, 0) if fullscreen else DEFAULT_SIZE)
        self.surface = pygame.display.set_mode(mode, pygame.FULLSCREEN if fullscreen else 0)
        pygame.display.set_caption(title)
        pygame.mouse.set_visible(False)
        self.renderer = renderer if renderer is not None else ScreenRenderer()
        self.closed = False
        self.last_drawn: list[Drawn] = []

    @property
    def size(self) -> tuple[int, int]:
        return self.surface.get_size()

    def poll(self) -> bool:
        """Handle pending window events; True once the window has been asked to close."""
        for event in pygame.event.get():
            if event.type in (pygame.QUIT, pygame.WINDOWCLOSE):
                self.closed = True
        return self.closed

    def render(self, view: ScreenView) -> None:
        """Draw `view` and show it."""
        if not pygame.display.get_init():
            return  # closed: a late render from a stopping loop is not an error
        self.poll()
        self.last_drawn = self.renderer.draw(self.surface, view)
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
