"""Readers for the fields of an EU DCC that a door decision depends on, as member states really write them.

The rule (kiosk/healthpass/README.md): a field the decision reads is read *robustly* and refused
(`claims`) only when its meaning cannot be recovered; a field it does not read is never refused
here, whatever it holds; the official schema reports both (`schema.py`).

Read, and refused when unreadable: the NumericDates `iat` and `exp` (RFC 8392: an integer *or* a
floating-point number of seconds), the entry kind and its disease `tg`, a test's result `tr`, a
recovery's `df` and `du`.  Read when readable, else left empty: the sample time `sc` (without it a
test proves no recent nucleic-acid result), the vaccination date and doses, the country `co`, the
name.  Every reader takes what CBOR may hand it (text, numbers, CBOR date tags as `datetime`).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from typing import Final

from kiosk.healthpass.claims import UINT_LIMIT, _bad
from kiosk.healthpass.model import DETECTED, NOT_DETECTED

# RFC 3339 as issuers write it: seconds optional, any number of fraction digits, the zone as Z,
# ±hh:mm, ±hhmm or ±hh, then perhaps a zone name in brackets (Java's ZonedDateTime); a space for
# the T.  A time without a zone offset names no instant.
_INSTANT: Final = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?\s*([Zz]|[+-]\d{2}(?::?\d{2})?)?"
    r"(?:\[[\w/+\-]{1,40}\])?")
_DATE_PREFIX: Final = re.compile(r"(\d{4}-\d{2}-\d{2})(?:[Tt ].*)?")
_SNOMED: Final = re.compile(r"\d{6,18}")
TEST_RESULTS: Final = frozenset({DETECTED, NOT_DETECTED})


def numeric_date(value: object, what: str) -> int:
    """An RFC 8392 NumericDate as whole epoch seconds (a float is floored); `claims` if it is none."""
    if isinstance(value, float) and math.isfinite(value) and 0 <= value < UINT_LIMIT:
        return math.floor(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < UINT_LIMIT:
        return value
    raise _bad(f"{what} is not a NumericDate (a non-negative integer or finite number of seconds)")


def text_or_none(value: object, *, max_len: int = 200) -> str | None:
    """Text for display (stripped, cut to `max_len`), or None for anything else."""
    if isinstance(value, str) and value.strip():
        return value.strip()[:max_len]
    return None


def count_or_none(value: object) -> int | None:
    """A dose number as written (the schema says a positive integer; display only)."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 1000:
        return value
    return None


def date_or_none(value: object) -> dt.date | None:
    """A calendar date from `YYYY-MM-DD`, a date-time that starts with one, or a CBOR date tag."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str):
        return None
    match = _DATE_PREFIX.fullmatch(value.strip())
    if match is None:
        return None
    try:
        return dt.date.fromisoformat(match.group(1))
    except ValueError:
        return None


def required_date(value: object, what: str) -> dt.date:
    found = date_or_none(value)
    if found is None:
        raise _bad(f"{what} is not a date")
    return found


def instant_or_none(value: object) -> int | None:
    """Epoch seconds of an RFC 3339 date-time *with* a zone (or a zoned CBOR date tag); None otherwise.

    A time without a zone could be any of 26 hours: it names no instant, so it proves no sample
    time (the nucleic-acid rule then finds no recent test; nothing else reads it).
    """
    try:
        return _instant(value)
    except (ValueError, OverflowError):  # a year 1 or 9999 pushed past the range by its offset
        return None


def _instant(value: object) -> int | None:
    if isinstance(value, dt.datetime):
        return int(value.timestamp()) if value.tzinfo is not None else None
    if not isinstance(value, str):
        return None
    try:  # the common case, RFC 3339 as the schema wants it, at C speed
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        pass
    else:
        return int(moment.timestamp()) if moment.tzinfo is not None else None
    match = _INSTANT.fullmatch(value.strip())
    if match is None or match.group(8) is None:
        return None
    year, month, day, hour, minute, second = (int(part or 0) for part in match.groups()[:6])
    zone = match.group(8).upper()
    try:
        offset = dt.timedelta(0)
        if zone != "Z":
            digits = zone[1:].replace(":", "")
            hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
            if hours > 23 or minutes > 59:
                return None
            offset = dt.timedelta(hours=hours, minutes=minutes) * (1 if zone[0] == "+" else -1)
        moment = dt.datetime(year, month, day, hour, minute, min(second, 59), tzinfo=dt.timezone(offset))
    except (ValueError, OverflowError):
        return None
    return int(moment.timestamp())


def read_test_result(value: object) -> str:
    """The SNOMED CT code of a test's result: "not detected" or "detected", found in the text as written.

    Issuers have written the code with text around it; whichever way, exactly one of the two codes
    must be in it.  A result the kiosk cannot read is no proof of anything: `claims`.
    """
    if isinstance(value, str):
        if value in TEST_RESULTS:
            return value
        found = set(_SNOMED.findall(value)) & TEST_RESULTS
        if len(found) == 1:
            return found.pop()
    raise _bad(f"t[0].tr names neither 'not detected' ({NOT_DETECTED}) nor 'detected' ({DETECTED})")


def initials(nam: object) -> str | None:
    """Initials only ("M* E*"): enough for staff to see the certificate is not someone else's."""
    if not isinstance(nam, Mapping):
        return None
    parts = []
    for primary, standard in (("fn", "fnt"), ("gn", "gnt")):
        value = text_or_none(nam.get(primary)) or text_or_none(nam.get(standard))
        if value:
            parts.append(value[:1] + "*")
    return " ".join(parts) or None
