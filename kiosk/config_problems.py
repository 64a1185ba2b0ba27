"""What is wrong with a configuration, in words a technician reads: Chinese first, English second.

One source of these words for `kiosk config check`, `kiosk run`, first-boot provisioning's report,
`kiosk selftest` and the maintenance screen, so that a problem reads the same wherever it shows.
Each `Problem` names the file, the line and the key where it can, says what is wrong in plain
words (pydantic's error types translated, not its English passed through), and suggests the
likely fix ("did you mean `fever_c`?", "it belongs in [thermal]", "save it as UTF-8").

A line of text per problem (`Problem.text`)::

    kiosk.toml 第 12 行 policy.fevr_c = 37.5：未知的键，是否想写 fever_c？ /
    line 12 policy.fevr_c = 37.5: unknown key — did you mean fever_c?      (one line)

Nothing here reads the file: `kiosk.config` does, and hands pydantic's findings here to be worded
(`problems_of`).  The few checks that are more than a bound (`seal_key_problem`,
`config_key_problem`) live here too, so that `kiosk.config`, `kiosk.feed` and provisioning refuse the
same keys.
"""

from __future__ import annotations

import datetime as dt
import difflib
import errno
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, get_args

from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticCustomError


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing to fix.  `warning`: worth knowing, does not stop the kiosk."""

    zh: str
    en: str
    key: str = ""  # dotted key ("policy.fever_c"); "" for the file as a whole
    line: int | None = None
    file: str = ""  # the file's name as the technician knows it ("kiosk.toml")
    shown: str = ""  # " = value", when the value helps
    warning: bool = False

    def text(self) -> str:
        """The problem on one line: Chinese, then English."""
        at_zh = " ".join(p for p in (self.file, f"第 {self.line} 行" if self.line else "", self.key + self.shown) if p)
        at_en = " ".join(p for p in ("" if self.key else self.file, f"line {self.line}" if self.line else "",
                                     self.key + self.shown) if p)
        zh = f"{at_zh}：{self.zh}" if at_zh else self.zh
        en = f"{at_en}: {self.en}" if at_en else self.en
        return f"{zh} / {en}"

    def __str__(self) -> str:
        return self.text()


# ------------------------------------------------------------------------------ did you mean
def close_match(word: str, candidates: Iterable[str]) -> str | None:
    """The one candidate `word` is most likely a typo of, if any is close enough."""
    found = difflib.get_close_matches(str(word), list(candidates), n=1, cutoff=0.6)
    if not found and isinstance(word, str):  # case or separators only: Fever-C, FEVER_C
        folded = {c.lower().replace("-", "_"): c for c in candidates}
        return folded.get(word.lower().replace("-", "_"))
    return found[0] if found else None


def did_you_mean(word: str, candidates: Iterable[str]) -> tuple[str, str]:
    """(zh, en) suffixes: "，是否想写 X？" / " — did you mean X?", or empty strings."""
    match = close_match(word, candidates)
    if match is None:
        return "", ""
    return f"，是否想写 {match}？", f" — did you mean {match}?"


# ------------------------------------------------------------------------------ pydantic's errors
# Error types pydantic raises for the kiosk's models, in plain words.  `{name}` fields come from the
# error's context.  Anything not listed keeps pydantic's English with a generic Chinese line.
_NUMBER = ("应为数字", "must be a number")
_INTEGER = ("应为整数", "must be a whole number")
_TEXT = ("应为加引号的文字，例如 \"abc\"", "must be text in quotes, e.g. \"abc\"")
_BOOL = ("应为 true 或 false（小写，不加引号）", "must be true or false (lower case, no quotes)")
_LIST = ("应为列表，例如 [\"a\", \"b\"]", "must be a list, e.g. [\"a\", \"b\"]")
_DATETIME = ("应为日期时间，例如 2026-01-01T08:00:00Z", "must be a date and time, e.g. 2026-01-01T08:00:00Z")
PYDANTIC_WORDS: dict[str, tuple[str, str]] = {
    "missing": ("缺少必填项", "required, but missing"),
    "float_parsing": _NUMBER, "float_type": _NUMBER, "finite_number": ("应为有限的数字", "must be a finite number"),
    "int_parsing": _INTEGER, "int_type": _INTEGER, "int_from_float": _INTEGER,
    "int_parsing_size": ("数字太大", "the number is too large"),
    "bool_parsing": _BOOL, "bool_type": _BOOL,
    "string_type": _TEXT, "string_unicode": _TEXT,
    "greater_than_equal": ("不能小于 {ge}", "must be at least {ge}"),
    "less_than_equal": ("不能大于 {le}", "must be at most {le}"),
    "greater_than": ("必须大于 {gt}", "must be more than {gt}"),
    "less_than": ("必须小于 {lt}", "must be less than {lt}"),
    "literal_error": ("应为以下之一：{expected}", "must be one of {expected}"),
    "enum": ("应为以下之一：{expected}", "must be one of {expected}"),
    "string_too_long": ("太长：最多 {max_length} 个字符", "too long: at most {max_length} characters"),
    "string_too_short": ("太短：至少 {min_length} 个字符", "too short: at least {min_length} characters"),
    "too_long": ("值太多：最多 {max_length} 个", "too many values: at most {max_length}"),
    "too_short": ("值太少：至少 {min_length} 个", "too few values: at least {min_length}"),
    "list_type": _LIST, "tuple_type": _LIST, "set_type": _LIST,
    "datetime_parsing": _DATETIME, "datetime_from_date_parsing": _DATETIME, "datetime_type": _DATETIME,
    "model_type": ("应为一个节：[节名] 下面写 键 = 值", "must be a section: [name], then key = value lines"),
    "dict_type": ("应为一个节：[节名] 下面写 键 = 值", "must be a section: [name], then key = value lines"),
    "extra_forbidden": ("未知的键", "unknown key"),
}
# The kiosk's own checks (`PydanticCustomError` types raised by `kiosk.config`'s validators).
CUSTOM_WORDS: dict[str, tuple[str, str]] = {
    "config_version": ("本程序只读 config_version = {expected}", "this kiosk reads config_version = {expected}"),
    "ordered": ("必须小于 {other}", "must be below {other}"),
    "region": ("应为 x, y, 宽, 高 四个 0 到 1 之间的比例，且在画面之内",
               "must be x, y, width, height: fractions within the frame"),
    "needs": ("camera.source = \"{source}\" 时必须设置此项", "required with camera.source = \"{source}\""),
    "pins": ("三个引脚（蜂鸣器、绿灯、红灯）必须互不相同", "the three pins (buzzer, green, red) must differ"),
    "quiet_hours": ("quiet_from 与 quiet_until 要一起设置，且时间不同",
                    "quiet_from and quiet_until are set together, to two different times"),
    "timezone": ("未知的时区{zh_hint}", "unknown time zone{en_hint}"),
    "key_base64": ("应为 32 字节密钥的 base64（44 个字符，以 = 结尾）",
                   "must be the base64 of a 32-byte key (44 characters ending in =)"),
    "low_order_key": ("不是可用的 X25519 公钥（{zh_why}：用它封存的数据谁都能解开）",
                      "not a usable X25519 public key ({why}: anything sealed to it is readable by anyone)"),
    "weak_config_key": ("不是可用的 Ed25519 公钥（{zh_why}：用它谁都能伪造街道的签名配置）",
                        "not a usable Ed25519 public key ({why}: anyone could forge the township's signed "
                        "configuration with it)"),
    "lowering": ("这些设置合起来最多会从读数中减去 {total} °C（{parts}）；最多允许 {limit} °C，否则会掩盖发热",
                 "together these settings can take up to {total} °C off a reading ({parts}); more than {limit} °C "
                 "can hide a fever"),
    "compensation": ("补偿在工作范围内最多会减去 {taken} °C，超过 {limit} °C 会掩盖发热",
                     "the compensation would take up to {taken} °C off a reading in the working range; "
                     "more than {limit} °C can hide a fever"),
}
# Why a bound is where it is, for the keys whose wrong values hide a fever (README, "Configuration").
WHY: dict[str, tuple[str, str]] = {
    "policy.fever_c": ("更高的阈值会放过发热者（通知规定 37.3 °C）",
                       "a higher threshold lets fevers through (the notices say 37.3 °C)"),
    "policy.max_code_age_s": ("健康码每分钟刷新；更旧的是截图",
                              "codes refresh every minute; older ones are screenshots"),
    "policy.clock_skew_s": ("更大的容差允许预先生成的健康码", "a wider allowance admits codes made in advance"),
    "thermal.calibration_offset_c": ("负的偏差最多减去 0.5 °C（更多会掩盖发热）；"
                                     "正的偏差超过 1.5 °C 说明传感器损坏或没有对准",
                                     "a negative offset may take at most 0.5 °C off (more can hide a fever); more "
                                     "than +1.5 °C means a broken or misaimed sensor"),
    "thermal.drift_warn_c": ("超过 0.8 °C 的漂移是故障，警告阈值不能更高", "drift beyond 0.8 °C is a fault: the "
                             "warning cannot be set beyond it"),
    "thermal.drift_baseline_c": ("健康访客的中位读数在 36.0–37.0 °C 之间；更低的基准会掩盖读数偏低",
                                 "healthy visitors' median reads 36.0–37.0 °C; another baseline would hide a sensor "
                                 "reading low"),
    "thermal.emissivity": ("皮肤的发射率为 0.97–0.99", "skin's emissivity is 0.97–0.99"),
    "thermal.distance_coefficient_c_per_m": ("远处的脸读数偏低，不会偏高，补偿只能加回",
                                             "a far face reads cooler, never warmer: only add back"),
    "thermal.ambient_coefficient": ("冷的房间使皮肤读数偏低，补偿只能加回",
                                    "a cold room reads skin cooler: only add back"),
}
# Hints for the patterns the models use.
PATTERN_WORDS: dict[str, tuple[str, str]] = {
    r"^[a-z0-9][a-z0-9-]{0,62}$": ("只能用小写字母、数字和 -，以字母或数字开头",
                                   "lower-case letters, digits and - only, starting with a letter or digit"),
    r"^\d{6}$": ("应为六位行政区划代码，例如 \"440104\"", "must be a six-digit division code, e.g. \"440104\""),
    r"^(([01][0-9]|2[0-3]):[0-5][0-9])?$": ("应为 24 小时制 HH:MM，例如 \"22:00\"，或留空",
                                           "must be HH:MM on a 24-hour clock, e.g. \"22:00\", or empty"),
    r"^([01][0-9]|2[0-3]):[0-5][0-9]$": ("应为 24 小时制 HH:MM，例如 \"00:05\"", "must be HH:MM on a 24-hour clock"),
    r"^([A-Za-z0-9+/]{43}=)?$": CUSTOM_WORDS["key_base64"],
}


def _fill(template: str, ctx: Mapping[str, Any]) -> str:
    try:
        return template.format(**ctx)
    except (KeyError, IndexError, ValueError):
        return template


def words_for(err: Mapping[str, Any]) -> tuple[str, str]:
    """(zh, en) for one pydantic error dict."""
    kind = str(err.get("type", ""))
    ctx = dict(err.get("ctx") or {})
    if kind == "string_pattern_mismatch":
        return PATTERN_WORDS.get(str(ctx.get("pattern")), ("格式不对", "wrong format"))
    pair = PYDANTIC_WORDS.get(kind) or CUSTOM_WORDS.get(kind)
    if pair is None:
        message = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        return "值不正确", message
    return _fill(pair[0], ctx), _fill(pair[1], ctx)


def shown_value(value: Any) -> str:
    """` = value` for a scalar input (short); nothing for sections and long values."""
    if isinstance(value, dict | list | tuple) or value is None:
        return ""
    if isinstance(value, bool):
        text = "true" if value else "false"  # as written in the file, not Python's True
    elif isinstance(value, dt.date | dt.time):
        text = value.isoformat()  # 00:05:00, not datetime.time(0, 5)
    else:
        text = repr(value)
    return f" = {text if len(text) <= 40 else text[:37] + '...'}"


# ------------------------------------------------------------------------------ validation errors
def custom_error(kind: str, **ctx: Any) -> PydanticCustomError:
    """One of the kiosk's own validation errors (`kiosk.config_problems.CUSTOM_WORDS` words it).

    `key` in `ctx` names the key inside the section a model validator checked, for the line number.
    """
    return PydanticCustomError(kind, CUSTOM_WORDS[kind][1], ctx)


_P25519 = 2**255 - 19  # the field prime of Curve25519 and Ed25519
KEY_PROBLEM_WORDS = {"a low-order point": "低阶点", "a non-canonical encoding of a point": "非规范编码的点",
                     "the base point": "基点"}


def key_problem_words(problem: str) -> dict[str, str]:
    """`why` and `zh_why` for the key errors' words (`seal_key_problem`, `config_key_problem`)."""
    return {"why": problem, "zh_why": KEY_PROBLEM_WORDS.get(problem, problem)}


def seal_key_problem(raw: bytes) -> str | None:
    """Why 32 bytes are not a usable X25519 public key for sealing, or None.

    A low-order point (all zeros, and the other small-order points of Curve25519, in any of their
    encodings) makes every shared secret all zeros: OpenSSL refuses the exchange, so every seal
    would raise, and what was sealed would be readable by anyone.  An exchange with a fixed
    scalar finds them all: the clamped scalar is a multiple of 8, which sends every point of
    order dividing 8 to the identity.
    """
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

    if len(raw) != 32:
        return f"{len(raw)} bytes, not 32"
    if (int.from_bytes(raw, "little") & ((1 << 255) - 1)) % _P25519 == 9:
        return "the base point"  # its "private key" is 1: X25519(e, 9) is the ephemeral key sent with every seal
    try:
        X25519PrivateKey.from_private_bytes(bytes(range(1, 33))).exchange(X25519PublicKey.from_public_bytes(raw))
    except ValueError:
        return "a low-order point"
    return None


# The y coordinates of Ed25519's eight small-order points (libsodium's `has_small_order` list, in
# numbers): y = 1 (the identity), p − 1 (order 2), 0 (order 4) and the two of order 8; each with
# either sign bit.  A signature (R = a small-order point, s = 0) verifies for such a key on every
# message (identity) or on one in 2, 4 or 8 of them: anyone could sign the township's configuration.
_ED25519_SMALL_ORDER_Y = frozenset({
    0, 1, _P25519 - 1,
    int.from_bytes(bytes.fromhex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"), "little"),
    int.from_bytes(bytes.fromhex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"), "little"),
})


def config_key_problem(raw: bytes) -> str | None:
    """Why 32 bytes are not a usable Ed25519 public key for the township's signed configuration, or None.

    Refused: the small-order points in every encoding (the sign bit ignored), and any encoding of
    y that is not reduced mod p (p and p + 1 are 0 and 1 again; no key generator writes them).
    """
    if len(raw) != 32:
        return f"{len(raw)} bytes, not 32"
    y = int.from_bytes(raw, "little") & ((1 << 255) - 1)
    if y >= _P25519:
        return "a non-canonical encoding of a point"
    if y in _ED25519_SMALL_ORDER_Y:
        return "a low-order point"
    return None


def key_line(text: str, dotted: str) -> int | None:
    """Best-effort line number of a key (or of a section's header) in the TOML text."""
    parts = dotted.split(".")
    section, leaf = (parts[0], parts[1]) if len(parts) > 1 else ("", parts[0])
    current = ""
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line.startswith("[") and "]" in line:
            current = line[1:line.index("]")].strip().strip('"')
            if not section and current == leaf:  # a section's own header
                return number
        elif current == section and "=" in line and line.split("=", 1)[0].strip().strip('"') == leaf:
            return number
    return None


def _sections(model: type[BaseModel]) -> dict[str, type[BaseModel]]:
    return {name: field.annotation for name, field in model.model_fields.items()  # type: ignore[misc]
            if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)}


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The models an annotation holds: `Site`, `tuple[Visitor, ...]`, `SignedCode | RawCode | None`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _models_in(arg)]


@dataclass(frozen=True, slots=True)
class _Place:
    """Where an error is, as the person who wrote the file sees it."""

    key: str  # "policy.risk_areas[2]", "visitors[3, id \"v3\"].code.colour"
    named: tuple[str, ...]  # the keys alone (for the line number): ("visitors", "code", "colour")
    parent: type[BaseModel] | None  # the model holding the last key (for "did you mean")
    member: tuple[Any, ...] | None = None  # (loc up to the union, the member's name) when inside a union


def _place(model: type[BaseModel], loc: tuple[Any, ...], data: Any = None) -> _Place:
    """Walk `loc` through the models: indexes shown 1-based (with an item's `id` when it has one), the
    union member pydantic names in `loc` (`SignedCode`) left out, as the file never says it."""
    key, named, current, candidates, member = "", [], model, [model], None
    parent: type[BaseModel] | None = model
    for n, part in enumerate(loc):
        if isinstance(part, int):
            data = data[part] if isinstance(data, list | tuple) and -len(data) <= part < len(data) else None
            ident = data.get("id") if isinstance(data, dict) else None
            key += f"[{part + 1}" + (f", id {json.dumps(ident, ensure_ascii=False)}]" if isinstance(ident, str)
                                     and len(ident) <= 40 else "]")
            continue
        names = {m.__name__: m for m in candidates}
        if part in names and (current is None or part not in current.model_fields):
            current, member = names[part], (loc[:n], part)
            continue
        parent = current
        key += ("." if key else "") + str(part)
        named.append(str(part))
        data = data.get(part) if isinstance(data, dict) else None
        field = current.model_fields.get(str(part)) if current is not None else None
        candidates = _models_in(field.annotation) if field is not None else []
        current = candidates[0] if len(candidates) == 1 else None
    return _Place(key, tuple(named), parent, member)


def _hint(err: Mapping[str, Any], loc: tuple[Any, ...], model: type[BaseModel], place: _Place,
          brackets: bool) -> tuple[str, str]:
    """A "did you mean" (or "it belongs in [section]") for unknown keys and one-of values."""
    kind = err["type"]
    if kind == "extra_forbidden":
        word = str(loc[-1])
        home = [name for name, section in _sections(model).items() if word in section.model_fields and name != loc[0]]
        if len(loc) in (1, 2) and home:  # at the top, or in the wrong section
            where = f"[{home[0]}]" if brackets else f"\"{home[0]}\""
            return f"，它属于 {where} 节" if brackets else f"，它属于 {where}", f" — it belongs in {where}"
        return did_you_mean(word, place.parent.model_fields if place.parent is not None else ())
    if kind in ("literal_error", "enum") and isinstance(err.get("input"), str):
        return did_you_mean(err["input"], re.findall(r"'([^']*)'", str((err.get("ctx") or {}).get("expected"))))
    return "", ""


def _closest_members(errors: list[dict[str, Any]], places: list[_Place]) -> list[bool]:
    """Inside a union (a code that is a signed code or raw text), pydantic reports the input against every
    member; keep only the errors of the member it came closest to being (fewest errors; the first on a tie)."""
    counts: dict[tuple[Any, ...], dict[str, int]] = {}
    for place in places:
        if place.member is not None:
            where, name = place.member
            counts.setdefault(where, {}).setdefault(name, 0)
            counts[where][name] += 1
    best = {where: min(names, key=lambda n: (names[n], list(names).index(n))) for where, names in counts.items()}
    return [p.member is None or best[p.member[0]] == p.member[1] for p in places]


def problems_of(exc: ValidationError, model: type[BaseModel], *, file: str = "", text: str = "",
                data: Any = None, brackets: bool = True) -> list[Problem]:
    """Every error of a validation, worded (`kiosk.config_problems`), with its key and line.

    `text` (TOML) gives line numbers; `data` (the parsed input) names list items by their `id`;
    `brackets`: sections are TOML's `[section]` (a JSON file's are `"section"`).
    """
    found: dict[tuple[str, str], Problem] = {}
    errors = list(exc.errors())
    adjusted = []
    for err in errors:
        loc = tuple(err["loc"])
        if "key" in (err.get("ctx") or {}):  # a model validator's error, about one of the section's keys
            loc = (*loc, err["ctx"]["key"])
        adjusted.append(loc)
    places = [_place(model, loc, data) for loc in adjusted]
    for err, loc, place, keep in zip(errors, adjusted, places, _closest_members(errors, places), strict=True):
        if not keep:
            continue
        ctx = err.get("ctx") or {}
        # the value, unless a validator's own words say it (or a model validator judged several keys)
        shown = "" if "key" in ctx or err["type"] == "value_error" else shown_value(err.get("input"))
        zh, en = words_for(err)
        key = place.key
        if err["type"] == "missing" and loc and isinstance(loc[-1], int):  # a list too short: say it once
            key, (zh, en) = key[:key.rindex("[")], ("值太少", "too few values")
        if err["type"] in ("greater_than_equal", "less_than_equal", "greater_than", "less_than") and key in WHY:
            zh, en = f"{zh}，{WHY[key][0]}", f"{en} — {WHY[key][1]}"
        if brackets and err["type"] == "extra_forbidden" and len(loc) == 1 and isinstance(err.get("input"), dict):
            zh, en = "未知的节", "unknown section"  # [Thermal], [polcy]: a whole table, not a key
        if not brackets and err["type"] in ("model_type", "dict_type"):  # JSON, not TOML
            zh, en = "应为一个对象：{\"键\": 值, …}", "must be an object: {\"key\": value, …}"
        more_zh, more_en = _hint(err, loc, model, place, brackets)
        line = key_line(text, ".".join(place.named)) if text and place.named else None
        zh = re.sub(r"(\S) or (\S)", r"\1 或 \2", zh)  # pydantic's "1 or 2" in the Chinese half
        found.setdefault((key, zh), Problem(zh + more_zh, en + more_en, key=key, line=line, file=file, shown=shown))
    return sorted(found.values(), key=lambda p: p.line or 1 << 30)


# ------------------------------------------------------------------------------ reading the file
_TOML_AT = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_TOML_WORDS = {
    "Invalid statement": ("这一行不是 键 = 值，也不是 [节]", "not a key = value line, nor a [section]"),
    "Invalid value": ("值写得不对（文字要加引号，true/false 小写）", "not a valid value (text needs quotes, "
                      "true/false in lower case)"),
    "Cannot overwrite a value": ("这个键写了两次", "this key is set twice"),
    "Cannot declare": ("这个节写了两次", "this section is declared twice"),
    "Expected '=' after a key in a key/value pair": ("键后面缺少 =", "a key without = after it"),
    "Unclosed array": ("列表缺少 ]", "a list without its closing ]"),
    "Unterminated string": ("引号没有闭合", "a string without its closing quote"),
    "Expected ']' at the end of a table declaration": ("节名缺少 ]", "a [section] without its closing ]"),
    "Expected newline or end of document after a statement": (
        "这一行的值后面还有多余的内容", "something follows the value on this line"),
    "Expected ']]' at the end of an array declaration": ("[[节名]] 缺少 ]]", "a [[section]] without its closing ]]"),
    "Unclosed inline table": ("{ } 缺少 }", "an inline table without its closing }"),
    "Invalid initial character for a key part": ("键的写法不对（只能用字母、数字、_ 和 -，或加引号）",
                                                 "not a valid key (letters, digits, _ and - only, or in quotes)"),
    "Invalid date or datetime": ("日期时间写得不对，例如 2026-01-01T08:00:00Z",
                                 "not a valid date or time, e.g. 2026-01-01T08:00:00Z"),
    "Unescaped '\\' in a string": ("字符串中的 \\ 要写成 \\\\（或用单引号）",
                                     "a \\ in a string must be written \\\\ (or use single quotes)"),
    "Illegal character": ("字符串中有不允许的字符（换行要用三引号）",
                          "a character not allowed in a string (a line break needs triple quotes)"),
    "Found invalid character": ("有不允许的字符", "a character that is not allowed here"),
    "Duplicate inline table key": ("{ } 中的键写了两次", "a key set twice in an inline table"),
    "Cannot redefine namespace": ("这个节或键写了两次", "a section or key defined twice"),
    "Cannot mutate immutable namespace": ("这个节或键写了两次", "a section or key defined twice"),
    "Invalid hex value": ("十六进制数写得不对", "not a valid hexadecimal number"),
    "Escaped character is not a Unicode scalar value": ("转义字符不是有效的 Unicode 字符",
                                                         "an escape that is not a Unicode character"),
    "Expected": ("缺少应有的符号", "an expected character is missing"),
}
# What follows a value, by what the line holds: the hint that fixes it.
_AFTER_VALUE = (
    (re.compile(r"\d\s*(°|℃|℉|度)"), "数字不带单位：写 37.3，不要写 37.3 °C 或 37.3℃",
     "numbers take no unit: write 37.3, not 37.3 °C or 37.3℃"),
    (re.compile(r"=\s*[-+]?[\d.]+\s*(mm|cm|px|ms|s|h|毫米|厘米|像素|毫秒|秒|小时)\s*(#|$)"),
     "数字不带单位：单位在键名里（short_side_mm = 86，不要写 86 mm）",
     "numbers take no unit: the key's name says it (short_side_mm = 86, not 86 mm)"),
    (re.compile(r"=\s*[-+]?\d+,\d"), "小数点用英文句点：写 37.3，不要写 37,3", "the decimal point is a full stop: "
     "write 37.3, not 37,3"),
    (re.compile(r"=\s*[A-Za-z\u4e00-\u9fff]"), "文字要加引号，例如 \"abc\"", "text needs quotes, e.g. \"abc\""),
)
FULLWIDTH = "＝“”‘’［］：，"  # a Chinese input method's =, quotes, brackets, colon, comma


def toml_problem(message: str, text: str, file: str) -> Problem:
    """A `tomllib.TOMLDecodeError` message in plain words, with the line, and a hint where one fits."""
    at = _TOML_AT.search(message)
    line = int(at.group(1)) if at else None
    plain = _TOML_AT.sub("", message)
    zh, en = next(((z, e) for k, (z, e) in _TOML_WORDS.items() if plain.startswith(k)), ("格式错误", "a syntax error"))
    source = text.splitlines()[line - 1] if line and line <= len(text.splitlines()) else ""
    if plain.startswith("Expected newline"):
        for pattern, hint_zh, hint_en in _AFTER_VALUE:
            if pattern.search(source):
                zh, en = f"{zh}：{hint_zh}", f"{en}: {hint_en}"
                break
    if any(c in source for c in FULLWIDTH):
        zh += "；这一行有全角符号（＝ “ ” ［ ］ ：），请改用半角（英文输入法）"
        en += "; the line has full-width punctuation (＝ “ ” ［ ］ ：): use ASCII = \" [ ] :"
    return Problem(f"不是有效的 TOML：{zh}", f"not valid TOML: {en}", line=line, file=file)


def encoding_problem(raw: bytes, file: str) -> Problem:
    """The file is not UTF-8: say what it looks like and how to fix it."""
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return Problem("文件是 UTF-16 编码（Windows 记事本的“Unicode”），请另存为 UTF-8",
                       "the file is UTF-16 (Windows Notepad's \"Unicode\"): save it as UTF-8", file=file)
    if b"\0" in raw[:4096]:
        return Problem("不是文本文件", "not a text file", file=file)
    try:
        raw.decode("utf-8")
        bad_at = len(raw)
    except UnicodeDecodeError as exc:
        bad_at = exc.start
    line = raw[:bad_at].count(b"\n") + 1
    try:
        looks = raw.decode("gb18030")
        chinese = any("\u4e00" <= c <= "\u9fff" for c in looks)
    except UnicodeDecodeError:
        chinese = False
    if chinese:
        return Problem("文件不是 UTF-8 编码（看起来是 GBK/GB18030，即中文 Windows 编辑器的“ANSI”），请另存为 UTF-8",
                       "the file is not UTF-8 (it looks like GBK/GB18030, a Chinese Windows editor's \"ANSI\"): "
                       "save it as UTF-8", line=line, file=file)
    return Problem("文件不是 UTF-8 编码（可能是 Windows-1252 等旧编码），请另存为 UTF-8",
                   "the file is not UTF-8 (perhaps Windows-1252 or another legacy encoding): save it as UTF-8",
                   line=line, file=file)


ERRNO_WORDS = {
    errno.ENOENT: "文件不存在", errno.EACCES: "没有读取权限", errno.EPERM: "没有权限",
    errno.EISDIR: "这是一个文件夹，不是文件", errno.ENOTDIR: "路径中有一段不是文件夹",
    errno.ELOOP: "符号链接循环或层数太多", errno.ENAMETOOLONG: "路径太长", errno.EIO: "读写错误，存储卡可能损坏",
    errno.ENXIO: "设备不存在", errno.ENODEV: "设备不存在", errno.EROFS: "只读文件系统", errno.ENOSPC: "磁盘已满",
    errno.EMFILE: "打开的文件太多", errno.EFBIG: "文件太大", errno.EINVAL: "无效的参数",
}


def errno_words(exc: OSError | str) -> tuple[str, str]:
    """(zh, en) for why a file cannot be used: Chinese by the error number, never the system's English."""
    if isinstance(exc, str):  # a strerror text alone (older callers)
        number = next((n for n in ERRNO_WORDS if os.strerror(n) == exc), None)
        return (ERRNO_WORDS[number] if number is not None else "系统错误"), exc
    en = exc.strerror or type(exc).__name__
    if exc.errno in ERRNO_WORDS:
        return ERRNO_WORDS[exc.errno], en
    return f"系统错误 {errno.errorcode.get(exc.errno or 0, exc.errno)}", en


def unreadable_problem(reason: OSError | str, file: str) -> Problem:
    zh, en = errno_words(reason)
    return Problem(f"无法读取（{zh}）", f"cannot read: {en}", file=file)
