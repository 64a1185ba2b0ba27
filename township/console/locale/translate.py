"""Fill django.po's zh_Hans msgstr from ZH below, then `msgfmt` it (run after `makemessages -l zh_Hans`).

    cd township/console && django-admin makemessages -l zh_Hans --no-obsolete && python locale/translate.py
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

PO = Path(__file__).parent / "zh_Hans" / "LC_MESSAGES" / "django.po"
ZH = {
    "fever": "发热", "red code": "红码", "yellow code": "黄码", "invalid code": "无效码", "replayed code": "重复使用码",
    "no code": "未出示码", "trip *": "行程带星", "risk-area trip": "中高风险地区行程", "no NAT result": "无核酸结果",
    "NAT too old": "核酸过期", "sensor fault": "传感器故障", "clock unsynchronised": "时钟未同步",
    "on time": "按时上报", "late": "迟报", "not reported": "未上报", "due later": "待上报",
    "code": "编号", "name": "名称", "county": "县", "counties": "县", "township id (MQTT)": "乡镇编号(MQTT)",
    "township": "乡镇", "townships": "乡镇", "site id (MQTT)": "场所编号(MQTT)", "address": "地址",
    "responsible person": "负责人", "phone": "电话", "daily report deadline": "每日上报截止时间",
    "The previous day's report is due by this local time.": "前一天的日报须在此时间(当地时间)前上报。",
    "site": "场所", "sites": "场所", "kiosk id (MQTT)": "设备编号(MQTT)", "note": "备注", "kiosk": "设备",
    "kiosks": "设备", "user scope": "用户范围", "user scopes": "用户范围",
    "re-measured normal": "复测正常", "sent to the fever clinic": "已送发热门诊", "left the site": "已离开",
    "false alarm": "误报", "other": "其他", "disposition": "处置", "clinical reading (°C)": "临床复测体温(°C)",
    "Site": "场所", "Kiosk": "设备", "Answer": "回执", "Time": "时间", "applied": "已生效", "refused": "已拒绝",
    "waiting": "等待回执", "Open": "未结案", "Reasons": "原因", "Name": "姓名", "State": "状态",
    "Close with a disposition": "处置结案", "unacknowledged": "未确认", "acknowledged": "已确认",
    "No open alerts.": "没有未结案的告警。", "Closed": "已结案", "Disposition": "处置", "Clinical °C": "复测 °C",
    "Closed by": "结案人", "Note": "备注", "disposition…": "选择处置…", "clinical °C": "复测 °C", "Close": "结案",
    "Link": "连接", "Last health": "最近自检", "Sensor": "测温", "Camera": "摄像头", "Clock": "时钟",
    "Drift °C": "漂移 °C", "Backlog": "积压", "Policy": "策略", "Last configuration": "最近配置",
    "Bias °C (trend/week)": "偏差 °C(每周趋势)", "online": "在线", "offline": "离线", "stale": "过时",
    "fault": "故障", "unsynchronised": "未同步", "dropped": "已丢弃", "calibrate": "需校准",
    "never heard from": "从未上线", "New alert": "新告警", "Acknowledge": "确认", "Acknowledge all": "全部确认",
    "an operator must acknowledge": "须由值班员确认", "visitors": "访客", "stopped": "拦截", "alerts": "告警",
    "open alerts": "未结案告警", "Responsible": "负责人", "Phone": "电话", "Deadline": "截止时间",
    "Report": "日报", "Kiosks reported": "已报设备", "Visitors": "访客", "Stopped": "拦截", "Alerts": "告警",
    "missing": "缺报", "not screened": "未筛查", "zero report": "零报告", "service time unknown": "在岗时长未知",
    "No sites registered for you yet (Admin → Sites).": "尚未登记场所(管理 → 场所)。", "Open alerts": "未结案告警",
    "none": "无", "Township checkpoints": "乡镇入口筛查", "Today": "今日", "Kiosks": "设备", "Reports": "报表",
    "Search": "查询", "Admin": "管理", "live updates": "实时更新", "enable sound": "开启声音", "Log out": "退出",
    "Log in": "登录", "Wrong user name or password.": "用户名或密码错误。", "User name": "用户名", "Password": "密码",
    "In force": "现行", "pushed": "下发于", "by": "下发人",
    "Nothing pushed from this console yet: the kiosks' own defaults are shown.":
        "本控制台尚未下发策略:显示设备默认值。",
    "Changes against what is in force": "与现行策略的差异", "Setting": "设置项", "Now": "现行", "New": "新",
    "no change": "无变化", "Sign and push": "签名并下发", "Show the changes": "查看差异",
    "Only an administrator may push a policy.": "只有管理员可以下发策略。", "Acknowledgements": "设备回执",
    "day": "日", "week": "周", "month": "月", "Show": "显示", "Township": "乡镇",
    "Reported (kiosk-days)": "已报(设备·天)", "Not reported": "未上报", "Not screened": "未筛查", "Passed": "通过",
    "Fever": "发热", "subtotal": "小计", "total": "合计", "all sites": "全部场所", "alerts only": "仅告警",
    "entries": "条记录", "first": "前", "Decision": "结果", "Subject id": "主体编号", "unseal": "解封",
    "sealed": "已加密", "reports of %(day)s": "%(day)s 的日报",
    "Give the clinical reading that was normal.": "请填写复测正常的临床体温。", "policy version": "策略版本",
    "mode": "模式", "risk areas": "核验中高风险地区", "no risk areas": "不核验地区", "risk areas (6-digit codes)":
    "中高风险地区(6位区划代码)", "fever threshold (°C)": "发热阈值(°C)",
    "re-measure before a fever STOP": "发热拦截前复测",
    "code age (s)": "健康码时效(秒)", "nucleic-acid window (h), empty: off": "核酸时效(小时),留空:不查",
    "trust list (JSON), empty: keep": "信任列表(JSON),留空:保持不变",
    "Not a 6-digit division code: %(codes)s": "不是6位区划代码:%(codes)s", "Not JSON: %(error)s": "不是JSON:%(error)s",
    "A JSON object, please.": "请输入一个JSON对象。",
    "Only the privacy role may unseal subject ids.": "只有隐私角色可以解封主体编号。", "no sealed id": "没有加密编号",
    "The sealing key is not configured (TOWNSHIP_SEAL_KEY).": "未配置解封密钥(TOWNSHIP_SEAL_KEY)。",
    "This id cannot be opened with the township's key.": "本乡镇的密钥无法解开此编号。",
    "The policy was not pushed": "策略未下发",
    "Bias = kiosk reading − clinical reading, from alerts closed with a clinical reading. A kiosk reading low "
    "misses fevers: it is flagged when its mean bias, or where its trend takes it within two weeks, is "
    "−%(limit)s °C or lower.":
        "偏差 = 设备读数 − 临床复测读数,取自填写了复测体温的已结案告警。读数偏低的设备会漏检发热:"
        "平均偏差或按趋势两周内将达到 −%(limit)s °C 及以下时,标记为需校准。",
    "Township console": "乡镇控制台",
    "Not an IANA time zone: %(zone)s": "不是 IANA 时区:%(zone)s", "time zone": "时区",
    "IANA zone of the site's days and deadline, e.g. Asia/Urumqi; empty: the county's (TOWNSHIP_TIME_ZONE).":
        "场所日期与截止时间所用的 IANA 时区,如 Asia/Urumqi;留空:用县的时区(TOWNSHIP_TIME_ZONE)。",
    "kiosk counts days in another time zone": "设备按其他时区统计日期", "not registered": "未登记",
    "Bias = kiosk reading − clinical reading, from alerts closed with a clinical reading (re-measured normal, "
    "sent to the fever clinic). It sees only the people a kiosk stopped: a kiosk reading low stops fewer people "
    "and so gives fewer samples, and the fevers it missed never appear here. It is flagged when its mean bias, "
    "or where its trend takes it within two weeks, is −%(limit)s °C or lower; a kiosk with few or no samples is "
    "not thereby accurate: check it with a reference thermometer (kiosk calibrate).":
        "偏差 = 设备读数 − 临床复测读数,取自填写了复测体温的已结案告警(复测正常、送发热门诊)。它只看得到设备拦下的人:"
        "读数偏低的设备拦下的人更少,样本也更少,它漏检的发热者根本不会出现在这里。平均偏差或按趋势两周内将达到 "
        "−%(limit)s °C 及以下时标记为需校准;样本少或没有样本的设备并不因此就准确:请用标准体温计核对(kiosk calibrate)。",
    "Too many failed logins for this user from this address: try again in an hour, or ask an administrator to "
    "unlock it.": "此用户在此地址登录失败次数过多:请一小时后再试,或请管理员解锁。",
    "In force (what the kiosks report they apply)": "现行(设备回报正在执行的)",
    "each kiosk's own kiosk.toml policy": "各设备 kiosk.toml 中的本地策略",
    "not pushed from this console: its contents are unknown here; compared with the last push":
        "非本控制台下发:内容未知;以最近一次下发作比较",
    "version(s) among the kiosks": "个版本在运行", "Other kiosks run": "其他设备运行",
    "No kiosk has acknowledged a configuration yet; the last push from this console":
        "尚无设备回执配置;本控制台最近一次下发",
    "Last push": "最近一次下发", "failed": "失败", "being published": "正在下发",
    "Changes against what the kiosks run": "与设备现行策略的差异", "Due later": "待上报",
    "A user works for one township or for a whole county, not both.": "用户只能属于一个乡镇或整个县,不能两者都选。",
    "Place the user in one of your townships (or your county).": "请将用户设在您管辖的乡镇(或您的县)。",
    "Roles": "角色", "Personal info": "个人信息",
    "Give the clinical reading taken before sending the visitor on.": "请填写送诊前的临床复测体温。",
    "Say what happened in the note.": "请在备注中说明情况。", "This alert was already closed.": "此告警已结案。",
    "This township's signing key is not available on the console; nothing was pushed.":
        "控制台上没有本乡镇可用的签名密钥;未下发任何内容。",
    "Which day? (YYYY-MM-DD)": "哪一天?(YYYY-MM-DD)",
    "This township's sealing key is not available on the console.": "控制台上没有本乡镇可用的解封密钥。",
}


def _unquote(lines: list[str]) -> str:
    return "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', " ".join(lines))).encode().decode("unicode_escape").encode(
        "latin-1").decode("utf-8")


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def main() -> None:
    blocks = PO.read_text(encoding="utf-8").split("\n\n")
    out, missing = [], []
    for block in blocks:
        lines = block.split("\n")
        ids = [i for i, line in enumerate(lines) if line.startswith("msgid ")]
        strs = [i for i, line in enumerate(lines) if line.startswith("msgstr ")]
        if not ids or not strs:
            out.append(block)
            continue
        msgid = _unquote(lines[ids[0]:strs[0]])
        if msgid == "":
            out.append(block.replace("charset=CHARSET", "charset=UTF-8"))
            continue
        zh = ZH.get(" ".join(msgid.split()))
        if zh is None:
            missing.append(msgid)
            out.append(block)
            continue
        kept = [line for line in lines[:strs[0]] if not line.startswith("#, fuzzy")]
        out.append("\n".join([*kept, f"msgstr {_quote(zh)}"]))
    PO.write_text("\n\n".join(out), encoding="utf-8")
    subprocess.run(["msgfmt", "-o", str(PO.with_suffix(".mo")), str(PO)], check=True)
    if missing:
        print("untranslated:", missing)


if __name__ == "__main__":
    main()
