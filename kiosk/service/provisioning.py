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

Everything is validated before anything moves, with the checks `kiosk config check` makes
(`kiosk.service.readiness`): the configuration with line-numbered problems, every file it names
present (on the card, or already installed), the certificates parse, the key matches the
certificate, the trust list loads and names an issuer, TLS toward a broker on the network.  A FAT
partition written on a laptop is no place for a private key, so once valid, the files are written
into the configuration directory, synced, and deleted from the boot partition:

* the key 0600, owned by the kiosk user (it must read it, nobody else may);
* everything else root:root 0644: the kiosk reads its configuration and trust list but never
  writes them, so a compromised kiosk process cannot loosen its own rules (`kiosk calibrate`
  runs as root and keeps owner and mode when it edits the file).

Invalid files are left where they are, and the report — which the maintenance screen, running as
the kiosk user, shows — says what to fix; it is written 0644 (names and problems only, nothing
secret) and owned by the kiosk user.  Contents are never logged: only names and problems.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import errno
import json
import logging
import os
import pwd
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from kiosk.config import KioskConfig
from kiosk.config_problems import Problem, config_key_problem, key_line, key_problem_words, words_for
from kiosk.service.readiness import (
    ETC_DIR,
    Verdict,
    check_certificate,
    check_key_pair,
    check_ready,
    file_problem,
    named_files,
)

log = logging.getLogger(__name__)

BOOT_DIR = Path("/boot/firmware/kiosk")
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
ON_NEITHER = ("既不在启动分区上，也没有安装过", "neither on the boot partition nor installed")


def check_township_key(path: Path, configured: str, verdict: Verdict) -> None:
    text = path.read_text(encoding="ascii", errors="replace").strip()
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        verdict.problems.append(Problem("应为 32 字节 Ed25519 公钥的 base64",
                                        "expected the base64 of a 32-byte Ed25519 public key", file=path.name))
    elif (weak := config_key_problem(raw)) is not None:
        verdict.problems.append(Problem(*words_for({"type": "weak_config_key", "ctx": key_problem_words(weak)}),
                                        file=path.name))
    elif configured and configured != text:
        verdict.problems.append(Problem("与 kiosk.toml 中的 uplink.config_public_key 不同",
                                        "differs from uplink.config_public_key in kiosk.toml", file=path.name))


def _locate(configured: str, boot: Path, etc: Path) -> Path | None:
    """Where a file the configuration names comes from: the boot partition, else already installed."""
    name = Path(configured).name
    if file_problem(boot / name) is None:
        return boot / name
    target = Path(configured)
    if Path(configured).parent == ETC_DIR:
        target = etc / name  # the --etc directory stands in for /etc/kiosk
    return target if file_problem(target) is None else None


def check_install_paths(config: KioskConfig, boot: Path, verdict: Verdict, text: str) -> None:
    """A file on the card is installed as /etc/kiosk/NAME: the configuration must name it so.

    Provisioning finds a named file on the card by its name alone; a configuration naming it
    elsewhere (/home/pi/trust-list.json) would pass here and then not be found by `kiosk run`.
    """
    for key, value in named_files(config).items():
        path = Path(value)
        installed = ETC_DIR / path.name
        if path.is_absolute() and path != installed and file_problem(boot / path.name) is None:
            verdict.problems.append(Problem(
                f"启动分区上的 {path.name} 会安装为 {installed}，但配置写的是 {value}：请改为 \"{installed}\"",
                f"{path.name} on the boot partition is installed as {installed}, but the configuration names "
                f"{value}: set it to \"{installed}\"", key=key, line=key_line(text, key), file=CONFIG_NAME))


def validate(boot: Path, etc: Path, *, now: float) -> ProvisioningReport:
    """Check everything on the boot partition; install nothing."""
    from kiosk.config import ConfigProblems, load_config, read_config_text

    report = ProvisioningReport(ok=False, at=now)
    present = sorted(p.name for p in boot.iterdir() if p.is_file())
    unknown = [n for n in present if n not in KNOWN_FILES]
    if unknown:
        report.warnings.append(Problem("已忽略（未知的文件名）：" + ", ".join(unknown),
                                       "ignored (unknown name): " + ", ".join(unknown), warning=True).text())
    config_path = boot / CONFIG_NAME
    if CONFIG_NAME not in present:  # new certificates for the installed configuration
        config_path = etc / CONFIG_NAME
        if not config_path.is_file():
            report.problems.append(Problem("启动分区的 kiosk 文件夹里没有 kiosk.toml",
                                           "kiosk.toml is missing from the boot partition's kiosk folder").text())
            return report
    try:
        config = load_config(config_path)
    except ConfigProblems as exc:
        report.problems.extend(p.text() for p in exc.items)
        return report
    verdict = Verdict(str(config_path), config)
    text = read_config_text(config_path)
    found = check_ready(config, verdict, file=CONFIG_NAME, locate=lambda value: _locate(value, boot, etc),
                        text=text, missing=ON_NEITHER, now=now)
    check_install_paths(config, boot, verdict, text)
    # Files on the card that the configuration does not name are still checked if known.
    if file_problem(boot / "kiosk.crt") is None and "uplink.cert_file" not in found:
        cert = check_certificate(boot / "kiosk.crt", verdict, now)
        if file_problem(boot / KEY_NAME) is None:
            check_key_pair(boot / KEY_NAME, cert, verdict)
    if file_problem(boot / "ca.crt") is None and "uplink.ca_file" not in found:
        check_certificate(boot / "ca.crt", verdict, now)
    if file_problem(boot / "township.pub") is None:
        check_township_key(boot / "township.pub", config.uplink.config_public_key, verdict)
    report.problems.extend(p.text() for p in verdict.problems)
    report.warnings.extend(p.text() for p in verdict.warnings)
    report.ok = not report.problems
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


def _write_file(tmp: Path, data: bytes, mode: int, owner: tuple[int, int] | None) -> None:
    """`data` into a new `tmp`, all of it (a write may write less than asked: a nearly full disk), with
    `mode` and `owner`, synced and its size checked; on any failure `tmp` is removed and the error raised."""
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, mode)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fchmod(fd, mode)  # the umask must not loosen or tighten it
            if owner is not None:
                os.fchown(fd, *owner)
            os.fsync(fd)
            if os.fstat(fd).st_size != len(data):
                raise OSError(errno.EIO, f"{os.fstat(fd).st_size} of {len(data)} bytes on disk", str(tmp))
        finally:
            os.close(fd)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


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
    try:
        report = validate(boot, etc, now=now())
    except OSError as exc:  # an unreadable card (a FAT error): say so, as every other problem
        report = ProvisioningReport(ok=False, at=now(), problems=[Problem(
            f"无法读取启动分区上的文件（{exc.strerror or exc}）",
            f"cannot read the files on the boot partition: {exc.strerror or exc}").text()])
    if report.ok:
        try:
            _install(boot, etc, report, user)
        except OSError as exc:  # a full or read-only partition: say so, keep the files on the card
            report.ok = False
            report.problems.append(Problem(f"无法安装到 {etc}（{exc.strerror or exc}）",
                                           f"cannot install into {etc}: {exc.strerror or exc}").text())
    for line in report.problems:
        log.error("provisioning: %s", line)
    for line in report.warnings:
        log.warning("provisioning: %s", line)
    log.log(logging.INFO if report.ok else logging.ERROR, "%s", report.summary())
    write_report(report, data, owner=_owner(user) if os.geteuid() == 0 else None)
    return report


def _install(boot: Path, etc: Path, report: ProvisioningReport, user: str | None) -> None:
    """Write the files into `etc` (the key the kiosk's, the rest root's), then remove them from `boot`."""
    owner = _owner(user)
    if user is not None and owner is None:
        report.warnings.append(f"user {user!r} does not exist: files left owned by {os.geteuid()}")
    etc.mkdir(parents=True, exist_ok=True)
    os.chmod(etc, 0o750)
    root = (0, 0) if os.geteuid() == 0 and user is not None else None
    if owner is not None and root is not None:
        os.chown(etc, 0, owner[1])  # root:kiosk 0750: the kiosk reads, only root changes
    # Every file written (in full, synced) beside its place first; only then all renamed into place:
    # a disk that fills up half-way leaves the installed files as they were, not a mix of old and new.
    written: list[tuple[Path, Path]] = []
    try:
        for path in sorted(boot.iterdir()):
            if not path.is_file() or path.name not in KNOWN_FILES:
                continue
            tmp = etc / f".{path.name}.new"
            _write_file(tmp, path.read_bytes(), *((0o600, owner) if path.name == KEY_NAME else (0o644, root)))
            written.append((tmp, etc / path.name))
    except BaseException:
        for tmp, _ in written:
            with contextlib.suppress(OSError):
                tmp.unlink()
        raise
    for tmp, target in written:
        os.replace(tmp, target)
        report.installed.append(target.name)
    _fsync_dir(etc)
    for name in report.installed:
        (boot / name).unlink()
        report.removed.append(name)
    _fsync_dir(boot)
    with contextlib.suppress(OSError):
        boot.rmdir()  # only when empty: unknown files stay for the technician to see


def write_report(report: ProvisioningReport, data: Path, *, owner: tuple[int, int] | None = None) -> Path | None:
    """The maintenance screen (the kiosk user) reads it: 0644 whatever the umask, owned by `owner` when given.

    A report that cannot be written is logged, not fatal.
    """
    try:
        if not data.is_dir():
            data.mkdir(parents=True, mode=0o750)
            os.chmod(data, 0o750)  # not narrowed by the umask
            if owner is not None:
                os.chown(data, *owner)
        path = data / REPORT_NAME
        tmp = path.with_name(path.name + ".new")
        # 0644 whatever UMask=0077 in the unit says: the kiosk user must read it
        _write_file(tmp, report.to_json().encode("utf-8"), 0o644, owner)
        os.replace(tmp, path)
        return path
    except OSError as exc:
        log.error("cannot write the provisioning report into %s: %s", data, exc)
        return None
