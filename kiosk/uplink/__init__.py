"""The uplink: publishes the outbox to the township's MQTT broker, at least once and in order.

`MqttUplink` is driven from the kiosk loop (`poll()` never blocks): it publishes pending outbox
rows with QoS 1 within the broker's in-flight window, alerts first; a PUBACK marks a row
published, and the township's receipt frees it (from a township that sends none, the PUBACK
does, as before receipts); it says "online"/"offline" on the retained status topic (with a Last
Will), and hands township → kiosk messages to the handlers given to `subscribe`.  Its parts:

* `kiosk.uplink.mqtt`: `MqttUplink` itself, the outbox's side (window, read-ahead, dead
  letters) and `UplinkStats`;
* `kiosk.uplink.connection`: `Connection`, one paho client per connection (persistent session),
  its callbacks turned into notes for the kiosk loop's thread, and the reconnect back-off;
* `kiosk.uplink.receipts`: `Receipts`, the township's receipts and whether it sends any
  (`expected`, `present`, `absent`);
* `kiosk.uplink.recorder`: `Recorder`, PUBACKs, refusals and receipts written in batches;
* `kiosk.uplink.resender`: `Resender`, when rows awaiting a receipt are published again;
* `kiosk.uplink.subscriptions`: `Subscriptions`, the filters, their handlers and the dispatch;
* `kiosk.uplink.properties`: an event's MQTT 5 properties, packed once.

The whole uplink logs to one logger, `kiosk.uplink.mqtt`.  Other packages import from here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kiosk.lazy import front

if TYPE_CHECKING:
    from kiosk.uplink.mqtt import MqttUplink, UplinkStats
    from kiosk.uplink.subscriptions import MessageHandler

_EXPORTS = {
    "MessageHandler": "subscriptions",
    "MqttUplink": "mqtt",
    "UplinkStats": "mqtt",
}
__getattr__, __dir__ = front(__name__, _EXPORTS)
__all__ = [
    "MessageHandler",
    "MqttUplink",
    "UplinkStats",
]  # the same names as _EXPORTS
