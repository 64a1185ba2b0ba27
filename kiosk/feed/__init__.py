"""The township feed, the kiosk's side: what it records, reports and accepts.

The parts:

* `Feed` (`kiosk.feed.pump`): the entry log the loop stores into (`EntryLog`, `kiosk.feed.entries`)
  and the pump it turns each pass (`FeedPump`: uplink, health, daily summary, housekeeping),
  over one outbox;
* `EventBuilder`, `EntryEvent` (`kiosk.feed.events`): the event of each decision;
* `DailyReporter` (`kiosk.feed.daily`): every day's summary, zeros included, exactly once, with
  the seconds the kiosk was in service that day (`InService`, `kiosk.feed.service_time`);
* `health_report` (`kiosk.feed.health`): the retained health state, from the kiosk's `KioskStatus`;
* `RemoteConfig`, `listen_for_config` (`kiosk.feed.remote_config`): the township's signed
  configuration judged, applied, persisted and acknowledged; its message and keys are
  `kiosk.feed.config_message` (`ConfigPayload`, `sign_config`);
* `SubjectSealer`, `SubjectOpener` (`kiosk.feed.sealing`): the subject id sealed to the township;
* `KioskTopics` (`kiosk.feed.topics`) and the AsyncAPI checks (`kiosk.feed.schema`).

The feed sits below the kiosk loop: it knows the loop only through what the loop hands it (the
typed event and outcome, the `KioskStatus`), never the loop itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kiosk.lazy import front

if TYPE_CHECKING:
    from kiosk.feed.config_message import REASONS as CONFIG_REASONS
    from kiosk.feed.config_message import ConfigPayload, ConfigRefused, open_envelope, sign_config
    from kiosk.feed.daily import DAILY_STREAM, DailyReporter
    from kiosk.feed.entries import EntryLog, clock_trusted
    from kiosk.feed.events import (
        ALERT_PRIORITY,
        ALERT_STREAM,
        ENTRY_STREAM,
        CodeSummary,
        EntryEvent,
        EventBuilder,
        ReadingSummary,
    )
    from kiosk.feed.health import HEALTH_STREAM, health_report
    from kiosk.feed.pump import Feed, FeedPump
    from kiosk.feed.remote_config import Ack, AckSink, PolicyState, RemoteConfig, judge_content, listen_for_config
    from kiosk.feed.schema import FeedSchemaError, validate_message, validate_payload
    from kiosk.feed.sealing import SealError, SubjectOpener, SubjectSealer, sealer_for
    from kiosk.feed.topics import KioskTopics, township_config_topic, township_filter

_EXPORTS = {
    "ALERT_PRIORITY": "events",
    "ALERT_STREAM": "events",
    "Ack": "remote_config",
    "AckSink": "remote_config",
    "CodeSummary": "events",
    "ConfigPayload": "config_message",
    "ConfigRefused": "config_message",
    "DAILY_STREAM": "daily",
    "DailyReporter": "daily",
    "ENTRY_STREAM": "events",
    "EntryEvent": "events",
    "EntryLog": "entries",
    "EventBuilder": "events",
    "Feed": "pump",
    "FeedPump": "pump",
    "FeedSchemaError": "schema",
    "HEALTH_STREAM": "health",
    "KioskTopics": "topics",
    "PolicyState": "remote_config",
    "ReadingSummary": "events",
    "CONFIG_REASONS": "config_message:REASONS",
    "RemoteConfig": "remote_config",
    "SealError": "sealing",
    "SubjectOpener": "sealing",
    "SubjectSealer": "sealing",
    "clock_trusted": "entries",
    "health_report": "health",
    "judge_content": "remote_config",
    "listen_for_config": "remote_config",
    "open_envelope": "config_message",
    "sealer_for": "sealing",
    "sign_config": "config_message",
    "township_config_topic": "topics",
    "township_filter": "topics",
    "validate_message": "schema",
    "validate_payload": "schema",
}
__getattr__, __dir__ = front(__name__, _EXPORTS)
__all__ = [
    "ALERT_PRIORITY",
    "ALERT_STREAM",
    "CONFIG_REASONS",
    "DAILY_STREAM",
    "ENTRY_STREAM",
    "HEALTH_STREAM",
    "Ack",
    "AckSink",
    "CodeSummary",
    "ConfigPayload",
    "ConfigRefused",
    "DailyReporter",
    "EntryEvent",
    "EntryLog",
    "EventBuilder",
    "Feed",
    "FeedPump",
    "FeedSchemaError",
    "KioskTopics",
    "PolicyState",
    "ReadingSummary",
    "RemoteConfig",
    "SealError",
    "SubjectOpener",
    "SubjectSealer",
    "clock_trusted",
    "health_report",
    "judge_content",
    "listen_for_config",
    "open_envelope",
    "sealer_for",
    "sign_config",
    "township_config_topic",
    "township_filter",
    "validate_message",
    "validate_payload",
]  # the same names as _EXPORTS
