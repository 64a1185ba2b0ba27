"""What verification hands on: a `CodeResult`, and for a valid code the `HealthPass` it carries.

Both are frozen values.  They carry what policy, the event record and the command line need and
nothing more; the subject id is kept (the entry record may pseudonymise it) but never printed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kiosk.healthpass.errors import ERRORS

COLOURS: tuple[str, ...] = ("G", "Y", "R")


@dataclass(frozen=True, slots=True, kw_only=True)
class HealthPass:
    """The verified claims of one code.

    `sid` is pseudonymous but stable per person: printed in a log it would let anyone who reads
    the logs follow a person from checkpoint to checkpoint.  It is therefore left out of `repr`
    (and so of `str`, f-strings and tracebacks) and of `CodeResult.to_json_dict`.
    """

    iss: str
    iat: int
    exp: int
    kid: bytes
    colour: str
    sid: str = field(repr=False)
    n: str | None = None  # the platform's masked name, e.g. "张*卿"
    trip_days: int | None = None  # None when the code carries no itinerary
    trip_areas: tuple[str, ...] = ()
    trip_star: bool = False
    nat: int | None = None  # last negative nucleic-acid sample, epoch seconds

    @property
    def name(self) -> str | None:
        """The masked name under the name the screens and the CLI use."""
        return self.n


@dataclass(frozen=True, slots=True)
class CodeResult:
    """The outcome of verifying one scanned text.

    Exactly one of `error` and `health_pass` is set: a result is either valid with its claims,
    or invalid with the name of the first layer that refused it.  Claims of an invalid code are
    not kept at all, so nothing downstream can act on a forged colour by mistake.
    """

    valid: bool
    error: str | None
    format: str | None = "THP1"  # None when the text was not a format this verifier reads
    health_pass: HealthPass | None = None
    detail: str = field(default="", compare=False)  # for logs; never holds claim values

    def __post_init__(self) -> None:
        if self.valid != (self.error is None) or self.valid != (self.health_pass is not None):
            raise ValueError("a valid result has claims and no error; an invalid one the reverse")
        if self.error is not None and self.error not in ERRORS:
            raise ValueError(f"unknown error {self.error!r}")

    @classmethod
    def accepted(cls, health_pass: HealthPass, *, format: str = "THP1") -> CodeResult:
        return cls(True, None, format, health_pass)

    @classmethod
    def rejected(cls, error: str, *, format: str | None = "THP1", detail: str = "") -> CodeResult:
        return cls(False, error, format, None, detail)

    @property
    def colour(self) -> str | None:
        """"G", "Y" or "R" for a valid code; None for an invalid one, whatever it claimed."""
        return self.health_pass.colour if self.health_pass is not None else None

    def to_json_dict(self) -> dict[str, Any]:
        """The result as the command line prints it: every claim policy uses, never the sid."""
        hp = self.health_pass
        trip = {"days": hp.trip_days, "areas": list(hp.trip_areas), "star": hp.trip_star} if hp else None
        return {
            "valid": self.valid,
            "error": self.error,
            "detail": self.detail,
            "format": self.format,
            "colour": self.colour,
            "iss": hp.iss if hp else None,
            "iat": hp.iat if hp else None,
            "exp": hp.exp if hp else None,
            "trip": trip,
            "nat": hp.nat if hp else None,
            "name": hp.name if hp else None,
        }
