"""The items of `kiosk selftest`'s checklist, each with pass/fail and the fix.

Every check talks to the part the kiosk itself would use, built the way the composition root
builds it, so a pass means the kiosk will find it too.  `PartsToCheck` bundles how to open each
part (`kiosk.service.selftest` makes it: the Pi's parts, or the emulators with faults switched on).

Statuses: `pass`, `fail` (the exit code is 1), `warn` (worth knowing, does not stop the kiosk:
an old calibration), `skip` (not applicable: the uplink is off, or the configuration the check
needs is invalid).
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from kiosk.clocksync import ClockSync
from kiosk.config import KioskConfig
from kiosk.errors import ConfigError, StartupError
from kiosk.ports import Clock, FrameSource, Signal, Signals, ThermalSensor

log = logging.getLogger(__name__)

PASS, FAIL, WARN, SKIP = "pass", "fail", "warn", "skip"
THERMAL_READS = 24  # subpages (6 s at 4 Hz): more than the driver needs to call a frozen array frozen (16)
CAMERA_FRAMES = 3
MIN_FREE_BYTES = 200 * 1024 * 1024
MIN_FREE_FRACTION = 0.05
CALIBRATION_MAX_AGE_DAYS = 180


def _both(zh: str, en: str) -> str:
    """A detail or a fix as the rest of the kiosk words it for a technician: Chinese, then English."""
    return f"{zh} / {en}"


@dataclass(frozen=True, slots=True)
class CheckResult:
    key: str
    status: str
    detail: str
    fix: str = ""


@dataclass(slots=True)
class PartsToCheck:
    """How the checklist reaches each part.  Callables, so a part that cannot even be opened is a clean fail."""

    clock: Clock
    open_sensor: Callable[[], ThermalSensor]
    open_camera: Callable[[], FrameSource]
    open_signals: Callable[[], Signals]
    clock_sync: ClockSync
    disk_usage: Callable[[str], Any] = shutil.disk_usage
    signals_probe: Callable[[], dict[str, bool]] | None = None  # which outputs were seen on (mock pins)
    after_two_subpages: list[Callable[[], None]] = field(default_factory=list)  # fault injection
    broker_override: tuple[str, int] | None = None


# ------------------------------------------------------------------------------------ checks
def check_config(config: KioskConfig | None, error: ConfigError | None, not_ready: list[str] | None = None,
                 source: str = "") -> CheckResult:
    """The file valid, and (`not_ready`: `kiosk.service.readiness`'s problems) fit for `kiosk run`."""
    if error is not None:
        return CheckResult("config", FAIL, f"{error.source}: " + "; ".join(error.problems[:5]),
                           _both("修改文件，然后运行", "edit the file and run")
                           + f" `kiosk config check {error.source}`")
    assert config is not None
    if not_ready:
        return CheckResult("config", FAIL, f"{source}: " + "; ".join(not_ready[:5]),
                           _both("修改文件，然后运行", "edit the file and run") + f" `kiosk config check {source}`")
    site = f"{config.site.township}/{config.site.site_id}/{config.site.kiosk_id}"
    return CheckResult("config", PASS, _both(f"站点 {site}", f"site {site}"))


def _thermal_fix(message: str, config: KioskConfig) -> str:
    bus, addr = config.thermal.i2c_bus, config.thermal.address
    if "EEPROM" in message or "calibration" in message.lower():
        return _both("传感器的校准存储读数不对：检查上拉电阻和接线长度，否则更换传感器",
                     "the sensor's calibration memory reads wrong: check the pull-ups and the wiring length, "
                     "else replace the sensor")
    if "data-ready" in message:
        return _both("传感器有应答但不测量：断电重启传感器（拔下 3V3），检查供电",
                     "the sensor answers but never measures: power-cycle it (unplug 3V3), check the supply")
    if "frozen" in message or "all read" in message:
        return _both("传感器已停止测量：重启设备；如再次出现请更换传感器",
                     "the sensor has stopped measuring: power-cycle the kiosk; replace the sensor if it recurs")
    return _both(f"检查线缆（3V3、GND、SDA、SCL），然后 `i2cdetect -y {bus}` 应显示 {addr:02x}；"
                 "须启用 I²C（dtparam=i2c_arm=on）",
                 f"check the cable (3V3, GND, SDA, SCL), then `i2cdetect -y {bus}` must show {addr:02x}; "
                 "I²C must be enabled (dtparam=i2c_arm=on)")


def check_thermal(config: KioskConfig, hw: PartsToCheck) -> CheckResult:
    try:
        sensor = hw.open_sensor()
    except Exception as exc:  # SensorError, OSError (no /dev/i2c-N), ImportError (no smbus2)
        if isinstance(exc, StartupError):  # the configuration asks for the emulator on real hardware
            return CheckResult("thermal", FAIL, _both("配置要求的是模拟器", str(exc)),
                               _both("在配置中设 thermal.backend = \"smbus2\"",
                                     "set thermal.backend = \"smbus2\" in the configuration"))
        where = f"I²C bus {config.thermal.i2c_bus} at 0x{config.thermal.address:02X}"
        return CheckResult("thermal", FAIL, _both(f"在 I²C 总线 {config.thermal.i2c_bus} 地址 "
                                                  f"0x{config.thermal.address:02X} 上找不到传感器",
                                                  f"not found on {where}: {exc}"), _thermal_fix(str(exc), config))
    try:
        frames = []
        for _ in range(THERMAL_READS):
            hw.clock.sleep_until(sensor.next_frame_at())
            frames.append(sensor.read_frame())
            if len(frames) == 2:  # both subpages seen once
                for inject in hw.after_two_subpages:
                    inject()
    except Exception as exc:
        return CheckResult("thermal", FAIL, _both("找到了传感器，但读取失败", f"found, but reading fails: {exc}"),
                           _thermal_fix(str(exc), config))
    finally:
        try:
            sensor.close()
        except Exception:
            log.debug("closing the sensor", exc_info=True)
    last = frames[-1]
    pixels = np.asarray(last.pixels, dtype=float)
    finite = pixels[np.isfinite(pixels)]
    problems: list[tuple[str, str]] = []
    if finite.size < 0.95 * pixels.size:
        missing = pixels.size - finite.size
        problems.append((f"{pixels.size} 个像素中 {missing} 个没有数值",
                         f"{missing} of {pixels.size} pixels have no value"))
    if not -10.0 <= last.ambient_c <= 70.0:
        problems.append((f"芯片温度 {last.ambient_c:.1f} °C", f"die temperature {last.ambient_c:.1f} °C"))
    if finite.size:
        median = float(np.median(finite))
        if not 0.0 <= median <= 45.0:
            problems.append((f"画面中位温度 {median:.1f} °C（房间应为 10–35 °C）",
                             f"scene median {median:.1f} °C (a room is 10–35 °C)"))
        if float(np.ptp(finite)) == 0.0:
            problems.append(("每个像素读数都一样", "every pixel reads the same value"))
    if problems:
        return CheckResult("thermal", FAIL, _both("读数不合理：" + "；".join(z for z, _ in problems),
                                                  "implausible readings: " + "; ".join(e for _, e in problems)),
                           _both("看看传感器的视野（正前方不要有过热或过冷的东西），检查发射率和安装；如持续出现请更换传感器",
                                 "look at the sensor's view (nothing hot or cold right in front), check its emissivity "
                                 "and mounting; replace the sensor if it persists"))
    median = float(np.median(finite))
    return CheckResult("thermal", PASS, _both(f"{len(frames)} 个子页，画面中位 {median:.1f} °C，"
                                              f"芯片 {last.ambient_c:.1f} °C",
                                              f"{len(frames)} subpages, scene median {median:.1f} °C, "
                                              f"die {last.ambient_c:.1f} °C"))


def check_camera(config: KioskConfig, hw: PartsToCheck) -> CheckResult:
    fix = _both("检查排线（两端触点朝向电路板）并运行 `rpicam-hello --list-cameras`；kiosk 用户须在 video 组中",
                "check the ribbon cable (contacts toward the board at both ends) and `rpicam-hello --list-cameras`; "
                "the kiosk user must be in the video group")
    try:
        camera = hw.open_camera()
    except Exception as exc:
        if isinstance(exc, StartupError):
            return CheckResult("camera", FAIL, _both("配置要求的是模拟画面", str(exc)),
                               _both("在配置中设 camera.source = \"picamera2\"",
                                     "set camera.source = \"picamera2\" in the configuration"))
        return CheckResult("camera", FAIL, _both("无法打开摄像头", f"cannot open the camera: {exc}"), fix)
    try:
        frames = []
        for _ in range(CAMERA_FRAMES):
            hw.clock.sleep_until(camera.next_frame_at())
            frames.append(camera.read_frame())
    except Exception as exc:
        return CheckResult("camera", FAIL, _both("没有画面", f"no frames: {exc}"), fix)
    finally:
        try:
            camera.close()
        except Exception:
            log.debug("closing the camera", exc_info=True)
    y = np.asarray(frames[-1].y)
    if float(y.std()) < 1.0:
        mean = float(y.mean())
        return CheckResult("camera", FAIL, _both(f"画面一片均匀（平均 {mean:.0f}）：镜头被遮住或太暗",
                                                 f"frames are uniform (mean {mean:.0f}): lens covered or dark"),
                           _both("取下镜头盖，照亮扫码区域", "remove the lens cap, light the scan area"))
    size = f"{y.shape[1]}×{y.shape[0]}"
    return CheckResult("camera", PASS, _both(f"{len(frames)} 帧 {size}", f"{len(frames)} frames of {size}"))


def check_signals(config: KioskConfig, hw: PartsToCheck) -> CheckResult:
    sig = config.signals
    fix = _both(f"检查 BCM {sig.buzzer_pin}（蜂鸣器）、{sig.green_pin}（绿灯）、{sig.red_pin}（红灯）的接线；"
                "不能有其他程序占用这些引脚；用户须在 gpio 组中",
                f"check the wiring on BCM {sig.buzzer_pin} (buzzer), {sig.green_pin} (green), "
                f"{sig.red_pin} (red); no other program may hold these pins; the user must be in gpio")
    if config.signals.backend == "mock" and hw.signals_probe is None:
        return CheckResult("signals", FAIL, _both("signals.backend = \"mock\"：不驱动蜂鸣器和指示灯",
                                                  "signals.backend = \"mock\": the buzzer and lights are not driven"),
                           _both("在配置中设 signals.backend = \"gpio\"",
                                 "set signals.backend = \"gpio\" in the configuration"))
    try:
        signals = hw.open_signals()
    except Exception as exc:
        return CheckResult("signals", FAIL, _both("无法驱动蜂鸣器和指示灯",
                                                  f"cannot drive the buzzer and lights: {exc}"), fix)
    try:
        start = hw.clock.monotonic()
        for signal, length in ((Signal.PASS, 1.0), (Signal.STOP, 1.6)):
            t0 = hw.clock.monotonic()
            signals.show(signal, t0)
            while hw.clock.monotonic() - t0 < length:
                hw.clock.sleep(0.05)
                signals.update(hw.clock.monotonic())
        signals.show(Signal.IDLE, hw.clock.monotonic())
        signals.update(hw.clock.monotonic())
        played = hw.clock.monotonic() - start
    except Exception as exc:
        return CheckResult("signals", FAIL, _both("提示音和灯光序列失败", f"the pattern failed: {exc}"), fix)
    finally:
        try:
            signals.close()
        except Exception:
            log.debug("closing the signals", exc_info=True)
    if hw.signals_probe is not None:
        seen = hw.signals_probe()
        silent = [name for name, on in seen.items() if not on]
        if silent:
            return CheckResult("signals", FAIL, _both("从未打开：" + "、".join(silent),
                                                      "never switched on: " + ", ".join(silent)), fix)
        return CheckResult("signals", PASS, _both(f"序列已播放（{played:.1f} 秒）；蜂鸣器、绿灯和红灯都切换过",
                                                  f"pattern played ({played:.1f} s); buzzer, green and red "
                                                  "all switched"))
    return CheckResult("signals", PASS, _both(f"序列已播放（{played:.1f} 秒）：应听到绿灯时响一声，红灯时响三声",
                                              f"pattern played ({played:.1f} s): you should have heard one beep with "
                                              "green, then three with red"),
                       _both("如果没有听到，请检查接线", "if you did not, check the wiring") + ": " + fix)


def check_broker(config: KioskConfig, hw: PartsToCheck, timeout_s: float = 5.0) -> CheckResult:
    up = config.uplink
    if not up.enabled:
        return CheckResult("broker", SKIP, _both("上传已关闭（uplink.enabled = false）",
                                                 "uplink disabled (uplink.enabled = false)"))
    if not up.tls:
        return CheckResult("broker", FAIL, _both(f"到 {up.host}:{up.port} 的上传未加密：数据会以明文传输",
                                                 f"uplink to {up.host}:{up.port} without TLS: the feed would travel "
                                                 "in clear"),
                           _both("设 uplink.tls = true、端口 8883，并设置 ca_file、cert_file 和 key_file",
                                 "set uplink.tls = true, port 8883, and the ca_file, cert_file and key_file"))
    import ssl

    import paho.mqtt.client as mqtt

    host, port = hw.broker_override or (up.host, up.port)
    result: dict[str, Any] = {}
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"selftest-{config.site.kiosk_id}",
                         protocol=mqtt.MQTTv5)
    try:
        client.tls_set(ca_certs=up.ca_file or None, certfile=up.cert_file or None, keyfile=up.key_file or None,
                       cert_reqs=ssl.CERT_REQUIRED)
    except (OSError, ssl.SSLError, ValueError) as exc:
        return CheckResult("broker", FAIL, _both("配置的证书文件无法使用", f"the configured certificate files cannot "
                                                 f"be used: {exc}"),
                           _both("用相互匹配的 ca.crt、kiosk.crt 和 kiosk.key 重新运行 `kiosk provision`",
                                 "run `kiosk provision` again with ca.crt, kiosk.crt and kiosk.key that "
                                 "belong together"))
    client.on_connect = lambda _c, _u, _f, reason, _p: result.setdefault("reason", reason)
    try:
        client.connect(host, port, keepalive=10)
        deadline = time.monotonic() + timeout_s
        while "reason" not in result and time.monotonic() < deadline:
            client.loop(timeout=0.1)
    except (OSError, ssl.SSLError, ValueError) as exc:
        return CheckResult("broker", FAIL, _both(f"无法连接 {host}:{port}", f"{host}:{port}: {exc}"),
                           _both("检查网络，以及服务器名称和 CA 是否与 uplink.host 和 ca.crt 一致；"
                                 "时钟必须正确，证书才有效",
                                 "check the network and that the broker's name and CA match uplink.host and ca.crt; "
                                 "the clock must be right for certificates to be valid"))
    finally:
        client.disconnect()
    reason = result.get("reason")
    if reason is None:
        return CheckResult("broker", FAIL, _both(f"{host}:{port} 在 {timeout_s:.0f} 秒内没有应答",
                                                 f"{host}:{port}: no answer within {timeout_s:.0f} s"),
                           _both("检查防火墙（出站 TCP 8883）和服务器",
                                 "check the firewall (TCP 8883 outbound) and the broker"))
    if getattr(reason, "is_failure", False):
        return CheckResult("broker", FAIL, _both(f"{host}:{port} 拒绝了连接", f"{host}:{port} refused the connection: "
                                                 f"{reason}"),
                           _both("服务器不接受本机的证书：请街道登记本机",
                                 "the broker does not accept this kiosk's certificate: ask the township to "
                                 "register it"))
    return CheckResult("broker", PASS, _both(f"{host}:{port}，TLS，使用配置的证书",
                                             f"{host}:{port} over TLS with the configured certificate"))


def check_clock(hw: PartsToCheck) -> CheckResult:
    try:
        synced = hw.clock_sync.synchronized()
        source = hw.clock_sync.source()
    except Exception as exc:
        synced, source = False, f"error: {exc}"
    if synced:
        return CheckResult("clock", PASS, _both(f"已同步（{source}）", f"synchronised ({source})"))
    return CheckResult("clock", FAIL, _both(f"未同步（{source}）：无法判断健康码是否新鲜，"
                                            "每位出示健康码的访客都会被拦下",
                                            f"not synchronised ({source}): codes' freshness cannot be judged, "
                                            "every visitor with a code is stopped (clock_unsynced)"),
                       _both("连接网络；NTP（UDP 123）须可达；见 `timedatectl timesync-status`",
                             "connect the network; NTP (UDP 123) must be reachable; see `timedatectl timesync-status`"))


def _existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _outbox_problem(data_dir: Path) -> CheckResult | None:
    """The data folder a file, or its outbox.sqlite not one this kiosk can write (another's, newer, damaged)."""
    from kiosk.outbox.inspect import NotAnOutbox, check_usable

    if data_dir.exists() and not data_dir.is_dir():
        return CheckResult("disk", FAIL, _both(f"{data_dir}：是文件，不是文件夹", f"{data_dir}: a file, not a folder"),
                           _both("storage.data_dir 应是数据文件夹（默认 /var/lib/kiosk）",
                                 "storage.data_dir must name the data folder (default /var/lib/kiosk)"))
    path = data_dir / "outbox.sqlite"
    try:
        check_usable(path)
    except NotAnOutbox as exc:
        return CheckResult("disk", FAIL, f"{path}: {exc.text()}",
                           _both("把这个文件移走（本机会新建发件箱），交给乡镇处理",
                                 "move the file aside (the kiosk starts a new outbox) and hand it to the township"))
    return None


def check_disk(config: KioskConfig, hw: PartsToCheck) -> CheckResult:
    problem = _outbox_problem(Path(config.storage.data_dir))
    if problem is not None:
        return problem
    where = _existing(Path(config.storage.data_dir))
    try:
        usage = hw.disk_usage(str(where))
    except OSError as exc:
        return CheckResult("disk", FAIL, _both(f"{where}：无法读取", f"{where}: {exc}"),
                           _both("检查数据分区是否已挂载", "check the data partition is mounted"))
    free_mb = usage.free / 1024 / 1024
    fraction = usage.free / usage.total if usage.total else 0.0
    detail = _both(f"{where}：剩余 {free_mb:.0f} MB（{fraction:.0%}）",
                   f"{where}: {free_mb:.0f} MB free ({fraction:.0%})")
    if usage.free < MIN_FREE_BYTES or fraction < MIN_FREE_FRACTION:
        return CheckResult("disk", FAIL, detail,
                           _both("清理数据分区：`journalctl --vacuum-size=32M`；如果发件箱很大，请恢复上传让它清空",
                                 "free space on the data partition: `journalctl --vacuum-size=32M`; if the outbox is "
                                 "large, bring the uplink back so it drains"))
    return CheckResult("disk", PASS, detail)


def check_calibration(config: KioskConfig, now: float) -> CheckResult:
    at = config.thermal.calibrated_at
    if at is None:
        return CheckResult("calibration", WARN, _both("从未校准", "never calibrated"),
                           _both("在传感器前放置参考源（黑体），运行 `kiosk calibrate`",
                                 "run `kiosk calibrate` with a reference (blackbody) in front of the sensor"))
    when = at if at.tzinfo else at.replace(tzinfo=UTC)
    days = (datetime.fromtimestamp(now, UTC) - when).total_seconds() / 86400
    if days > CALIBRATION_MAX_AGE_DAYS:
        return CheckResult("calibration", WARN, _both(f"{days:.0f} 天前校准", f"calibrated {days:.0f} days ago"),
                           _both(f"请重新校准（`kiosk calibrate`）：已超过 {CALIBRATION_MAX_AGE_DAYS} 天",
                                 f"recalibrate (`kiosk calibrate`): older than {CALIBRATION_MAX_AGE_DAYS} days"))
    offset = config.thermal.calibration_offset_c
    return CheckResult("calibration", PASS, _both(f"{max(days, 0):.0f} 天前校准，偏差 {offset:+.2f} °C",
                                                  f"calibrated {max(days, 0):.0f} days ago, offset {offset:+.2f} °C"))
