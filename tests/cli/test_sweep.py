"""Every command, with the mistakes technicians make: a clear message and the documented exit code, never a traceback.

One real process per case (`python -m kiosk.cli …`, `python -m township …`), in a fresh directory
of its own.  Each case names the exit code `kiosk --help` documents and a phrase of the specific
answer; none may be the last-resort net's "internal error" (it is there for bugs, not for inputs
we know), and no output may hold "Traceback".  The table is also the issue's closing note: what
was tried, and what it now prints.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import segno

from kiosk.healthpass.issuer import TestIssuer
from tests.cli.conftest import ENV
from tests.paths import ROOT, SCENARIOS

ISSUER = TestIssuer("ES256")
TRUST = json.dumps(ISSUER.trust_list_json()).encode()
READY = """config_version = 1
[site]
township = "riverside"
site_id = "bank-3"
kiosk_id = "door-1"
[thermal]
backend = "smbus2"
[camera]
source = "picamera2"
[signals]
backend = "gpio"
[health_pass]
trust_list = "{d}/trust-list.json"
[storage]
data_dir = "{d}/data"
"""
EXAMPLE = (ROOT / "config" / "kiosk.example.toml").read_text()
GBK = '[site]\nname = "北京银行 第一支行"\n'.encode("gbk")
QR = ISSUER.issue("G", sid="sweep-sid", name="王*", iat=1_765_900_000, exp=1_765_900_600)


def ready(**replace: str) -> str:
    text = READY
    for old, new in replace.items():
        text = text.replace(old, new)
    return text


@dataclass(frozen=True)
class Case:
    name: str
    argv: tuple[str, ...]
    code: int
    says: str  # in stderr (or stdout): the specific answer, not the net's
    files: dict[str, bytes | str] = field(default_factory=dict)
    stdin: bytes | None = None
    prog: str = "kiosk.cli"


def C(name: str, argv: str, code: int, says: str, stdin: bytes | None = None, prog: str = "kiosk.cli",
      **files: bytes | str) -> Case:
    """A case: `argv` split on spaces ({d} is the case's directory); `files` by name (`__` a dot, `_` a dash)."""
    named = {k.replace("__", ".").replace("_", "-"): v for k, v in files.items()}
    return Case(name, tuple(argv.split()), code, says, named, stdin, prog)


CASES = [
    # ----------------------------------------------------------------- config check
    C("gbk config", "config check {d}/kiosk.toml", 1, "save it as UTF-8", kiosk__toml=GBK),
    C("bom config is fine", "config check {d}/kiosk.toml", 0, "OK",
      kiosk__toml=b"\xef\xbb\xbf" + ready().encode(), trust_list__json=TRUST),
    C("utf-16 config", "config check {d}/kiosk.toml", 1, "UTF-16", kiosk__toml=ready().encode("utf-16")),
    C("binary config", "config check {d}/kiosk.toml", 1, "not a text file", kiosk__toml=b"\x89PNG\r\n\x1a\n\0\0\0"),
    C("empty config", "config check {d}/kiosk.toml", 1, "no [site] section: the kiosk would publish as the demo site",
      kiosk__toml=""),
    C("no [site]", "config check {d}/kiosk.toml", 1, "no [site] section",
      kiosk__toml=ready().replace("[site]", "[display]").replace('township = "riverside"\n', "")
      .replace('site_id = "bank-3"\n', "").replace('kiosk_id = "door-1"\n', ""), trust_list__json=TRUST),
    C("example config", "config check " + str(ROOT / "config" / "kiosk.example.toml"), 1,
      "health_pass.trust_list：未设置信任列表"),
    C("example, simulated", "config check --simulated " + str(ROOT / "config" / "kiosk.example.toml"), 0, "OK"),
    C("trust list missing", "config check {d}/kiosk.toml", 1, "health_pass.trust_list = '{d}/trust-list.json': "
      "file not found", kiosk__toml=ready()),
    C("trust list without issuers", "config check {d}/kiosk.toml", 1, "the trust list names no issuer",
      kiosk__toml=ready(), trust_list__json='{"version": 1, "keys": []}'),
    C("trust list in gbk", "config check {d}/kiosk.toml", 1, "not a UTF-8 trust list", kiosk__toml=ready(),
      trust_list__json='{"version": 1, "说明": 1}'.encode("gbk")),
    C("trust list not json", "config check {d}/kiosk.toml", 1, "not a usable trust list", kiosk__toml=ready(),
      trust_list__json="{"),
    C("no tls to a remote broker", "config check {d}/kiosk.toml", 1, "no TLS toward broker.example",
      kiosk__toml=ready() + '[uplink]\nenabled = true\nhost = "broker.example"\n', trust_list__json=TRUST),
    C("no tls to localhost is fine", "config check {d}/kiosk.toml", 0, "OK",
      kiosk__toml=ready() + '[uplink]\nenabled = true\nhost = "127.0.0.1"\n', trust_list__json=TRUST),
    C("tls files missing", "config check {d}/kiosk.toml", 1, "uplink.ca_file：使用 TLS 时必须设置",
      kiosk__toml=ready() + '[uplink]\nenabled = true\ntls = true\nhost = "b.example"\n', trust_list__json=TRUST),
    C("time zone typo", "config check {d}/kiosk.toml", 1, "unknown time zone — did you mean Asia/Shanghai?",
      kiosk__toml=ready() + '[uplink]\ntimezone = "Asia/Shangai"\n'),
    C("key typo", "config check {d}/kiosk.toml", 1, "unknown key — did you mean fever_c?",
      kiosk__toml=ready() + "[policy]\nfevr_c = 37.3\n"),
    C("key in the wrong section", "config check {d}/kiosk.toml", 1, "it belongs in [thermal]",
      kiosk__toml=ready() + "[policy]\nemissivity = 0.98\n"),
    C("value typo", "config check {d}/kiosk.toml", 1, "did you mean smbus2?",
      kiosk__toml=ready().replace('"smbus2"', '"smbus"')),
    C("fever threshold 38", "config check {d}/kiosk.toml", 1, "lets fevers through",
      kiosk__toml=ready() + "[policy]\nfever_c = 38.0\n"),
    C("offset -3.4", "config check {d}/kiosk.toml", 1, "broken or misaimed sensor",
      kiosk__toml=ready().replace('backend = "smbus2"', 'backend = "smbus2"\ncalibration_offset_c = -3.4')),
    C("emissivity 1.0", "config check {d}/kiosk.toml", 1, "skin's emissivity is 0.97–0.99",
      kiosk__toml=ready().replace('backend = "smbus2"', 'backend = "smbus2"\nemissivity = 1.0')),
    C("negative distance coefficient", "config check {d}/kiosk.toml", 1, "a far face reads cooler",
      kiosk__toml=ready().replace('backend = "smbus2"', 'backend = "smbus2"\ndistance_coefficient_c_per_m = -0.5')),
    C("negative ambient coefficient", "config check {d}/kiosk.toml", 1, "a cold room reads skin cooler",
      kiosk__toml=ready().replace('backend = "smbus2"', 'backend = "smbus2"\nambient_coefficient = -0.1')),
    C("code age a day", "config check {d}/kiosk.toml", 1, "older ones are screenshots",
      kiosk__toml=ready() + "[policy]\nmax_code_age_s = 86400\n"),
    C("all-zero seal key", "config check {d}/kiosk.toml", 1, "a low-order point",
      kiosk__toml=ready() + '[uplink]\nseal_public_key = "' + "A" * 43 + '="\n'),
    C("toml syntax", "config check {d}/kiosk.toml", 1, "text needs quotes",
      kiosk__toml="[policy]\nmode = risk-areas\n"),
    C("full-width punctuation", "config check {d}/kiosk.toml", 1, "full-width punctuation",
      kiosk__toml="[policy]\nfever_c ＝ 37.3\n"),
    C("a directory", "config check {d}", 1, "cannot read: Is a directory"),
    C("missing file", "config check {d}/nope.toml", 1, "cannot read: No such file or directory"),
    C("ready config", "config check {d}/kiosk.toml", 0, "OK (site riverside/bank-3/door-1",
      kiosk__toml=ready(), trust_list__json=TRUST),
    C("config check, no file", "config check", 2, "the following arguments are required: file"),
    C("identity config key", "config check {d}/kiosk.toml", 1, "not a usable Ed25519 public key (a low-order point",
      kiosk__toml=ready() + '[uplink]\nconfig_public_key = "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="\n'),
    C("threshold with a unit", "config check {d}/kiosk.toml", 1, "numbers take no unit",
      kiosk__toml=ready() + "[policy]\nfever_c = 37.3 °C\n"),
    C("threshold with ℃", "config check {d}/kiosk.toml", 1, "numbers take no unit",
      kiosk__toml=ready() + "[policy]\nfever_c = 37.3℃\n"),
    C("threshold with a decimal comma", "config check {d}/kiosk.toml", 1, "the decimal point is a full stop",
      kiosk__toml=ready() + "[policy]\nfever_c = 37,3\n"),
    C("threshold as text", "config check {d}/kiosk.toml", 1, "policy.fever_c = '37.3': must be a number",
      kiosk__toml=ready() + '[policy]\nfever_c = "37.3"\n'),
    C("window as true", "config check {d}/kiosk.toml", 1, "policy.nat_max_age_h = true: must be a whole number",
      kiosk__toml=ready() + "[policy]\nnat_max_age_h = true\n"),
    C("remeasure as no", "config check {d}/kiosk.toml", 1, "must be true or false",
      kiosk__toml=ready() + '[policy]\nremeasure = "no"\n'),
    C("settings that hide a fever together", "config check {d}/kiosk.toml", 1,
      "together these settings can take up to 1.18 °C off a reading",
      kiosk__toml=ready().replace('backend = "smbus2"', 'backend = "smbus2"\ncalibration_offset_c = -0.3\n'
                                  'emissivity = 0.99\nambient_coefficient = 0.05\nambient_max_c = 34.0\n'
                                  'distance_coefficient_c_per_m = 0.0')),
    C("drift warning silenced", "config check {d}/kiosk.toml", 1, "drift beyond 0.8 °C is a fault",
      kiosk__toml=ready().replace('backend = "smbus2"', 'backend = "smbus2"\ndrift_warn_c = 3.0')),
    C("panel size as text", "config check {d}/kiosk.toml", 1, "display.short_side_mm = '86': must be a number",
      kiosk__toml=ready() + '[display]\nshort_side_mm = "86"\n'),
    C("panel size in inches", "config check {d}/kiosk.toml", 1, "display.short_side_mm = 7: must be at least 30",
      kiosk__toml=ready() + "[display]\nshort_side_mm = 7\n"),
    C("panel size with its unit", "config check {d}/kiosk.toml", 1, "numbers take no unit: the key's name says it",
      kiosk__toml=ready() + "[display]\nshort_side_mm = 86 mm\n"),
    C("key above any section", "config check {d}/kiosk.toml", 1, "unknown key — it belongs in [policy]",
      kiosk__toml="fever_c = 37.3\n" + ready()),
    C("trust list with a byte-order mark", "config check {d}/kiosk.toml", 0, "OK", kiosk__toml=ready(),
      trust_list__json=b"\xef\xbb\xbf" + TRUST),
    C("trust list is a directory", "config check {d}/kiosk.toml", 1,
      "health_pass.trust_list = '{d}/trusted': a directory, not a file",
      kiosk__toml=ready().replace("trust-list.json", "trusted")),
    C("relative trust list", "config check {d}/kiosk.toml", 1, "must be a full path, e.g. "
      '"/etc/kiosk/trust-list.json": the kiosk runs in /var/lib/kiosk', trust_list__json=TRUST,
      kiosk__toml=ready().replace("{d}/trust-list.json", "trust-list.json")),
    C("symlink loop", "config check {d}/loop.toml", 1, "无法读取（符号链接循环或层数太多） / loop.toml: cannot read: "
      "Too many levels of symbolic links"),
    # ----------------------------------------------------------------- run
    C("run gbk", "run --config {d}/kiosk.toml", 1, "save it as UTF-8", kiosk__toml=GBK),
    C("run the example", "run --config " + str(ROOT / "config" / "kiosk.example.toml"), 1,
      "the kiosk cannot run with this configuration"),
    C("run empty config", "run --config {d}/kiosk.toml", 1, "no [site] section", kiosk__toml=""),
    C("run time zone typo", "run --config {d}/kiosk.toml", 1, "did you mean Asia/Shanghai?",
      kiosk__toml=ready() + '[uplink]\ntimezone = "Asia/Shangai"\n'),
    C("run with a fever-hiding threshold", "run --config {d}/kiosk.toml", 1, "lets fevers through",
      kiosk__toml=ready() + "[policy]\nfever_c = 38.5\n", trust_list__json=TRUST),
    C("run --loops -1", "run --simulated --headless --loops -1", 2, "must be 0 (forever) or more"),
    C("run --loops x", "run --simulated --headless --loops x", 2, "not a whole number"),
    C("run simulated gbk", "run --simulated --headless --config {d}/kiosk.toml", 1, "save it as UTF-8",
      kiosk__toml=GBK),
    # ----------------------------------------------------------------- simulate
    C("simulate time zone typo", f"simulate {SCENARIOS / 'two-people.json'} --headless --config {{d}}/kiosk.toml",
      2, "did you mean Asia/Shanghai?", kiosk__toml='[uplink]\ntimezone = "Asia/Shangai"\n'),
    C("simulate gbk config", f"simulate {SCENARIOS / 'two-people.json'} --headless --config {{d}}/kiosk.toml", 2,
      "save it as UTF-8", kiosk__toml=GBK),
    C("simulate missing scenario", "simulate {d}/nope.json --headless", 2, "cannot read scenario"),
    C("simulate gbk scenario", "simulate {d}/s.json --headless", 2, "save it as UTF-8",
      s__json='{"name": "北京"}'.encode("gbk")),
    C("simulate bad broker", f"simulate {SCENARIOS / 'two-people.json'} --headless --broker ftp://x", 2,
      "expected mqtt://HOST:PORT"),
    C("simulate --out nowhere", f"simulate {SCENARIOS / 'two-people.json'} --headless --out {{d}}/no/such/o.jsonl",
      2, "its directory does not exist"),
    C("simulate /dev/zero", "simulate /dev/zero --headless", 2, "cannot read scenario: larger than 16 MB"),
    C("simulate a typo", "simulate {d}/s.json --headless", 2, 'visitors[1, id "a"].forehed_c = 36.5：未知的键，'
      "是否想写 forehead_c？ / visitors[1, id \"a\"].forehed_c = 36.5: unknown key — did you mean forehead_c?",
      s__json='{"visitors": [{"id": "a", "arrive_s": 0, "forehed_c": 36.5}]}'),
    C("simulate a code typo", "simulate {d}/s.json --headless", 2, "code.color = 'G': unknown key — did you mean "
      "colour?", s__json='{"visitors": [{"id": "a", "arrive_s": 0, "forehead_c": 36.5, "code": {"color": "G"}}]}'),
    C("simulate not json", "simulate {d}/s.json --headless", 2, "cannot read scenario: not valid JSON",
      s__json='{"name": "x",}'),
    C("simulate far future", "simulate {d}/s.json --headless", 2, "距开始超过一年",
      s__json='{"visitors": [{"id": "a", "arrive_s": 1e12, "forehead_c": 36.5}]}'),
    # ----------------------------------------------------------------- code verify
    C("long THP1 argument", "code verify THP1:" + "A" * 5000 + " --trust {d}/trust-list.json", 1, '"valid": false',
      trust_list__json=TRUST),
    C("long non-code argument", "code verify " + "x" * 5000 + " --trust {d}/trust-list.json", 1, '"error": "prefix"',
      trust_list__json=TRUST),
    C("mistyped image path", "code verify photos/code.png --trust {d}/trust-list.json", 2,
      "no such image file: photos/code.png", trust_list__json=TRUST),
    C("absolute image path missing", "code verify {d}/shot.jpg --trust {d}/trust-list.json", 2,
      "no such image file", trust_list__json=TRUST),
    C("a URL is QR text", "code verify https://example.com/x.png --trust {d}/trust-list.json", 1, '"prefix"',
      trust_list__json=TRUST),
    C("--image missing", "code verify --image {d}/nope.png --trust {d}/trust-list.json", 1, "image_unreadable",
      trust_list__json=TRUST),
    C("not an image", "code verify {d}/fake.png --trust {d}/trust-list.json", 1, "image_unreadable",
      trust_list__json=TRUST, fake__png="hello"),
    C("trust list missing", "code verify THP1:x --trust {d}/nope.json", 2, "cannot use the trust list"),
    C("trust list gbk", "code verify THP1:x --trust {d}/t.json", 2, "is not UTF-8: save it as UTF-8",
      t__json='{"版本": 1}'.encode("gbk")),
    C("--at nan", "code verify THP1:x --trust {d}/trust-list.json --at nan", 2, "--at must be a finite number",
      trust_list__json=TRUST),
    C("--max-age -5", "code verify THP1:x --trust {d}/trust-list.json --max-age -5", 2, "--max-age must be",
      trust_list__json=TRUST),
    C("batch missing", "code verify --trust {d}/trust-list.json --batch {d}/nope.jsonl", 2, "cannot read the batch",
      trust_list__json=TRUST),
    C("batch and input", "code verify THP1:x --trust {d}/trust-list.json --batch {d}/b.jsonl", 2,
      "--batch takes no other input", trust_list__json=TRUST, b__jsonl=""),
    C("batch image line: no text in clear", "code verify --trust {d}/trust-list.json --batch {d}/b.jsonl "
      "--at 1765900010", 0, hashlib.sha256(QR.encode()).hexdigest(), trust_list__json=TRUST,
      b__jsonl=json.dumps({"id": "img", "image": "{d}/qr.png"}) + "\n"),
    C("binary on stdin", "code verify - --trust {d}/trust-list.json", 1, '"prefix"', stdin=b"\xff\xfe\x00garbage",
      trust_list__json=TRUST),
    C("binary batch on stdin", "code verify --trust {d}/trust-list.json --batch -", 1, '"error": "bad_line"',
      stdin=b'\xff\xfe{"id": 1}\n{"id": 2, "text": "THP1:x"}\n', trust_list__json=TRUST),
    C("batch /dev/zero", "code verify --trust {d}/trust-list.json --batch /dev/zero", 2, "the batch is not a text file",
      trust_list__json=TRUST),
    C("batch, one endless line", "code verify --trust {d}/trust-list.json --batch -", 1, "line longer than 65536",
      stdin=b"x" * 300_000 + b'\n{"id": 2, "text": "THP1:x"}\n', trust_list__json=TRUST),
    C("trust list /dev/zero", "code verify THP1:x --trust /dev/zero", 2, "not a trust list"),
    C("code verify, trust list with a byte-order mark", "code verify THP1:x --trust {d}/trust-list.json", 1,
      '"valid": false', trust_list__json=b"\xef\xbb\xbf" + TRUST),
    # ----------------------------------------------------------------- outbox
    C("stats on a text file", "outbox stats --db {d}/o.sqlite", 2, "not an SQLite database", o__sqlite="hello"),
    C("stats on an empty file", "outbox stats --db {d}/o.sqlite", 2, "an empty file, not an outbox", o__sqlite=""),
    C("stats on another sqlite", "outbox stats --db {d}/other.sqlite", 2, "not an outbox (tables: notes)"),
    C("tail on another sqlite", "outbox tail --db {d}/other.sqlite", 2, "not an outbox"),
    C("purge on another sqlite", "outbox purge-sent --db {d}/other.sqlite", 2, "not an outbox"),
    C("purge on an empty file", "outbox purge-sent --db {d}/o.sqlite", 2, "an empty file", o__sqlite=""),
    C("stats on nothing", "outbox stats --db {d}/nope.sqlite", 1, "no outbox there"),
    C("stats on a directory", "outbox stats --db {d}", 2, "a directory, not an outbox file"),
    C("stats of a newer kiosk", "outbox stats --db {d}/newer.sqlite", 2, "is newer than this kiosk's"),
    C("stats, gbk config", "outbox stats --config {d}/kiosk.toml", 1, "save it as UTF-8", kiosk__toml=GBK),
    C("tail -n -1", "outbox tail --db {d}/other.sqlite -n -1", 2, "must be 0 or more"),
    C("purge negative days", "outbox purge-sent --db {d}/other.sqlite --older-than-days -1", 2, "must be 0 or more"),
    # ----------------------------------------------------------------- township report
    C("report on garbage", "report --db {d}/e.sqlite --day 2026-01-01", 2, "not an SQLite database",
      prog="township", e__sqlite="garbage"),
    C("report on an empty file", "report --db {d}/e.sqlite --day 2026-01-01", 2, "an empty file", prog="township",
      e__sqlite=""),
    C("report on another sqlite", "report --db {d}/other.sqlite --day 2026-01-01", 2, "no events table",
      prog="township"),
    C("kiosk township report on garbage", "township report --db {d}/e.sqlite --day 2026-01-01", 2,
      "not an SQLite database", e__sqlite="garbage"),
    C("report on a foreign events table", "report --db {d}/foreign.sqlite --day 2026-01-01", 2,
      "not the township's event database (missing events.at", prog="township"),
    # ----------------------------------------------------------------- calibrate
    C("calibrate the example", "calibrate --reference 36.9 --config {d}/kiosk.toml", 2, "is the emulator",
      kiosk__toml=EXAMPLE),
    C("calibrate adafruit", "calibrate --reference 36.9 --config {d}/kiosk.toml", 2, "pip install adafruit-blinka",
      kiosk__toml='[thermal]\nbackend = "adafruit"\n'),
    C("calibrate 33.5 for 36.9", "calibrate --reference 33.5 --config {d}/kiosk.toml", 2, "is implausible",
      kiosk__toml=EXAMPLE),
    C("calibrate gbk", "calibrate --reference 36.9 --config {d}/kiosk.toml", 2, "save it as UTF-8", kiosk__toml=GBK),
    C("calibrate missing config", "calibrate --reference 36.9 --config {d}/nope.toml", 2, "cannot read"),
    C("calibrate a sensor reading high", "calibrate --simulated --write --reference 36.9 --simulated-bias 2.0 "
      "--config {d}/kiosk.toml", 1, "传感器读数偏高 2.00 °C", kiosk__toml=EXAMPLE),
    C("calibrate a sensor reading low", "calibrate --simulated --write --reference 36.9 --simulated-bias -2.0 "
      "--config {d}/kiosk.toml", 1, "calibration failed: offset +2.00 °C is beyond +1.5 °C", kiosk__toml=EXAMPLE),
    C("calibrate [ thermal ] # the sensor", "calibrate --simulated --write --reference 36.9 --config {d}/kiosk.toml",
      0, '"written": true', kiosk__toml='config_version = 1\n[ thermal ]  # the sensor\nemissivity = 0.98\n'),
    C("calibrate --readings 0", "calibrate --reference 36.9 --readings 0", 2, "take 3 to 50 readings"),
    C("calibrate simulated, not written", "calibrate --simulated --reference 36.9 --config {d}/kiosk.toml", 0,
      '"written": false', kiosk__toml=EXAMPLE),
    # ----------------------------------------------------------------- screens, thermal convert
    C("screens onto a file", "screens --out {d}/shots.png", 2, "exists and is not a directory", shots__png="x"),
    C("screens gbk config", "screens --out {d}/shots --config {d}/kiosk.toml", 2, "save it as UTF-8",
      kiosk__toml=GBK),
    C("screens tiny size", "screens --out {d}/shots --size 10x10", 2, "size out of range"),
    C("convert garbage words", "thermal convert --eeprom {d}/e.json --frame {d}/f.json", 2, "cannot read the words",
      e__json="garbage", f__json="{}"),
    C("convert wrong shapes", "thermal convert --eeprom {d}/e.json --frame {d}/f.json", 2, "expected 832 EEPROM words",
      e__json="5", f__json='{"ram": 5, "control": 1, "subpage": 0}'),
    C("convert gbk words", "thermal convert --eeprom {d}/e.json --frame {d}/f.json", 2, "save the files as UTF-8",
      e__json="[1, 2] # 说明".encode("gbk"), f__json="{}"),
    # ----------------------------------------------------------------- selftest, provision, maintenance
    C("selftest gbk", "selftest --json --config {d}/kiosk.toml", 1, "save it as UTF-8", kiosk__toml=GBK),
    C("selftest --fault without --simulated", "selftest --fault camera", 2, "--fault needs --simulated"),
    C("selftest unknown fault", "selftest --simulated --fault bogus", 2, "unknown fault"),
    C("provision gbk", "provision --boot {d}/boot --etc {d}/etc --data {d}/data --user ''", 1, "save it as UTF-8",
      boot__kiosk__toml=GBK),
    C("provision empty config", "provision --boot {d}/boot --etc {d}/etc --data {d}/data --user ''", 1,
      "no [site] section", boot__kiosk__toml=""),
    C("provision a trust list named elsewhere", "provision --boot {d}/boot --etc {d}/etc --data {d}/data --user ''",
      1, "trust-list.json on the boot partition is installed as /etc/kiosk/trust-list.json, but the configuration "
      "names /home/pi/trust-list.json", boot__kiosk__toml=ready().replace("{d}/trust-list.json",
                                                                          "/home/pi/trust-list.json"),
      boot__trust_list__json=TRUST),
    C("provision a relative trust list", "provision --boot {d}/boot --etc {d}/etc --data {d}/data --user ''", 1,
      "must be a full path", boot__kiosk__toml=ready().replace("{d}/trust-list.json", "trust-list.json"),
      boot__trust_list__json=TRUST),
    C("provision a low-order township.pub", "provision --boot {d}/boot --etc {d}/etc --data {d}/data --user ''", 1,
      "township.pub: not a usable Ed25519 public key (a low-order point", boot__kiosk__toml=ready(),
      boot__trust_list__json=TRUST, boot__township__pub="A" * 43 + "=\n"),
    C("provision nothing", "provision --boot {d}/none --etc {d}/etc --data {d}/data --user ''", 0,
      "nothing to provision"),
    C("maintenance gbk", "maintenance --config {d}/kiosk.toml --data {d} --once --headless", 0, "save it as UTF-8",
      kiosk__toml=GBK),
    # ----------------------------------------------------------------- the command line itself
    C("no command", "", 2, "the following arguments are required: command"),
    C("unknown command", "frobnicate", 2, "invalid choice: 'frobnicate'"),
    C("help lists exit codes", "--help", 0, "130  interrupted (Ctrl-C)"),
]


def _write_world(d: Path, case: Case) -> None:
    other = sqlite3.connect(d / "other.sqlite")
    other.execute("CREATE TABLE notes (x)")
    other.commit()
    other.close()
    foreign = sqlite3.connect(d / "foreign.sqlite")  # someone else's "events"
    foreign.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, what TEXT)")
    foreign.commit()
    foreign.close()
    (d / "trusted").mkdir()
    (d / "loop.toml").symlink_to(d / "loop.toml")
    newer = sqlite3.connect(d / "newer.sqlite")
    newer.execute("CREATE TABLE outbox (seq INTEGER PRIMARY KEY)")
    newer.execute("PRAGMA user_version = 99")
    newer.commit()
    newer.close()
    segno.make_qr(QR, error="m").save(str(d / "qr.png"), scale=4, border=4)
    for name, content in case.files.items():
        path = d / (name.replace("boot.", "boot/", 1) if name.startswith("boot.") else name)
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            content = content.encode()
        path.write_bytes(content.replace(b"{d}", str(d).encode()))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_command_answers_every_mistake_clearly(tmp_path: Path, case: Case) -> None:
    _write_world(tmp_path, case)
    argv = [a.replace("{d}", str(tmp_path)) for a in case.argv]
    argv = ["" if a == "''" else a for a in argv]
    before = {p: p.read_bytes() for p in tmp_path.glob("*.sqlite")}
    run = subprocess.run([sys.executable, "-m", case.prog, *argv], input=case.stdin, capture_output=True,
                         cwd=tmp_path, timeout=120, env={**ENV, "PYTHONPATH": str(ROOT)})
    out, err = run.stdout.decode("utf-8", "replace"), run.stderr.decode("utf-8", "replace")
    says = case.says.replace("{d}", str(tmp_path))
    assert "Traceback" not in out + err, err
    assert "internal error" not in err, err  # handled specifically, not by the last-resort net
    assert run.returncode == case.code, f"exit {run.returncode}\nstdout: {out[-2000:]}\nstderr: {err[-2000:]}"
    assert says in out + err, f"stdout: {out[-2000:]}\nstderr: {err[-2000:]}"
    if case.argv[:1] in (("outbox",), ("report",), ("township",)):
        for path, content in before.items():  # looking (and a refused purge) changes no database
            assert path.read_bytes() == content, path
        assert not any(p.name.endswith(("-wal", "-shm")) for p in tmp_path.iterdir())
    if case.name.startswith("batch image line"):
        assert QR not in out and "sweep-sid" not in out  # the decoded text (subject id, name) never in clear


def test_a_closed_pipe_is_not_a_traceback(tmp_path: Path) -> None:
    """`kiosk --help | head -1`: the reader goes away early."""
    proc = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "code", "verify", "--help"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=ENV, cwd=ROOT)
    assert proc.stdout is not None
    proc.stdout.read(10)
    proc.stdout.close()
    _, err = proc.communicate(timeout=60)
    assert b"Traceback" not in err and b"Exception ignored" not in err
