"""Spoken prompts: espeak-ng really makes them (Mandarin, then English), and playing one never blocks."""

from __future__ import annotations

import os
import shutil
import time
import wave
from pathlib import Path

import pytest

os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

from drivers.audio.player import VoicePlayer
from drivers.audio.voice_files import PROMPTS, VoiceBuildError, build_prompts, prompt_texts
from kiosk.config import parse_config
from kiosk.ports import Screen
from kiosk.service.app import build_voice

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")


def _seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth()) == (1, 2)
        return w.getnframes() / w.getframerate()


@pytest.fixture(scope="module")
def prompts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng not installed")
    return build_prompts(tmp_path_factory.mktemp("voice"))


def test_the_prompts_come_from_the_catalogues_in_both_languages() -> None:
    texts = prompt_texts()
    assert set(texts) == set(PROMPTS)
    assert texts["pass"] == [("cmn", "通过，请进"), ("en", "Please go in.")]
    assert texts["step_closer"][0] == ("cmn", "请靠近一点")


@needs_espeak
def test_each_prompt_is_mandarin_then_english(prompts: dict[str, Path], tmp_path: Path) -> None:
    assert set(prompts) == set(PROMPTS)
    for name, path in prompts.items():
        alone = build_prompts(tmp_path / name, {name: prompt_texts()[name][:1]})[name]  # Mandarin only
        assert 0.5 < _seconds(alone) < _seconds(path) < 15, name  # the English follows the Mandarin


@needs_espeak
def test_prompts_are_made_once_and_again_when_reworded(prompts: dict[str, Path]) -> None:
    directory = prompts["pass"].parent
    stamp = prompts["pass"].stat().st_mtime_ns
    assert build_prompts(directory) == prompts
    assert prompts["pass"].stat().st_mtime_ns == stamp  # reused, not regenerated
    reworded = build_prompts(directory, {"pass": [("en", "Welcome in.")]})["pass"]
    assert reworded != prompts["pass"] and reworded.is_file()


def test_without_espeak_it_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no espeak-ng anywhere
    with pytest.raises(VoiceBuildError, match="apt install espeak-ng"):
        build_prompts(tmp_path / "v")
    with pytest.raises(VoiceBuildError, match="could not speak"):
        build_prompts(tmp_path / "w", espeak=str(tmp_path / "no-such-espeak"))


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
        assert player.played == ["stop", "pass"]
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
