"""Would `kiosk run` start with this configuration, and run right?  The checks beyond the file's schema.

`kiosk.config` validates the file itself (keys, types, bounds).  A file can pass that and still
be one the kiosk refuses at start or runs wrongly: no `[site]` (it would publish as the demo
site), no trust list (no code could ever be valid), a trust list that is missing, unreadable or
names no issuer, the emulated sensor or camera, an uplink without TLS toward a broker on the
network (entries and alerts in clear), certificate files that do not parse or do not belong
together.  These checks are made in the same words (`kiosk.config_problems.Problem`) by
`kiosk config check`, `kiosk run` before it opens anything, `kiosk selftest`, first-boot
provisioning (with the files on the boot partition) and the maintenance screen.

`locate` says where a file the configuration names is found: the path itself, or for a path in
/etc/kiosk the file beside the configuration being checked (a technician checks `kiosk.toml` on
a laptop with `trust-list.json` beside it; provisioning looks on the boot partition).
"""

from __future__ import annotations

import ipaddress
import os
import re
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from kiosk.config import KioskConfig, load_config
from kiosk.config_problems import Problem, errno_words, key_line
from kiosk.errors import ConfigError

ETC_DIR = Path("/etc/kiosk")  # where provisioning installs what the configuration names
WORKING_DIR = Path("/var/lib/kiosk")  # kiosk.service's WorkingDirectory: where a relative path would point
# kiosk.service runs with ProtectHome=yes and PrivateTmp=yes: files under these are not there for it
HIDDEN_FROM_THE_SERVICE = (Path("/home"), Path("/root"), Path("/run/user"), Path("/tmp"), Path("/var/tmp"))
Locate = Callable[[str], Path | None]
NOT_FOUND = ("找不到这个文件", "file not found")
NOT_READABLE = ("没有读取权限（设备用户 kiosk 必须能读取它）",
                "permission denied (the kiosk user must be able to read it)")
A_DIRECTORY = ("这是一个文件夹，不是文件", "a directory, not a file")


def file_problem(path: Path) -> tuple[str, str] | None:
    """Why `path` is not a file this process can read (zh, en), or None.  Never raises: a directory
    this user may not enter (PermissionError from `is_file` since Python 3.11) is a reason too."""
    try:
        st = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return NOT_FOUND
    except PermissionError:
        return NOT_READABLE
    except (OSError, ValueError) as exc:
        zh, en = errno_words(exc) if isinstance(exc, OSError) else ("路径无效", str(exc))
        return f"无法读取（{zh}）", f"cannot read: {en}"
    if stat.S_ISDIR(st.st_mode):
        return A_DIRECTORY
    if not stat.S_ISREG(st.st_mode):
        return "不是普通文件", "not a regular file"
    if not os.access(path, os.R_OK):
        return NOT_READABLE
    return None


def _is_file(path: Path) -> bool:
    return file_problem(path) is None


@dataclass(slots=True)
class Verdict:
    """A configuration file judged: the config (None if the file itself is invalid), problems, warnings."""

    source: str
    config: KioskConfig | None
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.config is not None and not self.problems


def beside(config_path: str | Path) -> Locate:
    """`locate` for a configuration at `config_path`: a named file where it says, else (for a file
    in /etc/kiosk) beside the configuration."""
    here = Path(config_path).parent

    def locate(named: str) -> Path | None:
        path = Path(named)
        if path.parent == ETC_DIR and file_problem(path) == NOT_FOUND and _is_file(here / path.name):
            return here / path.name
        return path

    return locate


def judge_file(path: str | Path, *, simulated: bool = False, locate: Locate | None = None) -> Verdict:
    """The file validated, then (unless `simulated`: the demo and `kiosk simulate` need none of it)
    checked for what `kiosk run` needs."""
    from kiosk.config import ConfigProblems, read_config_text

    try:
        config = load_config(path)
    except ConfigProblems as exc:
        return Verdict(str(path), None, list(exc.items))
    except ConfigError as exc:  # pragma: no cover - load_config raises ConfigProblems
        return Verdict(str(path), None, [Problem("配置文件有误", p) for p in exc.problems])
    verdict = Verdict(str(path), config)
    if not simulated:
        text = read_config_text(path)
        check_ready(config, verdict, file=Path(path).name, locate=locate or beside(path), text=text)
    return verdict


# ------------------------------------------------------------------------------------ the checks
def check_ready(config: KioskConfig, verdict: Verdict, *, file: str, locate: Locate, text: str = "",
                missing: tuple[str, str] = NOT_FOUND, now: float | None = None) -> dict[str, Path]:
    """Add what keeps `config` from running right to `verdict`; returns the named files found (key → path)."""
    now = time.time() if now is None else now

    def problem(key: str, zh: str, en: str, *, warning: bool = False, shown: str = "") -> None:
        found = Problem(zh, en, key=key, line=key_line(text, key) if text and key else None, file=file,
                        shown=shown, warning=warning)
        (verdict.warnings if warning else verdict.problems).append(found)

    if "site" not in config.model_fields_set:
        problem("site", "没有 [site] 节：本机会以演示站点 demo-township/demo-site 的名义上报",
                "no [site] section: the kiosk would publish as the demo site demo-township/demo-site")
    elif config.site.township == "demo-township" or config.site.site_id == "demo-site":
        problem("site.township" if config.site.township == "demo-township" else "site.site_id",
                "仍是示例的演示站点：请填写本站点的街道、站点和设备编号",
                "still the example's demo site: set this site's township, site_id and kiosk_id")
    if config.thermal.backend == "emulated":
        problem("thermal.backend", "emulated 是模拟器：在树莓派上请用 \"smbus2\"（演示请用 kiosk run --simulated）",
                "\"emulated\" is the emulator: on a Pi use \"smbus2\" (for a demo: kiosk run --simulated)",
                shown=" = 'emulated'")
    if config.camera.source == "emulated":
        problem("camera.source", "emulated 是模拟画面：在树莓派上请用 \"picamera2\"",
                "\"emulated\" is the simulated scene: on a Pi use \"picamera2\"", shown=" = 'emulated'")
    elif config.camera.source == "folder" and file_problem(Path(config.camera.folder)) != A_DIRECTORY:
        problem("camera.folder", "找不到这个文件夹（或没有权限）", "no such folder (or no permission)",
                shown=f" = {config.camera.folder!r}")
    elif config.camera.source == "video" and (why := file_problem(Path(config.camera.video_file))) is not None:
        problem("camera.video_file", *why, shown=f" = {config.camera.video_file!r}")
    if config.signals.backend == "mock":
        problem("signals.backend", "mock 不驱动蜂鸣器和指示灯；在树莓派上请用 \"gpio\"",
                "\"mock\" drives no buzzer and no lights: on a Pi use \"gpio\"", warning=True, shown=" = 'mock'")

    _check_places(config, problem, now)
    found: dict[str, Path] = {}
    named = named_files(config)
    if not config.health_pass.trust_list:
        problem("health_pass.trust_list", "未设置信任列表：任何健康码都不会有效",
                "not set: no health code could ever be valid")
    up = config.uplink
    if up.enabled and not up.tls and up.host.strip() and "://" not in up.host and not is_loopback(up.host):
        problem("uplink.tls", f"未加密连接 {up.host}：通行记录和警报会以明文传输；请设 tls = true、port = 8883",
                f"no TLS toward {up.host}: entries and alerts would travel in clear; set tls = true, port = 8883",
                shown=" = false")
    if up.enabled and up.tls:
        for key in ("uplink.ca_file", "uplink.cert_file", "uplink.key_file"):
            if key not in named:
                problem(key, "使用 TLS 时必须设置", "must be set when the uplink uses TLS")
    for key, value in named.items():
        shown = f" = {value!r}"
        # C:\kiosk\trust-list.json: a path on the technician's laptop, not on the Pi
        if re.match(r"^[A-Za-z]:", value) or ("\\" in value and "/" not in value):
            name = re.split(r"[\\/]", value)[-1] or "trust-list.json"
            problem(key, f"这是 Windows 路径：设备的文件在 {ETC_DIR}，请把文件复制过去并写 \"{ETC_DIR / name}\"",
                    f"a Windows path: the kiosk's files are in {ETC_DIR}; copy the file there and write "
                    f"\"{ETC_DIR / name}\"", shown=shown)
            continue
        if not Path(value).is_absolute():
            problem(key, f"必须是完整路径，例如 \"{ETC_DIR / Path(value).name}\"："
                         f"设备在 {WORKING_DIR} 中运行，相对路径在那里找不到",
                    f"must be a full path, e.g. \"{ETC_DIR / Path(value).name}\": the kiosk runs in {WORKING_DIR}, "
                    "where a relative path is not found", shown=shown)
            continue
        hidden = next((d for d in HIDDEN_FROM_THE_SERVICE if Path(value).is_relative_to(d)), None)
        if hidden is not None:
            problem(key, f"kiosk.service 看不到 {hidden} 下的文件（ProtectHome/PrivateTmp）：请放在 {ETC_DIR}",
                    f"kiosk.service cannot see files under {hidden} (ProtectHome/PrivateTmp): put it in {ETC_DIR}",
                    warning=True, shown=shown)
        path = locate(value)
        why = NOT_FOUND if path is None else file_problem(path)
        if why is not None:
            problem(key, *(missing if why == NOT_FOUND else why), shown=shown)
        else:
            found[key] = path  # type: ignore[assignment]

    legibility_warning(config, problem)
    if "health_pass.trust_list" in found:
        trust_list_problem(found["health_pass.trust_list"], verdict)
    if "uplink.ca_file" in found:
        check_certificate(found["uplink.ca_file"], verdict, now, key="uplink.ca_file", text=text, config_file=file)
    cert = check_certificate(found["uplink.cert_file"], verdict, now, key="uplink.cert_file", text=text,
                             config_file=file) \
        if "uplink.cert_file" in found else None
    if "uplink.key_file" in found:
        check_key_pair(found["uplink.key_file"], cert, verdict)
    return found


def _check_places(config: KioskConfig, problem: Callable[..., None], now: float) -> None:
    """What `config check` used to pass and `kiosk run` then failed on: the data folder, the broker's host,
    the voice folder, a calibration date in the future."""
    data_dir = config.storage.data_dir
    if not data_dir.strip():
        problem("storage.data_dir", "不能为空：发件箱和状态保存在这里（默认 /var/lib/kiosk）",
                "must not be empty: the outbox and the state live there (default /var/lib/kiosk)", shown=" = ''")
    elif Path(data_dir).exists() and not Path(data_dir).is_dir():
        problem("storage.data_dir", "是文件，不是文件夹：请写数据文件夹（默认 /var/lib/kiosk）",
                "a file, not a folder: name the data folder (default /var/lib/kiosk)", shown=f" = {data_dir!r}")
    up = config.uplink
    host = up.host.strip()
    if not host:
        problem("uplink.host", "不能为空：请写乡镇 MQTT 服务器的主机名或 IP 地址",
                "must not be empty: the township's MQTT broker's host name or IP address", shown=" = ''",
                warning=not up.enabled)
    elif "://" in host:
        parts = urlsplit(host)
        try:
            port = parts.port
        except ValueError:
            port = None
        given = parts.hostname or "?"
        more_zh = f"，port = {port}" if port else ""
        problem("uplink.host", f"这是网址，不是主机名：请写 host = \"{given}\"{more_zh}（TLS 用 tls = true）",
                f"a URL, not a host name: write host = \"{given}\"" + (f" and port = {port}" if port else "")
                + " (and tls = true for TLS)", shown=f" = {up.host!r}", warning=not up.enabled)
    elif host != up.host or " " in host:
        problem("uplink.host", "主机名中不能有空格", "a host name has no spaces", shown=f" = {up.host!r}",
                warning=not up.enabled)
    d = config.display
    if d.voice and d.voice_dir and not Path(d.voice_dir).is_dir():
        problem("display.voice_dir", "找不到这个文件夹：请用 scripts/build-voice 生成语音文件，或留空（自动生成）",
                "no such folder: make the prompts into it with scripts/build-voice, or leave it empty (made on "
                "first start)", shown=f" = {d.voice_dir!r}")
    at = config.thermal.calibrated_at
    if at is not None:
        when = (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()
        if when > now + 86_400:
            problem("thermal.calibrated_at", "在将来：日期写错了（或本机时钟不对）；请重新校准（kiosk calibrate）",
                    "in the future: the date is wrong (or this machine's clock); calibrate again (kiosk calibrate)",
                    shown=f" = {at.isoformat()}")


def named_files(config: KioskConfig) -> dict[str, str]:
    """The files `kiosk run` reads that the configuration names (key → path as written), when set and used."""
    named = {"health_pass.trust_list": config.health_pass.trust_list}
    up = config.uplink
    if up.enabled and up.tls:
        named |= {"uplink.ca_file": up.ca_file, "uplink.cert_file": up.cert_file, "uplink.key_file": up.key_file}
    return {key: value for key, value in named.items() if value}


def legibility_warning(config: KioskConfig, problem: Callable[..., None]) -> None:
    """A warning when some screen cannot keep the legibility rule on the configured panel (`ui.panel`:
    rendered at its size, for its short side in mm).  The kiosk still runs: smaller text beats none."""
    d = config.display
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")  # stdout is the command's answer, not pygame's
    try:
        from ui.fonts import FontNotFoundError
        from ui.panel import shortfalls
    except ImportError:  # pragma: no cover - pygame is a dependency
        return
    try:
        found = shortfalls((d.width, d.height), d.short_side_mm, place_code=bool(d.place_code.strip()))
    except FontNotFoundError:
        problem("display.short_side_mm", "这台机器上没有中文字体，无法检查屏幕文字是否清晰可读",
                "no CJK font on this machine: the screens' legibility cannot be checked here", warning=True)
        return
    if not found:
        return
    shown = found[:4]
    zh = "；".join(f"{f.screen}（{f.key} 只有 {f.mm:g} mm，需 {f.need_mm:g} mm）" for f in shown)
    en = "; ".join(f"{f.screen} ({f.key} {f.mm:g} mm, needs {f.need_mm:g} mm)" for f in shown)
    more_zh, more_en = (f"；另有 {len(found) - 4} 个", f"; {len(found) - 4} more") if len(found) > 4 else ("", "")
    size = f"{d.width}×{d.height}"
    problem("display.short_side_mm",
            f"在 {size}、短边 {d.short_side_mm:g} mm 的屏幕上，{len(found)} 个画面的文字小于可读的下限"
            f"（1 米外；近看的小字 0.5 米）：{zh}{more_zh}。请核对 display.short_side_mm，或换更大的屏幕",
            f"on a {size} panel with a {d.short_side_mm:g} mm short side, {len(found)} screen(s) have words smaller "
            f"than legible (from 1 m; the small print from 0.5 m): {en}{more_en}. Check display.short_side_mm, "
            "or use a larger panel",
            warning=True, shown=f" = {d.short_side_mm:g}")


def is_loopback(host: str) -> bool:
    """A broker on this machine (the feed never leaves it): localhost, 127.0.0.0/8, ::1."""
    if host.lower() in ("localhost", "localhost.localdomain", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _short(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__


def trust_list_problem(path: Path, verdict: Verdict) -> None:
    """The trust list must load and name at least one issuer."""
    from kiosk.healthpass import TrustList

    try:
        trust = TrustList.from_file(path)
    except UnicodeDecodeError:
        verdict.problems.append(Problem("不是 UTF-8 编码的信任列表，请另存为 UTF-8",
                                        "not a UTF-8 trust list: save it as UTF-8", file=path.name))
        return
    except Exception as exc:  # TrustListError, OSError, a malformed entry: all the technician's to fix
        why = _short(exc).replace(f"{path}: ", "")
        verdict.problems.append(Problem(f"不是可用的信任列表（{why}）", f"not a usable trust list ({why})",
                                        file=path.name))
        return
    if len(trust) == 0:
        verdict.problems.append(Problem("信任列表里没有任何签发方：任何健康码都不会有效",
                                        "the trust list names no issuer: no health code could ever be valid",
                                        file=path.name))


def check_certificate(path: Path, verdict: Verdict, now: float, *, key: str = "", text: str = "",
                      config_file: str = "") -> object | None:
    """Parse a PEM certificate (or bundle); expiry is a warning (the clock may not be set yet).
    `key` (and the configuration's `text` and name, for its line): the setting that names the file."""
    from cryptography import x509

    where: dict[str, Any] = {"file": path.name}
    if key:
        where = {"key": key, "line": key_line(text, key) if text else None, "shown": f" = '{path}'",
                 "file": config_file}
    try:
        data = path.read_bytes()
    except OSError as exc:
        zh, en = errno_words(exc)
        verdict.problems.append(Problem(f"无法读取证书（{zh}）", f"cannot read the certificate: {en}",
                                        **where))
        return None
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError:
        certs = []
    if not certs:  # cryptography's own words end in a FAQ URL: ours say what the file is not
        what_zh, what_en = (("证书内容已损坏", "the certificate in it is damaged")
                            if b"-----BEGIN CERTIFICATE-----" in data else
                            ("没有 -----BEGIN CERTIFICATE----- 段", "no -----BEGIN CERTIFICATE----- block in it"))
        named = f"{path.name}: " if key else ""  # the file by its name, after the key that names it
        verdict.problems.append(Problem(f"{named}不是 PEM 证书：{what_zh}", f"{named}not a PEM certificate: {what_en}",
                                        **where))
        return None
    for cert in certs:
        not_after = cert.not_valid_after_utc.timestamp()
        if not_after < now:
            day = time.strftime("%Y-%m-%d", time.gmtime(not_after))
            verdict.warnings.append(Problem(f"证书已于 {day} 过期（或本机时钟尚未校准）",
                                            f"certificate expired {day} (or this clock is not set yet)",
                                            file=path.name, warning=True))
    return certs[0]


def check_key_pair(key_path: Path, cert: object | None, verdict: Verdict) -> None:
    from cryptography.hazmat.primitives import serialization

    try:
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except TypeError:
        verdict.problems.append(Problem("私钥有密码保护；设备需要不带密码的私钥",
                                        "the key is encrypted; the kiosk needs it without a passphrase",
                                        file=key_path.name))
        return
    except (OSError, ValueError) as exc:
        verdict.problems.append(Problem(f"不是 PEM 私钥（{_short(exc)}）", f"not a PEM private key ({_short(exc)})",
                                        file=key_path.name))
        return
    if cert is None:
        return
    fmt = serialization.PublicFormat.SubjectPublicKeyInfo
    mine = key.public_key().public_bytes(serialization.Encoding.DER, fmt)
    theirs = cert.public_key().public_bytes(serialization.Encoding.DER, fmt)  # type: ignore[attr-defined]
    if mine != theirs:
        verdict.problems.append(Problem("私钥与证书不匹配（公钥不同）", "does not belong to the certificate "
                                        "(the public keys differ)", file=key_path.name))
