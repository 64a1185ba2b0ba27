"""Playing the spoken prompts through pygame.mixer, without ever blocking the kiosk loop.

`Sound.play` on a channel returns at once: SDL mixes in its own audio thread.  One channel is
the voice's, so a new prompt (the next visitor's PASS) cuts the previous one short instead of
talking over it.  A kiosk without a sound card still runs: the player then says so once in the
log and stays silent.  Tests run it with SDL_AUDIODRIVER=dummy.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from kiosk.ports import Screen

log = logging.getLogger(__name__)

#: Which prompt each screen speaks; the other screens are silent.
SCREEN_PROMPTS: Mapping[Screen, str] = {
    Screen.PASS: "pass",
    Screen.STOP: "stop",
    Screen.STEP_CLOSER: "step_closer",
    Screen.FAULT: "fault",  # the manual check: the visitor waits for staff, and is told so, not only shown
}


class VoicePlayer:
    """The kiosk's `Voice`: `say(screen)` starts that screen's prompt, if it has one, and returns."""

    def __init__(self, files: Mapping[str, Path]) -> None:
        import pygame.mixer

        self._mixer = pygame.mixer
        self.played: list[str] = []  # prompts started, oldest first (the last few; for tests and logs)
        self._sounds: dict[str, object] = {}
        self._channel = None
        try:
            if not pygame.mixer.get_init():
                pygame.mixer.init(frequency=22050, size=-16, channels=1, buffer=1024)
            self._sounds = {name: pygame.mixer.Sound(str(path)) for name, path in files.items()}
            pygame.mixer.set_reserved(1)
            self._channel = pygame.mixer.Channel(0)
        except (pygame.error, OSError, FileNotFoundError) as exc:
            log.warning("voice prompts off: %s", exc)
            self._sounds = {}

    @property
    def available(self) -> bool:
        return self._channel is not None and bool(self._sounds)

    @property
    def busy(self) -> bool:
        return self._channel is not None and bool(self._channel.get_busy())

    def say(self, screen: Screen) -> None:
        name = SCREEN_PROMPTS.get(screen)
        sound = self._sounds.get(name) if name else None
        if sound is None or self._channel is None:
            return
        self._channel.play(sound)  # replaces whatever the voice was saying
        self.played.append(name)
        del self.played[:-16]

    def close(self) -> None:
        if self._channel is not None:
            self._channel.stop()
            self._channel = None
