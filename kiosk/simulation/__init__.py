"""Simulation: the whole kiosk, on emulated hardware, in front of a scripted queue of visitors.

The parts:

* `simulate`, `build_simulated`, `build_simulated_kiosk`, `play` (`kiosk.simulation.runner`): a
  scenario played through the kiosk, assembled exactly as on a Pi (`kiosk.service.assemble`) on
  emulated parts, headless on a virtual clock that jumps over idle stretches, its state in a
  temporary folder or in one a later run resumes from;
* `run_demo` (`kiosk.simulation.demo`): the demo in real time in a window, over and over;
* `Scenario`, `load_scenario` (`kiosk.simulation.scenario`): the scenario format
  (`shared/scenarios/SPEC.md`);
* `World`, `VisitorRecord` (`kiosk.simulation.world`): the visitors, who read the screen and act;
* `measure_person` (`kiosk.simulation.screening_trial`): one person in front of the emulated
  sensor, for the screening's accuracy benchmarks and calibration.
"""

from kiosk.simulation.demo import run_demo
from kiosk.simulation.runner import (
    DEMO_SCENARIO,
    SimulationResult,
    build_simulated,
    build_simulated_kiosk,
    parse_broker,
    play,
    scenario_config,
    simulate,
)
from kiosk.simulation.scenario import Scenario, load_scenario
from kiosk.simulation.screening_trial import measure_person
from kiosk.simulation.world import VisitorRecord, World

__all__ = [
    "DEMO_SCENARIO",
    "Scenario",
    "SimulationResult",
    "VisitorRecord",
    "World",
    "build_simulated",
    "build_simulated_kiosk",
    "load_scenario",
    "measure_person",
    "parse_broker",
    "play",
    "run_demo",
    "scenario_config",
    "simulate",
]
