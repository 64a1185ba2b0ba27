"""Simulation: the whole kiosk, on emulated hardware, in front of a scripted queue of visitors.

The parts:

* `simulate`, `build_simulated`, `build_simulated_kiosk`, `play` (`kiosk.simulation.runner`): a
  scenario played through the kiosk, assembled exactly as on a Pi (`kiosk.service.assemble`) on
  emulated parts, headless on a virtual clock that jumps over idle stretches, its state in a
  temporary folder or in one a later run resumes from;
* `run_demo` (`kiosk.simulation.demo`): the demo in real time in a window, over and over;
* `Scenario`, `load_scenario` (`kiosk.simulation.scenario`): the scenario format
  (`shared/scenarios/SPEC.md`);
* `World`, `VisitorRecord` (`kiosk.simulation.world`): the visitors, who read the screen and act,
  the queue and the passers-by (`kiosk.simulation.crowd`: where everybody is, when);
* `SteppingClock`, `SteppingClockSync` (`kiosk.simulation.clocks`): a kiosk clock that is wrong
  until network time steps it (`site.clock`);
* `measure_person` (`kiosk.simulation.screening_trial`): one person in front of the emulated
  sensor, for the screening's accuracy benchmarks and calibration.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kiosk.lazy import front

if TYPE_CHECKING:
    from kiosk.simulation.clocks import SteppingClock, SteppingClockSync
    from kiosk.simulation.demo import run_demo
    from kiosk.simulation.runner import (
        DEMO_SCENARIO,
        SimulationResult,
        build_simulated,
        build_simulated_kiosk,
        parse_broker,
        play,
        scenario_clock,
        scenario_config,
        simulate,
    )
    from kiosk.simulation.scenario import Scenario, load_scenario
    from kiosk.simulation.screening_trial import measure_person
    from kiosk.simulation.world import VisitorRecord, World

_EXPORTS = {
    "DEMO_SCENARIO": "runner",
    "Scenario": "scenario",
    "SimulationResult": "runner",
    "SteppingClock": "clocks",
    "SteppingClockSync": "clocks",
    "VisitorRecord": "world",
    "World": "world",
    "build_simulated": "runner",
    "build_simulated_kiosk": "runner",
    "load_scenario": "scenario",
    "measure_person": "screening_trial",
    "parse_broker": "runner",
    "play": "runner",
    "run_demo": "demo",
    "scenario_clock": "runner",
    "scenario_config": "runner",
    "simulate": "runner",
}
__getattr__, __dir__ = front(__name__, _EXPORTS)
__all__ = [
    "DEMO_SCENARIO",
    "Scenario",
    "SimulationResult",
    "SteppingClock",
    "SteppingClockSync",
    "VisitorRecord",
    "World",
    "build_simulated",
    "build_simulated_kiosk",
    "load_scenario",
    "measure_person",
    "parse_broker",
    "play",
    "run_demo",
    "scenario_clock",
    "scenario_config",
    "simulate",
]  # the same names as _EXPORTS
