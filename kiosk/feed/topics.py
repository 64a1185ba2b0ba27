"""The MQTT topic tree of the township feed: one place that spells every topic.

    checkpoint/v1/{township}/{site}/{kiosk}/entry        kiosk → township   every entry event (QoS 1)
    checkpoint/v1/{township}/{site}/{kiosk}/alert        kiosk → township   STOPs reported at once
    checkpoint/v1/{township}/{site}/{kiosk}/status       kiosk → township   retained online/offline (Last Will)
    checkpoint/v1/{township}/{site}/{kiosk}/health       kiosk → township   periodic health
    checkpoint/v1/{township}/{site}/{kiosk}/daily        kiosk → township   the daily summary, zero counts too
    checkpoint/v1/{township}/{site}/{kiosk}/config/ack   kiosk → township   configuration applied or refused
    checkpoint/v1/{township}/config                      township → kiosks  retained, signed, township-wide
    checkpoint/v1/{township}/{site}/{kiosk}/config       township → kiosk   retained, signed, for one kiosk
    checkpoint/v1/{township}/{site}/{kiosk}/receipt      township → kiosk   event ids the township holds (QoS 1)

The version level lets a township run two feed versions side by side during an upgrade; the three
identity levels let a broker's ACL confine each kiosk to its own branch, and let a consumer
subscribe to a township (`checkpoint/v1/T/#`), a site, or one kiosk.  Ids are checked so that no
id can contain a topic separator or wildcard.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ROOT = "checkpoint/v1"
UPLINK_LEVELS = ("entry", "alert", "status", "health", "daily", "config/ack")
RECEIPT_LEVEL = "receipt"  # township → kiosk; the uplink spells it too (kiosk.uplink.receipts)
_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def check_id(value: str) -> str:
    """An id usable as one topic level: no '/', '+', '#', spaces or control characters."""
    if not _ID.fullmatch(value):
        raise ValueError(f"{value!r} cannot be a topic level (letters, digits, '_', '.', '-'; 1-64)")
    return value


@dataclass(frozen=True, slots=True)
class KioskTopics:
    """Every topic one kiosk publishes to or subscribes to."""

    township: str
    site: str
    kiosk: str

    def __post_init__(self) -> None:
        for value in (self.township, self.site, self.kiosk):
            check_id(value)

    @property
    def prefix(self) -> str:
        return f"{ROOT}/{self.township}/{self.site}/{self.kiosk}"

    def stream(self, name: str) -> str:
        """The topic of an outbox stream (`entry`, `alert`, `health`, `daily`, `config/ack`)."""
        if name not in UPLINK_LEVELS:
            raise ValueError(f"unknown stream {name!r}")
        return f"{self.prefix}/{name}"

    @property
    def status(self) -> str:
        return f"{self.prefix}/status"

    @property
    def township_config(self) -> str:
        return township_config_topic(self.township)

    @property
    def kiosk_config(self) -> str:
        return f"{self.prefix}/config"

    @property
    def receipt(self) -> str:
        """Where the township's listener names the events of this kiosk it holds (`kiosk.uplink.receipts`)."""
        return f"{self.prefix}/{RECEIPT_LEVEL}"


def township_config_topic(township: str) -> str:
    return f"{ROOT}/{check_id(township)}/config"


def township_filter(township: str) -> str:
    """What a township consumer subscribes to: everything its kiosks publish."""
    return f"{ROOT}/{check_id(township)}/#"


def parse(topic: str) -> tuple[str, str, str, str] | None:
    """(township, site, kiosk, level) of a kiosk → township topic, or None for anything else."""
    parts = topic.split("/")
    if len(parts) < 6 or "/".join(parts[:2]) != ROOT:
        return None
    level = "/".join(parts[5:])
    if level not in UPLINK_LEVELS:
        return None
    return parts[2], parts[3], parts[4], level
