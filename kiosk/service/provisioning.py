"""First-boot provisioning: the technician's files on the FAT boot partition become the kiosk's.

Raspberry Pi Imager's own settings stop at user, SSH, Wi-Fi and locale, so the kiosk's files
travel the same way: the technician copies them into `kiosk/` on the card's boot partition
(`/boot/firmware/kiosk/` on the running Pi):

    kiosk.toml        required: the configuration (validated by `kiosk.config`)
    trust-list.json   the health-code issuers' trust list (health_pass.trust_list)
    ca.crt            the broker's CA certificate(s), PEM (uplink.ca_file)
    kiosk.crt         this kiosk's client certificate, PEM (uplink.cert_file)
    kiosk.key         its private key, PEM, unencrypted (uplink.key_file)
    township.pub      the township's configuration-signing key (base64 Ed25519, 32 bytes),
                      which must equal uplink.config_public_key when that is set

Everything is validated before anything moves: the configuration with line-numbered problems,
every file it names present (on the card, or already installed), the certificates parse, the key
matches the certificate, the trust list loads.  A FAT partition written on a laptop is no place
for a private key, so once valid, the files are written into the configuration directory
(0600 for the key, 0640 for the rest, owned by the kiosk user), synced, and deleted from the
boot partition.  Invalid files are left where they are, and the report — which the maintenance
screen shows — says what to fix.  Contents are never logged: only names and problems.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import logging
import os
import pwd
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

BOOT_DIR = Path("/boot/firmware/kiosk")
ETC_DIR = Path("/etc/kiosk")
DATA_DIR = Path("/var/lib/kiosk")
REPORT_NAME = "provisioning-report.json"
CONFIG_NAME = "kiosk.toml"
KEY_NAME = "kiosk.key"
KNOWN_FILES = ("kiosk.toml", "trust-list.json", "ca.crt", "kiosk.crt", "kiosk.key", "township.pub")


@dataclass(slots=True)
class ProvisioningReport:
    """What happened.  `ok` False: nothing was installed and the kiosk must not start."""

    ok: bool
    installed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    at: float = 0.0

    def summary(self) -> str:
        if not self.ok:
            return "provisioning failed: " + "; ".join(self.problems)
        if not self.installed:
            return "nothing to provision"
        return "provisioned " + ", ".join(self.installed)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=1)

    @classmethod
    def read(cls, path: Path) -> ProvisioningReport | None:
        try:
            return cls(**json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            return None


# ------------------------------------------------------------------------------------ checks
def _load_certificates(path: Path) -> list:  # type: ignore[type-arg]
    from cryptography import x509

    certs = x509.load_pem_x509_certificates(path.read_bytes())
    if not certs:
        raise ValueError("no certificate in the file")
    return certs


def check_certificate(path: Path, problems: list[str], warnings: list[str], now: float) -> object | None:
    """Parse a PEM certificate (or bundle); note expiry as a warning (the clock may not be set yet)."""
    try:
        certs = _load_certificates(path)
    except (OSError, ValueError) as exc:
        problems.append(f"{path.name}: not a PEM certificate ({_short(exc)})")
        return None
    for cert in certs:
        not_after = cert.not_valid_after_utc.timestamp()
        if not_after < now:
            warnings.append(f"{path.name}: certificate expired {time.strftime('%Y-%m-%d', time.gmtime(not_after))} "
                            "(or this clock is not set yet)")
    return certs[0]


def check_key_pair(key_path: Path, cert: object | None, problems: list[str]) -> None:
    from cryptography.hazmat.primitives import serialization

    try:
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except TypeError:
        problems.append(f"{key_path.name}: the key is encrypted; the kiosk needs it without a passphrase")
        return
    except (OSError, ValueError) as exc:
        problems.append(f"{key_path.name}: not a PEM private key ({_short(exc)})")
        return
    if cert is None:
        return
    fmt = serialization.PublicFormat.SubjectPublicKeyInfo
    mine = key.public_key().public_bytes(serialization.Encoding.DER, fmt)
    theirs = cert.public_key().public_bytes(serialization.Encoding.DER, fmt)  # type: ignore[attr-defined]
    if mine != theirs:
        problems.append(f"{key_path.name} does not belong to kiosk.crt (the public keys differ)")


def check_township_key(path: Path, configured: str, problems: list[str]) -> None:
    text = path.read_text(encoding="ascii", errors="replace").strip()
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        problems.append(f"{path.name}: expected the base64 of a 32-byte Ed25519 public key")
    elif configured and configured != text:
        problems.append(f"{path.name} differs from uplink.config_public_key in kiosk.toml")


def _short(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__


def _locate(configured: str, boot: Path, etc: Path) -> tuple[Path | None, bool]:
    """Where a file the configuration names comes from: (path, on the boot partition)."""
    name = Path(configured).name
    if (boot / name).is_file():
        return boot / name, True
    target = Path(configured)
    if Path(configured).parent == ETC_DIR:
        target = etc / name  # the --etc directory stands in for /etc/kiosk
    return (target, False) if target.is_file() else (None, False)


def validate(boot: Path, etc: Path, *, now: float) -> ProvisioningReport:
    """Check everything on the boot partition; install nothing."""
    from kiosk.config import load_config
    from kiosk.errors import ConfigError

    report = ProvisioningReport(ok=False, at=now)
    problems, warnings = report.problems, report.warnings
    present = sorted(p.name for p in boot.iterdir() if p.is_file())
    unknown = [n for n in present if n not in KNOWN_FILES]
    if unknown:
        warnings.append("ignored (unknown name): " + ", ".join(unknown))
    config_path = boot / CONFIG_NAME
    if CONFIG_NAME not in present:  # new certificates for the installed configuration
        config_path = etc / CONFIG_NAME
        if not config_path.is_file():
            problems.append(f"{CONFIG_NAME} is missing from the boot partition's kiosk folder")
            return report
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        problems.extend(f"{CONFIG_NAME}: {p}" for p in exc.problems)
        return report

    needed: dict[str, str] = {}
    if config.health_pass.trust_list:
        needed["health_pass.trust_list"] = config.health_pass.trust_list
    else:
        problems.append(f"{CONFIG_NAME}: health_pass.trust_list is not set: no code could ever be valid")
    up = config.uplink
    if up.enabled and up.tls:
        for key, value in (("uplink.ca_file", up.ca_file), ("uplink.cert_file", up.cert_file),
                           ("uplink.key_file", up.key_file)):
            if value:
                needed[key] = value
            else:
                problems.append(f"{CONFIG_NAME}: {key} must be set when the uplink uses TLS")
    located: dict[str, Path] = {}
    for key, value in needed.items():
        path, _ = _locate(value, boot, etc)
        if path is None:
            problems.append(f"{CONFIG_NAME}: {key} = {value!r}: {Path(value).name} is neither on the boot "
                            "partition nor installed")
        else:
            located[key] = path

    if "health_pass.trust_list" in located:
        from kiosk.healthpass import TrustList

        try:
            TrustList.from_file(located["health_pass.trust_list"])
        except Exception as exc:  # TrustListError, OSError, a malformed entry: all the technician's to fix
            problems.append(f"{located['health_pass.trust_list'].name}: not a usable trust list ({_short(exc)})")
    if "uplink.ca_file" in located:
        check_certificate(located["uplink.ca_file"], problems, warnings, now)
    cert = None
    if "uplink.cert_file" in located:
        cert = check_certificate(located["uplink.cert_file"], problems, warnings, now)
    if "uplink.key_file" in located:
        check_key_pair(located["uplink.key_file"], cert, problems)
    # Files on the card that the configuration does not name are still checked if known.
    if (boot / "kiosk.crt").is_file() and "uplink.cert_file" not in located:
        cert = check_certificate(boot / "kiosk.crt", problems, warnings, now)
        if (boot / KEY_NAME).is_file():
            check_key_pair(boot / KEY_NAME, cert, problems)
    if (boot / "ca.crt").is_file() and "uplink.ca_file" not in located:
        check_certificate(boot / "ca.crt", problems, warnings, now)
    if (boot / "township.pub").is_file():
        check_township_key(boot / "township.pub", config.uplink.config_public_key, problems)
    report.ok = not problems
    return report


# ------------------------------------------------------------------------------------ install
def _owner(user: str | None) -> tuple[int, int] | None:
    if user is None:
        return None
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        return None
    return entry.pw_uid, entry.pw_gid


def _write_atomically(source: Path, target: Path, mode: int, owner: tuple[int, int] | None) -> None:
    data = source.read_bytes()
    tmp = target.with_name(f".{target.name}.new")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, mode)
    try:
        os.write(fd, data)
        os.fchmod(fd, mode)  # the umask must not loosen or tighten it
        if owner is not None:
            os.fchown(fd, *owner)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, target)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # FAT directories cannot always be fsynced; the files were
    finally:
        os.close(fd)


def provision(boot: Path = BOOT_DIR, etc: Path = ETC_DIR, data: Path = DATA_DIR, *, user: str | None = "kiosk",
              now: Callable[[], float] = time.time) -> ProvisioningReport:
    """Validate, install and clean up; write the report into `data`.  Safe to run on every boot.

    Only the files present are replaced: new certificates alone are checked against the installed
    configuration.  A folder holding nothing the kiosk knows (a stray file) is nothing to provision.
    """
    if not boot.is_dir() or not any((boot / name).is_file() for name in KNOWN_FILES):
        report = ProvisioningReport(ok=True, at=now())
        log.info("provisioning: nothing on the boot partition (%s)", boot)
        return report
    report = validate(boot, etc, now=now())
    if report.ok:
        owner = _owner(user)
        if user is not None and owner is None:
            report.warnings.append(f"user {user!r} does not exist: files left owned by {os.geteuid()}")
        etc.mkdir(parents=True, exist_ok=True)
        os.chmod(etc, 0o750)
        if owner is not None and os.geteuid() == 0:
            os.chown(etc, 0, owner[1])  # root:kiosk 0750: the kiosk reads, only root changes
        for path in sorted(boot.iterdir()):
            if not path.is_file() or path.name not in KNOWN_FILES:
                continue
            mode = 0o600 if path.name == KEY_NAME else 0o640
            _write_atomically(path, etc / path.name, mode, owner)
            report.installed.append(path.name)
        _fsync_dir(etc)
        for name in report.installed:
            (boot / name).unlink()
            report.removed.append(name)
        _fsync_dir(boot)
        with contextlib.suppress(OSError):
            boot.rmdir()  # only when empty: unknown files stay for the technician to see
    for line in report.problems:
        log.error("provisioning: %s", line)
    for line in report.warnings:
        log.warning("provisioning: %s", line)
    log.log(logging.INFO if report.ok else logging.ERROR, "%s", report.summary())
    write_report(report, data)
    return report


def write_report(report: ProvisioningReport, data: Path) -> Path | None:
    """The maintenance screen reads it; a report that cannot be written is logged, not fatal."""
    try:
        data.mkdir(parents=True, exist_ok=True)
        path = data / REPORT_NAME
        tmp = path.with_name(path.name + ".new")
        tmp.write_text(report.to_json(), encoding="utf-8")
        os.replace(tmp, path)
        return path
    except OSError as exc:
        log.error("cannot write the provisioning report into %s: %s", data, exc)
        return None
