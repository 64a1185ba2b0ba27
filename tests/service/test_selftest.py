"""`kiosk selftest` against simulated hardware, with each fault the field knows injected: the
failing item must be the right one, with a fix, and the exit code 1.  The broker check runs
against a real mosquitto with a TLS listener that requires this kiosk's client certificate.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kiosk.config import KioskConfig, parse_config
from kiosk.service.selftest import (
    FAIL,
    FAULTS,
    PASS,
    SKIP,
    WARN,
    exit_code,
    real_hardware,
    run_selftest,
    simulated_hardware,
)
from tests.mosquitto import Broker, free_port
from tests.paths import ROOT
from tests.service.rig import make_pki

EXPECTED_FAILURE = {
    "thermal-unplugged": ("thermal", "not found on I²C bus 1 at 0x33"),
    "thermal-stuck": ("thermal", "frozen"),
    "thermal-silent": ("thermal", "no data-ready"),
    "thermal-eeprom": ("thermal", "not a calibrated device"),
    "camera": ("camera", "no frames"),
    "signals": ("signals", "already in use"),
    "clock": ("clock", "not synchronised"),
    "disk-full": ("disk", "MB free"),
}


def _statuses(results) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {r.key: r.status for r in results}


def test_all_pass_on_healthy_simulated_hardware() -> None:
    config = KioskConfig()
    results = run_selftest(config, None, simulated_hardware(config))
    assert _statuses(results) == {"config": PASS, "thermal": PASS, "camera": PASS, "signals": PASS,
                                  "broker": SKIP, "clock": PASS, "disk": PASS, "calibration": WARN}
    assert exit_code(results) == 0
    signals = next(r for r in results if r.key == "signals")
    assert "buzzer, green and red all switched" in signals.detail


@pytest.mark.parametrize("fault", sorted(EXPECTED_FAILURE))
def test_each_fault_fails_its_own_item_only(fault: str) -> None:
    config = KioskConfig()
    results = run_selftest(config, None, simulated_hardware(config, {fault}))
    key, words = EXPECTED_FAILURE[fault]
    failed = [r for r in results if r.status == FAIL]
    assert [r.key for r in failed] == [key], failed
    assert words in failed[0].detail and failed[0].fix, failed[0]
    assert exit_code(results) == 1


def test_every_fault_is_covered() -> None:
    assert set(FAULTS) == set(EXPECTED_FAILURE) | {"broker"}


def test_an_invalid_config_fails_and_skips_what_depends_on_it() -> None:
    from kiosk.errors import ConfigError

    try:
        parse_config({"config_version": 1, "policy": {"fever_c": 45}}, source="kiosk.toml")
    except ConfigError as exc:
        error = exc
    results = run_selftest(None, error, simulated_hardware(KioskConfig()))
    statuses = _statuses(results)
    assert statuses["config"] == FAIL and statuses["thermal"] == SKIP and statuses["clock"] == PASS
    assert "policy.fever_c" in results[0].detail


def test_calibration_age() -> None:
    now = datetime(2026, 11, 25, tzinfo=UTC)
    config = KioskConfig().model_copy(update={"thermal": KioskConfig().thermal.model_copy(
        update={"calibrated_at": now - timedelta(days=10)})})
    result = run_selftest(config, None, simulated_hardware(config), wall=now.timestamp())[-1]
    assert (result.key, result.status) == ("calibration", PASS)
    assert result.detail == "10 天前校准，偏差 +0.00 °C / calibrated 10 days ago, offset +0.00 °C"
    old = config.model_copy(update={"thermal": config.thermal.model_copy(
        update={"calibrated_at": now - timedelta(days=400)})})
    result = run_selftest(old, None, simulated_hardware(old), wall=now.timestamp())[-1]
    assert result.status == WARN and "400 days" in result.detail


# ------------------------------------------------------------------------------------ broker over TLS
@pytest.fixture
def tls_broker(tmp_path: Path, pki: dict[str, bytes]):  # type: ignore[no-untyped-def]
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    ca = x509.load_pem_x509_certificate(pki["ca.crt"])
    ca_key = serialization.load_pem_private_key(pki["ca.key"], password=None)
    now = dt.datetime.now(dt.UTC)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
              .issuer_name(ca.subject).public_key(server_key.public_key()).serial_number(3)
              .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
              .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                          x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                             critical=False)
              .sign(ca_key, hashes.SHA256()))  # type: ignore[arg-type]
    files = {}
    for name, data in {**pki, "server.crt": server.public_bytes(serialization.Encoding.PEM),
                       "server.key": server_key.private_bytes(serialization.Encoding.PEM,
                                                              serialization.PrivateFormat.PKCS8,
                                                              serialization.NoEncryption())}.items():
        files[name] = tmp_path / name
        files[name].write_bytes(data)
        files[name].chmod(0o644)
    tls_port = free_port()
    broker = Broker(tmp_path, config=f"listener {tls_port} 127.0.0.1\ncafile {files['ca.crt']}\n"
                                     f"certfile {files['server.crt']}\nkeyfile {files['server.key']}\n"
                                     "require_certificate true\n")
    broker.start()
    try:
        yield tls_port, files
    finally:
        broker.stop()


def _uplink_config(port: int, files: dict[str, Path], **overrides: object) -> KioskConfig:
    uplink = {"enabled": True, "tls": True, "host": "127.0.0.1", "port": port, "ca_file": str(files["ca.crt"]),
              "cert_file": str(files["kiosk.crt"]), "key_file": str(files["kiosk.key"]), **overrides}
    return parse_config({"config_version": 1, "uplink": uplink})


def test_broker_reachable_over_tls_with_the_configured_certificate(tls_broker) -> None:  # type: ignore[no-untyped-def]
    port, files = tls_broker
    config = _uplink_config(port, files)
    result = next(r for r in run_selftest(config, None, simulated_hardware(config)) if r.key == "broker")
    assert result.status == PASS, result


def test_broker_refuses_a_certificate_from_another_ca(tls_broker, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    port, files = tls_broker
    other = make_pki()
    (tmp_path / "other.crt").write_bytes(other["kiosk.crt"])
    (tmp_path / "other.key").write_bytes(other["kiosk.key"])
    config = _uplink_config(port, files, cert_file=str(tmp_path / "other.crt"), key_file=str(tmp_path / "other.key"))
    result = next(r for r in run_selftest(config, None, simulated_hardware(config)) if r.key == "broker")
    assert result.status == FAIL and result.fix, result


def test_broker_fault_and_plain_mqtt_fail(tls_broker) -> None:  # type: ignore[no-untyped-def]
    port, files = tls_broker
    config = _uplink_config(port, files)
    down = next(r for r in run_selftest(config, None, simulated_hardware(config, {"broker"})) if r.key == "broker")
    assert down.status == FAIL and "127.0.0.1:9" in down.detail
    plain = _uplink_config(port, files, tls=False)
    clear = next(r for r in run_selftest(plain, None, simulated_hardware(plain)) if r.key == "broker")
    assert clear.status == FAIL and "without TLS" in clear.detail


# ------------------------------------------------------------------------------------ the command
def _kiosk(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kiosk.cli", "selftest", *args], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "SDL_VIDEODRIVER": "dummy"})


def test_selftest_command_json_and_exit_codes() -> None:
    ok = _kiosk("--simulated", "--json")
    assert ok.returncode == 0, ok.stderr
    report = json.loads(ok.stdout)
    assert report["ok"] is True and [c["key"] for c in report["checks"]][:3] == ["config", "thermal", "camera"]
    broken = _kiosk("--simulated", "--fault", "thermal-silent", "--fault", "camera")
    assert broken.returncode == 1
    assert "[FAIL] thermal" in broken.stdout and "[FAIL] camera" in broken.stdout and "fix:" in broken.stdout
    assert _kiosk("--simulated", "--fault", "flux-capacitor").returncode == 2
    assert _kiosk("--fault", "camera").returncode == 2  # faults only in simulation


def test_selftest_command_with_an_invalid_config_file(tmp_path: Path) -> None:
    bad = tmp_path / "kiosk.toml"
    bad.write_text("config_version = 1\n[thermal]\nrefresh_hz = 3\n")
    run = _kiosk("--simulated", "--config", str(bad), "--json")
    assert run.returncode == 1
    checks = {c["key"]: c for c in json.loads(run.stdout)["checks"]}
    assert checks["config"]["status"] == "fail"
    assert "line 3 thermal.refresh_hz = 3: must be one of 1, 2, 4, 8 or 16" in checks["config"]["detail"]


def test_selftest_fails_a_valid_file_the_kiosk_would_not_run_with(tmp_path: Path) -> None:
    """A GBK file and the example (no trust list, the emulators) as a technician runs them on a Pi."""
    gbk = tmp_path / "kiosk.toml"
    gbk.write_bytes('[site]\nname = "北京银行"\n'.encode("gbk"))
    run = _kiosk("--config", str(gbk), "--json")
    assert run.returncode == 1 and "Traceback" not in run.stderr
    config = {c["key"]: c for c in json.loads(run.stdout)["checks"]}["config"]
    assert config["status"] == "fail" and "save it as UTF-8" in config["detail"]
    example = _kiosk("--config", str(ROOT / "config" / "kiosk.example.toml"), "--json")
    config = {c["key"]: c for c in json.loads(example.stdout)["checks"]}["config"]
    assert config["status"] == "fail" and "health_pass.trust_list" in config["detail"]


def test_real_hardware_with_an_emulator_configuration_says_which_key_to_change() -> None:
    """On a Pi, a configuration still set to the emulators fails with the key to change, not a wiring hint."""
    from kiosk.service.checklist import check_camera, check_signals, check_thermal

    config = KioskConfig()  # thermal "emulated", camera "emulated", signals "mock"
    hw = real_hardware(config)
    thermal, camera, signals = check_thermal(config, hw), check_camera(config, hw), check_signals(config, hw)
    assert (thermal.status, thermal.fix) == (FAIL, '在配置中设 thermal.backend = "smbus2" / '
                                                   'set thermal.backend = "smbus2" in the configuration')
    assert (camera.status, camera.fix) == (FAIL, '在配置中设 camera.source = "picamera2" / '
                                                 'set camera.source = "picamera2" in the configuration')
    assert (signals.status, signals.fix) == (FAIL, '在配置中设 signals.backend = "gpio" / '
                                                   'set signals.backend = "gpio" in the configuration')


def test_every_detail_and_fix_is_chinese_first_then_english() -> None:
    """The checklist is read by technicians on site: no English-only line (the configuration's problems,
    which are already both, aside)."""
    config = KioskConfig()
    faults = {"thermal-unplugged", "camera", "signals", "clock", "disk-full"}
    for results in (run_selftest(config, None, simulated_hardware(config)),
                    run_selftest(config, None, simulated_hardware(config, faults))):
        for r in results:
            for text in (r.detail, r.fix):
                if text:
                    zh, _, en = text.partition(" / ")
                    assert en and any("\u4e00" <= c <= "\u9fff" for c in zh), (r.key, text)
