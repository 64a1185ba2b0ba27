"""First-boot provisioning with temporary directories standing in for the boot partition,
/etc/kiosk and /var/lib/kiosk; real certificates made here with `cryptography`, the real trust list
of the health-pass vectors, and the maintenance screen's diagnosis of what went wrong.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from kiosk.healthpass.issuer import TestIssuer
from kiosk.service.maintenance import diagnose
from kiosk.service.provisioning import REPORT_NAME, ProvisioningReport, provision
from tests.service.rig import make_pki

# A trust list of the project's own test issuer (shared/ need not be beside the checkout).
TRUST_LIST_JSON = json.dumps(TestIssuer().trust_list_json()).encode()

CONFIG = """config_version = 1

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
trust_list = "/etc/kiosk/trust-list.json"

[uplink]
enabled = true
tls = true
host = "broker.example"
port = 8883
ca_file = "/etc/kiosk/ca.crt"
cert_file = "/etc/kiosk/kiosk.crt"
key_file = "/etc/kiosk/kiosk.key"
"""


MISMATCH = ("kiosk.key：私钥与证书不匹配（公钥不同） / "
            "kiosk.key: does not belong to the certificate (the public keys differ)")


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path, Path]:
    boot, etc, data = tmp_path / "boot" / "kiosk", tmp_path / "etc-kiosk", tmp_path / "data"
    boot.mkdir(parents=True)
    return boot, etc, data


def _drop(boot: Path, config: str = CONFIG, pki: dict[str, bytes] | None = None) -> dict[str, bytes]:
    pki = pki or make_pki()
    (boot / "kiosk.toml").write_text(config)
    (boot / "trust-list.json").write_bytes(TRUST_LIST_JSON)
    for name in ("ca.crt", "kiosk.crt", "kiosk.key"):
        (boot / name).write_bytes(pki[name])
    return pki


def test_valid_files_are_installed_with_tight_permissions_and_removed_from_boot(dirs) -> None:  # type: ignore[no-untyped-def]
    boot, etc, data = dirs
    pki = _drop(boot)
    (boot / "township.pub").write_text(base64.b64encode(os.urandom(32)).decode() + "\n")
    report = provision(boot, etc, data, user=None)
    assert report.ok, report.problems
    assert sorted(report.installed) == ["ca.crt", "kiosk.crt", "kiosk.key", "kiosk.toml", "township.pub",
                                        "trust-list.json"]
    assert not boot.exists()  # emptied, then removed: the next boot has nothing to provision
    assert stat.S_IMODE((etc / "kiosk.key").stat().st_mode) == 0o600
    for name in ("kiosk.toml", "trust-list.json", "ca.crt", "kiosk.crt", "township.pub"):
        assert stat.S_IMODE((etc / name).stat().st_mode) == 0o644, name  # the kiosk reads, never writes
    assert stat.S_IMODE(etc.stat().st_mode) == 0o750
    assert stat.S_IMODE((data / REPORT_NAME).stat().st_mode) == 0o644  # the maintenance screen reads it
    assert (etc / "kiosk.key").read_bytes() == pki["kiosk.key"]
    saved = ProvisioningReport.read(data / REPORT_NAME)
    assert saved is not None and saved.ok and saved.removed == report.installed
    # Nothing secret in the report: names only.
    assert b"PRIVATE KEY" not in (data / REPORT_NAME).read_bytes()


def test_files_are_owned_by_the_kiosk_user(dirs) -> None:  # type: ignore[no-untyped-def]
    if os.geteuid() != 0:
        pytest.skip("chown needs root")
    boot, etc, data = dirs
    _drop(boot)
    report = provision(boot, etc, data, user="nobody")
    assert report.ok
    import pwd

    nobody = pwd.getpwnam("nobody")
    key = (etc / "kiosk.key").stat()
    assert (key.st_uid, key.st_gid) == (nobody.pw_uid, nobody.pw_gid)
    assert etc.stat().st_uid == 0 and etc.stat().st_gid == nobody.pw_gid
    for name in ("kiosk.toml", "trust-list.json", "ca.crt", "kiosk.crt"):
        st = (etc / name).stat()  # root's: a compromised kiosk process cannot loosen its own rules
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, 0, 0o644), name
    report = (data / REPORT_NAME).stat()  # the maintenance screen runs as the kiosk user
    assert (report.st_uid, stat.S_IMODE(report.st_mode)) == (nobody.pw_uid, 0o644)


def test_the_report_is_readable_whatever_the_umask(dirs) -> None:  # type: ignore[no-untyped-def]
    """kiosk-provision.service runs with UMask=0077; the kiosk user must still read a failed report."""
    boot, etc, data = dirs
    _drop(boot, CONFIG.replace("port = 8883", "port = 99999"))
    old = os.umask(0o077)
    try:
        assert not provision(boot, etc, data, user=None).ok
    finally:
        os.umask(old)
    assert stat.S_IMODE((data / REPORT_NAME).stat().st_mode) == 0o644


def test_an_invalid_config_names_the_line_and_nothing_moves(dirs) -> None:  # type: ignore[no-untyped-def]
    boot, etc, data = dirs
    _drop(boot, CONFIG.replace('kiosk_id = "door-1"', 'kiosk_id = "Door 1"\nfever = 37.5'))
    report = provision(boot, etc, data, user=None)
    assert not report.ok
    assert any(p.startswith("kiosk.toml 第 6 行 site.kiosk_id = 'Door 1'：只能用小写字母") and
               "line 6 site.kiosk_id = 'Door 1': lower-case letters" in p for p in report.problems), report.problems
    assert any("site.fever" in p and "unknown key" in p for p in report.problems), report.problems
    assert not etc.exists() and (boot / "kiosk.key").exists()
    # The maintenance screen shows it, in the same words.
    diagnosis = diagnose(etc / "kiosk.toml", data, environ={})
    assert diagnosis.kind == "provisioning" and report.problems[0] in diagnosis.detail
    assert diagnosis.detail.splitlines()[0].startswith("首次配置文件无效")


def test_a_key_that_does_not_match_the_certificate_is_refused(dirs) -> None:  # type: ignore[no-untyped-def]
    boot, etc, data = dirs
    _drop(boot)
    (boot / "kiosk.key").write_bytes(make_pki()["kiosk.key"])  # another kiosk's key
    report = provision(boot, etc, data, user=None)
    assert not report.ok
    assert report.problems == [MISMATCH]


@pytest.mark.parametrize("name,content,problem", [
    ("kiosk.crt", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
     "kiosk.crt: not a PEM certificate"),
    ("ca.crt", b"hello", "ca.crt: not a PEM certificate"),
    ("kiosk.key", b"not a key", "kiosk.key: not a PEM private key"),
    ("trust-list.json", b"{", "trust-list.json: not a usable trust list"),
    ("trust-list.json", b'{"version": 1, "keys": []}', "trust-list.json: the trust list names no issuer"),
    ("trust-list.json", '{"version": 1, "说明": "信任"}'.encode("gbk"), "trust-list.json: not a UTF-8 trust list"),
    ("township.pub", b"c2hvcnQ=", "township.pub: expected the base64 of a 32-byte Ed25519 public key"),
    ("kiosk.toml", CONFIG.encode("utf-8").replace(b'kiosk_id = "door-1"', '# 北京\nkiosk_id = "door-1"'.encode("gbk")),
     "kiosk.toml line 6: the file is not UTF-8 (it looks like GBK/GB18030"),
    ("kiosk.toml", CONFIG.replace("tls = true", "tls = false").encode(),
     "uplink.tls = false: no TLS toward broker.example"),
    ("kiosk.toml", CONFIG.replace("[health_pass]", "[uplink2]").encode(),
     "uplink2: unknown section — did you mean uplink?"),
    ("kiosk.toml", CONFIG.replace("[uplink]\n", '[uplink]\nseal_public_key = "' + "A" * 43 + '="\n').encode(),
     "not a usable X25519 public key (a low-order point"),
    ("kiosk.toml", b"", "no [site] section: the kiosk would publish as the demo site"),
])
def test_each_broken_file_is_named(dirs, name: str, content: bytes, problem: str) -> None:  # type: ignore[no-untyped-def]
    boot, etc, data = dirs
    _drop(boot)
    (boot / name).write_bytes(content)
    report = provision(boot, etc, data, user=None)
    assert not report.ok
    assert any(problem in p for p in report.problems), report.problems


def test_an_encrypted_key_is_refused_with_the_reason(dirs) -> None:  # type: ignore[no-untyped-def]
    boot, etc, data = dirs
    pki = _drop(boot)
    key = serialization.load_pem_private_key(pki["kiosk.key"], password=None)
    (boot / "kiosk.key").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.BestAvailableEncryption(b"secret")))
    report = provision(boot, etc, data, user=None)
    assert report.problems == ["kiosk.key：私钥有密码保护；设备需要不带密码的私钥 / "
                               "kiosk.key: the key is encrypted; the kiosk needs it without a passphrase"]


def test_missing_files_the_config_names(dirs) -> None:  # type: ignore[no-untyped-def]
    boot, etc, data = dirs
    _drop(boot)
    (boot / "ca.crt").unlink()
    report = provision(boot, etc, data, user=None)
    assert report.problems == ["kiosk.toml 第 25 行 uplink.ca_file = '/etc/kiosk/ca.crt'："
                               "既不在启动分区上，也没有安装过 / "
                               "line 25 uplink.ca_file = '/etc/kiosk/ca.crt': "
                               "neither on the boot partition nor installed"]
    # Already installed from an earlier provisioning: then the card only needs what changed.
    etc.mkdir()
    (etc / "ca.crt").write_bytes(make_pki()["ca.crt"])
    assert provision(boot, etc, data, user=None).ok


def test_nothing_on_the_boot_partition_is_fine(tmp_path: Path) -> None:
    report = provision(tmp_path / "absent", tmp_path / "etc", tmp_path / "data", user=None)
    assert report.ok and report.installed == [] and report.summary() == "nothing to provision"


def test_expired_certificate_is_a_warning_not_a_refusal(dirs) -> None:  # type: ignore[no-untyped-def]
    boot, etc, data = dirs
    _drop(boot)
    report = provision(boot, etc, data, user=None, now=lambda: 4_000_000_000.0)  # 2096: everything expired
    assert report.ok
    assert any("certificate expired" in w for w in report.warnings)


def _kiosk(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kiosk.cli", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "SDL_VIDEODRIVER": "dummy", **(env or {})})


def test_provision_command(dirs) -> None:  # type: ignore[no-untyped-def]
    boot, etc, data = dirs
    _drop(boot, CONFIG.replace("port = 8883", "port = 99999"))
    bad = _kiosk("provision", "--boot", str(boot), "--etc", str(etc), "--data", str(data), "--user", "")
    assert bad.returncode == 1 and "uplink.port" in bad.stdout and "stay on the boot partition" in bad.stdout
    _drop(boot)
    good = _kiosk("provision", "--boot", str(boot), "--etc", str(etc), "--data", str(data), "--user", "")
    assert good.returncode == 0, good.stdout + good.stderr
    assert "provisioned" in good.stdout and (etc / "kiosk.toml").exists()
    # The installed configuration is what `kiosk config check` accepts (the files it names found beside it).
    check = _kiosk("config", "check", str(etc / "kiosk.toml"))
    assert check.returncode == 0, check.stderr


def test_maintenance_screen_renders_the_diagnosis(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    config = tmp_path / "kiosk.toml"
    config.write_text('config_version = 1\n[policy]\nfever_c = 45\n')
    run = _kiosk("maintenance", "--config", str(config), "--data", str(data), "--once", "--headless")
    assert run.returncode == 0, run.stderr
    assert "配置文件有误" in run.stdout and "line 3 policy.fever_c = 45: must be at most 37.5" in run.stdout
    trust = tmp_path / "trust-list.json"
    trust.write_bytes(TRUST_LIST_JSON)
    config.write_text(CONFIG.replace("/etc/kiosk/trust-list.json", str(trust)).replace("enabled = true",
                                                                                       "enabled = false"))
    (data / "last-failure.txt").write_text("not responding: camera\n")
    part = diagnose(config, data, environ={})
    assert part.kind == "part" and "camera" in part.detail
    (data / "last-failure.txt").unlink()
    crash = diagnose(config, data, environ={"MONITOR_SERVICE_RESULT": "watchdog", "MONITOR_UNIT": "kiosk.service"})
    assert crash.kind == "crash" and "(watchdog)" in crash.detail and "journalctl -u kiosk" in crash.detail
    json.dumps(crash.detail)  # plain text, screen-ready


def test_new_certificates_alone_are_checked_against_the_installed_config(dirs) -> None:  # type: ignore[no-untyped-def]
    boot, etc, data = dirs
    _drop(boot)
    assert provision(boot, etc, data, user=None).ok
    boot.mkdir()
    renewed = make_pki()
    (boot / "kiosk.crt").write_bytes(renewed["kiosk.crt"])
    (boot / "notes.txt").write_text("renewed today")
    mismatch = provision(boot, etc, data, user=None)  # the new certificate without its key
    assert mismatch.problems == [MISMATCH]
    (boot / "kiosk.key").write_bytes(renewed["kiosk.key"])
    report = provision(boot, etc, data, user=None)
    assert report.ok and sorted(report.installed) == ["kiosk.crt", "kiosk.key"]
    assert (etc / "kiosk.key").read_bytes() == renewed["kiosk.key"]
    assert [p.name for p in boot.iterdir()] == ["notes.txt"]  # unknown files stay for the technician
    # A folder with only a stray file is nothing to provision (the kiosk still starts).
    again = provision(boot, etc, data, user=None)
    assert again.ok and again.summary() == "nothing to provision"


def _big_trust_list(issuers: int = 28) -> bytes:
    keys = [k for _ in range(issuers) for k in TestIssuer("ES256").trust_list_json()["keys"]]
    return json.dumps({"version": 1, "issued_at": 0, "keys": keys}, indent=1).encode()


def test_a_disk_too_full_for_a_whole_file_installs_nothing_and_keeps_the_card(dirs) -> None:  # type: ignore[no-untyped-def]
    """A short write (4 kB of a 16 kB trust list) must not be installed, nor the originals deleted."""
    boot, etc, data = dirs
    _drop(boot)
    assert provision(boot, etc, data, user=None).ok  # the first provisioning: everything installed
    installed = {p.name: p.read_bytes() for p in etc.iterdir()}
    boot.mkdir()
    _drop(boot)
    big = _big_trust_list()
    assert len(big) > 15_000
    (boot / "trust-list.json").write_bytes(big)
    limit = 4096  # every file the child writes may grow to 4 kB: the disk is nearly full

    def nearly_full() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    run = subprocess.run([sys.executable, "-m", "kiosk.cli", "provision", "--boot", str(boot), "--etc", str(etc),
                          "--data", str(data), "--user", ""], capture_output=True, text=True, timeout=120,
                         preexec_fn=nearly_full, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    assert run.returncode == 1, run.stdout + run.stderr
    assert "cannot install into" in run.stdout and "stay on the boot partition" in run.stdout
    assert {p.name: p.read_bytes() for p in etc.iterdir()} == installed  # the old files, whole; no temp file
    assert (boot / "trust-list.json").read_bytes() == big and (boot / "kiosk.key").exists()
    saved = ProvisioningReport.read(data / REPORT_NAME)
    assert saved is not None and not saved.ok and "cannot install into" in saved.problems[-1]
