"""Configuration: every key documented, every mistake named."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from kiosk.config import KioskConfig, Mode, load_config, parse_config
from kiosk.errors import ConfigError
from tests.paths import ROOT

EXAMPLE = ROOT / "config" / "kiosk.example.toml"


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


def _problems(toml: str, tmp_path: Path) -> list[str]:
    path = tmp_path / "k.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    return err.value.problems


def test_bad_value_names_key_value_line_and_expectation(tmp_path: Path) -> None:
    problems = _problems("config_version = 1\n[policy]\nfever_c = 47.3\n", tmp_path)
    assert len(problems) == 1
    assert "line 3" in problems[0] and "policy.fever_c" in problems[0] and "47.3" in problems[0]
    assert "less than or equal to 40" in problems[0]


def test_typo_in_key_is_refused(tmp_path: Path) -> None:
    problems = _problems("[policy]\nfever_threshold = 37.5\n", tmp_path)
    assert any("policy.fever_threshold" in p and "Extra inputs" in p for p in problems)


def test_every_problem_is_reported(tmp_path: Path) -> None:
    problems = _problems('[policy]\nmode = "sometimes"\nrisk_areas = ["4401"]\n[signals]\nred_pin = 99\n',
                         tmp_path)
    joined = "\n".join(problems)
    assert "policy.mode" in joined and "policy.risk_areas.0" in joined and "signals.red_pin" in joined


def test_cross_field_rules() -> None:
    with pytest.raises(ConfigError, match="min_distance_m"):
        parse_config({"thermal": {"min_distance_m": 1.0, "max_distance_m": 0.8}})
    with pytest.raises(ConfigError, match="three different"):
        parse_config({"signals": {"buzzer_pin": 17, "green_pin": 17}})


def test_unknown_config_version(tmp_path: Path) -> None:
    assert any("config_version" in p for p in _problems("config_version = 2\n", tmp_path))


def test_not_toml_and_missing_file(tmp_path: Path) -> None:
    assert any("not valid TOML" in p for p in _problems("[policy\n", tmp_path))
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.toml")
