"""An event's MQTT 5 PUBLISH properties, packed by hand once per event.

Every event goes out with the content type `application/json` and its id as the user property
`event_id` (so a consumer can drop duplicates without parsing the payload).  Building paho's
`Properties` object for each message cost more than the rest of a publish while the uplink
(`kiosk.uplink.mqtt`) drained a backlog (bench/uplink_drain.py), so the bytes are packed here, as
paho would pack them, and handed to paho in its place.
"""

from __future__ import annotations

CONTENT_TYPE = "application/json"


class PackedProperties:
    """MQTT 5 PUBLISH properties packed once, handed to paho in place of a `Properties`.

    paho only calls `pack()` on them; building a `Properties` per message (attribute lookups by
    name, a list per user property) cost more than the rest of a publish in the drain benchmark.
    """

    __slots__ = ("_packed",)

    def __init__(self, packed: bytes) -> None:
        self._packed = packed

    def pack(self) -> bytes:
        return self._packed

    def __str__(self) -> str:
        return f"[{len(self._packed)} bytes of properties]"


def _mqtt_string(text: str) -> bytes:
    data = text.encode("utf-8")
    return len(data).to_bytes(2, "big") + data


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


_CONTENT_TYPE_PROP = b"\x03" + _mqtt_string(CONTENT_TYPE)  # 0x03 Content Type
_EVENT_ID_KEY = b"\x26" + _mqtt_string("event_id")  # 0x26 User Property, then its value


def event_properties(event_id: str) -> PackedProperties:
    """Content type `application/json` and the user property `event_id`, as paho would pack them."""
    body = _CONTENT_TYPE_PROP + _EVENT_ID_KEY + _mqtt_string(event_id)
    return PackedProperties(_varint(len(body)) + body)
