"""`kiosk simulate --data DIR` resumes a kiosk's outbox; `kiosk run --simulated --config` feeds the broker it names.

Real processes: the `kiosk` command, a real mosquitto, a receipting township (tests/feed/township_stub.py).
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

from kiosk.outbox import Outbox
from tests.cli.conftest import ENV, KioskCli
from tests.feed.township_stub import ReceiptingConsumer, stored
from tests.mosquitto import Broker, Subscriber, wait_until
from tests.paths import ROOT
from tests.simulation.rig import first_visitors_file


def test_a_run_that_could_not_deliver_is_delivered_by_the_next_with_the_same_data(tmp_path: Path,
                                                                                   kiosk_cli: KioskCli) -> None:
    scenario = first_visitors_file(tmp_path / "s.json", visitors=3)
    data = tmp_path / "kiosk"
    (tmp_path / "broker").mkdir()
    b = Broker(tmp_path / "broker")  # its port is chosen; nobody listens there yet
    url = f"mqtt://{b.host}:{b.port}"
    down = kiosk_cli("simulate", str(scenario), "--headless", "--broker", url, "--data", str(data),
                     "--drain-timeout", "1", "--out", str(tmp_path / "1.jsonl"))
    assert down.returncode == 1, down.stderr  # the broker did not take the feed
    assert "pending 3" in down.stderr and f"data: {data}" in down.stderr
    with Outbox(data / "outbox.sqlite") as ob:
        left = {r.event_id for r in ob.tail(100)}
    assert len(left) == 3
    b.start()
    township = ReceiptingConsumer(b.host, b.port, tmp_path / "township.sqlite", client_id="township")
    township.start()
    try:
        up = kiosk_cli("simulate", str(scenario), "--headless", "--broker", url, "--data", str(data),
                       "--out", str(tmp_path / "2.jsonl"))
        assert up.returncode == 0, up.stderr
        assert "receipts present" in up.stderr and "pending 0" in up.stderr and "unreceipted 0" in up.stderr
        with Outbox(data / "outbox.sqlite") as ob:
            assert ob.stats().rows == 0 and ob.stats().receipted == 6  # both runs' events: receipted, freed
        held = stored(tmp_path / "township.sqlite")
        assert left <= set(held) and sum(1 for s, _ in held.values() if s in ("entry", "alert")) == 6
    finally:
        township.stop()
        b.stop()


def test_simulate_refuses_a_data_folder_it_cannot_use(tmp_path: Path, kiosk_cli: KioskCli) -> None:
    scenario = first_visitors_file(tmp_path / "s.json", visitors=1)
    (tmp_path / "file").write_text("not a folder")
    run = kiosk_cli("simulate", str(scenario), "--headless", "--data", str(tmp_path / "file" / "sub"))
    assert run.returncode == 2 and "--data" in run.stderr and "Traceback" not in run.stderr


def test_the_demo_with_a_configuration_feeds_its_broker_and_stops_quietly(tmp_path: Path) -> None:
    (tmp_path / "broker").mkdir()
    b = Broker(tmp_path / "broker")
    b.start()
    township = Subscriber(b, "checkpoint/v1/#")
    config = tmp_path / "kiosk.toml"
    data = tmp_path / "demo-data"
    config.write_text(f'[uplink]\nenabled = true\nhost = "{b.host}"\nport = {b.port}\n'
                      f'[storage]\ndata_dir = "{data}"\n')
    proc = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "run", "--simulated", "--headless", "--config",
                             str(config)], cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        assert ready, "no visitor decided within a minute"
        line = json.loads(proc.stdout.readline())  # as `kiosk simulate` prints them, as each is decided
        assert set(line) == {"visitor", "decision", "reasons", "temperature_c", "latency_s"}
        assert wait_until(lambda: any(m.topic.endswith(("/entry", "/alert")) for m in township.received()), 10)
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        township.close()
        b.stop()
    text = err.decode()
    assert proc.returncode == 0, text
    assert "Traceback" not in text and "KeyboardInterrupt" not in text
    assert "Ctrl-C to stop" in text and f"data in {data}" in text and f"uplink to {b.host}:{b.port}" in text
    assert "demo: stopped after 1 round(s)" in text
    assert (data / "outbox.sqlite").exists()
    for extra in out.decode().splitlines():
        json.loads(extra)
    statuses = [m.payload for m in township.received() if m.topic.endswith("/status")]
    assert statuses[-1] == b"offline"  # it said goodbye


def test_the_demo_without_a_configuration_says_where_its_data_is(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "run", "--simulated", "--headless"], cwd=ROOT,
                            env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stderr is not None
        deadline = time.monotonic() + 30
        first = b""
        while b"Ctrl-C" not in first and time.monotonic() < deadline:
            first += proc.stderr.readline()
        proc.terminate()  # SIGTERM, as systemd would
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = (first + err).decode()
    assert proc.returncode == 0 and "Traceback" not in text
    assert "a temporary folder, removed at the end" in text and "no uplink" in text
