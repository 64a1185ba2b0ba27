"""Every `kiosk` command builds its parser from all command modules: building it must stay cheap.

A front that imported its stage eagerly once made `kiosk --help` and `kiosk code verify` load
MQTT, crypto and JSON Schema on every call (twice the start-up time; seconds on a Pi).
"""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("paho", "cryptography", "jsonschema", "pygame", "zxingcpp", "kiosk.service.app", "kiosk.loop.runtime",
         "kiosk.feed.pump", "kiosk.uplink.mqtt", "township")


def test_building_the_parser_loads_no_heavy_part() -> None:
    probe = ("import sys, kiosk.cli; kiosk.cli.build_parser(); "
             f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "", f"loaded at start-up: {done.stdout.strip()}"
