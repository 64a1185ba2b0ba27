"""Chinese names of the feed's reasons, shared by the console and the ingester's webhook (no Django here)."""

REASONS_ZH = {
    "fever": "发热", "code_red": "红码", "code_yellow": "黄码", "code_invalid": "无效码", "code_replayed": "重复使用码",
    "no_code": "未出示码", "trip_star": "行程带星", "trip_risk_area": "中高风险地区行程", "nat_missing": "无核酸",
    "nat_stale": "核酸过期", "sensor_fault": "传感器故障", "clock_unsynced": "时钟未同步",
}
