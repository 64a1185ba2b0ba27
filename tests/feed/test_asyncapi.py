"""config/asyncapi.yaml: valid AsyncAPI 3.0, complete for the topic tree, and true of real messages.

The official AsyncAPI 3.0.0 JSON Schema is vendored in tests/schemas/ (from the npm package
@asyncapi/specs 6.11.1, Apache-2.0, see the LICENSE and NOTICE files beside it).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from kiosk.checkpoint import REASONS
from kiosk.config import KioskConfig, PolicyConfig
from kiosk.feed import CONFIG_REASONS as ACK_REASONS
from kiosk.feed import KioskTopics, PolicyState, RemoteConfig, sign_config
from kiosk.feed import schema as feed_schema
from kiosk.feed.schema import FeedSchemaError, message_name, validate_config_payload, validate_message, validate_payload
from kiosk.feed.sealing import public_key_text
from kiosk.feed.topics import UPLINK_LEVELS
from tests.mosquitto import Broker, wait_until
from tests.paths import ROOT
from tests.simulation.rig import first_visitors

DOC = yaml.safe_load((ROOT / "config" / "asyncapi.yaml").read_text(encoding="utf-8"))
OFFICIAL = json.loads((ROOT / "tests" / "schemas" / "asyncapi-3.0.0.json").read_text())


def test_the_document_is_valid_asyncapi_3() -> None:
    validator = jsonschema.Draft7Validator(OFFICIAL)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(DOC)]
    assert errors == []
    assert DOC["asyncapi"] == "3.0.0"


def test_the_official_schema_does_catch_mistakes() -> None:
    """The control: the vendored schema is not vacuous."""
    validator = jsonschema.Draft7Validator(OFFICIAL)
    broken = json.loads(json.dumps(DOC))
    broken["operations"]["sendEntry"]["action"] = "publish"  # AsyncAPI 2 vocabulary
    del broken["channels"]["alert"]["address"]
    broken["channels"]["alert"]["addres"] = "x"
    assert len(list(validator.iter_errors(broken))) >= 2


def _resolve(pointer: str) -> Any:
    node: Any = DOC
    for part in pointer.lstrip("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def test_every_reference_resolves() -> None:
    refs: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                refs.append(node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(DOC)
    assert len(refs) > 40
    for ref in refs:
        assert ref.startswith("#/"), ref
        _resolve(ref)


def test_a_channel_for_every_topic_of_the_tree_and_an_operation_for_every_channel() -> None:
    topics = KioskTopics("t1", "s1", "k1")
    expected = {topics.stream(level) for level in UPLINK_LEVELS} | {topics.status, topics.township_config,
                                                                     topics.kiosk_config}
    addresses = {c["address"].format(township="t1", site="s1", kiosk="k1") for c in DOC["channels"].values()}
    assert addresses == expected | {f"{topics.prefix}/receipt"}  # the township's receipts (township/receipts.py)
    used = {op["channel"]["$ref"].split("/")[-1] for op in DOC["operations"].values()}
    assert used == set(DOC["channels"])
    for op in DOC["operations"].values():
        channel = op["channel"]["$ref"].split("/")[-1]
        for message in op["messages"]:
            assert message["$ref"].startswith(f"#/channels/{channel}/messages/")
    for topic in expected:  # and the helper maps each topic to a documented message
        assert message_name(topic) in DOC["components"]["messages"]


def test_vocabularies_match_the_code() -> None:
    schemas = DOC["components"]["schemas"]
    assert schemas["Reason"]["enum"] == list(REASONS)
    assert schemas["ConfigAck"]["properties"]["reason"]["oneOf"][0]["enum"] == list(ACK_REASONS)
    assert set(schemas["Policy"]["properties"]) == set(PolicyConfig.model_fields)


def test_schema_examples_validate_and_wrong_payloads_do_not() -> None:
    validate_payload("entry", DOC["components"]["schemas"]["EntryEvent"]["examples"][0])
    example = dict(DOC["components"]["schemas"]["EntryEvent"]["examples"][0])
    for broken in ({**example, "sid": "person-1"},  # a subject id in clear: not allowed anywhere
                   {**example, "decision": "MAYBE"},
                   {**example, "reasons": ["because"]},
                   {k: v for k, v in example.items() if k != "policy_version"}):
        with pytest.raises(FeedSchemaError):
            validate_payload("entry", broken)
    with pytest.raises(FeedSchemaError):
        validate_payload("alert", example)  # alert false is not an alert
    validate_payload("status", b"online")
    with pytest.raises(FeedSchemaError):
        validate_payload("status", b"maybe")
    with pytest.raises(FeedSchemaError):
        validate_payload("entry", b"not json")


def test_config_and_ack_messages_validate(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    topics = KioskTopics("t1", "s1", "k1")
    signed = sign_config(key, {"version": 3, "issued_at": 1_764_000_000, "township": "t1", "kiosk": None,
                               "policy": {"mode": "no-risk-areas", "risk_areas": ["440104"]}})
    validate_message(topics.township_config, signed)
    assert validate_config_payload(signed)["version"] == 3
    rc = RemoteConfig(key.public_key(), tmp_path, PolicyState.from_config(KioskConfig()), topics=topics)
    for message in (signed, b"{}", sign_config(key, {"version": 1, "issued_at": 1_764_000_000, "township": "t1",
                                                     "kiosk": None, "policy": {}})):
        ack = rc.handle(topics.township_config, message, True)
        _, _, body = ack.event(topics, wall=time.time())
        validate_message(topics.stream("config/ack"), body)


def test_every_message_of_a_simulated_run_published_to_a_real_broker_validates(
        broker: Broker, subscribe: Any, tmp_path: Path) -> None:
    """The whole feed of `kiosk simulate --broker` (entries, alerts, status, health, daily) as received."""
    from kiosk.simulation import simulate

    township = subscribe(broker, "checkpoint/v1/#")
    base = KioskConfig()
    config = base.model_copy(update={"uplink": base.uplink.model_copy(update={
        "seal_public_key": public_key_text(X25519PrivateKey.generate().public_key())})})
    scenario = first_visitors(4, tmp_path)
    result = simulate(scenario, config, broker=f"mqtt://{broker.host}:{broker.port}", data_dir=str(tmp_path))
    assert not result.mismatches()
    assert wait_until(lambda: any(m.topic.endswith("/daily") for m in township.received()), 10)
    time.sleep(0.3)
    received = township.received()
    kinds: dict[str, int] = {}
    for m in received:
        validate_message(m.topic, m.payload)
        kinds[message_name(m.topic)] = kinds.get(message_name(m.topic), 0) + 1
    assert kinds.get("entry", 0) + kinds.get("alert", 0) == len(scenario.visitors)
    assert all(kinds.get(k, 0) >= 1 for k in ("alert", "status", "health", "daily")), kinds
    assert any(json.loads(m.payload).get("sid_sealed") for m in received if message_name(m.topic) == "entry")


def test_the_helper_reads_the_document_once() -> None:
    assert feed_schema.load_document() is feed_schema.load_document()


def test_sealed_subject_ids_of_any_length_match_the_schema() -> None:
    from kiosk.feed.sealing import SubjectOpener

    sealer = SubjectOpener(X25519PrivateKey.generate()).sealer
    example = dict(DOC["components"]["schemas"]["EntryEvent"]["examples"][0])
    for sid in ("a", "sid-1", "x" * 200, "张三"):
        validate_payload("entry", {**example, "sid_sealed": sealer.seal(sid)})
    with pytest.raises(FeedSchemaError):
        validate_payload("entry", {**example, "sid_sealed": "person-1"})  # a subject id in clear
