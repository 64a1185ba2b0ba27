"""More of the sweep (issue 15's review): each a real process, the documented exit code, a phrase, no traceback.

Same rig as `test_sweep.py` (its `C` cases, its world of files); kept apart so neither file grows past a
screenful of cases per command.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import sqlite3
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

import pytest
import segno
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.cli.conftest import ENV
from tests.cli.test_sweep import QR, TRUST, C, Case, _write_world, ready
from tests.paths import ROOT, SCENARIOS

FIFO = b"<a fifo nobody writes to>"  # as a file's content: the file is made a fifo
NOBODY = "postgresql://nobody@127.0.0.1:1/x"  # port 1: refused at once


def png_header(width: int, height: int) -> bytes:
    """A PNG that says it is `width` x `height` (a few bytes: the size is all a bomb needs to claim)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


def _qr_png() -> bytes:
    out = io.BytesIO()
    segno.make_qr(QR, error="m").save(out, kind="png", scale=4, border=4)
    return out.getvalue()


QR_PNG = _qr_png()
def sqlite_bytes(*statements: str) -> bytes:
    """An SQLite file's bytes, made by `statements`."""
    with tempfile.TemporaryDirectory() as d:
        con = sqlite3.connect(Path(d) / "x.sqlite")
        for statement in statements:
            con.execute(statement)
        con.commit()
        con.close()
        return (Path(d) / "x.sqlite").read_bytes()


def schema_5_outbox() -> bytes:
    from kiosk.outbox.schema import MIGRATIONS

    return sqlite_bytes(*(statement for step in MIGRATIONS[:5] for statement in step), "PRAGMA user_version = 5")


NEWER_OUTBOX = sqlite_bytes("CREATE TABLE outbox (seq INTEGER PRIMARY KEY)", "PRAGMA user_version = 42")
NOTES = sqlite_bytes("CREATE TABLE counters (x)", "CREATE TABLE notes (y)")
SCENARIO = str(SCENARIOS / "ambient-cold-room.json")
PUSH = "push-config --broker mqtt://127.0.0.1:1 --key {d}/k.pem --file {d}/p.json --township t"


CALIBRATE = "calibrate --simulated --write --reference 37.2 --config {d}/kiosk.toml"


def scenario(version: int = 1, **visitor: object) -> str:
    """A one-visitor scenario with `visitor`'s fields over a plain arrival."""
    return json.dumps({"version": version, "visitors": [{"id": "a", "arrive_s": 0, "forehead_c": 36.5, **visitor}]})


SIGNING_PEM = Ed25519PrivateKey.generate().private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption())

CASES = [
    # ----------------------------------------------------------------- township: the console's database commands
    C("report-file unreachable db", f"report-file --database-url {NOBODY} --day 2026-01-01", 2,
      "cannot use the database", prog="township"),
    C("report-file not a url", "report-file --database-url not_a_url --day 2026-01-01", 2,
      "is not a PostgreSQL URL", prog="township"),
    C("report-file sqlite url", "report-file --database-url sqlite:///x.db --day 2026-01-01", 2,
      "a sqlite:// database is not supported", prog="township"),
    C("report-file day in the wrong order", f"report-file --database-url {NOBODY} --day 01-01-2026", 2,
      "write YYYY-MM-DD", prog="township"),
    C("migrate mysql", "migrate --database-url mysql://x@h/db", 2, "a mysql:// database is not supported",
      prog="township"),
    C("adduser unreachable db", f"adduser --database-url {NOBODY} bob --password x --role viewer --township t", 2,
      "cannot use the database", prog="township"),
    C("retention unreachable db", f"retention --database-url {NOBODY}", 2, "cannot use the database",
      prog="township"),
    C("retention negative keep-days", f"retention --keep-days -5 --database-url {NOBODY}", 2, "not -5",
      prog="township"),
    C("listen --duration while the broker is away", "listen --broker mqtt://127.0.0.1:1 --db {d}/tw.sqlite "
      "--duration 1", 0, "stopped while waiting for the broker", prog="township"),
    C("listen a missing --seal-key", "listen --broker mqtt://127.0.0.1:1 --db {d}/tw.sqlite --seal-key {d}/no.pem", 2,
      "--seal-key {d}/no.pem: No such file or directory", prog="township"),
    # ----------------------------------------------------------------- township: TLS files
    C("listen a missing --ca", "listen --broker mqtts://127.0.0.1:1 --ca {d}/nope.crt --db {d}/tw.sqlite", 2,
      "--ca {d}/nope.crt: no such file", prog="township"),
    C("listen a --ca that is no certificate", "listen --broker mqtts://127.0.0.1:1 --ca {d}/ca.crt --db {d}/tw.sqlite",
      2, "not a usable PEM CA certificate", prog="township", ca__crt="hello"),
    C("push-config a missing --ca", "push-config --broker mqtts://127.0.0.1:1 --ca {d}/nope.crt --key {d}/k.pem "
      "--file {d}/p.json --township t", 2, "--ca {d}/nope.crt: no such file", prog="township", k__pem=SIGNING_PEM,
      p__json='{"policy": {}}'),
    C("push-config a port out of range", "push-config --broker mqtt://127.0.0.1:99999 --key {d}/k.pem "
      "--file {d}/p.json --township t", 2, "the port must be a number from 1 to 65535", prog="township",
      k__pem=SIGNING_PEM, p__json='{"policy": {}}'),
    # ----------------------------------------------------------------- township listen: only into its own file
    C("listen into someone's notes", "listen --broker mqtt://127.0.0.1:1 --db {d}/other.sqlite --duration 1", 2,
      "not the township's event database (no events table; tables: notes)", prog="township"),
    C("listen into a kiosk outbox", "listen --broker mqtt://127.0.0.1:1 --db {d}/newer.sqlite --duration 1", 2,
      "a kiosk's outbox, not the township's event database", prog="township"),
    C("listen into a text file", "listen --broker mqtt://127.0.0.1:1 --db {d}/notes.txt --duration 1", 2,
      "not an SQLite database", prog="township", notes__txt="hello"),
    # ----------------------------------------------------------------- push-config: judged as a kiosk judges it
    C("push-config fever 38.5", PUSH, 1, "nothing was published: policy: fever_c: must be at most 37.5",
      prog="township", k__pem=SIGNING_PEM, p__json='{"policy": {"fever_c": 38.5}}'),
    C("push-config a typo key", PUSH, 1, "policy: fevr_c: unknown key", prog="township", k__pem=SIGNING_PEM,
      p__json='{"policy": {"fevr_c": 37.3}}'),
    C("push-config an empty trust list", PUSH, 1, "trust_list: no keys", prog="township", k__pem=SIGNING_PEM,
      p__json='{"policy": {}, "trust_list": {"version": 1, "keys": []}}'),
    C("push-config a TOML file", PUSH, 2, "--file {d}/p.json: must be JSON", prog="township", k__pem=SIGNING_PEM,
      p__json='[policy]\nfever_c = 37.3\n'),
    # ----------------------------------------------------------------- code verify: images
    C("code verify a 30000 squared png", "code verify {d}/huge.png --trust {d}/trust-list.json", 1, "image too large",
      huge__png=png_header(30000, 30000), trust_list__json=TRUST),
    C("code verify a 13000 squared png", "code verify --image {d}/big.png --trust {d}/trust-list.json", 1,
      "image too large (13000x13000 pixels", big__png=png_header(13000, 13000), trust_list__json=TRUST),
    C("code verify a png on stdin", "code verify - --trust {d}/trust-list.json", 1, '"format": "THP1"',
      stdin=QR_PNG, trust_list__json=TRUST),
    C("code verify /dev/zero", "code verify /dev/zero --trust {d}/trust-list.json", 2, "not a regular file",
      trust_list__json=TRUST),
    C("code verify a text file as --image", "code verify --image {d}/qr.txt --trust {d}/trust-list.json", 2,
      "holds QR text, not an image", qr__txt="THP1:abc\n", trust_list__json=TRUST),
    C("code verify QR text as --image", "code verify --image THP1:abc --trust {d}/trust-list.json", 2,
      "--image takes an image file", trust_list__json=TRUST),
    # ----------------------------------------------------------------- config: what technicians write
    C("time zone UTC+8", "config check {d}/kiosk.toml", 1, "did you mean Asia/Shanghai (Beijing time)?",
      kiosk__toml=ready().replace("[storage]", '[uplink]\ntimezone = "UTC+8"\n[storage]'), trust_list__json=TRUST),
    C("time zone CST", "config check {d}/kiosk.toml", 1, "是否想写 Asia/Shanghai（北京时间）",
      kiosk__toml=ready().replace("[storage]", '[uplink]\ntimezone = "CST"\n[storage]'), trust_list__json=TRUST),
    C("time zone Asia/Beijing", "config check {d}/kiosk.toml", 1, "did you mean Asia/Shanghai",
      kiosk__toml=ready().replace("[storage]", '[uplink]\ntimezone = "Asia/Beijing"\n[storage]'),
      trust_list__json=TRUST),
    C("a Windows trust list path", "config check {d}/kiosk.toml", 1,
      'a Windows path: the kiosk\'s files are in /etc/kiosk; copy the file there and write "/etc/kiosk/trust-list.json',
      kiosk__toml=ready().replace('"{d}/trust-list.json"', "'C:\\kiosk\\trust-list.json'")),
    C("a section in capitals", "config check {d}/kiosk.toml", 1, "Thermal: unknown section — did you mean thermal?",
      kiosk__toml=ready().replace("[thermal]", "[Thermal]"), trust_list__json=TRUST),
    C("data_dir a file", "config check {d}/kiosk.toml", 1, "a file, not a folder",
      kiosk__toml=ready().replace('"{d}/data"', '"{d}/trust-list.json"'), trust_list__json=TRUST),
    C("data_dir empty", "config check {d}/kiosk.toml", 1, "storage.data_dir = '': must not be empty",
      kiosk__toml=ready().replace('"{d}/data"', '""'), trust_list__json=TRUST),
    C("uplink host a URL", "config check {d}/kiosk.toml", 1, 'a URL, not a host name: write host = "10.0.0.5" and '
      "port = 1883", kiosk__toml=ready() + '[uplink]\nenabled = true\nhost = "mqtt://10.0.0.5:1883"\n',
      trust_list__json=TRUST),
    C("uplink host empty", "config check {d}/kiosk.toml", 1, "uplink.host = '': must not be empty",
      kiosk__toml=ready() + '[uplink]\nenabled = true\nhost = ""\n', trust_list__json=TRUST),
    C("voice_dir missing", "config check {d}/kiosk.toml", 1, "display.voice_dir = '/nonexistent': no such folder",
      kiosk__toml=ready() + '[display]\nvoice = true\nvoice_dir = "/nonexistent"\n', trust_list__json=TRUST),
    C("calibrated in the future", "config check {d}/kiosk.toml", 1, "thermal.calibrated_at = 2099-01-01T08:00:00+00:00:"
      " in the future", kiosk__toml=ready().replace('backend = "smbus2"', 'backend = "smbus2"\ncalibrated_at = '
                                                     "2099-01-01T08:00:00Z"), trust_list__json=TRUST),
    C("a CA file that is no certificate", "config check {d}/kiosk.toml", 1,
      "uplink.ca_file = '{d}/ca.crt': ca.crt: not a PEM certificate: no -----BEGIN CERTIFICATE----- block",
      kiosk__toml=ready().replace("[storage]", '[uplink]\nenabled = true\nhost = "10.0.0.5"\nport = 8883\n'
                                  'tls = true\nca_file = "{d}/ca.crt"\n[storage]'), trust_list__json=TRUST,
      ca__crt="hello\n"),
    # ----------------------------------------------------------------- calibrate: the file as it is written
    C("calibrate dotted thermal keys", CALIBRATE, 0, '"written": true',
      kiosk__toml='config_version = 1\nthermal.backend = "emulated"\nthermal.emissivity = 0.98\n'),
    C("calibrate an inline thermal table", CALIBRATE, 1, "thermal is written as an inline table",
      kiosk__toml='config_version = 1\nthermal = {backend = "emulated"}\n'),
    C("calibrate a decimal comma", "calibrate --simulated --reference 36,9", 2,
      "write a decimal point: --reference 36.9"),
    C("calibrate in Fahrenheit", "calibrate --simulated --reference 98.6", 2, "°F? 98.6 °F is 37.0 °C"),
    # ----------------------------------------------------------------- a fifo where a file belongs: no hang
    C("config check a fifo", "config check {d}/kiosk.toml", 1, "not a regular file (a fifo or a socket)",
      kiosk__toml=FIFO),
    C("code verify --trust a fifo", "code verify THP1:x --trust {d}/t.json", 2, "not a regular file (a fifo",
      t__json=FIFO),
    C("code verify a fifo", "code verify {d}/code.png --trust {d}/trust-list.json", 2, "not a regular file",
      code__png=FIFO, trust_list__json=TRUST),
    # ----------------------------------------------------------------- outbox: bounds
    C("outbox tail -n beyond SQLite", "outbox tail --db {d}/newer.sqlite -n 99999999999999999999", 2,
      "newer"),
    C("purge-sent a billion days", "outbox purge-sent --db {d}/other.sqlite --older-than-days 99999999999", 2,
      "give 0 to 36500 days"),
    # ----------------------------------------------------------------- scenarios: JSON's words, strict values
    C("scenario raw too long for a QR", "simulate {d}/s.json --headless", 2, "too long for any QR code",
      s__json=scenario(code={"raw": "THP1:" + "A" * 5000})),
    C("scenario arrive_s as text", "simulate {d}/s.json --headless", 2, "arrive_s = '0'",
      s__json=scenario(arrive_s="0")),
    C("scenario eager as text", "simulate {d}/s.json --headless", 2, "must be true or false",
      s__json=scenario(eager="yes", version=2)),
    C("scenario forehead_c true", "simulate {d}/s.json --headless", 2, "forehead_c = true",
      s__json=scenario(forehead_c=True)),
    C("scenario a list at the top", "simulate {d}/s.json --headless", 2, 'must be an object: {"key"', s__json="[]"),
    C("scenario version 3", "simulate {d}/s.json --headless", 2, "应为以下之一：1 或 2", s__json=scenario(version=3)),
    C("scenario same_as in a circle", "simulate {d}/s.json --headless", 2, "goes round in a circle (a -> b -> a)",
      s__json=json.dumps({"version": 2, "visitors": [
          {"id": "a", "arrive_s": 0, "forehead_c": 36.5, "code": {"same_as": "b"}},
          {"id": "b", "arrive_s": 5, "forehead_c": 36.5, "code": {"same_as": "a"}}]})),
    C("scenario duplicate ids", "simulate {d}/s.json --headless", 2, "'a' is used twice", s__json=json.dumps(
        {"visitors": [{"id": "a", "arrive_s": 0, "forehead_c": 36.5},
                      {"id": "a", "arrive_s": 5, "forehead_c": 36.5}]})),
    C("scenario policy names the file", "simulate {d}/s.json --headless", 2, "s.json: site policy.fevr_c",
      s__json=json.dumps({"site": {"policy": {"fevr_c": 37.3}}, "visitors": []})),
    C("scenario that cannot finish", "simulate {d}/s.json --headless --out {d}/out.jsonl", 1,
      "visitors never got a decision", s__json=json.dumps(
          {"visitors": [{"id": f"v{i}", "arrive_s": 0, "forehead_c": 36.5} for i in range(120)]})),
    C("config time shown as written", "config check {d}/kiosk.toml", 1, "daily_report_time = 00:05:00",
      kiosk__toml=ready().replace("[storage]", "[uplink]\ndaily_report_time = 00:05:00\n[storage]"),
      trust_list__json=TRUST),
    C("outbox stats of the previous schema", "outbox stats --db {d}/old.sqlite", 0, '"pending": 0',
      old__sqlite=schema_5_outbox()),
    # ----------------------------------------------------------------- a data folder whose outbox is not ours
    Case("simulate, a newer outbox", ("simulate", SCENARIO, "--headless", "--data", "{d}/data"), 2,
         "outbox schema 42 is newer than this kiosk's", {"data/outbox.sqlite": NEWER_OUTBOX}),
    Case("simulate, an outbox that is no SQLite", ("simulate", SCENARIO, "--headless", "--data", "{d}/data"), 2,
         "not an SQLite database, so not an outbox", {"data/outbox.sqlite": b"hello, not a database" * 10}),
    Case("simulate, someone else's SQLite as the outbox", ("simulate", SCENARIO, "--headless", "--data", "{d}/data"),
         2, "an SQLite database, but not an outbox (tables: counters, notes)", {"data/outbox.sqlite": NOTES}),
    Case("run --simulated, a newer outbox", ("run", "--simulated", "--headless", "--loops", "1", "--config",
                                             "{d}/kiosk.toml"), 2, "发件箱格式 42 比本程序",
         {"data/outbox.sqlite": NEWER_OUTBOX, "kiosk.toml": ready(), "trust-list.json": TRUST}),
    Case("selftest checks the outbox", ("selftest", "--simulated", "--config", "{d}/kiosk.toml"), 1,
         "[FAIL] disk", {"data/outbox.sqlite": NOTES, "kiosk.toml": ready(), "trust-list.json": TRUST}),
]


def run_case(tmp_path: Path, case: Case, timeout: float = 120) -> tuple[int, str, str]:
    fifos = [name for name, content in case.files.items() if content == FIFO]
    _write_world(tmp_path, dataclasses.replace(case, files={n: c for n, c in case.files.items() if c != FIFO}))
    for name in fifos:
        os.mkfifo(tmp_path / name)
    argv = [a.replace("{d}", str(tmp_path)) for a in case.argv]
    argv = ["" if a == "''" else a for a in argv]
    run = subprocess.run([sys.executable, "-m", case.prog, *argv], input=case.stdin, capture_output=True,
                         cwd=tmp_path, timeout=timeout, env={**ENV, "PYTHONPATH": str(ROOT)})
    out, err = run.stdout.decode("utf-8", "replace"), run.stderr.decode("utf-8", "replace")
    assert "Traceback" not in out + err, err
    assert "internal error" not in err, err
    assert run.returncode == case.code, f"exit {run.returncode}\nstdout: {out[-2000:]}\nstderr: {err[-2000:]}"
    assert case.says.replace("{d}", str(tmp_path)) in out + err, f"stdout: {out[-2000:]}\nstderr: {err[-2000:]}"
    return run.returncode, out, err


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_more_mistakes_answered_clearly(tmp_path: Path, case: Case) -> None:
    run_case(tmp_path, case)
    if case.name == "scenario that cannot finish":  # no line for a visitor never decided, never a null
        lines = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
        assert 0 < len(lines) < 120 and all(line["decision"] in ("PASS", "STOP", "LEFT") for line in lines)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full")
@pytest.mark.parametrize("argv", [["--help"], ["code", "verify", "THP1:x", "--trust", "{d}/trust-list.json"],
                                  ["config", "check", "{d}/kiosk.toml"]], ids=["help", "code verify", "config check"])
def test_a_full_disk_under_the_output_is_said(tmp_path: Path, argv: list[str]) -> None:
    """`kiosk … > /dev/full`: ENOSPC on stdout is a clear line and exit 2, not "a bug" (3), not a silent 0."""
    (tmp_path / "trust-list.json").write_bytes(TRUST)
    (tmp_path / "kiosk.toml").write_text(ready().replace("{d}", str(tmp_path)))
    with open("/dev/full", "w") as full:
        run = subprocess.run([sys.executable, "-m", "kiosk.cli", *[a.replace("{d}", str(tmp_path)) for a in argv]],
                             stdout=full, stderr=subprocess.PIPE, cwd=tmp_path, timeout=120,
                             env={**ENV, "PYTHONPATH": str(ROOT)})
    err = run.stderr.decode("utf-8", "replace")
    assert "Traceback" not in err and "internal error" not in err, err
    assert run.returncode == 2, err
    assert "cannot write the output: No space left on device" in err, err


def test_calibrate_writes_through_a_link_and_keeps_crlf(tmp_path: Path) -> None:
    """A kiosk.toml that is a symlink stays one (its target gets the offset); Windows line ends stay Windows'."""
    real = tmp_path / "real.toml"
    real.write_bytes(b"config_version = 1\r\n[thermal]\r\nemissivity = 0.98\r\n")
    (tmp_path / "kiosk.toml").symlink_to(real)
    run_case(tmp_path, C("calibrate a link", CALIBRATE, 0, '"written": true'))
    assert (tmp_path / "kiosk.toml").is_symlink()
    data = real.read_bytes()
    assert b"calibration_offset_c = " in data and b"\n" not in data.replace(b"\r\n", b"")
