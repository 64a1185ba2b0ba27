"""`kiosk township push-config`: sign a configuration and publish it, retained, where kiosks read it."""

from __future__ import annotations

import ssl
import time
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.feed import ConfigPayload, sign_config
from kiosk.feed.topics import KioskTopics, township_config_topic
from township.broker import BrokerAddress, connect, new_client, publish_and_wait


def config_payload(document: dict[str, Any], *, township: str | None = None, kiosk: str | None = None,
                   version: int | None = None, now: float | None = None) -> tuple[str, dict[str, Any]]:
    """(topic, payload to sign) from a JSON document holding at least `policy`.

    The version defaults to the current epoch second, which keeps one increasing sequence per
    township without anyone keeping a counter; `--version` or the file's `version` override it.
    """
    now = time.time() if now is None else now
    target = None
    if kiosk is not None:
        parts = kiosk.split("/")
        if len(parts) != 3:
            raise ValueError(f"--kiosk {kiosk!r}: expected TOWNSHIP/SITE/KIOSK")
        target = KioskTopics(*parts)
        township = township or target.township
        if township != target.township:
            raise ValueError(f"--kiosk {kiosk} is not in township {township}")
    township = township or document.get("township")
    if not township:
        raise ValueError("which township? give --township, --kiosk or a `township` key in the file")
    payload = {
        "version": int(version if version is not None else document.get("version") or int(now)),
        "issued_at": int(now),
        "township": township,
        "kiosk": kiosk,
        "policy": document.get("policy", {}),
    }
    if document.get("trust_list") is not None:
        payload["trust_list"] = document["trust_list"]
    ConfigPayload.model_validate(payload)  # the shape; the kiosk checks the policy's values itself
    topic = target.kiosk_config if target is not None else township_config_topic(township)
    return topic, payload


def push_config(address: BrokerAddress, key: Ed25519PrivateKey, topic: str, payload: dict[str, Any], *,
                tls: ssl.SSLContext | None = None, client_id: str = "township-config") -> bytes:
    """Sign, publish retained with QoS 1, and return once the broker has it; returns the message."""
    message = sign_config(key, payload)
    client = new_client(client_id)
    connect(client, address, tls=tls)
    try:
        publish_and_wait(client, topic, message, retain=True)
    finally:
        client.disconnect()
        client.loop_stop()
    return message
