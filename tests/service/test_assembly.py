"""The one assembly path (`kiosk.service.assemble`): the policy in force lives in one place, from boot on."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.config import KioskConfig
from kiosk.feed import sign_config
from kiosk.feed.config_message import public_key_text
from tests.loop.rig import simulated_kiosk
from tests.simulation.rig import EMPTY_ROOM

NOW = 1_764_000_000


def _config(key: Ed25519PrivateKey) -> KioskConfig:
    base = KioskConfig()
    return base.model_copy(update={"uplink": base.uplink.model_copy(
        update={"config_public_key": public_key_text(key.public_key())})})


def test_every_stage_reads_one_policy_and_a_reboot_keeps_the_township_s(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    sim = simulated_kiosk(tmp_path, EMPTY_ROOM, config=_config(key))
    kiosk, feed, remote = sim.kiosk, sim.feed, sim.assembly.remote
    assert kiosk.policy is feed.daily.policy is feed.pump.policy  # one place: the loop's and the feed's
    assert kiosk.checkpoint.policy is kiosk.policy.policy
    site = kiosk.config.site
    ack = remote.handle(remote.topics.township_config, sign_config(key, {
        "version": 4, "issued_at": NOW, "township": site.township, "kiosk": None,
        "policy": {"fever_c": 37.1, "max_code_age_s": 120, "version": "township-4"}}), True)
    assert ack.status == "applied"
    assert kiosk.policy.version == "township-4" and kiosk.checkpoint.policy.fever_c == 37.1
    assert kiosk.verifier is remote.current.verifier and kiosk.verifier.max_code_age_s == 120
    assert feed.daily.summary("2026-11-24", NOW)["policy_version"] == "township-4"
    sim.close()
    reborn = simulated_kiosk(tmp_path, EMPTY_ROOM, config=_config(key))  # the same data directory
    try:
        assert reborn.kiosk.policy.version == "township-4" and reborn.kiosk.checkpoint.policy.fever_c == 37.1
        assert reborn.kiosk.verifier is reborn.assembly.remote.current.verifier
        assert reborn.feed.daily.policy.version == "township-4"
    finally:
        reborn.close()
