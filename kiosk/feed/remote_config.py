"""Township → kiosk configuration: judged, versioned, applied atomically, persisted, acknowledged.

The township changes the mode, the risk-area list, the thresholds and the health-pass trust list
by publishing a retained message on `checkpoint/v1/{T}/config` (every kiosk of the township) or
`checkpoint/v1/{T}/{S}/{K}/config` (one kiosk).  A message (its signed envelope and payload:
`kiosk.feed.config_message`) is applied only if it is signed with the township's configuration
key, names this township (and, on a kiosk topic, this kiosk), carries a version strictly newer
than the one applied, and validates completely (`PolicyConfig`, `TrustList`).  Anything else is
refused and the refusal is reported on `config/ack`, with the reason, so the township sees a
kiosk that did not follow.

Each message is a complete policy (keys left out take their defaults); with no `trust_list`
the one in force is kept.  Versions form one sequence per township across both topics, so a
kiosk-specific message overrides the township-wide one only while its version is the newest
(`kiosk township push-config` uses the current epoch second by default).

Applying is atomic: the new `PolicyConfig`, `TrustList` and `Verifier` are all built first,
then one reference (`current`) is swapped and the `on_apply` callbacks run (the composition root
makes the kiosk decide by it: `kiosk.loop.Kiosk.apply_policy`).  The accepted message is
persisted (temp file, fsync, rename, fsync of the directory) and re-verified at the next boot,
so a kiosk that boots without a network decides by the last rules it was given, and a file
tampered with on the SD card is ignored.  The highest version applied is also kept in a file of
its own (`remote-config.version`, with the digest of its signed payload): after a reboot nothing
older is accepted, nor anything else of that version, even if the configuration file itself was
lost, so an old signed configuration cannot be replayed through the broker.  The configuration is
written before its floor, so that no power cut can leave a floor above the saved configuration
(`tests/feed/test_remote_config_power_cut.py` cuts between every write).  Failing to save either
is logged as an error and reported on `config/ack` (`persisted: false`).

`issued_at` must be a plausible epoch second (2020 to 2100); a configuration issued more than
`FUTURE_SKEW_S` ahead of the kiosk's wall clock is refused, but only while that clock is known
to be synchronised (`clock_synced`): a Pi without an RTC may boot hours in the past.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import hashlib
import json
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import ValidationError

from kiosk.config import KioskConfig, PolicyConfig
from kiosk.feed.config_message import (
    INVALID,
    MALFORMED,
    STALE,
    WRONG_TARGET,
    ConfigRefused,
    errors_in_one_line,
    open_envelope,
    public_key_from_text,
)
from kiosk.feed.events import plain
from kiosk.feed.topics import KioskTopics
from kiosk.healthpass import TrustList, TrustListError, Verifier
from kiosk.ids import uuid7

log = logging.getLogger(__name__)

ACK_STREAM = "config/ack"
ACK_PRIORITY = 5  # ahead of a backlog of entries (the township waits for it), behind alerts
STATE_FILE = "remote-config.json"
VERSION_FILE = "remote-config.version"  # {"version": N, "sha256": digest of its signed payload}
FUTURE_SKEW_S = 600  # a township's clock ahead of a synchronised kiosk's by more than this: refused
MAX_REMEMBERED = 64  # verdicts kept to recognise retained messages coming back after a reconnect


@dataclass(frozen=True, slots=True)
class PolicyState:
    """One set of rules: a policy with its trust list and the verifier made for both.  Never changed in place."""

    policy: PolicyConfig
    trust_list: TrustList
    verifier: Verifier
    version: int = 0  # the township configuration version; 0 = only the local file so far
    issued_at: int = 0
    source: str = "local"  # "local", or the topic the configuration came from

    @classmethod
    def build(cls, policy: PolicyConfig, trust_list: TrustList, **kw: Any) -> PolicyState:
        verifier = Verifier(trust_list, max_code_age_s=policy.max_code_age_s, clock_skew_s=policy.clock_skew_s)
        return cls(policy=policy, trust_list=trust_list, verifier=verifier, **kw)

    @classmethod
    def from_config(cls, config: KioskConfig) -> PolicyState:
        """The state of a kiosk that has heard nothing from its township yet."""
        path = config.health_pass.trust_list
        trust = TrustList.from_file(path) if path else TrustList([])
        return cls.build(config.policy, trust)


@dataclass(frozen=True, slots=True)
class Ack:
    """The verdict on one configuration message; `publish` is False for a repeat already reported."""

    status: Literal["applied", "refused", "unchanged"]
    topic: str
    applied_version: int  # in force after this message
    policy_version: str
    version: int | None = None  # of the message, when it could be read
    reason: str | None = None  # one of REASONS when refused
    detail: str = ""  # what exactly was wrong; never personal data (configuration has none)
    persisted: bool = False
    publish: bool = True

    def event(self, topics: KioskTopics, *, wall: float) -> tuple[str, str, bytes]:
        """(stream, event_id, payload) for the outbox: the `config/ack` message of the feed."""
        event_id = uuid7(wall)
        body = {
            "event_id": event_id, "at": round(wall, 3), "schema": 1,
            "township": topics.township, "site": topics.site, "kiosk": topics.kiosk,
            "status": self.status, "topic": self.topic, "version": self.version,
            "applied_version": self.applied_version, "policy_version": self.policy_version,
            "reason": self.reason, "detail": self.detail[:300], "persisted": self.persisted,
        }
        return ACK_STREAM, event_id, json.dumps(plain(body), ensure_ascii=False, separators=(",", ":"),
                                                sort_keys=True).encode()


@dataclass(slots=True)
class _Judged:
    """What a message already seen was found to be (retained messages come back on every reconnect)."""

    status: str
    ack: Ack | None = None


# ------------------------------------------------------------------------------------ the object
def judge_content(policy: Mapping[str, Any], trust_list: Any, version: int) -> tuple[PolicyConfig, TrustList | None]:
    """A pushed configuration's policy and trust list, validated as the kiosk applies them; `ConfigRefused`
    (INVALID, the problems in one line) if not.  The township's `push-config` calls it before signing, so
    what the kiosk would refuse is never published.  A trust list with no keys is refused: it would make
    every code invalid at every kiosk it reaches, which is a mistake, not a policy."""
    policy_data = dict(policy)
    policy_data.setdefault("version", f"remote-{version}")
    try:
        checked = PolicyConfig.model_validate(policy_data)
    except ValidationError as exc:
        raise ConfigRefused(INVALID, "policy: " + errors_in_one_line(exc, section="policy"), version) from None
    if trust_list is None:
        return checked, None
    try:
        trust = TrustList.from_json(trust_list, source="trust_list")
    except TrustListError as exc:
        raise ConfigRefused(INVALID, str(exc), version) from None
    if len(trust) == 0:
        raise ConfigRefused(INVALID, "trust_list: no keys: every health code would be refused; push the issuers' "
                            "keys (or leave trust_list out to keep the kiosk's)", version)
    return checked, trust


class RemoteConfig:
    """Judges configuration messages for one kiosk and holds the `PolicyState` in force.

    Used from the kiosk loop's thread only (the uplink calls `handle` from `poll`).
    """

    def __init__(self, public_key: Ed25519PublicKey | None, state_dir: str | os.PathLike[str],
                 current: PolicyState, *, topics: KioskTopics, wall: Callable[[], float] | None = None,
                 clock_synced: Callable[[], bool] | None = None) -> None:
        self.public_key = public_key
        self.state_path = Path(state_dir) / STATE_FILE
        self.version_path = Path(state_dir) / VERSION_FILE
        self.topics = topics
        self.wall = wall  # with `clock_synced`: refuse what is issued in the future (None: never)
        self.clock_synced = clock_synced
        self._current = current
        self._floor = self._read_floor()  # (highest version applied by any run, sha256 of its payload)
        self._seen: dict[str, _Judged] = {}  # sha256 of topic + payload → verdict
        self.on_apply: list[Callable[[PolicyState], None]] = []
        self._load()

    @classmethod
    def from_config(cls, config: KioskConfig, current: PolicyState | None = None, *,
                    wall: Callable[[], float] | None = None,
                    clock_synced: Callable[[], bool] | None = None) -> RemoteConfig:
        key = config.uplink.config_public_key
        site = config.site
        return cls(public_key_from_text(key) if key else None, config.storage.data_dir,
                   current or PolicyState.from_config(config),
                   topics=KioskTopics(site.township, site.site_id, site.kiosk_id), wall=wall,
                   clock_synced=clock_synced)

    @property
    def current(self) -> PolicyState:
        """The rules applied last (the local file's until the township's first).  Replaced, never mutated.

        The kiosk decides by what `on_apply` hands it (`kiosk.loop.Kiosk.apply_policy`), not by reading this.
        """
        return self._current

    @property
    def subscriptions(self) -> tuple[str, str]:
        """The two retained topics to subscribe to (QoS 1)."""
        return self.topics.township_config, self.topics.kiosk_config

    # ----------------------------------------------------------------------------- messages
    def handle(self, topic: str, payload: bytes, retained: bool = False) -> Ack:
        """Judge one message; apply it if it passes.  Never raises for anything a broker can send.

        A message judged before (the same topic and bytes, e.g. the retained one again after a
        reconnect) gets the same answer with `publish=False`, so the feed is not flooded.
        """
        message_digest = hashlib.sha256(topic.encode() + b"\0" + bytes(payload)).hexdigest()
        seen = self._seen.get(message_digest)
        if seen is not None:
            prior = seen.ack
            status = "unchanged" if seen.status == "applied" else "refused"
            return Ack(status=status, topic=topic, applied_version=self._current.version,  # type: ignore[arg-type]
                       policy_version=self._current.policy.version,
                       version=prior.version if prior else None, reason=prior.reason if prior else None,
                       detail=prior.detail if prior else "", publish=False)
        try:
            try:
                state, digest = self._judge(topic, bytes(payload))
            except ConfigRefused:
                raise
            except Exception as exc:  # a library surprise (e.g. JSON nested too deep): refused, never a crash
                raise ConfigRefused(MALFORMED, f"unexpected {type(exc).__name__} while reading it") from None
        except ConfigRefused as refused:
            ack = Ack(status="refused", topic=topic, applied_version=self._current.version,
                      policy_version=self._current.policy.version, version=refused.version,
                      reason=refused.reason, detail=refused.detail)
            if refused.final:
                self._remember(message_digest, _Judged("refused", ack))
            log.warning("configuration on %s refused: %s %s", topic, refused.reason, refused.detail)
            return ack
        # The configuration first, its version floor after: a power cut between the two leaves a saved
        # configuration newer than the floor, which the next boot accepts (and raises the floor to);
        # the other order could leave a floor above the saved configuration, and the next boot would
        # refuse it and fall back to the local policy.  Unsaved, the floor is raised in memory only.
        saved = self._persist(topic, bytes(payload))
        floor_saved = self._raise_floor(state.version, digest, on_disk=saved)
        self._swap(state)
        detail = "" if saved and floor_saved else \
            "applied, but could not be saved for the next boot" if not saved else \
            "applied, but its version could not be saved: after a reboot an older one could be replayed"
        ack = Ack(status="applied", topic=topic, applied_version=state.version,
                  policy_version=state.policy.version, version=state.version, persisted=saved and floor_saved,
                  detail=detail)
        self._remember(message_digest, _Judged("applied", ack))
        return ack

    def _remember(self, digest: str, judged: _Judged) -> None:
        self._seen[digest] = judged
        while len(self._seen) > MAX_REMEMBERED:  # oldest first: dicts keep insertion order
            del self._seen[next(iter(self._seen))]

    def _judge(self, topic: str, payload: bytes, *, booting: bool = False) -> tuple[PolicyState, str]:
        """The new state, fully built, and the sha256 of its signed payload; or `ConfigRefused`."""
        if topic not in self.subscriptions:
            raise ConfigRefused(WRONG_TARGET, f"not a configuration topic of this kiosk: {topic}")
        config, body = open_envelope(payload, self.public_key)
        expected_kiosk = None if topic == self.topics.township_config else \
            f"{self.topics.township}/{self.topics.site}/{self.topics.kiosk}"
        if config.township != self.topics.township or config.kiosk != expected_kiosk:
            raise ConfigRefused(WRONG_TARGET, f"signed for township {config.township!r}, kiosk {config.kiosk!r}",
                                config.version)
        digest = hashlib.sha256(body).hexdigest()
        floor_version, floor_digest = self._floor
        newest = max(self._current.version, floor_version)
        # the very configuration applied last (by an earlier run) may come back once: its bytes, no others
        restoring = config.version == floor_version > self._current.version and digest == floor_digest
        if config.version <= newest and not restoring:
            raise ConfigRefused(STALE, f"version {config.version} is not newer than {newest}", config.version)
        if not booting and self.wall is not None and self.clock_synced is not None and self.clock_synced():
            ahead = config.issued_at - self.wall()
            if ahead > FUTURE_SKEW_S:
                raise ConfigRefused(INVALID, f"issued_at: {ahead:.0f} s in the future of this kiosk's "
                                    "synchronised clock", config.version, final=False)
        policy, pushed_trust = judge_content(config.policy, config.trust_list, config.version)
        trust = pushed_trust if pushed_trust is not None else self._current.trust_list
        return PolicyState.build(policy, trust, version=config.version, issued_at=config.issued_at,
                                 source=topic), digest

    def _swap(self, state: PolicyState) -> None:
        self._current = state  # the one reference; readers see the old state or the new, never a mix
        log.warning("configuration version %d applied (policy %s, mode %s, %d risk areas, %d trusted keys)",
                    state.version, state.policy.version, state.policy.mode.value, len(state.policy.risk_areas),
                    len(state.trust_list))
        for callback in self.on_apply:
            try:
                callback(state)
            except Exception:
                log.exception("a configuration listener failed")

    # ----------------------------------------------------------------------------- persistence
    def _persist(self, topic: str, payload: bytes) -> bool:
        """Write the accepted message for the next boot."""
        record = json.dumps({"topic": topic, "message": base64.b64encode(payload).decode()}).encode()
        try:
            _write_durably(self.state_path, record)
            return True
        except OSError as exc:
            log.error("could not save configuration for the next boot: %s", exc)
            return False

    def _raise_floor(self, version: int, digest: str, *, on_disk: bool = True) -> bool:
        """Remember `version` as the highest applied, in memory and (`on_disk`) on disk; False if not on disk."""
        if version <= self._floor[0]:
            return True  # already remembered (the configuration of an earlier run, restored)
        self._floor = (version, digest)
        if not on_disk:
            return False
        try:
            _write_durably(self.version_path, json.dumps({"version": version, "sha256": digest}).encode())
            return True
        except OSError as exc:
            log.error("could not save configuration version %d: after a reboot an older configuration could be "
                      "replayed (%s)", version, exc)
            return False

    def _read_floor(self) -> tuple[int, str | None]:
        try:
            record = json.loads(self.version_path.read_bytes())
            version, digest = record["version"], record["sha256"]
            if not isinstance(version, int) or isinstance(version, bool) or not isinstance(digest, str):
                raise ValueError("not {version: int, sha256: str}")
            return version, digest
        except FileNotFoundError:
            return 0, None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.error("ignoring %s: unreadable (%s)", self.version_path, exc)
            return 0, None

    def _load(self) -> None:
        """Re-judge the message saved by an earlier run; apply it if it still passes."""
        try:
            record = json.loads(self.state_path.read_bytes())
            topic, payload = record["topic"], base64.b64decode(record["message"], validate=True)
        except FileNotFoundError:
            return
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.error("ignoring the saved configuration %s: unreadable (%s)", self.state_path, exc)
            return
        try:
            state, digest = self._judge(topic, payload, booting=True)
        except ConfigRefused as refused:
            log.error("ignoring the saved configuration %s: %s %s", self.state_path, refused.reason, refused.detail)
            return
        self._raise_floor(state.version, digest)  # a file saved before the version file existed
        self._swap(state)
        self._remember(hashlib.sha256(topic.encode() + b"\0" + payload).hexdigest(), _Judged("applied"))


def _write_durably(path: Path, data: bytes) -> None:
    """Temp file, fsync, rename, fsync of the directory: after a power cut, the old file or the new.

    Every byte is written (a write may write fewer than asked: a nearly full disk) and the size is
    checked before the rename, so a short file never replaces a whole one; on any failure the temp
    file is removed and the old file stays.
    """
    tmp = path.with_name(path.name + ".tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
            if os.fstat(fd).st_size != len(data):
                raise OSError(errno.EIO, f"{tmp}: {os.fstat(fd).st_size} bytes on disk, {len(data)} written")
        finally:
            os.close(fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class AckStore(Protocol):
    """Where acks are stored to go out with the feed (`kiosk.feed.entries.EntryLog`, or a bare outbox)."""

    def append(self, stream: str, event_id: str, payload: bytes, *, priority: int = 0) -> int: ...


class ConfigSubscriber(Protocol):
    """The uplink's side: hand each message on a topic to a handler (topic, payload, retained)."""

    def subscribe(self, topic: str, handler: Callable[[str, bytes, bool], None]) -> None: ...


@dataclass(slots=True)
class AckSink:
    """Appends acks to the outbox (stream `config/ack`), skipping repeats: the kiosk's usual wiring."""

    outbox: AckStore
    topics: KioskTopics
    wall: Callable[[], float]
    sent: list[Ack] = field(default_factory=list)

    def __call__(self, ack: Ack) -> None:
        if not ack.publish:
            return
        stream, event_id, payload = ack.event(self.topics, wall=self.wall())
        self.outbox.append(stream, event_id, payload, priority=ACK_PRIORITY)
        self.sent.append(ack)


def listen_for_config(remote: RemoteConfig, uplink: ConfigSubscriber | None, acks: AckStore,
           wall: Callable[[], float]) -> AckSink:
    """Hand the configuration messages `uplink` receives to `remote`, its verdicts to the feed as acks.

    What follows an applied configuration is `remote.on_apply`'s (the composition root makes the
    kiosk decide by it).  Returns the ack sink (its `sent` list is handy in tests).
    """
    sink = AckSink(acks, remote.topics, wall=wall)
    if uplink is not None:
        for topic in remote.subscriptions:
            uplink.subscribe(topic, lambda t, p, r: sink(remote.handle(t, p, r)))
    return sink
