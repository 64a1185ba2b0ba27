"""The outer layers of a THP1 code: text prefix, Base45, zlib and CBOR.

Each function peels one layer and raises `CodeRejected` with that layer's name, so a refused
code says *where* it broke (a phone screen cut in half is `zlib`, a sticker of a URL is
`prefix`).  Everything here runs before any signature is checked, on bytes anyone can craft, so
every step is bounded: the text by what one QR symbol can hold, inflation by a hard cap enforced
while inflating, and CBOR by a nesting limit.
"""

from __future__ import annotations

import io
import zlib
from typing import Any, Final

import base45
import cbor2

from kiosk.healthpass.errors import BASE45, CBOR, PREFIX, TOO_LARGE, ZLIB, CodeRejected

THP1_PREFIX: Final = "THP1:"
MAX_TEXT: Final = 4296  # alphanumeric capacity of the largest QR symbol (version 40-L)
MAX_INFLATED: Final = 4096  # the spec's cap after inflation
MAX_CBOR_DEPTH: Final = 16  # THP1 needs 5 (COSE array, claims, thp, trip, areas); room for extensions


def strip_prefix(text: object, prefix: str = THP1_PREFIX) -> str:
    """Return the Base45 body after the prefix, or refuse anything that is not THP1 text.

    Exact, case-sensitive match: the prefix is how several formats (HC1, THP1, plain URLs)
    share one camera, and a lenient match would hand one format's payload to another's rules.
    """
    if not isinstance(text, str) or not text.startswith(prefix):
        raise CodeRejected(PREFIX, f"text does not start with {prefix!r}")
    if len(text) > MAX_TEXT:
        raise CodeRejected(TOO_LARGE, f"{len(text)} characters: more than one QR symbol holds")
    return text[len(prefix):]


def decode_base45(body: str) -> bytes:
    """Base45 (RFC 9285) to bytes; any character, length or value error is `base45`."""
    try:
        return base45.b45decode(body)
    except Exception as exc:
        raise CodeRejected(BASE45, "not Base45") from exc


def inflate(data: bytes, *, limit: int = MAX_INFLATED) -> bytes:
    """Inflate a zlib stream (RFC 1950) of at most `limit` bytes.

    `max_length` stops zlib after `limit + 1` bytes of output, so a zip bomb costs a few KiB of
    memory however far it would expand.  THP1 requires compression, so a payload that is not a
    zlib stream (no header, raw deflate, gzip), a truncated one, or one with bytes after its end
    is `zlib` rather than being read some other way.
    """
    if not data:
        raise CodeRejected(ZLIB, "empty payload")
    inflater = zlib.decompressobj(wbits=zlib.MAX_WBITS)  # zlib header and checksum required
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise CodeRejected(ZLIB, f"not a zlib stream ({exc})") from exc
    if len(out) > limit:
        raise CodeRejected(TOO_LARGE, f"inflates to more than {limit} bytes")
    if not inflater.eof:
        raise CodeRejected(ZLIB, "zlib stream is truncated")
    if inflater.unused_data:
        raise CodeRejected(ZLIB, f"{len(inflater.unused_data)} bytes after the end of the zlib stream")
    return out


def _decoder_options() -> dict[str, Any]:
    """The decoder limits this cbor2 supports (nesting depth, duplicate keys: cbor2 >= 5.7).

    A map with the same key twice would let two readers see two different signed claims; an
    older cbor2 without the options still stops deep nesting at Python's recursion limit.
    """
    options: dict[str, Any] = {"max_depth": MAX_CBOR_DEPTH, "allow_duplicate_keys": False}
    try:
        cbor2.CBORDecoder(io.BytesIO(b"\x00"), **options)
    except TypeError:
        return {}
    return options


_OPTIONS: Final = _decoder_options()


def loads_cbor(data: bytes) -> Any:
    """Decode exactly one CBOR item that fills `data`; raises on anything else.

    Unlike `cbor2.loads` this refuses trailing bytes: a THP1 structure is one item, and bytes
    after it are either damage or an attempt to smuggle something past a reader.  Raises plain
    exceptions; the caller names the layer.
    """
    stream = io.BytesIO(data)
    item = cbor2.CBORDecoder(stream, **_OPTIONS).decode()
    if stream.tell() != len(data):
        raise ValueError(f"{len(data) - stream.tell()} bytes after the CBOR item")
    return item


def decode_cbor(data: bytes) -> Any:
    """The inflated payload as one CBOR item, or `cbor`."""
    try:
        return loads_cbor(data)
    except Exception as exc:
        raise CodeRejected(CBOR, f"not one well-formed CBOR item ({type(exc).__name__})") from exc
