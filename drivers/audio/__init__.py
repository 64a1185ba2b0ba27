"""Spoken prompts: WAV files made with espeak-ng (Mandarin, then English), played without blocking.

`voice_files` builds the files (at build time, by `scripts/build-voice`, or on first start into a
cache directory); `player.VoicePlayer` is the kiosk's `Voice` (see `kiosk.loop.runtime`).
"""
