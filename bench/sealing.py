"""Cost of sealing the subject id per event, against building the event's JSON without it.

    .venv/bin/python bench/sealing.py

One seal per visitor: an X25519 key pair and exchange, HKDF-SHA256 and ChaCha20-Poly1305.
Prints microseconds per operation and the ratio to the reference path (an entry event's
`to_json()` with no subject id), and the township's cost to open one.
"""

from __future__ import annotations

import time

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from kiosk.feed.events import CodeSummary, EntryEvent
from kiosk.feed.sealing import SubjectOpener

N = 5000


def per_op_us(fn, n: int = N) -> float:  # type: ignore[no-untyped-def]
    fn()
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1e6


def main() -> None:
    township = SubjectOpener(X25519PrivateKey.generate())
    sealer = township.sealer
    event = EntryEvent(event_id="019abf0e-7a40-7c3e-9d2b-3f0c5a1e2b44", at=1764050400.1, township="t", site="s",
                       kiosk="k", decision="PASS", reasons=(), temperature_c=36.5,
                       code=CodeSummary("THP1", True, "G", "CN-HN", None), policy_version="p", mode="risk-areas",
                       alert=False, name="张*三")
    sealed = sealer.seal("subject-0123456789")
    reference = per_op_us(event.to_json)
    seal = per_op_us(lambda: sealer.seal("subject-0123456789"))
    open_ = per_op_us(lambda: township.open(sealed))
    print(f"event to_json (reference): {reference:8.1f} µs")
    print(f"seal one subject id:       {seal:8.1f} µs  ({seal / reference:.1f}x the reference)")
    print(f"open one (township):       {open_:8.1f} µs  ({open_ / reference:.1f}x the reference)")
    print(f"sealed value: {len(sealed)} characters")


if __name__ == "__main__":
    main()
