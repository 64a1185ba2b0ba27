"""Making the spoken prompts: espeak-ng speaks each prompt in Mandarin and in English into WAVs.

A prompt is one WAV: the Mandarin sentence, a short pause, the English one (the screens' order).
File names carry a digest of the words and voices, so rewording a prompt in the catalogue makes
a new file instead of playing a stale one, and an unchanged prompt is never generated twice.

The words are the screens' (`voice.<prompt>` in `ui/strings/*.json`), but a driver does not read
the screens' catalogues: whoever composes the kiosk passes them in as {prompt: [(language,
words), …]} (`ui.catalog.spoken_prompts()`: `kiosk.service.app.build_voice` at start-up,
`scripts/build-voice OUT_DIR` at build time), and `prompt_texts` picks espeak-ng's voices for them.
"""

from __future__ import annotations

import argparse
import array
import hashlib
import shutil
import subprocess
import sys
import tempfile
import wave
from collections.abc import Mapping, Sequence
from pathlib import Path

from kiosk.errors import KioskError

#: espeak-ng voice per catalogue language (`cmn` is Mandarin).
VOICES = {"zh": "cmn", "en": "en"}
PROMPTS = ("pass", "stop", "step_closer", "fault")
PAUSE_S = 0.35
# espeak-ng's Mandarin voice speaks each syllable slowly: at its English pace a ten-character
# prompt takes over 5 s.  Faster there, a touch slower than the default in English (a noisy hall).
SPEED_WPM = {"cmn": 230, "en": 165}
SILENCE = 300  # |sample| below this (of 32767) is silence, for trimming
TRIM_MARGIN_S = 0.04


class VoiceBuildError(KioskError, RuntimeError):
    """espeak-ng is missing or failed; the message says which."""


def prompt_texts(spoken: Mapping[str, Sequence[tuple[str, str]]]) -> dict[str, list[tuple[str, str]]]:
    """{prompt: [(espeak voice, text), …]} for `PROMPTS`, from {prompt: [(language, text), …]}.

    `VoiceBuildError` when a prompt is missing or a language has no espeak-ng voice here.
    """
    missing = [name for name in PROMPTS if not spoken.get(name)]
    if missing:
        raise VoiceBuildError(f"no words for the prompts {', '.join(missing)}")
    texts: dict[str, list[tuple[str, str]]] = {}
    for name in PROMPTS:
        parts = []
        for language, text in spoken[name]:
            if language not in VOICES:
                raise VoiceBuildError(f"no espeak-ng voice for language {language!r} (known: {', '.join(VOICES)})")
            parts.append((VOICES[language], text))
        texts[name] = parts
    return texts


def file_name(name: str, parts: Sequence[tuple[str, str]]) -> str:
    digest = hashlib.sha256(repr((name, list(parts), SPEED_WPM, SILENCE)).encode()).hexdigest()[:10]
    return f"{name}-{digest}.wav"


def _speak(espeak: str, voice: str, text: str, out: Path) -> None:
    try:
        subprocess.run([espeak, "-v", voice, "-s", str(SPEED_WPM.get(voice, 165)), "-w", str(out), text], check=True,
                       capture_output=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        raise VoiceBuildError(f"espeak-ng could not speak {text!r} with voice {voice}: {exc} "
                              f"{detail.decode(errors='replace').strip()}") from exc


def _trim(frames: bytes, width: int, rate: int) -> bytes:
    """`frames` without the silence espeak-ng leaves before and after speech (a prompt must be short)."""
    if width != 2:
        return frames
    samples = array.array("h", frames)
    loud = [i for i, v in enumerate(samples) if abs(v) > SILENCE]
    if not loud:
        return frames
    margin = int(TRIM_MARGIN_S * rate)
    return samples[max(0, loud[0] - margin):loud[-1] + margin].tobytes()


def _join(pieces: Sequence[Path], out: Path) -> None:
    """Concatenate WAVs of one format with a pause between them (espeak-ng writes 22050 Hz mono s16)."""
    params = None
    frames: list[bytes] = []
    for piece in pieces:
        with wave.open(str(piece), "rb") as w:
            p = w.getparams()
            if params is None:
                params = p
            elif (p.nchannels, p.sampwidth, p.framerate) != (params.nchannels, params.sampwidth, params.framerate):
                raise VoiceBuildError(f"{piece} has another format than {pieces[0]}")
            if frames:
                frames.append(b"\0" * int(PAUSE_S * p.framerate) * p.sampwidth * p.nchannels)
            frames.append(_trim(w.readframes(w.getnframes()), p.sampwidth, p.framerate))
    assert params is not None
    tmp = out.with_suffix(".tmp")
    with wave.open(str(tmp), "wb") as w:
        w.setnchannels(params.nchannels)
        w.setsampwidth(params.sampwidth)
        w.setframerate(params.framerate)
        w.writeframes(b"".join(frames))
    tmp.replace(out)  # never a half-written prompt


def build_prompts(out_dir: str | Path, texts: Mapping[str, Sequence[tuple[str, str]]], *,
                  espeak: str | None = None) -> dict[str, Path]:
    """Make (or reuse) one WAV per prompt in `out_dir` from {prompt: [(espeak voice, text), …]}
    (`prompt_texts`); returns {prompt: path}."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    made: dict[str, Path] = {}
    for name, parts in texts.items():
        target = out / file_name(name, parts)
        if not target.is_file():
            exe = espeak or shutil.which("espeak-ng")
            if exe is None:
                raise VoiceBuildError("espeak-ng is not installed (sudo apt install espeak-ng)")
            with tempfile.TemporaryDirectory(prefix="voice-") as tmp:
                pieces = []
                for i, (voice, text) in enumerate(parts):
                    piece = Path(tmp) / f"{i}.wav"
                    _speak(exe, voice, text, piece)
                    pieces.append(piece)
                _join(pieces, target)
        made[name] = target
    return made


def main(argv: list[str] | None, spoken: Mapping[str, Sequence[tuple[str, str]]]) -> int:
    """`scripts/build-voice OUT_DIR`: make the prompts from `spoken` ({prompt: [(language, text), …]})."""
    parser = argparse.ArgumentParser(prog="build-voice", description="Make the kiosk's spoken prompts with espeak-ng.")
    parser.add_argument("out_dir", help="directory for the WAV files (display.voice_dir)")
    args = parser.parse_args(argv)
    try:
        made = build_prompts(args.out_dir, prompt_texts(spoken))
    except VoiceBuildError as exc:
        print(f"build-voice: {exc}", file=sys.stderr)
        return 1
    for name, path in made.items():
        print(f"{name}: {path}")
    return 0
