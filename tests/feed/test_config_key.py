"""A low-order township configuration key would let anyone sign a configuration: it is refused everywhere.

With the Ed25519 identity point as the key, the signature (R = identity, s = 0) verifies in OpenSSL
for every message; with the other small-order points for one message in 2, 4 or 8.  Shown here
first (so the test is about a real forgery), then refused at every door: the file
(`kiosk config check`), the key parser, provisioning's township.pub, and `RemoteConfig` itself even
when a caller hands it such a key object.  And the X25519 base point (u = 9) is refused as a
sealing key: X25519(e, 9) is the ephemeral public key every sealed value carries.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from kiosk.config import KioskConfig, parse_config
from kiosk.config_problems import config_key_problem, seal_key_problem
from kiosk.errors import ConfigError
from kiosk.feed import KioskTopics, PolicyState, RemoteConfig
from kiosk.feed.config_message import NO_KEY, public_key_from_text
from kiosk.feed.sealing import SubjectSealer
from kiosk.feed.sealing import public_key_from_text as seal_key_from_text
from kiosk.healthpass.issuer import TestIssuer
from kiosk.service.provisioning import check_township_key
from kiosk.service.readiness import Verdict
from tests.paths import ROOT

P = 2**255 - 19
ORDER_8 = ("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
           "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a")
SMALL_Y = [0, 1, P - 1, *(int.from_bytes(bytes.fromhex(h), "little") for h in ORDER_8)]
# every encoding: both sign bits, and y not reduced (p = 0, p + 1 = 1)
WEAK = [(y | sign << 255).to_bytes(32, "little") for y in [*SMALL_Y, P, P + 1] for sign in (0, 1)]
IDENTITY = (1).to_bytes(32, "little")
FORGED_SIGNATURE = IDENTITY + bytes(32)  # R = the identity point, s = 0
TOPICS = KioskTopics("t1", "s1", "k1")
NOW = 1_764_000_000


def _text(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _forged(version: int) -> bytes:
    """A configuration nobody signed: no-risk-areas, the highest threshold, the attacker's own issuer trusted."""
    body = json.dumps({"version": version, "issued_at": NOW, "township": "t1", "kiosk": None,
                       "policy": {"mode": "no-risk-areas", "fever_c": 37.5},
                       "trust_list": TestIssuer("ES256").trust_list_json()}).encode()
    return json.dumps({"alg": "Ed25519", "payload": base64.b64encode(body).decode(),
                       "signature": base64.b64encode(FORGED_SIGNATURE).decode()}).encode()


def _verifies(raw: bytes, message: bytes) -> bool:
    body = base64.b64decode(json.loads(message)["payload"])
    try:
        Ed25519PublicKey.from_public_bytes(raw).verify(FORGED_SIGNATURE, body)
        return True
    except InvalidSignature:
        return False


def test_the_forgery_is_real_in_openssl() -> None:
    """Not a hypothetical: OpenSSL verifies the forged signature for the identity key, every time."""
    assert all(_verifies(IDENTITY, _forged(v)) for v in range(1, 20))
    zeros = bytes(32)  # order 4: about one message in four
    assert 0 < sum(_verifies(zeros, _forged(v)) for v in range(1, 65)) < 64


@pytest.mark.parametrize("raw", WEAK, ids=[_text(r) for r in WEAK])
def test_every_small_order_encoding_is_refused_by_the_configuration(raw: bytes) -> None:
    assert config_key_problem(raw) in ("a low-order point", "a non-canonical encoding of a point")
    with pytest.raises(ConfigError) as caught:
        parse_config({"uplink": {"config_public_key": _text(raw)}})
    assert "not a usable Ed25519 public key" in str(caught.value)
    assert "anyone could forge the township's signed configuration" in str(caught.value)
    with pytest.raises(ValueError, match="not usable"):
        public_key_from_text(_text(raw))


def test_a_real_key_is_still_accepted() -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from kiosk.feed.config_message import public_key_text

    text = public_key_text(Ed25519PrivateKey.generate().public_key())
    assert parse_config({"uplink": {"config_public_key": text}}).uplink.config_public_key == text
    public_key_from_text(text)


@pytest.mark.parametrize("raw", [IDENTITY, bytes(32)], ids=["identity", "zeros"])
def test_remote_config_refuses_a_forgery_even_when_handed_a_weak_key(tmp_path: Path, raw: bytes) -> None:
    """However a low-order key object reaches `RemoteConfig`, a forged configuration is not applied."""
    forged = next(m for m in (_forged(v) for v in range(1, 200)) if _verifies(raw, m))
    rc = RemoteConfig(Ed25519PublicKey.from_public_bytes(raw), tmp_path, PolicyState.from_config(KioskConfig()),
                      topics=TOPICS)
    ack = rc.handle(TOPICS.township_config, forged, True)
    assert (ack.status, ack.reason) == ("refused", NO_KEY) and "low-order point" in ack.detail
    policy = rc.current.policy
    assert rc.current.version == 0 and policy.fever_c == 37.3 and policy.mode.value == "risk-areas"
    assert not (tmp_path / "remote-config.json").exists()


def test_provisioning_refuses_a_weak_township_pub(tmp_path: Path) -> None:
    for raw in (IDENTITY, bytes(32)):
        pub = tmp_path / "township.pub"
        pub.write_text(_text(raw) + "\n")
        verdict = Verdict(str(pub), None)
        check_township_key(pub, "", verdict)
        assert len(verdict.problems) == 1
        assert verdict.problems[0].text().startswith("township.pub：不是可用的 Ed25519 公钥（低阶点")
        assert "not a usable Ed25519 public key (a low-order point" in verdict.problems[0].text()


def test_config_check_refuses_the_identity_key(tmp_path: Path) -> None:
    config = tmp_path / "kiosk.toml"
    config.write_text(f'[uplink]\nconfig_public_key = "{_text(IDENTITY)}"\n')
    run = subprocess.run([sys.executable, "-m", "kiosk.cli", "config", "check", "--simulated", str(config)],
                         capture_output=True, text=True, timeout=60, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin"})
    assert run.returncode == 1
    assert "line 2 uplink.config_public_key" in run.stderr and "low-order point" in run.stderr


def test_the_x25519_base_point_is_not_a_seal_key() -> None:
    """Anyone opens what is sealed to u = 9: the shared secret X25519(e, 9) is the ephemeral key sent along."""
    nine = (9).to_bytes(32, "little")
    assert seal_key_problem(nine) == "the base point"
    assert seal_key_problem((9 + P).to_bytes(32, "little")) == "the base point"  # not reduced: the same point
    with pytest.raises(ValueError, match="base point"):
        seal_key_from_text(_text(nine))
    with pytest.raises(ConfigError, match="the base point"):
        parse_config({"uplink": {"seal_public_key": _text(nine)}})
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

    with pytest.raises(ValueError):
        SubjectSealer(X25519PublicKey.from_public_bytes(nine))
