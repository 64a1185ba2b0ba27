"""GpioSignals on gpiozero's own MockFactory, driven over simulated time.

MockPin stamps its history with the real clock, which a virtual-time test does not move, so the
log below stamps each recorded change with the simulated `now` of the update that made it, and
the tests compare every pin's *whole* history: gpiozero's `assert_states` zips, so a longer
expected list would pass it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from gpiozero import Buzzer
from gpiozero.exc import GPIOPinInUse
from gpiozero.pins.mock import MockFactory, MockPin

from drivers.signals import GpioSignals, Pattern, Step
from kiosk.ports import Signal, Signals

T0 = 100.0
TICK = 0.01
PINS = {"buzzer": 17, "green": 27, "red": 22}

History = list[tuple[float, bool]]


class Rig:
    """The signals on mock pins, a tick-driven loop, and a log of every pin change."""

    def __init__(self, *, quiet: bool = False, buzzer_active_high: bool = True, **options: Any) -> None:
        self.factory = MockFactory()
        self.signals = GpioSignals(buzzer_pin=PINS["buzzer"], green_pin=PINS["green"],
                                   red_pin=PINS["red"], pin_factory=self.factory, quiet=quiet,
                                   buzzer_active_high=buzzer_active_high, **options)
        self.pins: dict[str, MockPin] = {k: self.factory.pin(n) for k, n in PINS.items()}
        self.initial = {k: [s.state for s in pin.states] for k, pin in self.pins.items()}
        self.seen = {k: len(pin.states) for k, pin in self.pins.items()}
        self.log: dict[str, History] = {k: [] for k in PINS}
        self.k = 0  # loop ticks since T0

    @property
    def now(self) -> float:
        return T0 + self.k * TICK

    def record(self, now: float) -> None:
        for name, pin in self.pins.items():
            for change in pin.states[self.seen[name]:]:
                self.log[name].append((round(now - T0, 6), bool(change.state)))
            self.seen[name] = len(pin.states)

    def show(self, signal: Signal) -> None:
        self.signals.show(signal, self.now)
        self.record(self.now)

    def run(self, seconds: float, *, showing: Signal | None = None) -> None:
        """Call update every tick (and, if given, show `showing` too) for `seconds`."""
        for _ in range(round(seconds / TICK)):
            self.k += 1
            if showing is not None:
                self.signals.show(showing, self.now)
            self.signals.update(self.now)
            self.record(self.now)

    def assert_history(self, name: str, expected: History) -> None:
        """The pin's whole recorded history: the changes at these simulated times, and no other."""
        assert self.log[name] == [(round(t, 6), state) for t, state in expected]
        assert [s.state for s in self.pins[name].states] == self.initial[name] + [s for _, s in expected]


@pytest.fixture
def rig() -> Iterator[Rig]:
    r = Rig()
    yield r
    r.signals.close()


def test_it_is_the_signals_port(rig: Rig) -> None:
    assert isinstance(rig.signals, Signals)
    assert rig.initial == {"buzzer": [False], "green": [False], "red": [False]}


def test_pass_is_green_for_two_seconds_and_one_short_beep(rig: Rig) -> None:
    rig.show(Signal.PASS)
    rig.run(6.0)
    rig.assert_history("buzzer", [(0.0, True), (0.1, False)])
    rig.assert_history("green", [(0.0, True), (2.0, False)])
    rig.assert_history("red", [])


def test_stop_is_red_and_three_beeps_red_ends_after_five_seconds(rig: Rig) -> None:
    rig.show(Signal.STOP)
    rig.run(8.0)
    rig.assert_history("buzzer", [(0.0, True), (0.2, False), (0.4, True), (0.6, False),
                                  (0.8, True), (1.0, False)])
    rig.assert_history("red", [(0.0, True), (5.0, False)])
    rig.assert_history("green", [])


def test_switching_stop_to_idle_mid_pattern_turns_everything_off(rig: Rig) -> None:
    rig.show(Signal.STOP)
    rig.run(0.5)  # inside the second beep
    rig.show(Signal.IDLE)
    rig.run(6.0)
    rig.assert_history("buzzer", [(0.0, True), (0.2, False), (0.4, True), (0.5, False)])
    rig.assert_history("red", [(0.0, True), (0.5, False)])
    rig.assert_history("green", [])
    assert rig.signals.next_change_at() is None


def test_a_new_decision_replaces_the_old_at_once(rig: Rig) -> None:
    rig.show(Signal.STOP)
    rig.run(3.0)
    rig.show(Signal.PASS)  # the next visitor, while red is still on
    rig.run(3.0)
    rig.assert_history("red", [(0.0, True), (3.0, False)])
    rig.assert_history("green", [(3.0, True), (5.0, False)])
    rig.assert_history("buzzer", [(0.0, True), (0.2, False), (0.4, True), (0.6, False),
                                  (0.8, True), (1.0, False), (3.0, True), (3.1, False)])


def test_fault_blinks_red_at_1hz_after_a_long_beep_for_as_long_as_it_is_shown(rig: Rig) -> None:
    rig.show(Signal.FAULT)
    rig.run(4.2, showing=Signal.FAULT)  # the loop re-shows it every pass: no restart
    rig.assert_history("buzzer", [(0.0, True), (1.0, False)])
    rig.assert_history("red", [(0.0, True), (0.5, False), (1.0, True), (1.5, False), (2.0, True),
                               (2.5, False), (3.0, True), (3.5, False), (4.0, True)])
    rig.assert_history("green", [])
    rig.show(Signal.IDLE)
    rig.run(2.0)
    assert rig.log["red"][-1] == (4.2, False)
    assert not any(pin.state for pin in rig.pins.values())


def test_attention_is_one_short_beep_and_leaves_the_lights_alone(rig: Rig) -> None:
    rig.show(Signal.ATTENTION)
    rig.run(0.09, showing=Signal.ATTENTION)  # shown again while it runs: not restarted
    rig.run(1.9)
    rig.assert_history("buzzer", [(0.0, True), (0.1, False)])
    rig.assert_history("green", [])
    rig.assert_history("red", [])


def test_attention_shown_again_after_its_beep_is_a_new_prompt(rig: Rig) -> None:
    rig.show(Signal.ATTENTION)
    rig.run(1.0)
    rig.show(Signal.ATTENTION)
    rig.run(1.0)
    rig.assert_history("buzzer", [(0.0, True), (0.1, False), (1.0, True), (1.1, False)])


def test_attention_during_stop_keeps_red_and_its_timeout(rig: Rig) -> None:
    rig.show(Signal.STOP)
    rig.run(2.0)
    rig.show(Signal.ATTENTION)
    rig.run(4.0)
    assert rig.signals.signal is Signal.STOP
    rig.assert_history("red", [(0.0, True), (5.0, False)])
    rig.assert_history("buzzer", [(0.0, True), (0.2, False), (0.4, True), (0.6, False),
                                  (0.8, True), (1.0, False), (2.0, True), (2.1, False)])


def test_quiet_hours_keep_the_lights_and_silence_the_buzzer() -> None:
    rig = Rig(quiet=True)
    for signal in (Signal.PASS, Signal.STOP, Signal.ATTENTION, Signal.FAULT):
        rig.show(signal)
        rig.run(3.0)
    rig.assert_history("buzzer", [])
    rig.assert_history("green", [(0.0, True), (2.0, False)])
    # STOP's red outlasts the ATTENTION beep shown at 6 s, then FAULT blinks from 9 s.
    rig.assert_history("red", [(3.0, True), (8.0, False), (9.0, True), (9.5, False), (10.0, True),
                               (10.5, False), (11.0, True), (11.5, False), (12.0, True)])
    rig.signals.close()


def test_quiet_switched_on_mid_beep_silences_at_once(rig: Rig) -> None:
    rig.show(Signal.FAULT)
    rig.run(0.3)
    rig.signals.quiet = True
    rig.record(rig.now)
    rig.run(1.0)
    rig.signals.quiet = False  # the long beep is over by now: nothing to resume
    rig.run(1.0)
    rig.assert_history("buzzer", [(0.0, True), (0.3, False)])


def test_a_loop_that_sleeps_until_next_change_at_hits_every_edge(rig: Rig) -> None:
    rig.signals.show(Signal.STOP, T0)
    rig.record(T0)
    edges = []
    while (at := rig.signals.next_change_at()) is not None:
        edges.append(round(at - T0, 6))
        rig.signals.update(at)
        rig.record(at)
    assert edges == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0, 5.0])
    rig.assert_history("buzzer", [(0.0, True), (0.2, False), (0.4, True), (0.6, False),
                                  (0.8, True), (1.0, False)])
    rig.assert_history("red", [(0.0, True), (5.0, False)])


def test_next_change_at_follows_the_fault_blink_round_and_round(rig: Rig) -> None:
    rig.signals.show(Signal.FAULT, T0)
    edges = []
    for _ in range(6):
        at = rig.signals.next_change_at()
        assert at is not None
        edges.append(round(at - T0, 6))
        rig.signals.update(at)
    assert edges == [0.5, 1.0, 1.5, 2.0, 2.5, 3.0]


def test_an_active_low_buzzer_is_driven_inverted() -> None:
    rig = Rig(buzzer_active_high=False)
    assert rig.initial["buzzer"] == [False, True]  # released high: silent
    rig.show(Signal.PASS)
    rig.run(1.0)
    rig.assert_history("buzzer", [(0.0, False), (0.1, True)])
    rig.signals.close()


def test_close_switches_off_releases_the_pins_and_is_idempotent() -> None:
    factory = MockFactory()
    with GpioSignals(buzzer_pin=17, green_pin=27, red_pin=22, pin_factory=factory) as signals:
        signals.show(Signal.STOP, 0.0)
        assert factory.pin(22).state
    assert signals.closed
    assert [s.state for s in factory.pin(17).states] == [False, True, False]
    assert [s.state for s in factory.pin(22).states] == [False, True, False]
    signals.close()
    signals.show(Signal.PASS, 1.0)  # inert once closed
    signals.update(2.0)
    Buzzer(17, pin_factory=factory).close()  # the pin is free again


def test_a_failed_construction_releases_what_it_had_claimed() -> None:
    factory = MockFactory()
    with pytest.raises(GPIOPinInUse):
        GpioSignals(buzzer_pin=17, green_pin=27, red_pin=27, pin_factory=factory)
    GpioSignals(buzzer_pin=17, green_pin=27, red_pin=22, pin_factory=factory).close()


def test_a_site_can_replace_a_pattern() -> None:
    factory = MockFactory()
    long_pass = Pattern((Step(0.0, False, True, False), Step(4.0, False, False, False)))
    with GpioSignals(buzzer_pin=17, green_pin=27, red_pin=22, pin_factory=factory,
                     patterns={Signal.PASS: long_pass}) as signals:
        signals.show(Signal.PASS, 0.0)
        signals.update(3.9)
        assert factory.pin(27).state and not factory.pin(17).state
        signals.update(4.0)
        assert not factory.pin(27).state


@pytest.mark.parametrize("steps", [(), (Step(0.5, True, True, True),),
                                   (Step(0.0, True, True, True), Step(0.0 - 1, False, False, False))])
def test_a_pattern_must_start_at_zero_in_time_order(steps: tuple[Step, ...]) -> None:
    with pytest.raises(ValueError):
        Pattern(steps)


def test_a_repeating_pattern_must_loop_from_one_of_its_steps() -> None:
    with pytest.raises(ValueError):
        Pattern((Step(0.0, True, True, True), Step(1.0, False, False, False)), loop_from=0.5, period=1.0)
