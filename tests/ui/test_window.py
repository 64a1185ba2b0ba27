"""A real window: the kiosk's display on an X server (Xvfb), read back from the server's framebuffer.

Xvfb is started on a display number it picks itself (`-displayfd`), with its screen memory in a
file (`-fbdir`, XWD format), so the test sees the pixels the X server really has, not pygame's
copy.  The display runs in a child process: SDL's video driver is fixed per process, and this
test process uses the dummy driver.  Skipped only when Xvfb is not installed.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from tests.paths import ROOT

pytestmark = pytest.mark.skipif(shutil.which("Xvfb") is None, reason="Xvfb not installed (apt install xvfb)")


CHILD = textwrap.dedent("""
    import json, sys
    import pygame
    from kiosk.ports import Screen
    from ui.display import PygameDisplay
    from ui.samples import sample

    display = PygameDisplay(size=(800, 480), driver="x11")
    display.render(sample(Screen.STOP))
    pygame.event.post(pygame.event.Event(pygame.FINGERDOWN, x=0.25, y=0.5, touch_id=1, finger_id=0,
                                         dx=0.0, dy=0.0, pressure=1.0))
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=(200, 240), button=1, touch=True))
    display.render(sample(Screen.STOP))
    report = {"driver": pygame.display.get_driver(), "size": list(display.size),
              "grab": pygame.event.get_grab(), "cursor": pygame.mouse.get_visible(),
              "taps": display.take_taps()}
    print(json.dumps(report), flush=True)
    sys.stdin.readline()  # keep the window up while the parent reads the X framebuffer
    pygame.event.post(pygame.event.Event(pygame.QUIT))
    display.render(sample(Screen.PASS))
    print(json.dumps({"closed": display.closed}), flush=True)
    display.close()
""")


def _read_xwd(path: Path) -> np.ndarray:
    """(H, W, 3) RGB from an XWD file written by Xvfb -fbdir (TrueColor, 32 bits per pixel)."""
    data = path.read_bytes()
    fields = struct.unpack(">25I", data[:100])
    header_size, width, height = fields[0], fields[4], fields[5]
    byte_order, bits_per_pixel, bytes_per_line, ncolors = fields[7], fields[11], fields[12], fields[19]
    assert bits_per_pixel == 32
    start = header_size + ncolors * 12
    raw = np.frombuffer(data, dtype=np.uint8, count=bytes_per_line * height, offset=start)
    pixels = raw.reshape(height, bytes_per_line)[:, : width * 4].reshape(height, width, 4)
    return pixels[..., [2, 1, 0]] if byte_order == 0 else pixels[..., [1, 2, 3]]


@pytest.fixture
def xvfb(tmp_path: Path):
    read_fd, write_fd = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1024x768x24",
                               "-fbdir", str(tmp_path), "-nolisten", "tcp"], pass_fds=(write_fd,),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_fd)
    try:
        with os.fdopen(read_fd) as numbers:
            number = numbers.readline().strip()
        assert number.isdigit(), "Xvfb did not report its display"
        yield f":{number}", tmp_path / "Xvfb_screen0"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_the_display_in_a_real_x_window(xvfb: tuple[str, Path]) -> None:
    display, framebuffer = xvfb
    env = {**os.environ, "DISPLAY": display, "SDL_VIDEODRIVER": "x11", "SDL_AUDIODRIVER": "dummy",
           "PYGAME_HIDE_SUPPORT_PROMPT": "1", "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen([sys.executable, "-c", CHILD], env=env, cwd=ROOT, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = child.stdout.readline() if child.stdout else ""
        assert line, child.stderr.read() if child.stderr else ""
        report = json.loads(line)
        assert report["driver"] == "x11"
        assert report["size"] == [800, 480]
        assert report["grab"] is False and report["cursor"] is False  # hidden, never grabbed
        assert report["taps"] == [[200, 240]]  # finger and its synthesised click: one tap
        rgb = _read_xwd(framebuffer).astype(int)
        painted = np.argwhere(rgb.sum(axis=-1) > 0)  # the root window is black; ours is not, anywhere
        (top, left), (bottom, right) = painted.min(axis=0), painted.max(axis=0)
        assert (right - left + 1, bottom - top + 1) == (800, 480)  # the window, at the panel size
        window = rgb[top:bottom + 1, left:right + 1]
        r, g, b = window[..., 0], window[..., 1], window[..., 2]
        red = ((r > g + 60) & (r > b + 60)).mean()  # STOP: dark red band, stripes and panels
        tape = ((r > 200) & (g > 170) & (b < 60)).mean()  # the yellow one-metre band
        assert red > 0.4, red
        assert tape > 0.05, tape
        child.stdin.write("\n")  # type: ignore[union-attr]
        child.stdin.flush()  # type: ignore[union-attr]
        assert json.loads(child.stdout.readline()) == {"closed": True}  # type: ignore[union-attr]
    finally:
        child.kill() if child.poll() is None else None
        child.wait(timeout=10)
