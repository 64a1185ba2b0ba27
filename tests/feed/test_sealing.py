"""Sealing the subject id: only the township can open it, and the SD card never holds it in clear."""

from __future__ import annotations

import base64
import json
import sqlite3
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from kiosk.config import KioskConfig
from kiosk.feed.sealing import PREFIX, SealError, SubjectOpener, SubjectSealer, public_key_from_text, public_key_text
from kiosk.healthpass.model import mask_name
from kiosk.simulation import simulate
from tests.simulation.rig import first_visitors


def _township() -> SubjectOpener:
    return SubjectOpener(X25519PrivateKey.generate())


def test_round_trip_and_every_seal_is_different() -> None:
    township = _township()
    sealer = township.sealer
    a, b = sealer.seal("sid-123456"), sealer.seal("sid-123456")
    assert a.startswith(PREFIX) and b.startswith(PREFIX)
    assert a != b  # randomised: the broker cannot even link two visits of one person
    assert "sid-123456" not in a
    assert township.open(a) == township.open(b) == "sid-123456"
    assert township.open(sealer.seal("张三-ünïcode")) == "张三-ünïcode"


def test_another_township_key_cannot_open_and_tampering_is_detected() -> None:
    township, other = _township(), _township()
    sealed = township.sealer.seal("sid-1")
    with pytest.raises(SealError):
        other.open(sealed)
    body = bytearray(sealed.encode())
    body[-3] = ord("A") if body[-3] != ord("A") else ord("B")
    with pytest.raises(SealError):
        township.open(body.decode())
    for junk in ("sid-1", "S1.", "S1.!!!!", PREFIX + "AAAA", PREFIX + "A" * 80):
        with pytest.raises(SealError):
            township.open(junk)


def test_public_key_text_round_trip_and_bad_keys() -> None:
    key = X25519PrivateKey.generate()
    text = public_key_text(key.public_key())
    sealed = SubjectSealer.from_text(text).seal("x")
    assert SubjectOpener(key).open(sealed) == "x"
    assert public_key_from_text(text).public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw) \
        == key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    for bad in ("", "not base64!", "AAAA"):
        with pytest.raises(ValueError):
            public_key_from_text(bad)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    assert SubjectOpener.from_pem(pem).open(sealed) == "x"


def test_names_are_masked_even_if_the_platform_did_not() -> None:
    assert mask_name("张*卿") == "张*卿"
    assert mask_name("张三") == "张*"
    assert mask_name("张三丰") == "张*丰"
    assert mask_name("Alice Smith") == "A*h"
    assert mask_name("") is None and mask_name(None) is None
    # a `*` somewhere is no pass: only what is already masked (X*, X*Y, HC1 initials) is kept as it is
    assert mask_name("Alice*Smith") == "A*h" and mask_name("张**卿") == "张*卿" and mask_name("Alice Smith*") == "A**"
    assert mask_name("M* E*") == "M* E*" and mask_name("李*") == "李*"


def _db_bytes(data_dir: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(data_dir.glob("outbox.sqlite*")))


def test_sd_card_and_logs_hold_no_subject_id_in_clear(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The real pipeline (a scenario through the runtime) with a township sealing key, logging at DEBUG."""
    import logging

    caplog.set_level(logging.DEBUG)
    private = X25519PrivateKey.generate()
    township = SubjectOpener(private)
    base = KioskConfig()
    config = base.model_copy(update={"uplink": base.uplink.model_copy(
        update={"seal_public_key": public_key_text(private.public_key())})})
    scenario = first_visitors(4, tmp_path)
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    result = simulate(scenario, config, data_dir=str(data_dir))
    assert not result.mismatches()
    raw = _db_bytes(data_dir)
    sids = [f"sim-{v.id}" for v in scenario.visitors if v.code is not None]
    assert len(sids) == 4
    for sid in sids:
        assert sid.encode() not in raw, f"{sid} in clear on the SD card"
    with sqlite3.connect(data_dir / "outbox.sqlite") as con:
        payloads = [json.loads(p) for (stream, p) in con.execute("SELECT stream, payload FROM outbox")
                    if stream in ("entry", "alert")]
    assert len(payloads) == 4 and all(p["code"]["valid"] for p in payloads)
    for p in payloads:
        assert "sid" not in p and "THP1:" not in json.dumps(p)  # no subject id in clear, no QR text
        assert p["name"] == "张*三"
    assert {township.open(p["sid_sealed"]) for p in payloads} == set(sids)
    # nothing personal in any log record of the run
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "decision" in text  # the control: the run did log its decisions
    for sid in sids:
        assert sid not in text
    assert "张" not in text and "THP1:" not in text and "S1." not in text


def test_without_a_township_key_an_event_carries_no_subject_id_at_all() -> None:
    from kiosk.checkpoint import Decision, ScannedCode, Verdict, VisitorOutcome, facts_of, verified_code
    from kiosk.feed import EventBuilder
    from kiosk.healthpass import Verifier
    from kiosk.healthpass.issuer import TestIssuer

    issuer = TestIssuer("EdDSA", iss="CN-T")
    now = 1_764_000_000
    result = Verifier(issuer.trust_list()).verify(issuer.issue("G", sid="person-9", name="李四", iat=now,
                                                               exp=now + 600), now)
    assert result.valid
    code = ScannedCode("k", facts_of(result), verified_code(result))
    outcome = VisitorOutcome(Decision(Verdict.PASS, ()), 36.5, 36.5, code, now - 3, now)
    plain = EventBuilder.from_config(KioskConfig()).build(outcome, wall=now)
    assert plain.sid_sealed is None and plain.name == "李*"  # masked here: the platform had not
    assert b"person-9" not in plain.to_json()
    township = _township()
    sealed = EventBuilder.from_config(KioskConfig(), sealer=township.sealer).build(outcome, wall=now)
    assert township.open(sealed.sid_sealed or "") == "person-9" and b"person-9" not in sealed.to_json()


def test_a_low_order_township_key_is_refused_where_a_sealer_is_made() -> None:
    """All zeros and the other small-order points: refused when the key is read or a sealer built,
    not discovered as an exception on the first valid code while its entry event is built."""
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

    from tests.test_config import LOW_ORDER_KEYS

    for u in LOW_ORDER_KEYS:
        raw = u.to_bytes(32, "little")
        with pytest.raises(ValueError, match="low-order"):
            public_key_from_text(base64.b64encode(raw).decode())
        with pytest.raises(ValueError, match="low-order"):
            SubjectSealer(X25519PublicKey.from_public_bytes(raw))
    assert SubjectSealer.from_text(public_key_text(X25519PrivateKey.generate().public_key())).seal("x")


def test_no_control_character_reaches_an_event() -> None:
    """A NUL in a name read from a QR code made the township's PostgreSQL refuse the event for good (jsonb holds
    no NUL) and the kiosk re-send it forever: names are masked without controls, event text is plain."""
    from kiosk.feed.events import plain

    assert mask_name("\x00张\x07三丰\x1f") == "张*丰" and mask_name("\x00\x00") is None
    assert plain({"name": "A\x00*", "code": {"issuer": "x\x1by"}, "reasons": ["fe\x7fver"], "n": 1}) == {
        "name": "A*", "code": {"issuer": "xy"}, "reasons": ["fever"], "n": 1}
