"""The extended key usages of a document signer's certificate, read even where `cryptography` will not.

`cryptography` parses a certificate's extensions only when asked, and strictly: a BOOLEAN written
as 0x01 rather than DER's 0xFF, an extension listed twice, a malformed extension the kiosk never
reads — each raises `ValueError` on `certificate.extensions`, although the certificate loads and
its key verifies signatures.  Member states' document signers have such certificates, and the
only extension the kiosk needs is the extended key usage (which kinds a signer may sign), so when
the strict reading fails this module walks the TBSCertificate's DER for that one extension,
tolerating BER where DER is not met.  Read once, when the trust list is loaded.
"""

from __future__ import annotations

from typing import Final

from cryptography import x509

EKU_OID: Final = b"\x55\x1d\x25"  # 2.5.29.37, the DER contents of the extendedKeyUsage OID
SEQUENCE: Final = 0x30
OID: Final = 0x06
OCTET_STRING: Final = 0x04
EXTENSIONS: Final = 0xA3  # [3] EXPLICIT Extensions in a TBSCertificate


class Unreadable(ValueError):
    """The certificate's extended key usage cannot be read even leniently."""


def _items(data: bytes) -> list[tuple[int, bytes]]:
    """The (tag, contents) of every TLV in `data`, which must be filled exactly; single-byte tags only."""
    items, at = [], 0
    while at < len(data):
        if at + 2 > len(data):
            raise Unreadable("truncated TLV")
        tag, first = data[at], data[at + 1]
        at += 2
        if tag & 0x1F == 0x1F or first == 0x80:
            raise Unreadable("high tag number or indefinite length")
        if first < 0x80:
            length = first
        else:
            count = first & 0x7F
            if count > 4 or at + count > len(data):
                raise Unreadable("bad length")
            length = int.from_bytes(data[at:at + count], "big")
            at += count
        if at + length > len(data):
            raise Unreadable("contents run past the end")
        items.append((tag, data[at:at + length]))
        at += length
    return items


def _one(data: bytes, tag: int) -> bytes:
    items = _items(data)
    if len(items) != 1 or items[0][0] != tag:
        raise Unreadable(f"expected one item of tag {tag:#x}")
    return items[0][1]


def dotted(contents: bytes) -> str:
    """An OBJECT IDENTIFIER's contents as dotted text (X.690 §8.19)."""
    arcs, value = [], 0
    for index, byte in enumerate(contents):
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
        elif index == len(contents) - 1:
            raise Unreadable("OID ends inside an arc")
    if not arcs:
        raise Unreadable("empty OID")
    first = min(arcs[0] // 40, 2)
    return ".".join(str(arc) for arc in (first, arcs[0] - 40 * first, *arcs[1:]))


def lenient_usages(tbs_der: bytes) -> frozenset[str]:
    """The extended key usage OIDs found by walking the TBSCertificate; empty if it has none."""
    fields = _items(_one(tbs_der, SEQUENCE))
    extensions = [contents for tag, contents in fields if tag == EXTENSIONS]
    if not extensions:
        return frozenset()
    found: set[str] = set()
    for tag, extension in _items(_one(extensions[0], SEQUENCE)):
        parts = _items(extension) if tag == SEQUENCE else []
        if len(parts) < 2 or parts[0] != (OID, EKU_OID) or parts[-1][0] != OCTET_STRING:
            continue
        for kind, oid in _items(_one(parts[-1][1], SEQUENCE)):
            if kind != OID:
                raise Unreadable("a key purpose that is not an OID")
            found.add(dotted(oid))
    return frozenset(found)


def extended_key_usages(certificate: x509.Certificate) -> frozenset[str]:
    """The certificate's extended key usage OIDs, strictly by `cryptography` or else leniently; raises `Unreadable`."""
    try:
        extension = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except x509.ExtensionNotFound:
        return frozenset()
    except Exception:  # ValueError, x509.DuplicateExtension, …: whatever the strict parser refuses
        return lenient_usages(certificate.tbs_certificate_bytes)
    return frozenset(oid.dotted_string for oid in extension.value)
