"""Spoken prompts: espeak-ng really makes them (Mandarin, then English), and playing one never blocks."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import wave
from pathlib import Path

import pytest

os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

from drivers.audio import PROMPTS, VoiceBuildError, VoicePlayer, build_prompts, prompt_texts
from kiosk.config import parse_config
from kiosk.ports import Screen
from kiosk.service.app import build_voice
from tests.paths import ROOT
from ui.catalog import BilingualCatalog, spoken_prompts

TEXTS = prompt_texts(spoken_prompts())  # the words of the screens' catalogues, as the kiosk composes them

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")


def _seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth()) == (1, 2)
        return w.getnframes() / w.getframerate()


@pytest.fixture(scope="module")
def prompts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng not installed")
    return build_prompts(tmp_path_factory.mktemp("voice"), TEXTS)


def test_the_prompts_come_from_the_catalogues_in_both_languages() -> None:
    spoken = spoken_prompts()
    assert spoken["pass"] == [("zh", "通过，请进"), ("en", "Please go in.")]
    assert set(TEXTS) == set(PROMPTS)
    assert TEXTS["pass"] == [("cmn", "通过，请进"), ("en", "Please go in.")]
    assert TEXTS["step_closer"][0] == ("cmn", "请靠近一点")
    assert TEXTS["fault"] == [("cmn", "人工复核，请等候工作人员"), ("en", "Manual check. Please wait for staff.")]
    english_only = prompt_texts(spoken_prompts(BilingualCatalog.load("en", None)))
    assert english_only["stop"] == [("en", "Stop. Please wait for staff.")]


def test_words_the_driver_cannot_speak_are_a_clear_error() -> None:
    with pytest.raises(VoiceBuildError, match="no words for the prompts stop"):
        prompt_texts({name: parts for name, parts in spoken_prompts().items() if name != "stop"})
    with pytest.raises(VoiceBuildError, match="no espeak-ng voice for language 'xx'"):
        prompt_texts({name: [("xx", "words")] for name in PROMPTS})


@needs_espeak
def test_each_prompt_is_mandarin_then_english(prompts: dict[str, Path], tmp_path: Path) -> None:
    assert set(prompts) == set(PROMPTS)
    for name, path in prompts.items():
        alone = build_prompts(tmp_path / name, {name: TEXTS[name][:1]})[name]  # Mandarin only
        assert 0.5 < _seconds(alone) < _seconds(path) < 15, name  # the English follows the Mandarin


@needs_espeak
def test_prompts_are_made_once_and_again_when_reworded(prompts: dict[str, Path]) -> None:
    directory = prompts["pass"].parent
    stamp = prompts["pass"].stat().st_mtime_ns
    assert build_prompts(directory, TEXTS) == prompts
    assert prompts["pass"].stat().st_mtime_ns == stamp  # reused, not regenerated
    reworded = build_prompts(directory, {"pass": [("en", "Welcome in.")]})["pass"]
    assert reworded != prompts["pass"] and reworded.is_file()


def test_without_espeak_it_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no espeak-ng anywhere
    with pytest.raises(VoiceBuildError, match="apt install espeak-ng"):
        build_prompts(tmp_path / "v", TEXTS)
    with pytest.raises(VoiceBuildError, match="could not speak"):
        build_prompts(tmp_path / "w", TEXTS, espeak=str(tmp_path / "no-such-espeak"))


@needs_espeak
def test_playing_returns_at_once_and_a_new_prompt_replaces_the_old(prompts: dict[str, Path]) -> None:
    player = VoicePlayer(prompts)
    try:
        assert player.available
        started = time.perf_counter()
        player.say(Screen.STOP)  # several seconds of sound
        took = time.perf_counter() - started
        assert took < 0.1, took
        assert player.busy
        player.say(Screen.MEASURING)  # no prompt for this screen: nothing happens
        player.say(Screen.PASS)
        player.say(Screen.FAULT)  # the manual check is spoken too: a visitor looking at the phone still hears it
        assert player.played == ["stop", "pass", "fault"]
    finally:
        player.close()
    assert not player.busy


def test_a_missing_file_leaves_the_kiosk_silent_not_broken(tmp_path: Path) -> None:
    player = VoicePlayer({"pass": tmp_path / "missing.wav"})
    player.say(Screen.PASS)
    assert not player.available and player.played == []


@needs_espeak
def test_voice_is_optional_per_site(tmp_path: Path) -> None:
    assert build_voice(parse_config({})) is None
    config = parse_config({"display": {"voice": True, "voice_dir": str(tmp_path / "v")},
                           "storage": {"data_dir": str(tmp_path)}})
    player = build_voice(config)
    try:
        assert isinstance(player, VoicePlayer) and player.available
        assert len(list((tmp_path / "v").glob("*.wav"))) == len(PROMPTS)  # generated into the cache dir
    finally:
        player.close()


@needs_espeak
def test_build_voice_script_makes_every_prompt(prompts: dict[str, Path], tmp_path: Path) -> None:
    """`scripts/build-voice DIR`, as a technician runs it: the same files the kiosk would make."""
    run = subprocess.run([str(ROOT / "scripts" / "build-voice"), str(tmp_path)], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    made = dict(line.split(": ", 1) for line in run.stdout.splitlines())
    assert set(made) == set(PROMPTS)
    assert {name: Path(path).name for name, path in made.items()} == {n: p.name for n, p in prompts.items()}
