"""Quiet hours on gpiozero's MockFactory pins: the lights unchanged, the buzzer silent or one short beep.

Each test compares every pin's whole recorded history (see `Rig` in test_signals_gpio)."""

from __future__ import annotations

import time

import pytest
from gpiozero.pins.mock import MockFactory

from drivers.signals import GpioSignals, QuietHours
from drivers.signals.quiet import SHORT_BEEP_S
from kiosk.config import KioskConfig, parse_config
from kiosk.ports import Signal
from kiosk.service.app import build_signals
from tests.drivers.signals.test_gpio import PINS, Rig


def _wall_at(hhmm: str) -> float:
    """An epoch second at local time `hhmm` today (quiet hours are local time)."""
    hours, minutes = map(int, hhmm.split(":"))
    now = time.localtime()
    return time.mktime((now.tm_year, now.tm_mon, now.tm_mday, hours, minutes, 0, 0, 0, -1))


class WallClock:
    def __init__(self, hhmm: str) -> None:
        self.t = _wall_at(hhmm)

    def __call__(self) -> float:
        return self.t


def _play_all(rig: Rig) -> None:
    for signal in (Signal.PASS, Signal.STOP, Signal.ATTENTION, Signal.FAULT):
        rig.show(signal)
        rig.run(3.0)


NIGHT = QuietHours.parse("22:00", "07:00", "short")


def test_outside_quiet_hours_everything_beeps() -> None:
    rig = Rig(quiet_hours=NIGHT, wall=WallClock("12:00"))
    _play_all(rig)
    rig.assert_history("buzzer", [(0.0, True), (0.1, False),  # PASS
                                  (3.0, True), (3.2, False), (3.4, True), (3.6, False), (3.8, True), (4.0, False),
                                  (6.0, True), (6.1, False),  # ATTENTION
                                  (9.0, True), (10.0, False)])  # FAULT's long beep
    rig.signals.close()


def test_short_rule_one_short_beep_for_stop_and_fault_lights_unchanged() -> None:
    rig = Rig(quiet_hours=NIGHT, wall=WallClock("23:30"))
    _play_all(rig)
    rig.assert_history("buzzer", [(3.0, True), (3.0 + SHORT_BEEP_S, False), (9.0, True), (9.0 + SHORT_BEEP_S, False)])
    rig.assert_history("green", [(0.0, True), (2.0, False)])
    rig.assert_history("red", [(3.0, True), (8.0, False), (9.0, True), (9.5, False), (10.0, True),
                               (10.5, False), (11.0, True), (11.5, False), (12.0, True)])
    rig.signals.close()


def test_off_rule_silences_the_buzzer_after_midnight_too() -> None:
    rig = Rig(quiet_hours=QuietHours.parse("22:00", "07:00", "off"), wall=WallClock("03:15"))
    _play_all(rig)
    rig.assert_history("buzzer", [])
    rig.assert_history("green", [(0.0, True), (2.0, False)])
    rig.signals.close()


def test_the_rule_is_read_when_a_signal_starts() -> None:
    wall = WallClock("21:59")
    rig = Rig(quiet_hours=NIGHT, wall=wall)
    rig.show(Signal.STOP)
    rig.run(0.1)
    wall.t += 60  # 22:00 during the beeps: this STOP finishes as it began
    rig.run(5.9)
    rig.show(Signal.STOP)  # the next STOP, in quiet hours
    rig.run(6.0)
    rig.assert_history("buzzer", [(0.0, True), (0.2, False), (0.4, True), (0.6, False), (0.8, True), (1.0, False),
                                  (6.0, True), (6.0 + SHORT_BEEP_S, False)])
    rig.assert_history("red", [(0.0, True), (5.0, False), (6.0, True), (11.0, False)])
    rig.signals.close()


@pytest.mark.parametrize(("start", "end", "inside", "outside"), [
    ("22:00", "07:00", ["22:00", "23:59", "00:00", "06:59"], ["07:00", "12:00", "21:59"]),
    ("12:30", "14:00", ["12:30", "13:59"], ["12:29", "14:00", "00:00"]),
])
def test_quiet_hours_contain(start: str, end: str, inside: list[str], outside: list[str]) -> None:
    quiet = QuietHours.parse(start, end)
    assert quiet is not None
    assert all(quiet.contains(_wall_at(t)) for t in inside)
    assert not any(quiet.contains(_wall_at(t)) for t in outside)


def test_no_quiet_hours_and_bad_ones() -> None:
    assert QuietHours.parse("", "") is None
    with pytest.raises(ValueError):
        QuietHours.parse("22:00", "")
    with pytest.raises(ValueError):
        QuietHours.parse("22:00", "22:00")


def test_pins_and_quiet_hours_come_from_the_config() -> None:
    config = parse_config({"signals": {"buzzer_pin": 5, "green_pin": 6, "red_pin": 13,
                                       "quiet_from": "22:00", "quiet_until": "07:00", "quiet_buzzer": "off"}})
    signals = build_signals(config)
    assert isinstance(signals, GpioSignals)
    try:
        assert signals.quiet_hours == QuietHours.parse("22:00", "07:00", "off")
        factory = signals._buzzer.pin_factory  # the mock backend of the config
        assert isinstance(factory, MockFactory)
        assert {d.pin.info.name for d in signals._devices} == {"GPIO5", "GPIO6", "GPIO13"}
    finally:
        signals.close()
    assert build_signals(KioskConfig()).quiet_hours is None  # type: ignore[attr-defined]
    with pytest.raises(ValueError):
        parse_config({"signals": {"quiet_from": "22:00"}})
    assert PINS == {"buzzer": 17, "green": 27, "red": 22}
