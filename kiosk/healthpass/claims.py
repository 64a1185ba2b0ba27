"""The CWT claims (RFC 8392) of a THP1 code, and their freshness at the kiosk's clock.

Parsing is strict about what policy reads and lenient about everything else: a missing or
mistyped required claim is `claims` (a code policy cannot read must not pass), while unknown
keys are ignored so issuers can add fields without breaking kiosks in the field.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final

from kiosk.healthpass.container import loads_cbor
from kiosk.healthpass.errors import CLAIMS, EXPIRED, FUTURE, STALE, CodeRejected
from kiosk.healthpass.model import COLOURS, HealthPass

CLAIM_ISS: Final = 1
CLAIM_EXP: Final = 4
CLAIM_IAT: Final = 6
CLAIM_THP: Final = -261
THP_VERSION: Final = 1
UINT_LIMIT: Final = 2**64  # CBOR's largest uint + 1; bignums are not NumericDates


def _bad(what: str) -> CodeRejected:
    return CodeRejected(CLAIMS, what)


def _uint(value: object, what: str) -> int:
    # bool is an int in Python, and a CBOR `true` is not a date or a count.
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < UINT_LIMIT:
        raise _bad(f"{what} is not an unsigned integer")
    return value


def _text(value: object, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise _bad(f"{what} is not a non-empty text string")
    return value


def _map(value: object, what: str) -> Mapping[Any, Any]:
    if not isinstance(value, Mapping):
        raise _bad(f"{what} is not a map")
    return value


def _area(value: object) -> str:
    """A GB/T 2260 county code: six ASCII digits, so it can match a risk-area list exactly."""
    if not isinstance(value, str) or len(value) != 6 or not (value.isascii() and value.isdigit()):
        raise _bad("trip.a holds something that is not a six-digit division code")
    return value


def _trip(thp: Mapping[Any, Any]) -> tuple[int | None, tuple[str, ...], bool]:
    """(days, areas, star); a code without `trip` has no itinerary to check.

    When `trip` is present all of `d`, `a`, `x` are required: a missing star mark read as
    "no star" would let a visitor through that the platform meant to stop.
    """
    if "trip" not in thp:
        return None, (), False
    trip = _map(thp["trip"], "trip")
    if not all(key in trip for key in ("d", "a", "x")):
        raise _bad("trip lacks one of d, a, x")
    days = _uint(trip["d"], "trip.d")
    areas = trip["a"]
    if not isinstance(areas, list | tuple):
        raise _bad("trip.a is not an array")
    star = trip["x"]
    if not isinstance(star, bool):
        raise _bad("trip.x is not a boolean")
    return days, tuple(_area(a) for a in areas), star


def claims_map(payload: bytes, required: tuple[tuple[int, str], ...]) -> Mapping[Any, Any]:
    """The signed payload as a CWT claims map holding every `required` (key, name), or raise `claims`."""
    try:
        claims = _map(loads_cbor(payload), "the payload")
    except CodeRejected:
        raise
    except Exception as exc:
        raise _bad(f"payload is not one CBOR item ({type(exc).__name__})") from exc
    for key, name in required:
        if key not in claims:
            raise _bad(f"{name} is missing")
    return claims


def parse_claims(payload: bytes, kid: bytes) -> HealthPass:
    """Read the signed payload into a `HealthPass`, or raise `claims`."""
    claims = claims_map(payload, ((CLAIM_ISS, "iss (1)"), (CLAIM_IAT, "iat (6)"), (CLAIM_EXP, "exp (4)"),
                                  (CLAIM_THP, "thp (-261)")))
    thp = _map(claims[CLAIM_THP], "thp")
    for key in ("v", "c", "sid"):
        if key not in thp:
            raise _bad(f"thp.{key} is missing")
    if _uint(thp["v"], "thp.v") != THP_VERSION:
        raise _bad(f"thp.v is {thp['v']}, this kiosk reads version {THP_VERSION}")
    colour = thp["c"]
    if not isinstance(colour, str) or colour not in COLOURS:
        raise _bad("thp.c is not G, Y or R")
    name = thp.get("n")
    if name is not None and not isinstance(name, str):
        raise _bad("thp.n is not text")
    nat = thp.get("nat")
    days, areas, star = _trip(thp)
    return HealthPass(
        iss=_text(claims[CLAIM_ISS], "iss"),
        iat=_uint(claims[CLAIM_IAT], "iat"),
        exp=_uint(claims[CLAIM_EXP], "exp"),
        kid=kid,
        colour=colour,
        sid=_text(thp["sid"], "thp.sid"),
        n=name,
        trip_days=days,
        trip_areas=areas,
        trip_star=star,
        nat=None if nat is None else _uint(nat, "thp.nat"),
    )


def check_freshness(
    health_pass: HealthPass, at: float, *, max_code_age_s: float, clock_skew_s: float
) -> None:
    """Refuse a code that is `expired`, `stale` or from the `future`, in that order.

    `expired` comes first because it is final (no later scan can make the code valid), while a
    stale code is only a screenshot of a pass the visitor can refresh.  Each test is written so
    that a NaN anywhere fails it: a kiosk that cannot tell the time admits nobody.
    """
    if not math.isfinite(at):
        raise CodeRejected(STALE, "the kiosk's clock gave no usable time")
    if not at <= health_pass.exp:
        raise CodeRejected(EXPIRED, "exp has passed")
    if not at - health_pass.iat <= max_code_age_s:
        raise CodeRejected(STALE, f"generated more than {max_code_age_s:g} s ago")
    if not health_pass.iat - at <= clock_skew_s:
        raise CodeRejected(FUTURE, f"generated more than {clock_skew_s:g} s in the future")
