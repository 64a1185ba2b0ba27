"""The official EU DCC schema (1.3.3) run on every HC1 payload, and what a deviation from it means.

The schema (`dcc_schema/`, vendored with its licence: see the README there) is applied with
`jsonschema` (draft 2020-12) to the DCC as JSON would carry it.  A deviation is *reported*, not
refused: the certificate's signature is what makes it authentic, and member states' real
certificates do depart from the schema in fields no door decision reads (a three-letter `co`, a
`dt` written as a date-time, a `tr` with text around its code).  What a decision does read is read
by `dcc_fields`, which refuses the certificate when it cannot read it; kiosk/healthpass/README.md
gives the whole rule.

A deviation is named by its path and the schema keyword it breaks ("v/0/co: pattern"), never by the
offending value: values are the holder's personal data.  Validation costs about as much as the
rest of verification, and the kiosk sees the same certificate on frame after frame, so results
are kept for the last `CACHE_SIZE` payloads (keyed by the SHA-256 of the signed payload).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping
from importlib import resources
from typing import Any, Final

from jsonschema import Draft202012Validator, FormatChecker

SCHEMA_VERSION: Final = "1.3.3"
SCHEMA_FILE: Final = "DCC.combined-schema.json"
CACHE_SIZE: Final = 256
MAX_REPORTED: Final = 8  # deviations named in a result's detail; the rest are counted
_RFC3339: Final = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})")


def load_schema() -> dict[str, Any]:
    """The official schema, as shipped inside the package."""
    text = resources.files("kiosk.healthpass").joinpath("dcc_schema", SCHEMA_FILE).read_text(encoding="utf-8")
    return json.loads(text)


def _is_rfc3339(instance: object) -> bool:
    """`format: date-time` as RFC 3339 §5.6 defines it (jsonschema checks it only with an extra package)."""
    if not isinstance(instance, str):
        return True  # the schema's `type` says what is wrong with a non-string
    if not _RFC3339.fullmatch(instance):
        return False
    try:
        dt.datetime.fromisoformat(instance.upper().replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


@functools.cache
def validator() -> Draft202012Validator:
    """One compiled validator per process; `date` is jsonschema's own check, `date-time` RFC 3339's."""
    checker = FormatChecker(("date",))
    checker.checks("date-time")(_is_rfc3339)
    schema = load_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=checker)


def as_json(value: Any) -> Any:
    """A decoded CBOR value as the DCC's JSON form holds it, so the schema judges what it was written for.

    CBOR's date tags become the text they stand for; what JSON cannot hold (byte strings, other
    tags, undefined) becomes an object naming its CBOR type, which every `type` rule refuses.
    Nesting is already bounded by the CBOR decoder.
    """
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {key if isinstance(key, str) else f"#{key!r}": as_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [as_json(item) for item in value]
    return {"cbor": type(value).__name__}


def _describe(error: Any) -> str:
    path = "/".join(str(part) for part in error.absolute_path) or "(top)"
    return f"{path}: {error.validator}"


class _Cache:
    """A small, thread-safe LRU of payload digest → deviations (the camera thread and the CLI share the verifier)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[bytes, tuple[str, ...]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: bytes) -> tuple[str, ...] | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: bytes, value: tuple[str, ...]) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


_CACHE: Final = _Cache(CACHE_SIZE)


def deviations(dcc: Mapping[Any, Any], payload: bytes) -> tuple[str, ...]:
    """Where `dcc` (decoded from the signed `payload`) departs from the schema, sorted; () if nowhere."""
    key = hashlib.sha256(payload).digest()
    found = _CACHE.get(key)
    if found is not None:
        return found
    try:
        errors = validator().iter_errors(as_json(dcc))
        found = tuple(sorted({_describe(error) for error in errors}))
    except Exception as exc:  # the schema is fixed and the data JSON-shaped: only a bug gets here
        found = (f"(top): not checked ({type(exc).__name__})",)
    _CACHE.put(key, found)
    return found


def summary(found: tuple[str, ...]) -> str:
    """The deviations as a result's `detail`: "schema 1.3.3: v/0/co: pattern; …" ("" when there are none)."""
    if not found:
        return ""
    shown = "; ".join(found[:MAX_REPORTED])
    more = f"; and {len(found) - MAX_REPORTED} more" if len(found) > MAX_REPORTED else ""
    return f"valid, but not to the DCC schema {SCHEMA_VERSION}: {shown}{more}"
