"""The words and the glyphs: catalogues complete and consistent, a font that really draws Chinese,
text broken where Chinese and English may break."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pygame
import pygame.freetype
import pytest

from kiosk.checkpoint.policy import REASONS
from ui.catalog import BilingualCatalog, Catalog, CatalogError, placeholders, split_bilingual
from ui.fonts import FontNotFoundError, Fonts, find_cjk_font
from ui.text import Line, Typesetter, tokens
from ui.thermal import colourise

NOTO = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
WQY = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")


@pytest.fixture(scope="module")
def fonts() -> Fonts:
    return Fonts.discover()


@pytest.fixture(scope="module")
def words() -> BilingualCatalog:
    return BilingualCatalog.load("zh", "en")


def _all_strings(words: BilingualCatalog) -> list[str]:
    return [text for catalog in words.catalogs for text in catalog.strings.values()]


# ------------------------------------------------------------------------------------- catalogues


def test_catalogues_have_the_same_keys_and_placeholders(words: BilingualCatalog) -> None:
    zh, en = words.catalogs
    assert zh.strings.keys() == en.strings.keys()
    for key in zh.strings:
        assert placeholders(zh.strings[key]) == placeholders(en.strings[key]), key


def test_every_policy_reason_has_plain_words(words: BilingualCatalog) -> None:
    assert len(REASONS) >= 10
    for code in REASONS:
        for catalog in words.catalogs:
            assert f"reason.{code}" in catalog.strings, (catalog.language, code)
            assert code not in catalog.reason(code)  # words, not the code itself
    assert words.reasons("fever") == ("体温过高", "Fever")


def test_unknown_reason_in_words_and_unknown_key_shown_not_hidden(words: BilingualCatalog) -> None:
    """A reason newer than the catalogue is "other reason" in plain words, never its internal code."""
    assert words.reasons("moon_phase") == ("其他原因", "Other reason")
    for catalog in words.catalogs:
        assert placeholders(catalog.strings["reason.unknown"]) == frozenset()
    assert words.first.text("no.such.key") == "no.such.key"
    assert words.second is not None
    assert words.second.text("stop.next_staff") == "Please wait for staff at {staff_spot}"


def test_broken_catalogue_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "xx.json").write_text('{"a": 1}', "utf-8")
    with pytest.raises(CatalogError, match="flat JSON object"):
        Catalog.load("xx", directory=tmp_path)
    with pytest.raises(LookupError):
        Catalog.load("yy", directory=tmp_path)


@pytest.mark.parametrize(("value", "expected"), [
    ("服务台 the service desk", ("服务台", "the service desk")),
    ("东门保安亭 / East gate kiosk", ("东门保安亭", "East gate kiosk")),
    ("2号门 Gate 2", ("2号门", "Gate 2")),
    ("服务台", ("服务台", "服务台")),
    ("the service desk", ("the service desk", "the service desk")),
])
def test_split_bilingual(value: str, expected: tuple[str, str]) -> None:
    assert split_bilingual(value) == expected


def test_each_language_quotes_its_own_half_of_a_site_setting(words: BilingualCatalog) -> None:
    assert words.texts_quoting("stop.next_staff", staff_spot="服务台 the service desk") == (
        "请到服务台等候工作人员", "Please wait for staff at the service desk")


# ------------------------------------------------------------------------------------------ fonts


@pytest.mark.skipif(not NOTO.is_file(), reason="fonts-noto-cjk not installed")
def test_noto_collection_face_is_simplified_chinese() -> None:
    face = find_cjk_font()
    assert face.path == NOTO
    assert face.family == "Noto Sans CJK SC"
    assert face.index == 2  # JP is 0: pygame.font.Font would have opened the wrong face


def test_no_font_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FontNotFoundError, match="fonts-noto-cjk") as info:
        find_cjk_font(candidates=(tmp_path / "none.ttc",), use_fontconfig=False)
    assert isinstance(info.value, FileNotFoundError)


def test_every_catalogue_character_has_a_glyph(fonts: Fonts, words: BilingualCatalog) -> None:
    text = "".join(_all_strings(words)) + "0123456789.-:…"
    assert fonts.missing_glyphs(text) == set()
    assert fonts.missing_glyphs(text, bold=True) == set()
    assert fonts.missing_glyphs("\ue000\ue001") == {"\ue000", "\ue001"}  # the check can fail


@pytest.mark.skipif(not WQY.is_file(), reason="fonts-wqy-microhei not installed")
def test_fallback_font_draws_every_catalogue_string(words: BilingualCatalog) -> None:
    face = find_cjk_font(candidates=(WQY,), use_fontconfig=False)
    assert face.family == "WenQuanYi Micro Hei"
    fallback = Fonts(face)  # no bold face: bold is synthesised
    assert fallback.missing_glyphs("".join(_all_strings(words))) == set()
    assert fallback.font(30, bold=True).strong


def _ink(fonts: Fonts, text: str) -> np.ndarray:
    surface = pygame.Surface((64 * len(text), 96))
    surface.fill((0, 0, 0))
    fonts.font(48).render_to(surface, (4, 64), text, fgcolor=(255, 255, 255))
    return pygame.surfarray.array3d(surface)[..., 0] > 0


def test_chinese_glyphs_really_draw(fonts: Fonts, words: BilingualCatalog) -> None:
    """A face without Chinese draws every character as the same box; ours draws distinct glyphs."""
    tofu = _ink(fonts, "\ue000")
    glyphs = [_ink(fonts, ch) for ch in "请止步通过"]
    for glyph in glyphs:
        assert glyph.sum() > 50
        assert not np.array_equal(glyph, tofu)
    assert len({g.tobytes() for g in glyphs}) == len(glyphs)
    line = words.first.text("footer.one_metre")
    assert not np.array_equal(_ink(fonts, line), _ink(fonts, "\ue000" * len(line)))


# ------------------------------------------------------------------------------------------- text


@pytest.mark.parametrize("text", ["请到服务台等候工作人员，谢谢。", "Wait for staff at the desk",
                                  "其他原因（abc）def", "36.5\u00a0°C 体温"])
def test_tokens_rebuild_the_text(text: str) -> None:
    assert "".join(tokens(text)) == text


def test_breaks_keep_punctuation_and_words_whole(fonts: Fonts) -> None:
    typesetter = Typesetter(fonts)
    rows = typesetter.wrap("请到服务台等候工作人员，谢谢。请保持不动，向摄像头出示健康码", 40, 200)
    assert all(w <= 200 for _, w in rows)
    assert not any(text[0] in "，。" for text, _ in rows)
    english = typesetter.wrap("Please wait behind the one-metre line", 40, 300)
    assert " ".join(text for text, _ in english) == "Please wait behind the one-metre line"
    assert "36.5\u00a0°C" in [t for t, _ in typesetter.wrap("Temperature 36.5\u00a0°C", 40, 260)]


def test_fit_shrinks_to_the_rectangle(fonts: Fonts) -> None:
    typesetter = Typesetter(fonts)
    lines = [Line("请在一米线外排队等候", bold=True),
             Line("Please wait behind the one-metre line", scale=0.6)]
    small = typesetter.fit(lines, 300, 80, max_px=200)
    large = typesetter.fit(lines, 1200, 400, max_px=200)
    assert small.fits and large.fits
    assert small.height <= 80 and small.base < large.base


# ---------------------------------------------------------------------------------------- thermal


def test_thermal_colours_warm_brighter_and_nan_grey() -> None:
    frame = np.full((24, 32), 24.0)
    frame[10:14, 14:18] = 35.0
    frame[0, 0] = np.nan
    rgb = colourise(frame)
    assert rgb.shape == (24, 32, 3) and rgb.dtype == np.uint8
    assert rgb[12, 16].sum() > rgb[20, 2].sum()
    assert tuple(rgb[0, 0]) == (90, 90, 90)
    assert colourise(np.full((24, 32), np.nan)).std() == 0


# ------------------------------------------------------------------------------ one name per state

# Each state the screens name, the words it is named with, and words that must never name anything
# (they named it once, or name another state): 校准 is the thermal calibration, not the clock.
STATES = {
    "clock not synchronised": ({"zh": "时钟未同步", "en": "No time sync"},
                               ("时钟未校准", "not synced", "synchronised")),
    "manual check": ({"zh": "人工复核", "en": "manual check"}, ("人工检查",)),
    "measure again": ({"zh": "重新测温", "en": "again"}, ("再测一次", "re-measure")),
    "one at a time": ({"zh": "一次一人", "en": "One at a time"}, ("一位一位",)),
    "thermometer fault": ({"zh": "测温故障", "en": "Sensor fault"}, ("测温设备故障", "Thermometer")),
}
CLOCK_KEYS = {"reason.clock_unsynced", "staff.clock_unsynced", "staff.warning_clock"}
MANUAL_CHECK_KEYS = {"fault.title", "maintenance.staff", "maintenance.staff_spot"}
REMEASURE_KEYS = {"remeasuring.title", "stop.next_remeasure"}
ONE_AT_A_TIME_KEYS = {"attract.step_stand", "one_at_a_time.title"}
SENSOR_KEYS = {"reason.sensor_fault", "staff.sensor_fault"}


@pytest.mark.parametrize(("state", "keys"), [
    ("clock not synchronised", CLOCK_KEYS), ("manual check", MANUAL_CHECK_KEYS), ("measure again", REMEASURE_KEYS),
    ("one at a time", ONE_AT_A_TIME_KEYS), ("thermometer fault", SENSOR_KEYS),
])
def test_one_name_per_state(words: BilingualCatalog, state: str, keys: set[str]) -> None:
    """Every key that names the state uses its one name, in both languages; no string anywhere uses
    a retired or clashing name for it."""
    names, banned = STATES[state]
    for catalog in words.catalogs:
        for key in keys:
            assert names[catalog.language].lower() in catalog.strings[key].lower(), (catalog.language, key)
        for key, text in catalog.strings.items():
            for word in banned:
                assert word.lower() not in text.lower(), (catalog.language, key, word)


def test_calibration_means_only_the_thermal_calibration(words: BilingualCatalog) -> None:
    zh, en = words.catalogs
    assert {k for k, v in zh.strings.items() if "校准" in v} == {"staff.warning_drift", "staff.drift"}
    assert {k for k, v in en.strings.items() if "calibrat" in v.lower()} == {"staff.warning_drift", "staff.drift"}
    assert all("时钟" not in v or "同步" in v for v in zh.strings.values())  # the clock is only ever (not) synced


def test_same_state_same_words_in_every_place(words: BilingualCatalog) -> None:
    """Keys that name one state on different screens say it in the same words."""
    for same in (("staff.clock_unsynced", "staff.warning_clock"), ("reason.sensor_fault", "staff.sensor_fault"),
                 ("stop.next_staff", "fault.staff_spot"), ("stop.next_staff_nearby", "fault.staff")):
        for catalog in words.catalogs:
            assert len({catalog.strings[key] for key in same}) == 1, (catalog.language, same)
