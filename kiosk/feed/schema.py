"""The feed's payload schemas, read from `config/asyncapi.yaml`, for checking real messages.

One source of truth: the AsyncAPI document describes every payload, and tests (and anyone
debugging a township integration) validate what was really published against it:

    from kiosk.feed.schema import validate_message
    validate_message(topic, payload_bytes)        # raises FeedSchemaError naming every fault

`message_name(topic)` maps a topic of the tree to the document's message (`entry`, `alert`,
`status`, `health`, `daily`, `configAck`, `config`); `validate_payload(name, payload)` checks a
payload against that message's schema.  jsonschema and PyYAML are only imported here, so the
kiosk's own loop never pays for them.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from kiosk.errors import KioskError

DOCUMENT = Path(__file__).resolve().parents[2] / "config" / "asyncapi.yaml"
BASE_URI = "urn:checkpoint-kiosk:feed"
_LEVELS = {"entry": "entry", "alert": "alert", "status": "status", "health": "health", "daily": "daily",
           "config/ack": "configAck"}


class FeedSchemaError(KioskError, ValueError):
    """A payload that does not match its schema; `problems` has one line per fault."""

    def __init__(self, message: str, problems: list[str]) -> None:
        self.message, self.problems = message, problems
        super().__init__(f"{message}: " + "; ".join(problems))


@lru_cache(maxsize=2)
def load_document(path: str | None = None) -> dict[str, Any]:
    import yaml

    with open(path or DOCUMENT, encoding="utf-8") as fh:
        return yaml.safe_load(fh)  # type: ignore[no-any-return]


def message_name(topic: str) -> str:
    """The AsyncAPI message published on `topic` (a concrete topic of `kiosk.feed.topics`)."""
    parts = topic.split("/")
    if len(parts) == 4 and parts[3] == "config":
        return "config"
    if len(parts) >= 6:
        level = "/".join(parts[5:])
        if level == "config":
            return "config"
        if level in _LEVELS:
            return _LEVELS[level]
    raise ValueError(f"{topic!r} is not a topic of the feed")


@lru_cache(maxsize=32)
def _validator(ref: str, path: str | None = None) -> Any:
    """A validator of the schema at `ref` (a pointer into the document), `$ref`s resolved in the document."""
    from jsonschema import Draft7Validator, FormatChecker
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT7

    document = load_document(path)
    registry = Registry().with_resource(BASE_URI, Resource.from_contents(document, default_specification=DRAFT7))
    return Draft7Validator({"$ref": BASE_URI + ref}, registry=registry, format_checker=FormatChecker())


def _message_ref(name: str, path: str | None) -> str:
    messages = load_document(path)["components"]["messages"]
    if name not in messages:
        raise KeyError(f"no message {name!r} in the feed document (have {', '.join(sorted(messages))})")
    return str(messages[name]["payload"]["$ref"])


def _check(what: str, ref: str, value: Any, path: str | None) -> None:
    errors = sorted(_validator(ref, path).iter_errors(value), key=lambda e: list(e.absolute_path))
    if errors:
        raise FeedSchemaError(what, [f"{'/'.join(str(p) for p in e.absolute_path) or '(top)'}: {e.message}"
                                     for e in errors[:10]])


def validate_payload(name: str, payload: bytes | str | Any, *, path: str | None = None) -> Any:
    """Check one payload against message `name`'s schema; returns the decoded payload.

    `payload` may be the raw bytes as published (JSON, or plain text for `status`) or an
    already decoded value.
    """
    value = payload
    if isinstance(payload, bytes | bytearray):
        payload = bytes(payload).decode("utf-8")
    if isinstance(payload, str):
        if name == "status":
            value = payload
        else:
            try:
                value = json.loads(payload)
            except json.JSONDecodeError as exc:
                raise FeedSchemaError(name, [f"not JSON: {exc}"]) from None
    _check(name, _message_ref(name, path), value, path)
    return value


def validate_message(topic: str, payload: bytes | str, *, path: str | None = None) -> Any:
    """Check a message as it was published on `topic`; returns the decoded payload."""
    return validate_payload(message_name(topic), payload, path=path)


def validate_config_payload(signed: bytes | str, *, path: str | None = None) -> dict[str, Any]:
    """A `config` message and the `ConfigPayload` it carries (the signature is not checked here)."""
    import base64

    envelope = validate_payload("config", signed, path=path)
    inner = json.loads(base64.b64decode(envelope["payload"]))
    _check("ConfigPayload", "#/components/schemas/ConfigPayload", inner, path)
    return inner  # type: ignore[no-any-return]
