"""Drain a backlog of buffered events to a local mosquitto at an SD card's fsync cost: our uplink vs a naive loop.

    .venv/bin/python bench/uplink_drain.py [--fsync-ms 2 10 20] [--events 20000] [--naive-events 300] [--repeat 3]
                                           [--no-pin] [--profile]

On a Pi the outbox lives on an SD card, where an fsync costs 2 to 20 ms; on this machine's disk
it costs far less, which flatters any design that fsyncs per event.  So the bench makes every
fsync cost what an SD card's does: it compiles `fsync_shim.c` (below) with gcc into a shared
object and runs itself again with it in `LD_PRELOAD`.  The shim wraps libc's `fsync` and
`fdatasync` (SQLite's commit in WAL mode with `synchronous=FULL` calls `fdatasync` on the WAL),
sleeps `FSYNC_DELAY_MS` (read at each call, so one process measures several costs) and then
calls the real one; it counts the calls, so the bench reports fsyncs per event too.  Only the
kiosk's process pays: the shim is taken out of the environment before mosquitto and the
township's consumer start (the township's server has its own disk).  `--fsync-ms 0` measures the
machine's own disk.  Python's sqlite3 releases the GIL while SQLite commits, as it does on a Pi,
so paho's network thread goes on receiving acknowledgements meanwhile.

Three paths, each durable in the same sense (a row leaves the queue only once recorded, in
SQLite WAL with `synchronous=FULL`):

* `uplink`          kiosk.uplink.MqttUplink driven by `poll()` as the kiosk loop drives it: QoS 1,
                    a window of in-flight publishes (mosquitto's Receive Maximum, 20 by default),
                    the PUBACKs recorded in one transaction per batch (the row then awaits its
                    receipt; no township here, so none comes);
* `uplink+receipts` the same, with a township that receipts (tests/feed/township_stub.py in its
                    own process, niced since a township has its own server: stores, commits,
                    acks, then publishes the receipt), the receipts applied as they come, in the
                    PUBACKs' transactions (a row receipted before its PUBACK is recorded is just
                    deleted).  Its cost is what the kiosk spends more than on the line above (issue
                    13: at most 10 %; see below).  When every row is receipted and freed is printed
                    too (end to end: the township's own pace included);
* `naive`           publish one row, wait for its PUBACK, record it (one transaction), next row;
                    measured on `--naive-events` rows (it is slow) and extrapolated.

The two uplink paths run `--repeat` times each, taking turns, and the medians are printed.  The
backlog is written to the outbox in one transaction beforehand (the set-up, not measured).  A
subscriber in its own process (`mosquitto_sub`) counts what arrives.

What the receipts cost the kiosk is what it spends on them, so that is what is compared: the
kiosk process's own CPU time per event (`getrusage(RUSAGE_SELF)`, user + system: paho's network
thread is in the process and counts, the township, mosquitto and the subscriber do not) and its
fsyncs per event, for the plain drain against the receipting one *until the last receipt is
applied* (so the receipts that come after the drain count too).  Unlike the wall rate, CPU time
hardly moves with the machine's other load (other test suites on this shared 2-core box move a
single wall rate by 20 %).  The wall rates are printed too, but their drop includes the
co-located township: here the township stub, mosquitto and the subscriber run on the kiosk's
machine, where a real township has its own server.  To keep that contention out of the wall
figures the bench pins, when two CPUs are available (`--no-pin`: not), the kiosk process to the
first and the township's side (mosquitto, the township stub, the subscriber) to the second (the
stub niced as well).  `--profile` runs the first receipting drain of each cost under cProfile
(the kiosk loop's thread) and prints where it spends.

Both paths delete every row in the end: with receipts as each receipt comes, without them later,
when the retention ages the delivered rows out (one bulk DELETE, `Bounds.age_out`).  The bench
times that deletion after the plain drain (`retire`) and prints the receipts' cost with it counted
in both paths too: deleting a row costs ~6 us either way, most of the receipts' apparent cost.

Measured on the shared 2-core box, pinned, 20,000 events, medians of 3 (other helpers' suites
loading the machine), the township listener and the stub batching for `LINGER_S` (50 ms) so that a
draining kiosk gets ~55 receipts per 20,000 events instead of ~4,000,
`.venv/bin/python bench/uplink_drain.py --fsync-ms 2 10 20 --repeat 3`:

    fsync  kiosk CPU/event, uplink -> receipts   deletion counted   fsyncs/event       wall, +receipts   naive
     2 ms   59 -> 66 us (+13.6 %)             65 -> 66 (+2.6 %)  0.0009 -> 0.0013   13,822 / 9,433/s  212/s
    10 ms   61 -> 67 us (+9.0 %)              67 -> 67 (-0.6 %)  0.0009 -> 0.0010   12,084 / 8,993/s   75/s
    20 ms   58 -> 67 us (+15.6 %)             64 -> 67 (+5.1 %)  0.0009 -> 0.0010   11,363 / 9,192/s   43/s

(uplink 65x / 161x / 265x naive; with receipts 44x / 120x / 214x.)  So what receipts add to the
kiosk's work is within issue 13's 10 % once the rows' deletion, which both paths pay, is counted
in both; without that, 9 to 16 %.  The wall rate with receipts is 19 to 32 % lower here, but that
drop is the township's side (mosquitto routing every event to the stub and the subscriber on the
one CPU it shares with the stub committing them), which a real township runs on its own server.
Before the listener lingered, receipts of ~5 ids each cost the kiosk 31 to 41 % more CPU per event.
"""

from __future__ import annotations

import argparse
import cProfile
import ctypes
import json
import os
import pstats
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kiosk.ids import uuid7
from kiosk.outbox import Outbox
from kiosk.uplink import MqttUplink
from tests.mosquitto import Broker

ROOT = Path(__file__).resolve().parents[1]
PREFIX = "checkpoint/v1/bench/site"
SHIM_ENV = "UPLINK_DRAIN_SHIM"  # set in the re-executed process: the shim is loaded
SHIM = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

static atomic_long calls;

static void pay(void) {  /* what an SD card's flush costs */
    const char *text = getenv("FSYNC_DELAY_MS");
    double ms = text ? atof(text) : 0.0;
    atomic_fetch_add(&calls, 1);
    if (ms > 0) {
        struct timespec t = {(time_t)(ms / 1000.0), (long)((ms - 1000.0 * (long)(ms / 1000.0)) * 1e6)};
        while (nanosleep(&t, &t) == -1) {}
    }
}

int fsync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    pay();
    return real(fd);
}

int fdatasync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    pay();
    return real(fd);
}

long fsync_shim_calls(void) { return atomic_load(&calls); }
"""


def fsyncs() -> int:
    """fsync + fdatasync calls made by this process so far (0 without the shim)."""
    if not os.environ.get(SHIM_ENV):
        return 0
    return int(ctypes.CDLL(None).fsync_shim_calls())


def with_shim(argv: list[str]) -> int:
    """Compile the shim and run this bench again under it; its exit status."""
    gcc = shutil.which("gcc") or shutil.which("cc")
    if gcc is None:
        print("uplink_drain: gcc is needed to build the fsync shim (apt install gcc), or use --fsync-ms 0",
              file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="fsync-shim-") as tmp:
        source, shared = Path(tmp) / "fsync_shim.c", Path(tmp) / "fsync_shim.so"
        source.write_text(SHIM)
        subprocess.run([gcc, "-O2", "-shared", "-fPIC", "-o", str(shared), str(source), "-ldl"], check=True)
        env = {**os.environ, "LD_PRELOAD": str(shared), SHIM_ENV: "1"}
        return subprocess.run([sys.executable, __file__, *argv], env=env, check=False).returncode


def backlog(path: Path, n: int, kiosk: str) -> Outbox:
    ob = Outbox(path)
    rows = []
    for i in range(n):
        event_id = uuid7(time.time())  # time-ordered, as the kiosk's are: deletes by id touch few index pages
        body = {"event_id": event_id, "at": 1764032400.0 + i, "decision": "PASS", "reasons": [],
                "policy_version": "bench", "padding": "x" * 400}
        rows.append((event_id, "entry", 0, time.time(), json.dumps(body).encode()))
    con = ob._db
    con.execute("BEGIN IMMEDIATE")
    con.executemany("INSERT INTO outbox (event_id, stream, priority, created, payload) VALUES (?, ?, ?, ?, ?)", rows)
    con.execute("COMMIT")
    ob.housekeeping(clock_synced=False)  # re-counts the totals (ages nothing)
    return ob


@dataclass(frozen=True, slots=True)
class Pinning:
    """The kiosk on one CPU, the township's side (mosquitto, the township stub, the counting subscriber) on
    another: on a Pi the township runs on its own server, so the wall rates should not measure the two fighting
    for a core.  None of it with fewer than two CPUs available (or `--no-pin`)."""

    kiosk: int
    township: int

    @classmethod
    def choose(cls, wanted: bool) -> Pinning | None:
        cpus = sorted(os.sched_getaffinity(0))
        return cls(cpus[0], cpus[1]) if wanted and len(cpus) >= 2 else None

    def township_side(self) -> None:
        """For a child's preexec_fn (all of its threads inherit it), or this process for a moment."""
        os.sched_setaffinity(0, {self.township})

    def kiosk_side(self) -> None:
        os.sched_setaffinity(0, {self.kiosk})  # paho's network threads, started later, inherit it


def start_subscriber(b: Broker, out: Path, pin: Pinning | None) -> subprocess.Popen[bytes]:
    """mosquitto_sub in its own process; subscribed on return."""
    sub = subprocess.Popen([shutil.which("mosquitto_sub") or "mosquitto_sub", "-h", b.host, "-p", str(b.port),
                            "-V", "mqttv5", "-q", "1", "-v", "-t", f"{PREFIX}/+/entry", "-t", f"{PREFIX}/probe"],
                           stdout=out.open("wb"), preexec_fn=pin.township_side if pin else None)
    probe = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-probe", protocol=mqtt.MQTTv5)
    probe.connect(b.host, b.port)
    probe.loop_start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and b"probe" not in out.read_bytes():
        probe.publish(f"{PREFIX}/probe", b"probe", qos=1).wait_for_publish(5)
        time.sleep(0.1)
    probe.disconnect()
    probe.loop_stop()
    return sub


def start_township(b: Broker, db: Path, pin: Pinning | None) -> subprocess.Popen[bytes]:
    """The receipting township consumer in its own process (without the shim), ready on return.  Niced and, with
    `pin`, on the township's CPU: the township runs on its own server, not on the kiosk's CPU."""
    def prepare() -> None:
        os.nice(10)
        if pin:
            pin.township_side()

    proc = subprocess.Popen([sys.executable, "-m", "tests.feed.township_stub", "--host", b.host, "--port",
                             str(b.port), "--db", str(db), "--client-id", "bench-township", "--filter",
                             f"{PREFIX}/receipting/entry"], cwd=ROOT, stdout=subprocess.PIPE, preexec_fn=prepare)
    assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
    return proc


def count_lines(path: Path, prefix: bytes, count: int, timeout_s: float) -> int:
    deadline = time.monotonic() + timeout_s
    while True:
        with path.open("rb") as f:
            n = sum(1 for line in f if line.startswith(prefix))
        if n >= count or time.monotonic() > deadline:
            return n
        time.sleep(0.2)


def cpu_s() -> float:
    """CPU seconds (user + system) this process has used so far: the kiosk's own work, paho's network thread
    included, whatever else the machine runs meanwhile."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


@dataclass(frozen=True, slots=True)
class Drain:
    """One uplink drain: until every row is acknowledged and recorded (`seconds`, `cpu`, `fsyncs`: the drain as
    the kiosk sees it) and, with receipts, until every row is receipted and deleted (`*_end`: end to end, the
    township's own pace included; without receipts the same as the drain)."""

    seconds: float
    cpu: float
    fsyncs: int
    seconds_end: float
    cpu_end: float
    fsyncs_end: int
    loop_cpu_end: float  # of `cpu_end`, the kiosk loop's thread (the rest: paho's network thread, mostly)
    polls_end: int
    retire_cpu: float = 0.0  # without receipts: deleting the rows later, as the retention does (`retire`)


def drain_uplink(ob: Outbox, b: Broker, n: int, kiosk: str, *, receipts: bool) -> Drain:
    """Drain `n` rows through an MqttUplink driven as the kiosk loop drives it (see `Drain`)."""
    up = MqttUplink(ob, host=b.host, port=b.port, client_id=f"bench-{kiosk}", topic_prefix=f"{PREFIX}/{kiosk}",
                    max_inflight=20)
    try:
        while not up.online:
            up.poll()
            time.sleep(0.001)
        if receipts:  # the subscription to receipts is confirmed (otherwise the first ones would be lost)
            time.sleep(0.2)
            up.poll()
        start, synced, cpu, loop_cpu, polls = time.perf_counter(), fsyncs(), cpu_s(), time.thread_time(), 0
        while up.stats().acknowledged < n:  # (the outbox is counted only at the end: that is the bench's cost)
            up.poll()
            up.wait(0.05)  # until paho reports: a spinning loop would starve its thread of the GIL
            polls += 1
        while ob.pending_count() > 0:  # the last acks recorded
            up.poll()
            up.wait(0.05)
            polls += 1
        drain = (time.perf_counter() - start, cpu_s() - cpu, fsyncs() - synced)
        while receipts and up.stats().receipted < n:
            up.poll()
            up.wait(0.05)
            polls += 1
        end = (time.perf_counter() - start, cpu_s() - cpu, fsyncs() - synced, time.thread_time() - loop_cpu, polls)
        s = up.stats()
        print(f"  {kiosk}: window {s.max_inflight_seen}, {s.published} published, {s.acknowledged} acknowledged, "
              f"{s.receipted} receipted ({up.receipts.messages} receipts), {s.resent} re-sent, receipts {s.receipts}; "
              f"CPU {1e6 * drain[1] / n:.0f} us/event in the drain, {1e6 * end[1] / n:.0f} to the last receipt "
              f"({1e6 * end[3] / n:.0f} in the loop's thread, {end[4]} polls)",
              flush=True)
        if receipts:
            assert ob.stats().rows == 0, "rows left after their receipts"
    finally:
        up.close()
    return Drain(*drain, *end, retire_cpu=0.0 if receipts else retire(ob))


def retire(ob: Outbox) -> float:
    """CPU seconds to delete the drained rows as the retention does without receipts (`Bounds.age_out`: one
    bulk DELETE of the delivered rows, here all of them): what the plain path still owes once the drain is
    over, and the receipting path has already paid (each receipt deletes its rows)."""
    cpu = cpu_s()
    with ob._write() as con:  # the store's own transaction, as age_out runs in it
        gone = con.execute("DELETE FROM outbox WHERE published_at IS NOT NULL OR sent_at IS NOT NULL").rowcount
    assert gone > 0 and ob.stats().rows == 0, "the drained rows were not all deleted"
    return cpu_s() - cpu


def drain_naive(ob: Outbox, b: Broker, n: int, *, durable: bool = True) -> tuple[float, int]:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-naive", protocol=mqtt.MQTTv5)
    client.connect(b.host, b.port)
    client.loop_start()
    try:
        start, synced = time.perf_counter(), fsyncs()
        done = 0
        while done < n:
            (row,) = ob.pending(1) if durable else ob.pending(1, after={0: done})
            info = client.publish(f"{PREFIX}/naive/{row.stream}", row.payload, qos=1)
            info.wait_for_publish(10)
            if durable:  # (a dry run records nothing: it times the round trips alone)
                ob.mark_sent([row.seq])
            done += 1
        return time.perf_counter() - start, fsyncs() - synced
    finally:
        client.disconnect()
        client.loop_stop()


def pct(with_receipts: float, without: float) -> float:
    """How much more the receipting path spends than the plain one, in % of the plain one."""
    return 100 * (with_receipts / without - 1)


def measure(workdir: Path, b: Broker, cost_ms: float, args: argparse.Namespace,
            pin: Pinning | None) -> dict[str, float]:
    """Both uplink paths `args.repeat` times, taking turns (the machine's other load hits both alike), then the
    naive loop; the medians."""
    os.environ["FSYNC_DELAY_MS"] = str(cost_ms)  # read by the shim at each call
    print(f"fsync cost {cost_ms:g} ms:", flush=True)
    n, k = args.events, args.naive_events
    plain: list[Drain] = []
    rcpt: list[Drain] = []
    for i in range(args.repeat):
        tag = f"{cost_ms:g}ms-{i}"
        with backlog(workdir / f"plain-{tag}.sqlite", n, "plain") as ob:
            plain.append(drain_uplink(ob, b, n, "plain", receipts=False))
        township = start_township(b, workdir / f"township-{tag}.sqlite", pin)
        try:
            with backlog(workdir / f"receipting-{tag}.sqlite", n, "receipting") as ob:
                if args.profile and i == 0:
                    profile = cProfile.Profile()
                    rcpt.append(profile.runcall(drain_uplink, ob, b, n, "receipting", receipts=True))
                    pstats.Stats(profile).sort_stats("tottime").print_stats(25)
                else:
                    rcpt.append(drain_uplink(ob, b, n, "receipting", receipts=True))
        finally:
            township.terminate()
            township.wait()
    with backlog(workdir / f"naive-{cost_ms:g}ms.sqlite", k, "naive") as ob:
        t_naive, f_naive = drain_naive(ob, b, k)
    med = statistics.median
    r = {"cost_ms": cost_ms, "naive": k / t_naive,
         "uplink": med(n / d.seconds for d in plain), "receipts": med(n / d.seconds for d in rcpt),
         "end_to_end": med(n / d.seconds_end for d in rcpt),
         "cpu_uplink": med(1e6 * d.cpu / n for d in plain), "cpu_receipts": med(1e6 * d.cpu / n for d in rcpt),
         "cpu_end": med(1e6 * d.cpu_end / n for d in rcpt),
         "fsync_uplink": med(d.fsyncs / n for d in plain), "fsync_receipts": med(d.fsyncs / n for d in rcpt),
         "fsync_end": med(d.fsyncs_end / n for d in rcpt)}
    r["cpu_cost"] = pct(r["cpu_end"], r["cpu_uplink"])
    # Both paths delete every row in the end: the plain one later, in bulk, when the retention ages it out.
    r["cpu_retired"] = med(1e6 * (d.cpu + d.retire_cpu) / n for d in plain)
    r["cpu_cost_retired"] = pct(r["cpu_end"], r["cpu_retired"])
    r["wall_cost"] = -pct(r["receipts"], r["uplink"])
    runs = lambda values: ", ".join(f"{v:.0f}" for v in values)  # noqa: E731
    where = "on its own CPU" if pin else "sharing the CPUs"
    print(f"  uplink           {r['uplink']:7.0f} events/s (median of {runs(n / d.seconds for d in plain)}); "
          f"CPU {r['cpu_uplink']:.0f} us/event (of {runs(1e6 * d.cpu / n for d in plain)}); "
          f"{r['fsync_uplink']:.4f} fsyncs/event")
    print(f"  uplink+receipts  {r['receipts']:7.0f} events/s (median of {runs(n / d.seconds for d in rcpt)}); "
          f"CPU {r['cpu_receipts']:.0f} us/event in the drain, {r['cpu_end']:.0f} to the last receipt "
          f"(of {runs(1e6 * d.cpu_end / n for d in rcpt)}); {r['fsync_receipts']:.4f} fsyncs/event in the drain, "
          f"{r['fsync_end']:.4f} to the last receipt; every row receipted and freed at {r['end_to_end']:.0f} "
          f"events/s end to end (the township's pace included)")
    print(f"  receipts cost    {r['cpu_cost']:.1f} % more kiosk CPU per event (all receipts applied) and "
          f"{pct(r['fsync_end'], r['fsync_uplink']):+.1f} % fsyncs per event (issue 13: at most 10 %); the drain rate "
          f"{r['wall_cost']:.1f} % lower (wall clock, the township stub and mosquitto {where})")
    later = r["cpu_retired"] - r["cpu_uplink"]
    print(f"  rows deleted     the plain path's rows, deleted later by the retention, cost {later:.1f} us/event: "
          f"counting that deletion in both paths, receipts cost {r['cpu_cost_retired']:.1f} % more kiosk CPU "
          f"per event ({r['cpu_retired']:.0f} -> {r['cpu_end']:.0f} us)")
    print(f"  naive            {r['naive']:7.0f} events/s ({k} events, {f_naive / k:.2f} fsyncs/event; {n} events "
          f"would take {n / r['naive']:.0f} s)")
    print(f"  ratio            uplink {r['uplink'] / r['naive']:.1f}x naive, uplink+receipts "
          f"{r['receipts'] / r['naive']:.1f}x naive", flush=True)
    return r


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fsync-ms", type=float, nargs="+", default=[2.0, 10.0, 20.0],
                    help="what each fsync costs, in ms (an SD card: 2 to 20); 0: this machine's disk as it is")
    ap.add_argument("--events", type=int, default=20_000)
    ap.add_argument("--naive-events", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=3, help="runs of each uplink path per cost (the median counts)")
    ap.add_argument("--no-pin", dest="pin", action="store_false",
                    help="do not pin the kiosk to one CPU and mosquitto, the township and the subscriber to another")
    ap.add_argument("--profile", action="store_true", help="cProfile the first receipting drain of each cost")
    args = ap.parse_args()
    if any(args.fsync_ms) and not os.environ.get(SHIM_ENV):
        return with_shim(sys.argv[1:])
    os.environ.pop("LD_PRELOAD", None)  # loaded here already; mosquitto and the township pay nothing
    pin = Pinning.choose(args.pin)
    print(f"kiosk on CPU {pin.kiosk}; mosquitto, the township stub and the subscriber on CPU {pin.township}" if pin
          else "not pinned: the kiosk, mosquitto, the township stub and the subscriber share the CPUs", flush=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-uplink-", dir=Path(__file__).resolve().parent) as tmp:
        workdir = Path(tmp)
        (workdir / "broker").mkdir()
        b = Broker(workdir / "broker", config="max_queued_messages 0")  # the counting subscriber may lag
        if pin:
            pin.township_side()  # mosquitto inherits it
        b.start()
        sub = start_subscriber(b, workdir / "received.txt", pin)
        if pin:
            pin.kiosk_side()
        try:
            for cost in args.fsync_ms:
                results.append(measure(workdir, b, cost, args, pin))
            expected = len(args.fsync_ms) * (2 * args.repeat * args.events + args.naive_events)
            arrived = count_lines(workdir / "received.txt", f"{PREFIX}/".encode(), expected, 60)
        finally:
            sub.kill()
            sub.wait()
            b.stop()
    print(f"summary (subscriber received {arrived} of {expected} entries; "
          f"{'pinned' if pin else 'not pinned'}; medians of {args.repeat} runs):")
    for r in results:
        print(f"  fsync {r['cost_ms']:4g} ms: receipts cost {r['cpu_cost']:4.1f} % kiosk CPU/event "
              f"({r['cpu_uplink']:.0f} -> {r['cpu_end']:.0f} us; {r['cpu_cost_retired']:4.1f} % with the rows' "
              f"deletion counted in both paths), fsyncs/event {r['fsync_uplink']:.4f} -> "
              f"{r['fsync_end']:.4f}; wall: uplink {r['uplink']:6.0f}/s, with receipts {r['receipts']:6.0f}/s "
              f"({r['wall_cost']:4.1f} % less, co-located township included), naive {r['naive']:5.0f}/s, "
              f"ratio {r['uplink'] / r['naive']:5.1f}x (with receipts {r['receipts'] / r['naive']:5.1f}x); "
              f"receipted end to end {r['end_to_end']:6.0f}/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
