"""Configuration: every key documented, every mistake named (Chinese and English), no value that hides a fever."""

from __future__ import annotations

import base64
import re
import tomllib
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from kiosk.config import (
    COMPENSATION_TAKES_AT_MOST_C,
    REFERENCE_DISTANCE_M,
    REFERENCE_ROOM_C,
    ConfigProblems,
    KioskConfig,
    Mode,
    load_config,
    parse_config,
)
from kiosk.config_problems import PYDANTIC_WORDS, seal_key_problem
from kiosk.errors import ConfigError
from kiosk.feed.sealing import public_key_text
from kiosk.screening import thermal as screening_thermal
from tests.paths import ROOT

EXAMPLE = ROOT / "config" / "kiosk.example.toml"
P = 2**255 - 19
# The u-coordinates of the small-order points of Curve25519 (orders 1, 2, 4 and 8), their
# non-canonical encodings below 2^255 (p and p + 1 stand for 0 and 1), and each with the top bit set,
# which X25519 ignores: an exchange with any of these 24 encodings yields all zeros.
SMALL_ORDER_U = (0, 1, 325606250916557431795983626356110631294008115727848805560023387167927233504,
                 39382357235489614581723060781553021112529911719440698176882885853963445705823, P - 1, P, P + 1)
LOW_ORDER_KEYS = sorted({v for u in SMALL_ORDER_U for v in (u, u + 2**255)})


def test_defaults_are_the_notices() -> None:
    cfg = KioskConfig()
    assert cfg.policy.fever_c == 37.3
    assert cfg.policy.nat_max_age_h is None
    assert cfg.policy.mode is Mode.RISK_AREAS
    assert cfg.policy.max_code_age_s == 300 and cfg.policy.clock_skew_s == 60


def _commented_keys(text: str, section: str) -> set[str]:
    """Keys documented as comments (`# key = value`): TOML has no null, so optional keys are shown so."""
    body = text.split(f"[{section}]", 1)[1].split("\n[", 1)[0]
    return set(re.findall(r"^#\s*([a-z_]+)\s*=", body, flags=re.M))


def test_example_file_is_valid_and_documents_every_key() -> None:
    cfg = load_config(EXAMPLE)
    assert cfg.site.site_id
    data = tomllib.loads(EXAMPLE.read_text())
    for section, model in KioskConfig.model_fields.items():
        if section == "config_version":
            continue
        sub = model.annotation
        documented = set(data.get(section, {})) | _commented_keys(EXAMPLE.read_text(), section)
        expected = set(sub.model_fields)  # type: ignore[union-attr]
        assert expected - documented == set(), f"[{section}] does not document {expected - documented}"


def _problems(toml: str | bytes, tmp_path: Path) -> list[str]:
    path = tmp_path / "kiosk.toml"
    path.write_bytes(toml.encode() if isinstance(toml, str) else toml)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    return err.value.problems


def test_bad_value_names_file_line_key_value_and_bound_in_both_languages(tmp_path: Path) -> None:
    problems = _problems("config_version = 1\n[policy]\nfever_c = 47.3\n", tmp_path)
    assert problems == ["kiosk.toml 第 3 行 policy.fever_c = 47.3：不能大于 37.5，"
                        "更高的阈值会放过发热者（通知规定 37.3 °C） / "
                        "line 3 policy.fever_c = 47.3: must be at most 37.5 — a higher threshold lets fevers "
                        "through (the notices say 37.3 °C)"]


def test_typo_in_key_gets_did_you_mean_and_a_misplaced_key_its_section(tmp_path: Path) -> None:
    problems = _problems("[policy]\nfevr_c = 37.5\nemissivity = 0.98\n", tmp_path)
    assert problems[0] == ("kiosk.toml 第 2 行 policy.fevr_c = 37.5：未知的键，是否想写 fever_c？ / "
                           "line 2 policy.fevr_c = 37.5: unknown key — did you mean fever_c?")
    assert "它属于 [thermal] 节" in problems[1] and "unknown key — it belongs in [thermal]" in problems[1]
    assert not any("Extra inputs" in p for p in problems)  # pydantic's own words never reach a technician
    sections = _problems("[sitee]\nname = 'x'\n", tmp_path)
    assert sections == ["kiosk.toml 第 1 行 sitee：未知的节，是否想写 site？ / "
                        "line 1 sitee: unknown section — did you mean site?"]


@pytest.mark.parametrize(("toml", "zh", "en"), [
    ('[policy]\nmode = "risk_areas"\n', "是否想写 risk-areas？", "must be one of 'risk-areas' or 'no-risk-areas' — "
     "did you mean risk-areas?"),
    ('[thermal]\nbackend = "smbus"\n', "是否想写 smbus2？", "did you mean smbus2?"),
    ("[policy]\nfever_c = 'hot'\n", "应为数字", "policy.fever_c = 'hot': must be a number"),
    ("[policy]\nmax_code_age_s = 30.5\n", "应为整数", "must be a whole number"),
    ("[policy]\nremeasure = 'maybe'\n", "应为 true 或 false", "must be true or false"),
    ('[policy]\nrisk_areas = ["4401"]\n', "六位行政区划代码", "policy.risk_areas[1] = '4401': must be a six-digit "
     "division code"),
    ('[site]\ntownship = "River Side"\n', "只能用小写字母", "lower-case letters, digits and - only"),
    ('[signals]\nquiet_from = "25:00"\nquiet_until = "07:00"\n', "HH:MM", "must be HH:MM on a 24-hour clock"),
    ("[camera]\nregion = [0.1, 0.2]\n", "值太少", "line 2 camera.region: too few values"),
    ("[thermal]\ncalibrated_at = 'yesterday'\n", "应为日期时间", "must be a date and time"),
    ("display = 3\n", "应为一个节", "must be a section"),
    ('[uplink]\ntimezone = "Asia/Shangai"\n', "未知的时区，是否想写 Asia/Shanghai？",
     "uplink.timezone = 'Asia/Shangai': unknown time zone — did you mean Asia/Shanghai?"),
    ("[thermal]\nmin_distance_m = 1.0\nmax_distance_m = 0.8\n",
     "thermal.min_distance_m：必须小于 thermal.max_distance_m",
     "line 2 thermal.min_distance_m: must be below thermal.max_distance_m"),
    ("[signals]\nbuzzer_pin = 17\ngreen_pin = 17\n", "必须互不相同",
     "the three pins (buzzer, green, red) must differ"),
    ("config_version = 2\n", "config_version = 2：本程序只读 config_version = 1",
     "this kiosk reads config_version = 1"),
    ('[camera]\nsource = "folder"\n', "时必须设置此项", "camera.folder: required with camera.source = \"folder\""),
])
def test_each_mistake_is_in_plain_words(tmp_path: Path, toml: str, zh: str, en: str) -> None:
    problems = _problems(toml, tmp_path)
    assert any(zh in p and en in p for p in problems), problems


def test_every_problem_is_reported_in_line_order(tmp_path: Path) -> None:
    problems = _problems('[signals]\nred_pin = 99\n[policy]\nmode = "sometimes"\nrisk_areas = ["4401"]\n', tmp_path)
    assert [re.search(r"line (\d+)", p).group(1) for p in problems] == ["2", "4", "5"]  # type: ignore[union-attr]


def test_cross_field_rules() -> None:
    with pytest.raises(ConfigError, match="min_distance_m"):
        parse_config({"thermal": {"min_distance_m": 1.0, "max_distance_m": 0.8}})
    with pytest.raises(ConfigError, match="must differ"):
        parse_config({"signals": {"buzzer_pin": 17, "green_pin": 17}})


# ------------------------------------------------------------------------------ encodings, syntax, the file
def test_a_gbk_file_is_named_as_such_with_the_fix(tmp_path: Path) -> None:
    problems = _problems('[site]\nname = "北京银行 Bank"\n'.encode("gbk"), tmp_path)
    assert problems == ["kiosk.toml 第 2 行：文件不是 UTF-8 编码（看起来是 GBK/GB18030，"
                        "即中文 Windows 编辑器的“ANSI”），请另存为 UTF-8 / "
                        "kiosk.toml line 2: the file is not UTF-8 (it looks like GBK/GB18030, a "
                        "Chinese Windows editor's \"ANSI\"): save it as UTF-8"]


def test_a_byte_order_mark_is_accepted_and_other_encodings_named(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_bytes(b"\xef\xbb\xbf" + '[site]\nname = "北京银行"\n'.encode())  # Windows Notepad's UTF-8
    assert load_config(path).site.name == "北京银行"
    assert "UTF-16" in _problems('[site]\nname = "x"\n'.encode("utf-16"), tmp_path)[0]
    assert "Windows-1252" in _problems('[site]\nname = "Café"\n'.encode("cp1252") + b"\x81", tmp_path)[0]
    assert "不是文本文件 / kiosk.toml: not a text file" in _problems(b"\x89PNG\r\n\x1a\n\0\0\0", tmp_path)[0]


@pytest.mark.parametrize(("toml", "words"), [
    ("[policy\n", "节名缺少 ]"),
    ("[policy]\nmode = risk-areas\n", "文字要加引号"),
    ("[policy]\nfever_c ＝ 37.3\n", "全角符号"),
    ("[policy]\nfever_c = 37.3\nfever_c = 37.2\n", "这个键写了两次"),
    ("just words\n", "键后面缺少 ="),
])
def test_toml_errors_name_the_line_and_the_likely_slip(tmp_path: Path, toml: str, words: str) -> None:
    problems = _problems(toml, tmp_path)
    assert len(problems) == 1 and words in problems[0] and "not valid TOML" in problems[0]
    assert re.search(r"第 \d+ 行", problems[0]) and "(at line" not in problems[0]


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.toml")
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path)  # a directory
    (tmp_path / "big.toml").write_bytes(b"# x\n" * 300_000)
    with pytest.raises(ConfigError, match="not a configuration file"):
        load_config(tmp_path / "big.toml")


def test_problems_are_structured_for_every_consumer(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_text("[policy]\nfever_c = 39\n")
    with pytest.raises(ConfigProblems) as err:
        load_config(path)
    (item,) = err.value.items
    assert (item.key, item.line, item.file, item.shown) == ("policy.fever_c", 2, "kiosk.toml", " = 39")
    assert item.text() == err.value.problems[0]


def test_the_translated_error_types_are_pydantic_s() -> None:
    from pydantic_core import ErrorType

    known = set(ErrorType.__args__)  # type: ignore[attr-defined]
    assert set(PYDANTIC_WORDS) <= known


# ------------------------------------------------------------------------------ values that hide a fever
HIDES_A_FEVER = [
    ("policy", "fever_c", 37.6), ("policy", "fever_c", 40.0), ("policy", "fever_c", 36.9),
    ("policy", "max_code_age_s", 86_400), ("policy", "max_code_age_s", 601), ("policy", "clock_skew_s", 3600),
    ("thermal", "calibration_offset_c", -3.4), ("thermal", "calibration_offset_c", 1.6),
    ("thermal", "calibration_offset_c", -5.0),
    ("thermal", "distance_coefficient_c_per_m", -0.5), ("thermal", "distance_coefficient_c_per_m", 2.0),
    ("thermal", "ambient_coefficient", -0.1), ("thermal", "ambient_coefficient", 0.2),
    ("thermal", "emissivity", 1.0), ("thermal", "emissivity", 0.9), ("thermal", "emissivity", 0.5),
]


@pytest.mark.parametrize(("section", "key", "value"), HIDES_A_FEVER)
def test_a_value_that_hides_a_fever_is_refused_with_the_reason(tmp_path: Path, section: str, key: str,
                                                               value: float) -> None:
    problems = _problems(f"[{section}]\n{key} = {value}\n", tmp_path)
    assert len(problems) == 1 and f"line 2 {section}.{key} = {value}" in problems[0]
    assert " — " in problems[0]  # why the bound is where it is


@pytest.mark.parametrize(("section", "key", "value"), [
    ("policy", "fever_c", 37.0), ("policy", "fever_c", 37.5), ("policy", "max_code_age_s", 600),
    ("thermal", "calibration_offset_c", -0.49), ("thermal", "calibration_offset_c", 1.5),
    ("thermal", "emissivity", 0.95), ("thermal", "emissivity", 0.99), ("thermal", "distance_coefficient_c_per_m", 0.5),
    ("thermal", "ambient_coefficient", 0.05), ("thermal", "distance_coefficient_c_per_m", 0.0),
])
def test_realistic_values_at_the_bounds_are_accepted(section: str, key: str, value: float) -> None:
    assert getattr(getattr(parse_config({section: {key: value}}), section), key) == value


def test_compensation_may_not_take_more_than_half_a_degree_anywhere_in_the_working_range() -> None:
    assert (REFERENCE_DISTANCE_M, REFERENCE_ROOM_C) == (screening_thermal.REFERENCE_DISTANCE_M,
                                                      screening_thermal.REFERENCE_ROOM_C)
    # 0.05 °C/°C in a room up to 40 °C takes 0.8 °C off a warm-room reading (+ 0.006 at 0.3 m): refused
    with pytest.raises(ConfigProblems) as err:
        parse_config({"thermal": {"ambient_coefficient": 0.05, "ambient_max_c": 40.0}})
    assert "0.81 °C" in err.value.problems[0] and f"{COMPENSATION_TAKES_AT_MOST_C} °C" in err.value.problems[0]
    ok = parse_config({"thermal": {"ambient_coefficient": 0.05, "ambient_max_c": 32.0,
                                   "distance_coefficient_c_per_m": 0.5, "min_distance_m": 0.3}})
    assert ok.thermal.ambient_coefficient == 0.05  # 0.4 + 0.1 = 0.5 °C at most: accepted


# ------------------------------------------------------------------------------ keys
@pytest.mark.parametrize("u", LOW_ORDER_KEYS)
def test_every_low_order_seal_key_is_refused(tmp_path: Path, u: int) -> None:
    raw = u.to_bytes(32, "little")
    assert seal_key_problem(raw) == "a low-order point"
    text = base64.b64encode(raw).decode()
    problems = _problems(f'[uplink]\nseal_public_key = "{text}"\n', tmp_path)
    assert len(problems) == 1 and "not a usable X25519 public key (a low-order point" in problems[0]


def test_a_real_seal_key_is_accepted_and_a_malformed_one_refused(tmp_path: Path) -> None:
    text = public_key_text(X25519PrivateKey.generate().public_key())
    assert parse_config({"uplink": {"seal_public_key": text}}).uplink.seal_public_key == text
    problems = _problems('[uplink]\nseal_public_key = "c2hvcnQ="\n', tmp_path)
    assert "base64 of a 32-byte key" in problems[0]


# ------------------------------------------------------------------------------ types, not guesses
@pytest.mark.parametrize(("line", "says"), [
    ("[policy]\nnat_max_age_h = true", "must be a whole number"),  # was: a one-hour window
    ("[policy]\nremeasure = \"no\"", "must be true or false"),  # was: false
    ("[policy]\nfever_c = \"37.3\"", "must be a number"),  # was: 37.3
    ("[policy]\nmax_code_age_s = 300.0", "must be a whole number"),
    ("[policy]\nfever_c = nan", "must be a finite number"),
    ("[thermal]\nrefresh_hz = true", "must be a whole number"),  # was: 1 Hz (true == 1)
    ("[thermal]\nrefresh_hz = 4.0", "must be a whole number"),
    ("[display]\nfullscreen = 1", "must be true or false"),
    ("[site]\nkiosk_id = 1", "must be text in quotes"),
    ("config_version = true", "this kiosk reads config_version = 1"),
])
def test_values_are_not_coerced_from_another_type(tmp_path: Path, line: str, says: str) -> None:
    problems = _problems(line + "\n", tmp_path)
    assert len(problems) == 1 and says in problems[0], problems


def test_a_whole_number_is_still_a_number_and_text_still_an_enum() -> None:
    cfg = parse_config({"policy": {"fever_c": 37, "mode": "no-risk-areas", "risk_areas": ["440104"]},
                        "camera": {"region": [0, 0, 1, 1]}, "thermal": {"calibrated_at": "2026-01-01T08:00:00Z"}})
    assert cfg.policy.fever_c == 37.0 and cfg.policy.mode is Mode.NO_RISK_AREAS
    assert cfg.policy.risk_areas == ("440104",) and cfg.camera.region == (0.0, 0.0, 1.0, 1.0)
    assert cfg.thermal.calibrated_at is not None
