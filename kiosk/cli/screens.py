"""`kiosk screens --out DIR`: every screen as a PNG, at the panel sizes the kiosk supports.

For reviewers and sites: see what a visitor sees without a kiosk, in each size and orientation.
Writes `<stem>-<W>x<H>.png` for every `Screen` with sample data and the STOP variants
(`ui.samples.gallery`); with `--config`, text sized for its panel (`display.short_side_mm`).
Needs no display (SDL's dummy driver) but a CJK font.  Exit 0 written, 1 no CJK font, 2 the
configuration or `--out` cannot be used (a file where the directory should be, no permission).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from kiosk.cli.loading import load

DEFAULT_SIZES = ("800x480", "1920x1080", "480x800")


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size WxH: {text!r}") from None
    if not (200 <= width <= 7680 and 200 <= height <= 7680):
        raise argparse.ArgumentTypeError(f"size out of range: {text!r}")
    return width, height


def cmd_screens(args: argparse.Namespace) -> int:
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    from ui.display import ScreenRenderer, save_png
    from ui.fonts import FontNotFoundError
    from ui.legibility import PANEL_SHORT_SIDE_MM
    from ui.samples import NOTICE, gallery
    from ui.site import SiteNotice

    notice, short_side_mm = NOTICE, PANEL_SHORT_SIDE_MM
    if args.config:
        config = load(args.config, exit_code=2)
        notice = SiteNotice(retention_days=float(getattr(config.storage, "retention_days", 7)),
                            recipient=config.display.privacy_recipient,
                            place_code=config.display.place_code or NOTICE.place_code)
        short_side_mm = config.display.short_side_mm
    try:
        renderer = ScreenRenderer(site=notice, short_side_mm=short_side_mm)
    except FontNotFoundError as exc:
        print(f"kiosk screens: {exc}", file=sys.stderr)
        return 1
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        print(f"kiosk screens: {out} 已存在且不是文件夹 / exists and is not a directory: give --out a directory "
              "(it is created if missing)", file=sys.stderr)
        return 2
    sizes = args.size or [_size(s) for s in DEFAULT_SIZES]
    written = 0
    try:
        out.mkdir(parents=True, exist_ok=True)
        for stem, view in gallery().items():
            for width, height in sizes:
                save_png(view, (width, height), out / f"{stem}-{width}x{height}.png", renderer=renderer)
                written += 1
    except (OSError, RuntimeError) as exc:  # pygame.error is a RuntimeError
        reason = getattr(exc, "strerror", None) or exc
        print(f"kiosk screens: 无法写入 {out}（{reason}）/ cannot write into {out}: {reason}", file=sys.stderr)
        return 2
    print(f"{written} screens written to {out}")
    return 0


def register(sub: Any) -> None:
    """Add `kiosk screens` to the `kiosk` command's subcommands."""
    screens = sub.add_parser("screens", help="write every screen as PNG (sample data) for review")
    screens.add_argument("--out", required=True, help="directory for the PNG files")
    screens.add_argument("--size", type=_size, action="append",
                         help=f"panel size WxH, repeatable (default {', '.join(DEFAULT_SIZES)})")
    screens.add_argument("--config", help="take the privacy notice, place code and panel size in mm "
                                          "(display.short_side_mm) from this configuration")
    screens.set_defaults(func=cmd_screens)
