"""The words on the screens: one catalogue per language, paired for bilingual signage.

Drawing code asks for keys, never for text, so a site can reword a screen (or add a language)
by editing `ui/strings/<lang>.json` without touching layout.  The screens show the first
language above the second (Chinese first, English second); a kiosk with one language simply has
no second catalogue.

A missing key or placeholder must not blank a screen at the door: `Catalog.text` falls back to
the key itself and leaves unknown placeholders visible, and `test_ui` checks that every
catalogue has every key and placeholder, so the fallback only ever shows in development.
"""

from __future__ import annotations

import json
import re
import string
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from kiosk.errors import KioskError


class CatalogError(KioskError, LookupError):
    """A catalogue file is missing or is not a flat JSON object of strings."""


class _Lenient(dict[str, Any]):
    """Format mapping that leaves an unknown `{placeholder}` visible instead of raising."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def placeholders(template: str) -> frozenset[str]:
    """The `{names}` a template expects (so tests can compare catalogues)."""
    return frozenset(name for _, name, _, _ in string.Formatter().parse(template) if name)


@dataclass(frozen=True, slots=True)
class Catalog:
    """Every string of every screen in one language."""

    language: str
    strings: dict[str, str]

    @classmethod
    def load(cls, language: str, *, directory: Path | None = None) -> Catalog:
        """Read `<language>.json` from `directory` (default: the catalogues shipped in `ui/strings`)."""
        try:
            if directory is None:
                raw = resources.files("ui").joinpath("strings", f"{language}.json").read_text("utf-8")
            else:
                raw = (directory / f"{language}.json").read_text("utf-8")
            data = json.loads(raw)
        except (OSError, ValueError) as exc:
            raise CatalogError(f"cannot read the {language!r} string catalogue: {exc}") from exc
        if not isinstance(data, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in data.items()
        ):
            raise CatalogError(f"the {language!r} catalogue must be a flat JSON object of strings")
        return cls(language, data)

    def text(self, key: str, **params: object) -> str:
        """The string for `key` with `params` filled in; the key itself if the catalogue lacks it."""
        template = self.strings.get(key, key)
        return template.format_map(_Lenient(params)) if params or "{" in template else template

    def reason(self, code: str) -> str:
        """A reason code in plain words; a code this catalogue does not know is "other reason".

        Never the code itself: a visitor cannot read `moon_phase`, and an internal name on the
        public screen looks like a malfunction.  A new reason still shows as a reason (the STOP is
        not silently shortened); its code is in the event the township receives.
        """
        key = f"reason.{code}"
        return self.text(key if key in self.strings else "reason.unknown")


@dataclass(frozen=True, slots=True)
class BilingualCatalog:
    """The catalogues a screen speaks, in the order it shows them."""

    first: Catalog
    second: Catalog | None = None

    @classmethod
    def load(cls, first: str = "zh", second: str | None = "en") -> BilingualCatalog:
        return cls(Catalog.load(first), Catalog.load(second) if second else None)

    @property
    def catalogs(self) -> tuple[Catalog, ...]:
        return (self.first,) if self.second is None else (self.first, self.second)

    def texts(self, key: str, **params: object) -> tuple[str, ...]:
        """`key` in each language, first language first."""
        return tuple(c.text(key, **params) for c in self.catalogs)

    def texts_quoting(self, key: str, **settings: str) -> tuple[str, ...]:
        """`key` in each language, each quoting its own half of bilingual site `settings`.

        "请到{staff_spot}等候" with staff_spot "服务台 the service desk" becomes "请到服务台等候"
        and "Please wait for staff at the service desk".
        """
        halves = {name: split_bilingual(value) for name, value in settings.items()}
        return tuple(c.text(key, **{name: pair[i] for name, pair in halves.items()})
                     for i, c in enumerate(self.catalogs))

    def reasons(self, code: str) -> tuple[str, ...]:
        return tuple(c.reason(code) for c in self.catalogs)

    def joined(self, key: str, sep: str = " ", **params: object) -> str:
        """Both languages on one line, for the small status strip where there is no room to stack."""
        return sep.join(dict.fromkeys(self.texts(key, **params)))  # "--:--" once, not twice


VOICE_PREFIX = "voice."  # catalogue keys of the spoken prompts: voice.pass, voice.stop, …


def spoken_prompts(catalog: BilingualCatalog | None = None) -> dict[str, list[tuple[str, str]]]:
    """{prompt: [(language, words), …]} for every `voice.<prompt>` key, in the screens' language order.

    What the kiosk says is worded with what it shows, in the same catalogues; the drivers that
    speak it (`drivers.audio`) are handed these words and never read `ui` themselves.
    """
    catalog = catalog if catalog is not None else BilingualCatalog.load()
    names = [key.removeprefix(VOICE_PREFIX) for key in catalog.first.strings if key.startswith(VOICE_PREFIX)]
    return {name: [(c.language, c.text(VOICE_PREFIX + name)) for c in catalog.catalogs] for name in names}


# A CJK run, then whitespace or a slash, then a run that starts with a Latin letter.
_SPLIT = re.compile(r"^\s*(?P<first>.*?[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef][^A-Za-z]*?)"
                    r"\s*(?:[/|｜]\s*|\s+)(?P<second>[A-Za-z].*?)\s*$")


def split_bilingual(text: str) -> tuple[str, str]:
    """Split a configured bilingual value such as "服务台 the service desk" into its two languages.

    Site settings (staff spot, site name) are written once, in both languages, by the operator;
    a sentence in one language must only quote its own half.  A value that does not look
    bilingual is returned for both languages unchanged.
    """
    match = _SPLIT.match(text)
    if match is None:
        return text.strip(), text.strip()
    return match["first"].strip(), match["second"].strip()
