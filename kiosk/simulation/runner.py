"""Play a scenario through the real pipeline on emulated hardware.

    World ──scene──▶ MLX90640 register emulator ──I²C words──▶ driver ──frames──▶ screening ─┐
      │                                                                                    ├─▶ checkpoint
      └──phones──▶ phone-screen renderer ──Y plane──▶ zbar ──text──▶ THP1 verifier ───────┘

Headless runs use a `VirtualClock`: nothing waits, so a scenario takes as long as the CPU needs
for the work itself, and an idle stretch (nobody in view, nothing due) is jumped over
(`skip_idle`).  The demo (`kiosk.simulation.demo`) uses the real clock and a window, through the
same code.  The kiosk is assembled exactly as on a Pi (`kiosk.service.assemble`), on emulated
`Hardware`.

A run keeps the kiosk's state (the outbox above all) in a temporary folder, or in `data_dir`,
where a later run that `resume`s finds it: the runs are then one kiosk's life.  It first hands the
broker what was left pending (a killed run's events), then plays its scenario from where the
kiosk's clock stopped, or from the scenario's `start` if that is later (`start_after`): the
kiosk's time never runs backwards.  Its days are reported when they are over, as on a Pi; a run
in a temporary folder is the kiosk's whole life, so its days are all reported at its end.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import math
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from kiosk.checkpoint import Phase
from kiosk.clock import VirtualClock
from kiosk.clocksync import ClockSync
from kiosk.config import KioskConfig, parse_config
from kiosk.errors import StartupError
from kiosk.feed import FeedPump
from kiosk.loop import Kiosk, NullDisplay
from kiosk.outbox import Outbox
from kiosk.ports import Clock, Display
from kiosk.service import Assembly, Hardware, assemble, build_signals, screen_renderer
from kiosk.simulation.clocks import SteppingClock, SteppingClockSync
from kiosk.simulation.scenario import Scenario, SignedCode
from kiosk.simulation.world import VisitorRecord, World

log = logging.getLogger(__name__)

DEMO_SCENARIO = Path(__file__).with_name("demo.json")
TAIL_S = 10.0  # keep running this long after the last visitor has left
LIMIT_PAST_LAST_ARRIVAL_S = 600.0
LEAD_S = 30.0  # an idle jump stops this long before the next visitor: the kiosk sees the empty room first
JUMP_MIN_S = 300.0  # idle stretches shorter than this are played, not jumped (and keep their exact timing)


@dataclass(slots=True)
class SimulationResult:
    scenario: Scenario
    records: list[VisitorRecord]
    spurious: list[VisitorRecord] = field(default_factory=list)
    simulated_s: float = 0.0
    feed: dict[str, Any] | None = None  # with a broker: stored, published, acknowledged, receipted, left pending …
    data_dir: str | None = None  # where the kiosk's state was kept (None: a temporary folder, gone)
    start: float = 0.0  # the wall clock the scenario was played from (`start_after`)
    undecided: list[str] = field(default_factory=list)  # still waiting when the run was cut off: no line of theirs

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
        if self.undecided:
            shown = ", ".join(self.undecided[:5]) + (" …" if len(self.undecided) > 5 else "")
            problems.append(f"the run did not finish within {LIMIT_PAST_LAST_ARRIVAL_S:.0f} s (simulated) of the last "
                            f"arrival: {len(self.undecided)} visitors never got a decision ({shown})")
        return problems


def scenario_config(scenario: Scenario, base: KioskConfig, data_dir: str | None) -> KioskConfig:
    """The kiosk's configuration with the scenario's site policy and emulated hardware.

    With a `data_dir`, a simulated kiosk never reaches the township's broker of `base`: its
    uplink is off (`simulate` publishes to a broker only when one is named: `simulate(broker=...)`)
    and its state lives in `data_dir`.  With None (the demo of a given configuration), `base`'s
    uplink and `storage.data_dir` are kept: the demo feeds the broker it names.
    """
    data = base.model_dump(mode="json")
    data["policy"] = {**data["policy"], **scenario.policy_overrides()}
    data["thermal"]["backend"] = "emulated"
    data["camera"]["source"] = "emulated"
    data["signals"]["backend"] = "mock"
    if data_dir is not None:
        data["uplink"]["enabled"] = False
        data["storage"]["data_dir"] = data_dir
    return parse_config(data, source="site")  # the scenario's "site" (its policy): the CLI names the file


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


def scenario_clock(scenario: Scenario, start: float | None = None) -> SteppingClock:
    """A virtual clock at the scenario's start (or `start`), its wall time off by `site.clock` until it steps."""
    wall = scenario.start if start is None else start
    spec = scenario.site.clock
    if spec is None:
        return SteppingClock(wall_start=wall)
    return SteppingClock(wall_start=wall, offset_s=spec.offset_s, sync_after_s=spec.sync_at_s)


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
         should_stop: object = None, *, pump: FeedPump | None = None) -> float:
    """Step the kiosk through the scenario until everyone has left (and `TAIL_S` more); the seconds played.

    On a `VirtualClock`, idle stretches are jumped over (`skip_idle`; `pump`: the feed, whose
    timers the jumps stop at).
    """
    t0 = clock.monotonic()
    last_arrival = max([v.arrive_s for v in scenario.visitors] + [p.at_s for p in scenario.site.passers], default=0.0)
    limit = t0 + last_arrival + LIMIT_PAST_LAST_ARRIVAL_S
    done_at: float | None = None
    jumps = isinstance(clock, VirtualClock)
    while True:
        now = clock.monotonic()
        device.unplugged = world.sensor_unplugged(now)  # type: ignore[attr-defined]
        kiosk.step()
        if callable(should_stop) and should_stop():
            break
        if jumps:
            skip_idle(kiosk, world, clock, pump)
        if world.finished():
            done_at = done_at or now
            if now - done_at >= TAIL_S:
                break
        if now >= limit:
            log.error("scenario did not finish within %.0f s of the last arrival", LIMIT_PAST_LAST_ARRIVAL_S)
            break
    return clock.monotonic() - t0


def skip_idle(kiosk: Kiosk, world: World, clock: Clock, pump: FeedPump | None = None) -> float:
    """Jump a virtual clock over an idle stretch; returns the seconds jumped (0: none).

    Idle: nobody at the kiosk or in the queue, the checkpoint waiting for nobody (no timer of
    its own).  The jump ends at the first thing scheduled: `LEAD_S` before the next visitor
    steps up (the kiosk watches the empty room a little first, as it would have all along), or
    the feed's next timer seen outside (`FeedPump.next_due`: health, the daily summary), so that
    each fires once, at its time, and the status strip and reports read a clock that only ever
    moved forward; the next pass jumps on from there.  A jump is whole seconds
    (the frame grids keep their phase).  Stretches under `JUMP_MIN_S` are played as they are.
    """
    checkpoint = kiosk.checkpoint
    if checkpoint.phase is not Phase.IDLE or checkpoint.next_deadline() is not None:
        return 0.0
    now = clock.monotonic()
    quiet = world.quiet_until(now)
    if quiet is None or quiet == float("inf") or quiet - LEAD_S - now < JUMP_MIN_S:
        return 0.0
    target = quiet - LEAD_S if pump is None else min(quiet - LEAD_S, pump.next_due())
    jump = float(math.floor(target - now))  # whole seconds: the sensor's and the camera's frame phases stay put
    if jump <= 0:
        return 0.0
    clock.sleep_until(now + jump)
    return jump


def start_after(scenario: Scenario, outbox_path: Path) -> float:
    """The wall clock to play `scenario` from with the state in `outbox_path`'s folder: its `start`,
    or a second after the last time the kiosk there left a trace (`Outbox.last_wall`) if that is
    later.  A clock that ran backwards would put events before the ones already sent, and visits
    on days already reported (never to be counted)."""
    if not outbox_path.exists():
        return scenario.start
    with Outbox(outbox_path, reserve_bytes=0) as outbox:
        last = outbox.last_wall()
    return scenario.start if last is None else max(scenario.start, float(math.ceil(last)) + 1.0)


@contextlib.contextmanager
def data_folder(data_dir: str | None, *, named: str = "--data") -> Iterator[str]:
    """The kiosk's state folder: `data_dir` (created, locked against a second kiosk using it at once)
    or a temporary one, removed afterwards.  `named`: what the user called it, for the messages."""
    if data_dir is None:
        with tempfile.TemporaryDirectory(prefix="kiosk-sim-") as tmp:
            yield tmp
        return
    path = Path(data_dir)
    try:
        path.mkdir(parents=True, exist_ok=True)
        lock = open(path / "kiosk.lock", "a+b")  # noqa: SIM115 - held for the whole run
    except OSError as exc:
        raise StartupError(f"{named} {data_dir}: {exc.strerror or exc}") from None
    with lock:
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise StartupError(f"{named} {data_dir}: another kiosk is using this folder") from None
        yield os.fspath(path)


def parse_broker(url: str) -> tuple[str, int]:
    """`mqtt://HOST:PORT` (port 1883 if left out) as (host, port)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url if "://" in url else f"mqtt://{url}")
    if parts.scheme != "mqtt" or not parts.hostname:
        raise ValueError(f"broker {url!r}: expected mqtt://HOST:PORT")
    return parts.hostname, parts.port or 1883


def _finish_feed(assembly: Assembly, drain_timeout_s: float, *, whole_life: bool = True) -> dict[str, Any]:
    """Report the simulated days if the run is the kiosk's `whole_life` (else they are reported when
    over, by a later run), and drain the outbox to the township.

    Drained: the broker took everything and the township receipted it, or sends no receipts (none
    came within `kiosk.feed.pump.RECEIPTS_GRACE_S`): then what awaits a receipt stays in the data
    folder, for a later run to see freed or to publish again.
    """
    feed = assembly.feed
    wall = assembly.kiosk.clock.wall()
    for day in feed.outbox.tallied_days() if whole_life else ():
        feed.daily.report(day, wall)
    drained = feed.pump.drain(drain_timeout_s)
    assert feed.uplink is not None  # only called with a broker
    up = feed.uplink.stats()
    stats = feed.outbox.stats()
    if not drained:
        log.error("simulation: %d events still pending, %d awaiting a receipt after %.0f s (broker or township "
                  "unreachable?)", stats.pending, stats.published, drain_timeout_s)
    return {"stored": feed.outbox.appended, "published": up.published, "acknowledged": up.acknowledged,
            "receipted": up.receipted, "resent": up.resent, "health": up.direct_published,
            "rejected": stats.rejected, "pending": stats.pending, "unreceipted": stats.published,
            "connects": up.connects, "receipts": up.receipts}


def simulate(scenario: Scenario, config: KioskConfig | None = None, *, backend: str = "native",
             headless: bool = True, data_dir: str | None = None, seed: int = 0,
             broker: str | None = None, drain_timeout_s: float = 30.0, resume: bool = False) -> SimulationResult:
    """Run a scenario on a virtual clock and return what happened to each visitor.

    With `broker` (`mqtt://HOST:PORT`) the run's whole feed (entries, alerts, health, the daily
    summary, status) is published there through the outbox and uplink, which runs in real time;
    at the end the outbox is drained until the township has everything or `drain_timeout_s`.
    With `data_dir` every piece of the kiosk's state lives there (created if need be); the run is
    still the kiosk's whole life (its days all reported at its end) unless it `resume`s (`kiosk
    simulate --data`): then what a killed run left pending is handed to the broker first (within
    `drain_timeout_s`), the scenario is played from where the kiosk's clock stopped
    (`start_after`), and its days are reported once over (by a later run if need be).  Raises
    `StartupError` for an unusable `data_dir`.
    """
    address = None if broker is None else parse_broker(broker)
    with data_folder(data_dir) as folder:
        cfg = scenario_config(scenario, config or KioskConfig(), folder)
        # A scenario is judged by its own site policy: the run follows no township configuration,
        # whatever a broker it publishes to has retained (no configuration key, nothing applied).
        cfg = cfg.model_copy(update={"uplink": cfg.uplink.model_copy(update={"config_public_key": ""})})
        start = start_after(scenario, Path(folder) / "outbox.sqlite") if resume else scenario.start
        if start != scenario.start:
            log.info("simulation: the kiosk in %s ran until later; playing from %s", folder,
                     datetime.fromtimestamp(start, ZoneInfo(cfg.uplink.timezone)).isoformat())
        clock = scenario_clock(scenario, start)
        display = None
        if not headless:
            from ui.display import PygameDisplay

            display = PygameDisplay(size=(cfg.display.width, cfg.display.height), title="kiosk simulate",
                                    renderer=screen_renderer(cfg))
        played = scenario if start == scenario.start else scenario.model_copy(update={"start": start})
        assembly, world, device = build_simulated(played, cfg, clock, backend=backend, display=display,
                                                  seed=seed, broker=address)
        feed = None
        try:
            left = resume and address is not None and assembly.feed.outbox.pending_count() > 0
            if left and not assembly.feed.pump.drain(drain_timeout_s, receipts=False):
                log.warning("simulation: the broker did not take what an earlier run left within %.0f s; "
                            "playing all the same", drain_timeout_s)
            simulated = play(assembly.kiosk, world, device, clock, played, pump=assembly.feed.pump)
            if address is not None:
                feed = _finish_feed(assembly, drain_timeout_s, whole_life=not resume)
        finally:
            assembly.close()
        records = world.records()  # a visitor the run was cut off before has no decision: no line, a failure
        return SimulationResult(scenario, [r for r in records if r.decision is not None], world.spurious, simulated,
                                feed=feed, data_dir=data_dir, start=start,
                                undecided=[r.visitor for r in records if r.decision is None])
