"""The whole kiosk on emulated hardware, as the tests drive it.

Everything is the real pipeline, assembled as on a Pi (`kiosk.service.assemble`): emulated
MLX90640 registers → driver → screening; rendered phone → zbar → THP1 verifier; checkpoint;
SQLite outbox and feed.  A test swaps the one part it wants misbehaving (`kiosk.camera`,
`kiosk.decoder`, `kiosk.sensor`, `kiosk.presenter.signals`), or the verifier through
`Kiosk.apply_policy`, the kiosk's one way to change what it decides by.

`simulated` is the fixture (registered by the conftest.py of every test directory that uses
it): a factory of `SimulatedKiosk`s in the test's tmp_path, each closed when the test ends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from kiosk.config import KioskConfig
from kiosk.feed import Feed
from kiosk.loop import Kiosk
from kiosk.ports import Clock, Screen, ScreenView
from kiosk.service import Assembly
from kiosk.simulation import Scenario, World, build_simulated, scenario_clock, scenario_config
from tests.simulation.rig import one_green


@dataclass
class SimulatedKiosk:
    """A kiosk on a simulated world; `device` is the emulated thermal array (flip faults on it)."""

    assembly: Assembly
    world: World
    device: Any
    clock: Clock
    views: list[ScreenView] = field(default_factory=list)  # every view drawn

    @property
    def kiosk(self) -> Kiosk:
        return self.assembly.kiosk

    @property
    def feed(self) -> Feed:
        return self.assembly.feed

    def play(self, seconds: float = 40.0) -> None:
        """Step until every visitor has been seen through (or `seconds` passed), then close the kiosk."""
        end = self.clock.monotonic() + seconds
        try:
            while self.clock.monotonic() < end and not self.world.finished():
                self.device.unplugged = self.world.sensor_unplugged(self.clock.monotonic())
                self.kiosk.step()
        finally:
            self.close()

    def steps(self, seconds: float) -> list[tuple[float, Screen]]:
        """Step for `seconds`; the screen after each step, with its time."""
        seen = []
        end = self.clock.monotonic() + seconds
        while self.clock.monotonic() < end:
            self.kiosk.step()
            seen.append((self.clock.monotonic(), self.kiosk.view.screen))
        return seen

    def close(self) -> None:
        self.assembly.close()


def simulated_kiosk(data_dir: Path, scenario: Scenario | None = None, *, config: KioskConfig | None = None,
                    clock: Clock | None = None, **build: Any) -> SimulatedKiosk:
    """A kiosk for `scenario` (one healthy visitor by default) keeping its data in `data_dir`.

    `clock` is a virtual one starting at the scenario's start unless given; `build` goes to
    `kiosk.simulation.build_simulated` (display, threaded, clock_sync, broker, backend …).
    """
    scenario = scenario or one_green()
    cfg = scenario_config(scenario, config or KioskConfig(), str(data_dir))
    clock = clock or scenario_clock(scenario)
    assembly, world, device = build_simulated(scenario, cfg, clock, **build)
    sim = SimulatedKiosk(assembly, world, device, clock)
    assembly.kiosk.on_view.append(sim.views.append)
    return sim


@pytest.fixture
def simulated(tmp_path: Path) -> Iterator[Callable[..., SimulatedKiosk]]:
    """`simulated(scenario=None, **kw)`: a `SimulatedKiosk` (see `simulated_kiosk`), closed after the test."""
    made: list[SimulatedKiosk] = []

    def make(scenario: Scenario | None = None, **kw: Any) -> SimulatedKiosk:
        sim = simulated_kiosk(tmp_path / f"kiosk-{len(made)}", scenario, **kw)
        made.append(sim)
        return sim

    yield make
    for sim in made:
        sim.close()
