"""A real mosquitto broker and a real paho subscriber for the uplink tests.

The broker runs on a free port on 127.0.0.1 with its configuration in the test's temp dir.  It
is started with `user <whoever we are>`: as root mosquitto otherwise drops to the `mosquitto`
user after reading its config and can no longer read or write anything in a private temp dir
(ACL file, persistence); as anyone else the line changes nothing.  It is stopped by PID, and can
be stopped, frozen (SIGSTOP: a broker that accepts bytes and never answers) and restarted on the
same port in the middle of a test.

Import the fixtures into a test module (`from tests.mosquitto import broker`); conftest.py is
not ours to touch.
"""

from __future__ import annotations

import os
import pwd
import queue
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
HOST = "127.0.0.1"


def free_port() -> int:
    """A port nobody listens on right now (the kernel's choice of an ephemeral one)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


class Broker:
    """One mosquitto process; `start`/`stop` may be called repeatedly and keep the port."""

    def __init__(self, workdir: Path, *, config: str = "", persistent: bool = False) -> None:
        self.host = HOST
        self.port = free_port()
        self.workdir = workdir
        self.extra_config = config
        # Persistent: sessions and their queued messages survive a restart, saved after every change
        # (so even a SIGKILLed broker loses nothing it acknowledged: what a township's broker must do).
        self.persistent = persistent
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / "mosquitto.log"

    @property
    def pid(self) -> int:
        assert self.proc is not None, "broker not running"
        return self.proc.pid

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout_s: float = 5.0) -> None:
        assert not self.running
        conf = self.workdir / "mosquitto.conf"
        conf.write_text(
            f"listener {self.port} {self.host}\n"
            "allow_anonymous true\n"
            + (f"persistence true\npersistence_location {self.workdir}/\nautosave_on_changes true\n"
               "autosave_interval 1\n" if self.persistent else "persistence false\n") +
            f"user {pwd.getpwuid(os.getuid()).pw_name}\n"
            "log_type error\nlog_type warning\nlog_type notice\n"
            f"{self.extra_config}\n"
        )
        self.launch(conf, timeout_s)

    def launch(self, conf: Path, timeout_s: float) -> None:
        """Run mosquitto on `conf` and wait until it listens (a broker that exits says why)."""
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited with {self.proc.returncode}:\n{self.log()}")
            try:
                socket.create_connection((self.host, self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.01)
        self.stop(kill=True)
        raise RuntimeError(f"mosquitto did not listen on {self.port} within {timeout_s} s:\n{self.log()}")

    def stop(self, *, kill: bool = False) -> None:
        """Terminate (or SIGKILL, like a power cut of the broker host) and reap the process."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        if kill:
            proc.kill()
        else:
            proc.terminate()
            os.kill(proc.pid, signal.SIGCONT)  # a frozen broker must wake up to die cleanly
        try:
            proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=3)

    def freeze(self) -> None:
        """SIGSTOP: connections stay open, the kernel accepts bytes, nobody answers."""
        os.kill(self.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        os.kill(self.pid, signal.SIGCONT)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@dataclass(frozen=True, slots=True)
class Received:
    topic: str
    payload: bytes
    retain: bool
    content_type: str | None
    user_properties: tuple[tuple[str, str], ...]


class Subscriber:
    """A paho client standing in for the township server: subscribes, records what arrives.

    It resubscribes on every (re)connect, since the test broker keeps no sessions.  With
    `session_expiry_s` it is a township consumer with a persistent session (clean start only the
    first time, a fixed client id): the broker queues QoS 1 messages for it while it is away.
    mosquitto 2.0.11 forgets MQTT 5 sessions across its own restart (seen in these tests) but
    keeps MQTT 3.1.1 ones (`clean_session` false): `protocol=mqtt.MQTTv311` gives one of those.
    """

    def __init__(self, broker: Broker, topic: str, *, qos: int = 1, session_expiry_s: int = 0,
                 client_id: str | None = None, protocol: int = mqtt.MQTTv5) -> None:
        self.protocol = protocol
        self.topic = topic
        self.qos = qos
        self.messages: list[Received] = []
        self._lock = threading.Lock()
        self._subscribed: queue.SimpleQueue[bool] = queue.SimpleQueue()
        self.broker = broker
        self.session_expiry_s = session_expiry_s
        self.client_id = client_id or f"sub-{uuid.uuid4().hex[:8]}"
        self.client = self._new_client()
        if protocol == mqtt.MQTTv5:
            clean = mqtt.MQTT_CLEAN_START_FIRST_ONLY if session_expiry_s else True  # paho reconnects: not clean
            self.client.connect(broker.host, broker.port, keepalive=10, clean_start=clean, properties=self._props())
        else:
            self.client.connect(broker.host, broker.port, keepalive=10)
        self.client.loop_start()
        self.wait_subscribed()

    def _new_client(self) -> mqtt.Client:
        if self.protocol == mqtt.MQTTv5:
            client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=self.client_id, protocol=mqtt.MQTTv5)
        else:
            client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=self.client_id, protocol=self.protocol,
                                 clean_session=not self.session_expiry_s)
        client.reconnect_delay_set(1, 1)
        client.on_connect = self._on_connect
        client.on_subscribe = lambda *_: self._subscribed.put(True)
        client.on_message = self._on_message
        return client

    def _props(self) -> Properties | None:
        if not self.session_expiry_s:
            return None
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self.session_expiry_s
        return props

    def pause(self) -> None:
        """Go away (the session, if persistent, stays on the broker and queues)."""
        self.client.disconnect()
        self.client.loop_stop()

    def resume(self) -> None:
        """Come back to the same session."""
        self.client = self._new_client()
        if self.protocol == mqtt.MQTTv5:
            self.client.connect(self.broker.host, self.broker.port, keepalive=10, clean_start=False,
                                properties=self._props())
        else:
            self.client.connect(self.broker.host, self.broker.port, keepalive=10)
        self.client.loop_start()
        self.wait_subscribed()

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if not reason.is_failure:
            client.subscribe(self.topic, qos=self.qos)

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        props = getattr(msg, "properties", None)
        received = Received(msg.topic, bytes(msg.payload), bool(msg.retain),
                            getattr(props, "ContentType", None),
                            tuple(getattr(props, "UserProperty", ()) or ()))
        with self._lock:
            self.messages.append(received)

    def wait_subscribed(self, timeout_s: float = 5.0) -> None:
        """Block until the broker has confirmed the (re)subscription."""
        self._subscribed.get(timeout=timeout_s)

    def received(self, topic: str | None = None) -> list[Received]:
        with self._lock:
            return [m for m in self.messages if topic is None or m.topic == topic]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def wait_until(condition: Callable[[], bool], timeout_s: float = 5.0, *, step: Callable[[], Any] | None = None,
               interval_s: float = 0.002) -> bool:
    """Call `step` (e.g. the uplink's poll) until `condition` holds; False on timeout."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if step is not None:
            step()
        if condition():
            return True
        time.sleep(interval_s)
    return condition()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    """A fresh mosquitto for one test, stopped by PID afterwards whatever the test did to it."""
    b = Broker(tmp_path)
    b.start()
    try:
        yield b
    finally:
        b.stop()


@pytest.fixture
def make_broker(tmp_path: Path) -> Iterator[Callable[..., Broker]]:
    """A factory for a broker with extra configuration lines (ACLs, limits)."""
    started: list[Broker] = []

    def make(config: str = "", *, persistent: bool = False) -> Broker:
        workdir = tmp_path / f"broker{len(started)}"
        workdir.mkdir()
        b = Broker(workdir, config=config, persistent=persistent)
        b.start()
        started.append(b)
        return b

    try:
        yield make
    finally:
        for b in started:
            b.stop()


@pytest.fixture
def subscribe() -> Iterator[Callable[[Broker, str], Subscriber]]:
    """Make subscribers; all are closed after the test."""
    made: list[Subscriber] = []

    def make(b: Broker, topic: str) -> Subscriber:
        s = Subscriber(b, topic)
        made.append(s)
        return s

    try:
        yield make
    finally:
        for s in made:
            s.close()
