"""Play a scenario through the real pipeline on emulated hardware.

    World ──scene──▶ MLX90640 register emulator ──I²C words──▶ driver ──frames──▶ screening ─┐
      │                                                                                    ├─▶ checkpoint
      └──phones──▶ phone-screen renderer ──Y plane──▶ zbar ──text──▶ THP1 verifier ───────┘

Headless runs use a `VirtualClock`: nothing waits, so a scenario takes as long as the CPU needs
for the work itself.  `run_demo` uses the real clock and a window, through the same code.  The
kiosk is assembled exactly as on a Pi (`kiosk.service.assemble`), on emulated `Hardware`.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from kiosk.clock import RealClock
from kiosk.clocksync import ClockSync
from kiosk.config import KioskConfig, parse_config
from kiosk.loop import Kiosk, NullDisplay
from kiosk.ports import Clock, Display
from kiosk.service import Assembly, Hardware, assemble, build_signals
from kiosk.simulation.clocks import SteppingClock, SteppingClockSync
from kiosk.simulation.scenario import Scenario, SignedCode, load_scenario
from kiosk.simulation.world import VisitorRecord, World

log = logging.getLogger(__name__)

DEMO_SCENARIO = Path(__file__).with_name("demo.json")
TAIL_S = 10.0  # keep running this long after the last visitor has left
LIMIT_PAST_LAST_ARRIVAL_S = 600.0


@dataclass(slots=True)
class SimulationResult:
    scenario: Scenario
    records: list[VisitorRecord]
    spurious: list[VisitorRecord] = field(default_factory=list)
    simulated_s: float = 0.0
    feed: dict[str, int] | None = None  # with a broker: what was stored, published, acknowledged, left pending

    def mismatches(self) -> list[str]:
        """Visitors whose decision differs from the scenario's expectation, and stray decisions."""
        problems = []
        expected = {v.id: v.expect for v in self.scenario.visitors}
        for record in self.records:
            want = expected.get(record.visitor)
            if want is None:
                continue
            if record.decision != want.decision or set(record.reasons) != set(want.reasons):
                problems.append(f"{record.visitor}: got {record.decision} {sorted(record.reasons)}, "
                                f"expected {want.decision} {sorted(want.reasons)}")
        problems.extend(f"stray decision {r.decision} {list(r.reasons)}" for r in self.spurious)
        return problems


def scenario_config(scenario: Scenario, base: KioskConfig, data_dir: str) -> KioskConfig:
    """The kiosk's configuration with the scenario's site policy and emulated hardware.

    A simulated kiosk never reaches the township's broker of `base`: its uplink is off (a run
    publishes to a broker only when one is named: `simulate(broker=...)`).
    """
    data = base.model_dump(mode="json")
    data["policy"] = {**data["policy"], **scenario.policy_overrides()}
    data["thermal"]["backend"] = "emulated"
    data["camera"]["source"] = "emulated"
    data["signals"]["backend"] = "mock"
    data["uplink"]["enabled"] = False
    data["storage"]["data_dir"] = data_dir
    return parse_config(data, source=f"scenario {scenario.name!r}")


class _Signer:
    """Signs visitors' codes with the simulator's own test issuer (never a real key)."""

    def __init__(self) -> None:
        from kiosk.healthpass.issuer import TestIssuer

        self.issuer = TestIssuer("ES256", iss="CN-SIM", common_name="kiosk simulator test issuer")

    def __call__(self, code: SignedCode, sid: str, wall: float) -> str:
        iat = int(wall - code.age_s)
        nat = None if code.nat_h is None else int(wall - code.nat_h * 3600)
        return self.issuer.issue(code.colour, sid=sid, name="张*三", iat=iat, exp=iat + 86_400,
                                 trip_areas=tuple(code.trip), star=code.star, nat=nat)


def scenario_clock(scenario: Scenario) -> SteppingClock:
    """A virtual clock at the scenario's start, its wall time off by `site.clock` until it steps."""
    spec = scenario.site.clock
    if spec is None:
        return SteppingClock(wall_start=scenario.start)
    return SteppingClock(wall_start=scenario.start, offset_s=spec.offset_s, sync_after_s=spec.sync_at_s)


def build_simulated(
    scenario: Scenario,
    config: KioskConfig,
    clock: Clock,
    *,
    backend: str = "native",
    display: Display | None = None,
    seed: int = 0,
    broker: tuple[str, int] | None = None,
    clock_sync: ClockSync | None = None,
    threaded: bool | None = None,
) -> tuple[Assembly, World, object]:
    """A kiosk assembled on a world of emulated hardware.  Returns (assembly, world, thermal device).

    Events go through the kiosk's own feed (`kiosk.feed.Feed`: outbox, daily tally); with
    `broker` (host, port) its MQTT uplink publishes them, timed in real time whatever `clock` is.
    `clock_sync` None: the wall clock is trusted.  Flip faults on the thermal device.
    """
    from drivers.camera.simulated import SimulatedCamera
    from drivers.mlx90640.simulated import build_emulated_sensor
    from drivers.qr.decoders import make_decoder

    signer = _Signer()
    world = World(scenario, clock, sign=signer, max_distance_m=config.thermal.max_distance_m,
                  fov_h_deg=config.thermal.fov_h_deg)
    if clock_sync is None and scenario.site.clock is not None and isinstance(clock, SteppingClock):
        clock_sync = SteppingClockSync(clock)  # the kiosk's clock is unsynchronised until it steps
    sensor, device = build_emulated_sensor(world, clock, config.thermal, backend=backend, seed=seed)
    camera = SimulatedCamera(world, clock, fps=config.camera.fps,
                             frame_size=(config.camera.width, config.camera.height), seed=seed)
    hardware = Hardware(
        clock=clock,
        sensor=sensor,
        camera=camera,
        decoder=make_decoder(config.camera.decoder),  # inline: deterministic on the virtual clock
        signals=build_signals(config),
        display=display or NullDisplay(),
        trust_list=signer.issuer.trust_list(),  # the phones' codes are signed by the simulator's issuer
        clock_sync=clock_sync,
    )
    assembly = assemble(config, hardware, broker=broker, threaded=threaded)
    assembly.kiosk.on_view.append(world.see)
    assembly.kiosk.on_outcome.append(world.decided)
    return assembly, world, device


def build_simulated_kiosk(scenario: Scenario, config: KioskConfig, clock: Clock, *, backend: str = "native",
                          display: Display | None = None, seed: int = 0, broker: tuple[str, int] | None = None,
                          clock_sync: ClockSync | None = None, threaded: bool | None = None,
                          ) -> tuple[Kiosk, World, object]:
    """`build_simulated`'s kiosk, world and thermal device; `Kiosk.close` closes its feed too."""
    assembly, world, device = build_simulated(scenario, config, clock, backend=backend, display=display, seed=seed,
                                              broker=broker, clock_sync=clock_sync, threaded=threaded)
    return assembly.kiosk, world, device


def play(kiosk: Kiosk, world: World, device: object, clock: Clock, scenario: Scenario,
         should_stop: object = None) -> float:
    """Step the kiosk through the scenario until everyone has left (and `TAIL_S` more); the seconds played."""
    t0 = clock.monotonic()
    last_arrival = max((v.arrive_s for v in scenario.visitors), default=0.0)
    limit = t0 + last_arrival + LIMIT_PAST_LAST_ARRIVAL_S
    done_at: float | None = None
    while True:
        now = clock.monotonic()
        device.unplugged = world.sensor_unplugged(now)  # type: ignore[attr-defined]
        kiosk.step()
        if callable(should_stop) and should_stop():
            break
        if world.finished():
            done_at = done_at or now
            if now - done_at >= TAIL_S:
                break
        if now >= limit:
            log.error("scenario did not finish within %.0f s of the last arrival", LIMIT_PAST_LAST_ARRIVAL_S)
            break
    return clock.monotonic() - t0


def parse_broker(url: str) -> tuple[str, int]:
    """`mqtt://HOST:PORT` (port 1883 if left out) as (host, port)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url if "://" in url else f"mqtt://{url}")
    if parts.scheme != "mqtt" or not parts.hostname:
        raise ValueError(f"broker {url!r}: expected mqtt://HOST:PORT")
    return parts.hostname, parts.port or 1883


def _finish_feed(assembly: Assembly, drain_timeout_s: float) -> dict[str, int]:
    """Report the simulated days (the run is the whole of them) and drain the outbox to the broker."""
    feed = assembly.feed
    wall = assembly.kiosk.clock.wall()
    for day in feed.outbox.tallied_days():
        feed.daily.report(day, wall)
    drained = feed.pump.drain(drain_timeout_s)
    assert feed.uplink is not None  # only called with a broker
    up = feed.uplink.stats()
    stats = feed.outbox.stats()
    if not drained:
        log.error("simulation: %d events still pending after %.0f s (broker unreachable?)",
                  stats.pending, drain_timeout_s)
    return {"stored": stats.rows, "published": up.published, "acknowledged": up.acknowledged,
            "health": up.direct_published, "rejected": stats.rejected, "pending": stats.pending,
            "connects": up.connects}


def simulate(scenario: Scenario, config: KioskConfig | None = None, *, backend: str = "native",
             headless: bool = True, data_dir: str | None = None, seed: int = 0,
             broker: str | None = None, drain_timeout_s: float = 30.0) -> SimulationResult:
    """Run a scenario on a virtual clock and return what happened to each visitor.

    With `broker` (`mqtt://HOST:PORT`) the run's whole feed (entries, alerts, health, the daily
    summary, status) is published there through the outbox and uplink, which runs in real time;
    at the end the outbox is drained until empty or `drain_timeout_s`.
    """
    address = None if broker is None else parse_broker(broker)
    with tempfile.TemporaryDirectory(prefix="kiosk-sim-") as tmp:
        cfg = scenario_config(scenario, config or KioskConfig(), data_dir or tmp)
        # A scenario is judged by its own site policy: the run follows no township configuration,
        # whatever a broker it publishes to has retained (no configuration key, nothing applied).
        cfg = cfg.model_copy(update={"uplink": cfg.uplink.model_copy(update={"config_public_key": ""})})
        clock = scenario_clock(scenario)
        display = None
        if not headless:
            from ui.display import PygameDisplay

            display = PygameDisplay(size=(cfg.display.width, cfg.display.height), title="kiosk simulate")
        assembly, world, device = build_simulated(scenario, cfg, clock, backend=backend, display=display,
                                                  seed=seed, broker=address)
        feed = None
        try:
            simulated = play(assembly.kiosk, world, device, clock, scenario)
            if address is not None:
                feed = _finish_feed(assembly, drain_timeout_s)
        finally:
            assembly.close()
        return SimulationResult(scenario, world.records(), world.spurious, simulated, feed=feed)


def run_demo(config: KioskConfig, *, headless: bool = False, loops: int = 0) -> int:
    """`kiosk run --simulated`: the demo scenario in real time, in a window, over and over."""
    import os
    import time

    scenario = load_scenario(DEMO_SCENARIO)
    display = None
    if not headless and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) \
            and config.display.driver in ("auto", "x11", "wayland"):
        log.warning("no display found: running headless (set DISPLAY, or display.driver = \"kmsdrm\")")
        headless = True
    if not headless:
        from ui.display import PygameDisplay

        driver = None if config.display.driver == "auto" else config.display.driver
        display = PygameDisplay(size=(config.display.width, config.display.height),
                                fullscreen=config.display.fullscreen, driver=driver, title="Checkpoint kiosk (demo)")
    loop = 0
    with tempfile.TemporaryDirectory(prefix="kiosk-demo-") as tmp:
        while loops == 0 or loop < loops:
            loop += 1
            clock = RealClock()
            played = scenario.model_copy(update={"start": time.time()})
            cfg = scenario_config(played, config, tmp)
            assembly, world, device = build_simulated(played, cfg, clock, display=display)
            closed = (lambda: bool(getattr(display, "closed", False))) if display else None
            try:
                play(assembly.kiosk, world, device, clock, played, should_stop=closed)
            finally:
                assembly.kiosk.stop_feeds()  # the sensor and camera threads of this round's world
                assembly.feed.close()  # the window stays open for the next round
            for record in world.records():
                print(record.to_dict(), flush=True)
            if display is not None and getattr(display, "closed", False):
                break
    if display is not None:
        display.close()
    return 0
