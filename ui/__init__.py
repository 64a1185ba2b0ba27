"""pygame screens: render `kiosk.ports.ScreenView`, decide nothing.

Public surface (import from the submodules):

- `ui.display.PygameDisplay` — the `kiosk.ports.Display` for the kiosk loop (kmsdrm, x11 or dummy).
- `ui.display.render_to_surface`, `render_frame`, `save_png` — the same screens off-screen (tests, tools).
- `ui.catalog.BilingualCatalog` / `Catalog` — the words, one catalogue per language (`ui/strings/*.json`).
- `ui.fonts.Fonts`, `find_cjk_font`, `FontNotFoundError` — a font that can draw Chinese, or a clear error.

Importing `ui` does not open a window or load a font; that happens when a renderer is built.
"""
