"""The scenario file format (shared/scenarios/SPEC.md), validated like the configuration.

Version 1 describes cooperative visitors; version 2 ("Real crowds") adds what real queues do —
a queue in the sensor's view (`site.queue_m`), passers-by (`site.passers`), a kiosk clock that is
wrong until network time steps it (`site.clock`), visitors who step in eagerly, raise their phone
late, walk off, or show another visitor's screenshot (`eager`, `code_after_s`, `leaves_after_s`,
`code.same_as`), and the decision `LEFT`.  A file that uses any of them says `"version": 2`.
"""

from __future__ import annotations

import codecs
import dataclasses
import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from kiosk.checkpoint import REASONS
from kiosk.config import Mode
from kiosk.config_problems import Problem, encoding_problem, errno_words, problems_of
from kiosk.errors import ConfigError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SignedCode(_Strict):
    """Claims for the simulator's own test issuer to sign."""

    colour: Literal["G", "Y", "R"]
    trip: tuple[str, ...] = ()
    star: bool = False
    nat_h: float | None = None
    age_s: float = 10.0


# The most a QR code holds (version 40, level L, byte mode): longer text cannot be shown on any phone.
MAX_QR_BYTES = 2953


class RawCode(_Strict):
    """Literal QR text (a forgery, a payment code, a URL…)."""

    raw: str

    @field_validator("raw")
    @classmethod
    def _fits_a_qr(cls, value: str) -> str:
        size = len(value.encode("utf-8", errors="surrogatepass"))
        if size > MAX_QR_BYTES:
            raise ValueError(f"{size} bytes is too long for any QR code (at most {MAX_QR_BYTES})")
        return value


class SameAs(_Strict):
    """Exactly the QR text another visitor showed (a screenshot handed back along the queue)."""

    same_as: str


class Expectation(_Strict):
    decision: Literal["PASS", "STOP", "LEFT"]
    reasons: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _known_reasons(self) -> Expectation:
        unknown = set(self.reasons) - set(REASONS)
        if unknown:
            raise ValueError(f"unknown reasons {sorted(unknown)}")
        return self


# A scenario spans at most a year: far enough for any queue, near enough for dates to exist (1e12 s
# is 31,700 years) and for a run to end (idle stretches are jumped over, but not a millennium).
MAX_ARRIVE_S = 366 * 86_400.0
# `start` is the wall clock the codes are signed and judged by: outside these years every code is
# refused (a start of -1000 makes every code "invalid" with no hint why), so it is refused first.
START_RANGE = (1_577_836_800.0, 4_102_444_800.0)  # 2020-01-01 .. 2100-01-01 UTC


class Visitor(_Strict):
    id: str
    arrive_s: float = Field(ge=0)
    forehead_c: float = Field(ge=25.0, le=45.0)
    distance_m: float = Field(0.5, ge=0.3, le=1.2)
    code: SignedCode | RawCode | SameAs | None = None
    eager: bool = False  # v2: steps in as soon as the previous visitor turns to leave
    code_after_s: float = Field(0.0, ge=0.0, le=3600.0)  # v2: raises the phone this long after reaching the spot
    leaves_after_s: float | None = Field(None, ge=0.0, le=3600.0)  # v2: walks off this long after reaching the spot
    companion: bool = False
    companion_behind_m: float = Field(0.6, ge=0.0, le=2.0)  # 0: side by side (the kiosk asks one at a time)
    sensor: Literal["unplugged"] | None = None
    arrive_cold_c: float | None = Field(None, ge=20.0, le=36.0)  # forehead on arrival from the cold
    return_after_s: float = Field(180.0, ge=10.0, le=3600.0)  # asked to come back: returns warmed up
    expect: Expectation | None = None
    note: str = ""

    @field_validator("arrive_s")
    @classmethod
    def _within_a_year(cls, value: float) -> float:
        if value > MAX_ARRIVE_S:
            raise ValueError(f"{value:g} s is more than a year after the start ({MAX_ARRIVE_S:.0f} s at most)")
        return value


class Passer(_Strict):
    """Somebody crossing the whole view at `distance_m`, never stopping (v2)."""

    at_s: float = Field(ge=0)
    distance_m: float = Field(2.3, ge=0.5, le=8.0)
    forehead_c: float = Field(36.5, ge=25.0, le=45.0)
    direction: Literal["left", "right"] = "left"
    speed_m_s: float = Field(1.2, gt=0.1, le=4.0)


class KioskClock(_Strict):
    """The kiosk's wall clock (v2): `offset_s` off the truth until network time steps it at `sync_at_s`."""

    offset_s: float = Field(0.0, ge=-10 * 365 * 86_400.0, le=10 * 365 * 86_400.0)
    sync_at_s: float | None = Field(None, ge=0.0)  # None: never synchronised during the run


class Site(_Strict):
    ambient_c: float = Field(24.0, ge=-10.0, le=45.0)
    ambient_drift_c: float = Field(0.0, ge=0.0, le=10.0)  # the room wanders ± this much ...
    ambient_drift_period_s: float = Field(1800.0, ge=60.0, le=86_400.0)  # ... once per this period
    mode: Mode = Mode.RISK_AREAS
    risk_areas: tuple[str, ...] = ()
    policy: dict[str, Any] = Field(default_factory=dict)
    queue_m: float | None = Field(None, ge=0.8, le=6.0)  # v2: where the queue waits (default 1.5)
    passers: tuple[Passer, ...] = ()  # v2
    clock: KioskClock | None = None  # v2


QUEUE_M = 1.5  # v2's default queue distance


class Scenario(_Strict):
    version: Literal[1, 2] = 1
    name: str = ""
    start: float = 1_764_000_000.0
    site: Site = Site()
    visitors: tuple[Visitor, ...] = ()
    note: str = ""

    @field_validator("start")
    @classmethod
    def _start_plausible(cls, value: float) -> float:
        low, high = START_RANGE
        if not low <= value < high:
            raise ValueError(f"{value:g} is not a date a kiosk could run on: give epoch seconds between "
                             f"{low:.0f} (2020-01-01) and {high:.0f} (2100-01-01); codes are judged by it")
        return value

    @model_validator(mode="after")
    def _ids_unique(self) -> Scenario:
        ids = [v.id for v in self.visitors]
        seen: set[str] = set()
        twice = [i for i in ids if i in seen or seen.add(i)]  # type: ignore[func-returns-value]
        if twice:
            raise ValueError(f"visitor ids must be unique: {twice[0]!r} is used twice")
        by_id = {v.id: v for v in self.visitors}
        for v in self.visitors:
            if isinstance(v.code, SameAs) and (v.code.same_as not in ids or v.code.same_as == v.id):
                raise ValueError(f"visitor {v.id}: code.same_as must name another visitor")
        for v in self.visitors:  # a -> b -> a: nobody in the loop has a code of their own to show
            chain, code = [v.id], v.code
            while isinstance(code, SameAs):
                if code.same_as in chain:
                    raise ValueError(f"visitor {v.id}: code.same_as goes round in a circle "
                                     f"({' -> '.join([*chain, code.same_as])}): one of them must show a code")
                chain.append(code.same_as)
                code = by_id[code.same_as].code
        if self.version == 1 and self.crowd_fields():
            raise ValueError(f"uses version-2 fields ({', '.join(self.crowd_fields())}): "
                             "say \"version\": 2 at the top level")
        return self

    def crowd_fields(self) -> list[str]:
        """The version-2 fields this scenario uses (see shared/scenarios/SPEC.md, "Real crowds")."""
        site, used = self.site, []
        for name, value in (("site.queue_m", site.queue_m), ("site.passers", site.passers), ("site.clock", site.clock)):
            if value:
                used.append(name)
        for v in self.visitors:
            for name, value in (("eager", v.eager), ("code_after_s", v.code_after_s),
                                ("leaves_after_s", v.leaves_after_s is not None),
                                ("code.same_as", isinstance(v.code, SameAs)),
                                ("LEFT", v.expect is not None and v.expect.decision == "LEFT")):
                if value and name not in used:
                    used.append(name)
        return used

    @property
    def queue_m(self) -> float:
        return self.site.queue_m if self.site.queue_m is not None else QUEUE_M

    def policy_overrides(self) -> dict[str, Any]:
        """The site's overrides as a `[policy]` table for `KioskConfig`."""
        return {**self.site.policy, "mode": self.site.mode.value, "risk_areas": list(self.site.risk_areas)}


MAX_SCENARIO_BYTES = 16 * 1024 * 1024  # thousands of visitors are a few MB; more is the wrong file (or /dev/zero)
# The scenario validators' own words (English), in Chinese: (pattern, template with \\1 …).
_VALUE_WORDS = (
    (r"s is more than a year after the start", "距开始超过一年（最多 31622400 秒）"),
    (r"is not a date a kiosk could run on", "不是设备可能运行的日期：请给出 1577836800（2020-01-01）到 4102444800"
                                           "（2100-01-01）之间的纪元秒；健康码按它判断"),
    (r"^visitor ids must be unique: (.*) is used twice", "访客 id 不能重复：\\1 用了两次"),
    (r"code\.same_as goes round in a circle \((.*)\)", "code.same_as 绕成了一个圈（\\1）：其中一位必须出示自己的码"),
    (r"^(\d+) bytes is too long for any QR code", "\\1 字节太长，任何二维码都装不下（最多 2953 字节）"),
    (r"^unknown reasons (.*)$", "未知的原因 \\1"),
    (r"code\.same_as must name another visitor", "code.same_as 必须是另一位访客的 id"),
    (r"^uses version-2 fields \((.*)\)", "用到了第 2 版的字段（\\1）：请在最上层写 \"version\": 2"),
)
_JSON_WORDS = {
    "Expecting value": "这里应有一个值", "Expecting property name enclosed in double quotes": "键要用双引号",
    "Expecting ',' delimiter": "缺少逗号", "Expecting ':' delimiter": "缺少冒号", "Extra data": "多余的内容",
    "Unterminated string starting at": "引号没有闭合", "Invalid control character at": "字符串中有控制字符",
}


def _scenario_words(problem: Problem) -> Problem:
    """A validator's English (value_error) given its Chinese, so no English sits in the Chinese half."""
    if problem.zh != "值不正确":
        return problem
    for pattern, template in _VALUE_WORDS:
        found = re.search(pattern, problem.en)
        if found:
            return dataclasses.replace(problem, zh=found.expand(template))
    return problem


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file; `ConfigError` says what is wrong in the configuration's words
    (`kiosk.config_problems`: Chinese, then English, the key and the likely fix), never pydantic's."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_SCENARIO_BYTES + 1)
    except OSError as exc:
        zh, en = errno_words(exc)
        raise ConfigError(str(path), [Problem(f"无法读取场景文件（{zh}）", f"cannot read scenario: {en}").text()]) \
            from None
    if len(raw) > MAX_SCENARIO_BYTES:
        raise ConfigError(str(path), [Problem("文件太大，不像场景文件", f"cannot read scenario: larger than "
                                              f"{MAX_SCENARIO_BYTES // 1024 // 1024} MB").text()])
    try:
        text = raw.removeprefix(codecs.BOM_UTF8).decode("utf-8")
    except UnicodeDecodeError:
        found = encoding_problem(raw, path.name)
        raise ConfigError(str(path), [dataclasses.replace(found, en="cannot read scenario: " + found.en).text()]) \
            from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        zh = _JSON_WORDS.get(exc.msg, "格式错误")
        raise ConfigError(str(path), [Problem(f"不是有效的 JSON：第 {exc.lineno} 行第 {exc.colno} 列：{zh}",
                                              f"cannot read scenario: not valid JSON: {exc.msg} at line {exc.lineno} "
                                              f"column {exc.colno}").text()]) from None
    except RecursionError:
        raise ConfigError(str(path), [Problem("不是有效的 JSON：嵌套太深", "cannot read scenario: not valid JSON: "
                                              "nested too deeply").text()]) from None
    try:  # strict, like the configuration: "0" is no number and "yes" no true
        return Scenario.model_validate_json(text.encode("utf-8", errors="surrogatepass"), strict=True)
    except ValidationError as exc:
        problems = problems_of(exc, Scenario, data=data, brackets=False)
        raise ConfigError(str(path), [_scenario_words(p).text() for p in problems]) from None
