"""Spoken prompts: WAV files made with espeak-ng (Mandarin, then English), played without blocking.

- `voice_files`: builds the files (at build time by `scripts/build-voice`, or on first start into
  a cache directory) from words it is handed (`prompt_texts`, `build_prompts`);
- `player.VoicePlayer`: the kiosk's `Voice` (see `kiosk.loop.runtime`), through pygame's mixer
  (loaded when a player is made).
"""

from .player import SCREEN_PROMPTS, VoicePlayer
from .voice_files import PROMPTS, VOICES, VoiceBuildError, build_prompts, prompt_texts

__all__ = ["PROMPTS", "SCREEN_PROMPTS", "VOICES", "VoiceBuildError", "VoicePlayer", "build_prompts", "prompt_texts"]
