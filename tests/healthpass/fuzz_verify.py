"""Coverage-guided fuzzing of the whole decode path with atheris (libFuzzer), for THP1 and HC1.

    .venv/bin/pip install atheris      # optional: not a dependency of the kiosk
    .venv/bin/python tests/healthpass/fuzz_verify.py --layer text   WORKDIR tests/corpus/seeds -runs=100000
    .venv/bin/python tests/healthpass/fuzz_verify.py --layer cose   WORKDIR -max_total_time=60
    .venv/bin/python tests/healthpass/fuzz_verify.py --layer claims WORKDIR -max_total_time=60

`--layer` picks where the fuzzer's bytes enter: `text` is what the camera reads (seeded with the
corpus); `cose` is the inflated COSE_Sign1, compressed and encoded under both prefixes (seeded
with the valid seeds' COSE); `claims` is a payload signed with the corpus keys of both formats
(seeded with the valid seeds' payloads), so random claims reach every check behind the
signature.  New inputs go to WORKDIR (the first directory), never into the corpus; a crash
(an exception escaping the verifier, or a forgery accepted) stops the run with libFuzzer's
report and its input as `crash-*`.  `tests/healthpass/test_atheris.py` runs each layer briefly.
"""

from __future__ import annotations

import sys
import zlib
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["kiosk.healthpass", "base45"]):
    import base45

    from kiosk.healthpass import ERRORS, CodeResult, TrustList, Verifier
    from kiosk.healthpass.dcc_issuer import DccTestIssuer
    from kiosk.healthpass.issuer import TestIssuer

AT = 1_765_900_000
CORPUS = Path(__file__).resolve().parents[1] / "corpus"  # run as a script: no `tests` package on the path
VERIFIER = Verifier(TrustList.from_file(CORPUS / "trust-list.json"))
KEYS = CORPUS / "keys"
THP = TestIssuer.from_files(KEYS / "thp-es256-key.pem", KEYS / "thp-es256-cert.pem")
DCC = DccTestIssuer.from_files(KEYS / "dcc-ps256-key.pem", KEYS / "dcc-ps256-cert.pem", iss="FR")


def check(text: str, *, forged: bool) -> None:
    result = VERIFIER.verify(text, AT)
    if not isinstance(result, CodeResult):
        raise AssertionError(f"verify returned {type(result).__name__}")
    if result.valid:
        if forged:
            raise AssertionError("a payload nobody signed was accepted")
        if result.error is not None or result.health_pass is None:
            raise AssertionError("a valid result without claims")
    elif result.error not in ERRORS or result.health_pass is not None:
        raise AssertionError(f"unknown error {result.error!r}")
    if "unexpected" in result.detail:
        raise AssertionError(f"a failure no layer foresaw: {result.detail}")


def encoded(prefix: str, data: bytes) -> str:
    return prefix + base45.b45encode(zlib.compress(data)).decode()


def text_layer(data: bytes) -> None:
    check(data.decode("utf-8", "surrogateescape"), forged=False)


def cose_layer(data: bytes) -> None:
    for prefix in ("THP1:", "HC1:"):
        check(encoded(prefix, data), forged=False)  # a seed's own COSE is validly signed


def claims_layer(data: bytes) -> None:
    check(encoded("THP1:", THP.sign(data)), forged=False)
    check(encoded("HC1:", DCC.sign(data)), forged=False)


LAYERS = {"text": text_layer, "cose": cose_layer, "claims": claims_layer}


def seeds_for(layer: str, directory: Path) -> None:
    """Write the layer's seeds (the valid corpus entries, peeled to that layer) into `directory`."""
    import cbor2

    directory.mkdir(parents=True, exist_ok=True)
    for path in sorted((CORPUS / "seeds").glob("valid-*")):
        text = path.read_text()
        cose = zlib.decompress(base45.b45decode(text.split(":", 1)[1]))
        item = cbor2.loads(cose)
        while isinstance(item, cbor2.CBORTag):  # 18, or 61 around 18
            item = item.value
        data = cose if layer == "cose" else item[2]
        (directory / path.name).write_bytes(data)


def main() -> None:
    args = sys.argv[1:]
    layer = "text"
    if "--layer" in args:
        at = args.index("--layer")
        layer = args[at + 1]
        del args[at:at + 2]
    if "--write-seeds" in args:  # --write-seeds DIR: the layer's seed inputs, for a run's second corpus dir
        at = args.index("--write-seeds")
        seeds_for(layer, Path(args[at + 1]))
        return
    atheris.Setup([sys.argv[0], *args], LAYERS[layer])
    atheris.Fuzz()


if __name__ == "__main__":
    main()
