"""Connecting the township's tools to a broker: URLs (`mqtt://`, `mqtts://`), TLS and a blocking publish."""

from __future__ import annotations

import ssl
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties


class BrokerError(RuntimeError):
    """The broker could not be reached, refused us, or refused a publish."""


class BrokerUnreachable(BrokerError):
    """Nobody answered (refused TCP connection, no CONNACK): worth retrying, unlike a refusal."""


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    host: str
    port: int
    tls: bool

    @classmethod
    def parse(cls, url: str) -> BrokerAddress:
        """`mqtt://host[:1883]` or `mqtts://host[:8883]`."""
        parts = urlsplit(url if "://" in url else f"mqtt://{url}")
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise ValueError(f"broker URL {url!r}: expected mqtt://HOST[:PORT] or mqtts://HOST[:PORT]")
        tls = parts.scheme == "mqtts"
        try:
            port = parts.port
        except ValueError:  # urllib's "Port out of range 0-65535" / "Port could not be cast to integer value"
            raise ValueError(f"broker URL {url!r}: the port must be a number from 1 to 65535") from None
        if port == 0:
            raise ValueError(f"broker URL {url!r}: the port must be a number from 1 to 65535")
        return cls(parts.hostname, port or (8883 if tls else 1883), tls)


def tls_context(ca_file: str = "", cert_file: str = "", key_file: str = "") -> ssl.SSLContext:
    """A client context: the broker verified against `ca_file` (or the system store), our certificate if given."""
    for option, path in (("--ca", ca_file), ("--tls-cert", cert_file), ("--tls-key", key_file)):
        if path and not Path(path).is_file():
            raise ValueError(f"{option} {path}: " + ("not a regular file" if Path(path).exists() else "no such file"))
    try:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca_file or None)
    except (ssl.SSLError, OSError) as exc:
        raise ValueError(f"--ca {ca_file}: not a usable PEM CA certificate ({exc})") from None
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if cert_file:
        try:
            context.load_cert_chain(cert_file, key_file or None)
        except (ssl.SSLError, OSError) as exc:
            raise ValueError(f"--tls-cert {cert_file} / --tls-key {key_file or '(in the same file)'}: not a usable "
                             f"PEM certificate and key ({exc})") from None
    return context


def new_client(client_id: str) -> mqtt.Client:
    return mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)


def connect(client: mqtt.Client, address: BrokerAddress, *, tls: ssl.SSLContext | None = None,
            clean_start: bool = True, session_expiry_s: int = 0, timeout_s: float = 10.0,
            receive_maximum: int = 0) -> None:
    """Connect and wait for the CONNACK; `BrokerError` if refused or unreachable."""
    if address.tls or tls is not None:
        client.tls_set_context(tls or tls_context())
    done = threading.Event()
    result: list[object] = []

    def on_connect(_c: object, _u: object, _f: object, reason: object, _p: object) -> None:
        result.append(reason)
        done.set()

    client.on_connect = on_connect
    props = Properties(PacketTypes.CONNECT)
    if session_expiry_s:
        props.SessionExpiryInterval = session_expiry_s
    if receive_maximum:  # how many unacknowledged messages the broker may send us: our batch size
        props.ReceiveMaximum = receive_maximum
    try:
        client.connect(address.host, address.port, keepalive=30, clean_start=clean_start, properties=props)
    except OSError as exc:
        raise BrokerUnreachable(f"cannot reach {address.host}:{address.port}: {exc}") from None
    client.loop_start()
    if not done.wait(timeout_s):
        client.loop_stop()
        raise BrokerUnreachable(f"no answer from {address.host}:{address.port} within {timeout_s} s")
    reason = result[0]
    if getattr(reason, "is_failure", False):
        client.loop_stop()
        raise BrokerError(f"{address.host}:{address.port} refused the connection: {reason}")


def publish_and_wait(client: mqtt.Client, topic: str, payload: bytes, *, retain: bool,
                     timeout_s: float = 10.0) -> None:
    """QoS 1 publish that returns only once the broker accepted it (PUBACK reason < 0x80)."""
    done = threading.Event()
    codes: list[int] = []
    previous = client.on_publish

    def on_publish(_c: object, _u: object, _mid: int, reason: object, _p: object) -> None:
        codes.append(int(getattr(reason, "value", 0)))
        done.set()

    client.on_publish = on_publish
    props = Properties(PacketTypes.PUBLISH)
    props.ContentType = "application/json"
    try:
        info = client.publish(topic, payload, qos=1, retain=retain, properties=props)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise BrokerError(f"publish to {topic} failed: {mqtt.error_string(info.rc)}")
        if not done.wait(timeout_s):
            raise BrokerError(f"no PUBACK for {topic} within {timeout_s} s")
    finally:
        client.on_publish = previous
    if codes[0] >= 0x80:
        raise BrokerError(f"the broker refused the publish to {topic} (reason 0x{codes[0]:02x})")
