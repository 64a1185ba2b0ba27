"""Verification time per code (THP1 ES256/EdDSA, HC1 ES256/PS256) and batch throughput, in one run.

    .venv/bin/python bench/verify_codes.py [--codes 2000] [--lines 3000] [--per-process 15]

Per code: the median of `Verifier.verify` over `--codes` calls on one valid code of each kind
(issued at start with fresh test keys), with the share spent checking the signature, and the
ratio to THP1 ES256 (the kiosk's everyday code).  The same HC1 code again hits the schema cache
(as the camera's repeated reads do); "cold" rows verify a different certificate each call, so
they include the official-schema validation every new certificate costs.  Batch: `--lines` JSON lines verified by one
`kiosk code verify --batch` process, against the reference of one `kiosk code verify` process
per line (measured on `--per-process` lines, extrapolated per line); the ratio is lines/s.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kiosk.healthpass import TrustList, Verifier, container, cose  # noqa: E402
from kiosk.healthpass.dcc_issuer import DccTestIssuer  # noqa: E402
from kiosk.healthpass.issuer import TestIssuer  # noqa: E402

AT = 1_765_900_000


def median_us(call: Callable[[], object], n: int) -> float:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def per_code(n: int) -> tuple[dict[str, str], dict, list[str]]:
    thp_es, thp_ed = TestIssuer("ES256"), TestIssuer("EdDSA")
    dcc_es, dcc_ps = DccTestIssuer("ES256", iss="DE"), DccTestIssuer("PS256", iss="FR")
    trust_json = thp_es.trust_list_json(thp_ed, dcc_es, dcc_ps)
    verifier = Verifier(TrustList.from_json(trust_json))
    codes = {
        "THP1 ES256": thp_es.issue("G", sid="bench", name="张*", iat=AT - 10, exp=AT + 600, trip_areas=["430626"],
                                   nat=AT - 3600),
        "THP1 EdDSA": thp_ed.issue("G", sid="bench", name="张*", iat=AT - 10, exp=AT + 600, trip_areas=["430626"],
                                   nat=AT - 3600),
        "HC1 ES256": dcc_es.issue_dcc("vaccination", iat=AT - 86_400, exp=AT + 86_400 * 300),
        "HC1 PS256": dcc_ps.issue_dcc("test", iat=AT - 3600, exp=AT + 86_400, sample_at=AT - 3600),
    }
    rows = []
    for name, text in codes.items():
        assert verifier.verify(text, AT).valid, name
        fmt = verifier.format_of(text)
        assert fmt is not None
        sign1 = cose.parse_sign1(container.decode_cbor(container.inflate(
            container.decode_base45(text[len(fmt.prefix):]), limit=fmt.max_inflated)), fmt.algs)
        key = verifier.trust_list.get(sign1.kid)
        total = median_us(lambda t=text: verifier.verify(t, AT), n)
        signature = median_us(lambda s=sign1, k=key: cose.verify_signature(s, k), n)
        rows.append((name, len(text), total, signature))
    for name, issuer, kind in (("HC1 ES256 cold", dcc_es, "vaccination"), ("HC1 PS256 cold", dcc_ps, "test")):
        fresh = [issuer.issue_dcc(kind, iat=AT - 7200 - i, exp=AT + 86_400) for i in range(min(n, 300))]
        assert all(verifier.verify(t, AT).valid for t in fresh[-3:]), name  # (these three are now cached)
        texts = iter(fresh[:-3])
        total = median_us(lambda texts=texts: verifier.verify(next(texts), AT), len(fresh) - 3)
        rows.append((name, len(fresh[0]), total, float("nan")))
    base = rows[0][2]
    print(f"verification per code (median of {n}, this machine):")
    print(f"  {'code':<14} {'chars':>5} {'µs/code':>9} {'signature µs':>15} {'codes/s':>8} {'vs THP1 ES256':>14}")
    for name, chars, total, signature in rows:
        share = f"{signature:>8.1f} ({signature / total:4.0%})" if not math.isnan(signature) else f"{'':>15}"
        print(f"  {name:<14} {chars:>5} {total:>9.1f} {share} {1e6 / total:>8.0f} {total / base:>13.2f}×")
    return codes, trust_json, list(codes.values())


def batch(trust_json: dict, texts: list[str], lines: int, per_process: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        trust = Path(tmp) / "trust.json"
        trust.write_text(json.dumps(trust_json))
        batch_file = Path(tmp) / "batch.jsonl"
        with batch_file.open("w") as fh:
            for i in range(lines):
                fh.write(json.dumps({"id": i, "text": texts[i % len(texts)], "at": AT}) + "\n")
        kiosk = [sys.executable, "-m", "kiosk.cli", "code", "verify", "--trust", str(trust)]
        start = time.perf_counter()
        run = subprocess.run([*kiosk, "--batch", str(batch_file)], capture_output=True, text=True, cwd=ROOT)
        batch_s = time.perf_counter() - start
        results = [json.loads(line) for line in run.stdout.splitlines()]
        assert run.returncode == 0 and len(results) == lines and all(r["valid"] for r in results), run.stderr
        start = time.perf_counter()
        for i in range(per_process):
            one = subprocess.run([*kiosk, texts[i % len(texts)], "--at", str(AT)], capture_output=True, cwd=ROOT)
            assert one.returncode == 0
        single_s = (time.perf_counter() - start) / per_process
    batch_rate, single_rate = lines / batch_s, 1 / single_s
    print(f"\nbatch throughput ({lines} lines, the four codes in turn, process start-up included):")
    print(f"  one `kiosk code verify --batch` process : {batch_s:6.2f} s  {batch_rate:8.0f} lines/s")
    print(f"  one process per line (reference, n={per_process}) : {single_s * 1e3:6.0f} ms/line "
          f"{single_rate:6.1f} lines/s ({lines * single_s:.0f} s for {lines} lines)")
    print(f"  batch / per-process: {batch_rate / single_rate:.0f}× the lines per second")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--codes", type=int, default=2000, help="verify calls per code kind")
    parser.add_argument("--lines", type=int, default=3000, help="lines in the batch")
    parser.add_argument("--per-process", type=int, default=15, help="processes for the per-line reference")
    args = parser.parse_args()
    _, trust_json, texts = per_code(args.codes)
    batch(trust_json, texts, args.lines, args.per_process)


if __name__ == "__main__":
    main()
