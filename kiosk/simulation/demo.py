"""`kiosk run --simulated`: the demo scenario in real time, on emulated hardware, over and over.

What someone trying the kiosk without a Pi sees: the built-in scenario (`demo.json`) played in
real time in a window (headless when there is no display), one JSON line per visitor on stdout
as each is decided (the lines `kiosk simulate` prints), a word on stderr at the start of each
round, and on Ctrl-C (or SIGTERM) a clean stop: the round in progress ends, the feed says
offline and closes the outbox, and the demo says what it did.  No traceback.

Given a configuration (`--config`), the demo honours it like the kiosk would, apart from the
hardware (emulated): `[uplink]` (it publishes to that broker, with receipts and all),
`storage.data_dir` (its outbox and state live there, and what it left pending goes out the next
time), the policy, the display.  Without one it keeps its state in a temporary folder and
publishes nothing.  It says where its data is either way.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import time
from typing import TextIO

from kiosk.clock import RealClock
from kiosk.config import KioskConfig
from kiosk.ports import Display
from kiosk.simulation.runner import DEMO_SCENARIO, build_simulated, data_folder, play, scenario_config
from kiosk.simulation.scenario import Scenario, load_scenario
from kiosk.simulation.world import World

log = logging.getLogger(__name__)


def run_demo(config: KioskConfig, *, headless: bool = False, loops: int = 0, honour_config: bool = False,
             out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Play the demo scenario `loops` times (0: until stopped); 0 when it ends or is stopped.

    `honour_config`: `config` came from a file (`--config`): keep its uplink and data folder.
    """
    out, err = out or sys.stdout, err or sys.stderr
    stop = threading.Event()
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        with data_folder(config.storage.data_dir if honour_config else None, named="storage.data_dir") as folder:
            return _rounds(config, folder, headless=headless, loops=loops, honour_config=honour_config,
                           stop=stop, out=out, err=err)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _rounds(config: KioskConfig, folder: str, *, headless: bool, loops: int, honour_config: bool,
            stop: threading.Event, out: TextIO, err: TextIO) -> int:
    scenario = load_scenario(DEMO_SCENARIO)
    display = _display(config, headless)
    uplink = config.uplink
    where = f"uplink to {uplink.host}:{uplink.port}" if honour_config and uplink.enabled else "no uplink"
    kept = "kept" if honour_config else "a temporary folder, removed at the end"
    print(f"demo: {scenario.name.removeprefix('demo: ')}: {len(scenario.visitors)} visitors a round, in real time, "
          f"{'in a window' if display else 'headless'}; data in {folder} ({kept}); {where}. "
          "Ctrl-C to stop.", file=err, flush=True)
    rounds = decided = 0
    closed: list[BaseException] = []  # stdout's reader went away (`| head`): stop, as Ctrl-C would
    try:
        while not stop.is_set() and (loops == 0 or rounds < loops):
            rounds += 1
            print(f"demo: round {rounds}", file=err, flush=True)
            decided += _round(config, folder, scenario, display, honour_config, stop, _Lines(out, stop, closed))
            if display is not None and getattr(display, "closed", False):
                break
    finally:
        if display is not None:
            display.close()
    print(f"demo: {'stopped' if stop.is_set() else 'done'} after {rounds} round(s), {decided} visitors decided; "
          f"data in {folder}", file=err, flush=True)
    if closed:
        raise closed[0]  # the command line's exit status for a closed output (141)
    return 0


class _Lines:
    """stdout for the visitor lines: a reader gone away stops the demo instead of failing every visitor."""

    def __init__(self, out: TextIO, stop: threading.Event, closed: list[BaseException]) -> None:
        self.out, self.stop, self.closed = out, stop, closed

    def write(self, text: str) -> None:
        if self.closed:
            return
        try:
            self.out.write(text)
            self.out.flush()
        except BrokenPipeError as exc:
            self.closed.append(exc)
            self.stop.set()

    def flush(self) -> None:
        pass


def _round(config: KioskConfig, folder: str, scenario: Scenario, display: Display | None, honour_config: bool,
           stop: threading.Event, out: TextIO | _Lines) -> int:
    clock = RealClock()
    played = scenario.model_copy(update={"start": time.time()})
    cfg = scenario_config(played, config, None if honour_config else folder)
    assembly, world, device = build_simulated(played, cfg, clock, display=display)
    printed: set[str] = set()
    assembly.kiosk.on_outcome.append(lambda *_: _print_new(world, printed, out))  # after the world's own
    def ended() -> bool:  # Ctrl-C, SIGTERM, or the window closed
        return stop.is_set() or bool(getattr(display, "closed", False))

    try:
        play(assembly.kiosk, world, device, clock, played, should_stop=ended, pump=assembly.feed.pump)
    finally:
        assembly.kiosk.stop_workers()  # the sensor and camera threads of this round's world
        assembly.feed.close()  # says offline, closes the outbox; the window stays open for the next round
    return len(printed)


def _print_new(world: World, printed: set[str], out: TextIO | _Lines) -> None:
    for record in world.records():
        if record.decision is not None and record.visitor not in printed:
            printed.add(record.visitor)
            out.write(json.dumps(record.to_dict(), ensure_ascii=False) + "\n")
            out.flush()


def _display(config: KioskConfig, headless: bool) -> Display | None:
    if not headless and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) \
            and config.display.driver in ("auto", "x11", "wayland"):
        log.warning("no display found: running headless (set DISPLAY, or display.driver = \"kmsdrm\")")
        headless = True
    if headless:
        return None
    from kiosk.service import build_display

    return build_display(config, title="Checkpoint kiosk (demo)")

