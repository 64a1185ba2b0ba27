"""The township's signed configuration cannot hide a fever, and no power cut leaves a floor above it.

Fever-hiding values pushed by a genuine township key are refused (`invalid`) and acknowledged as
such through the outbox, exactly as they are refused in kiosk.toml.  The configuration and its
version floor are written with real files.  Two kinds of interruption:

* the process dies between two durable steps (the n-th step raises): what was written stays;
* the power goes (`tests/feed/crashfs.py`): the file operations are recorded, and every disk a
  power cut after any of them may leave — unsynced data lost, unsynced renames lost in any
  combination — is rebuilt and booted from.

Either way a new `RemoteConfig` booted from the directory must decide by the old rules or the new
ones, never fall back to the local policy.  And a disk too full for the whole file (a short write)
must not replace the saved configuration with part of the new one.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.config import KioskConfig
from kiosk.feed import AckSink, KioskTopics, PolicyState, RemoteConfig, sign_config
from kiosk.feed import remote_config as remote_config_module
from kiosk.feed.config_message import INVALID
from kiosk.feed.remote_config import STATE_FILE, VERSION_FILE
from kiosk.outbox.store import Outbox
from tests.feed.crashfs import Recorder, crash_states, materialise, snapshot
from tests.paths import ROOT

TOPICS = KioskTopics("t1", "s1", "k1")
WIDE = TOPICS.township_config
NOW = 1_764_000_000


def payload(version: int, **policy: Any) -> dict[str, Any]:
    return {"version": version, "issued_at": NOW, "township": "t1", "kiosk": None,
            "policy": {"mode": "risk-areas", **policy}}


def remote(key: Ed25519PrivateKey, state_dir: Path) -> RemoteConfig:
    return RemoteConfig(key.public_key(), state_dir, PolicyState.from_config(KioskConfig()), topics=TOPICS)


HIDING = [
    ({"fever_c": 38.0}, "fever_c", "lets fevers through"),
    ({"fever_c": 40.0}, "fever_c", "lets fevers through"),
    ({"fever_c": 36.0}, "fever_c", "at least 37.0"),
    ({"max_code_age_s": 86_400}, "max_code_age_s", "screenshots"),
    ({"clock_skew_s": 3600}, "clock_skew_s", "made in advance"),
    # types are not guessed: a text threshold, a boolean window, a text "no"
    ({"fever_c": "37.3"}, "fever_c", "must be a number"),
    ({"nat_max_age_h": True}, "nat_max_age_h", "must be a whole number"),
    ({"remeasure": "no"}, "remeasure", "must be true or false"),
]


@pytest.mark.parametrize(("policy", "key_name", "why"), HIDING)
def test_a_signed_config_that_hides_a_fever_is_refused_and_acked_invalid(
        key: Ed25519PrivateKey, tmp_path: Path, policy: dict[str, Any], key_name: str, why: str) -> None:
    rc = remote(key, tmp_path / "state")
    before = rc.current
    with Outbox(tmp_path / "outbox.sqlite") as outbox:
        sink = AckSink(outbox, TOPICS, wall=lambda: float(NOW))
        ack = rc.handle(WIDE, sign_config(key, payload(7, **policy)), True)
        sink(ack)
        (row,) = outbox.pending(10)
    assert (ack.status, ack.reason, ack.version, ack.applied_version) == ("refused", INVALID, 7, 0)
    assert rc.current is before and rc.current.policy.fever_c == 37.3
    assert key_name in ack.detail and why in ack.detail, ack.detail
    sent = json.loads(row.payload)
    assert row.stream == "config/ack" and (sent["status"], sent["reason"]) == ("refused", "invalid")
    assert key_name in sent["detail"]
    assert not (tmp_path / "state" / STATE_FILE).exists()  # nothing saved for the next boot


def test_a_seal_key_cannot_be_pushed(key: Ed25519PrivateKey, tmp_path: Path) -> None:
    """The township's sealing key is set in kiosk.toml only: a pushed one (even all zeros) is refused."""
    rc = remote(key, tmp_path)
    for where in ({"seal_public_key": "A" * 43 + "="}, {"policy": {"seal_public_key": "A" * 43 + "="}}):
        message = {**payload(3), **where} if "policy" not in where else payload(3, **where["policy"])
        ack = rc.handle(WIDE, sign_config(key, message), True)
        assert (ack.status, ack.reason) == ("refused", INVALID) and "seal_public_key" in ack.detail


# ------------------------------------------------------------------------------ power cuts
class PowerCut(BaseException):
    """The power went: nothing after this point happened (not an OSError: nothing catches it)."""


def _os_cutting_after(steps: int) -> tuple[types.SimpleNamespace, list[str]]:
    """An `os` for remote_config whose `steps`-th durable step (write, fsync, replace) never happens."""
    done: list[str] = []

    def step(name: str, real: Any) -> Any:
        def wrapped(*args: Any, **kw: Any) -> Any:
            if len(done) == steps:
                raise PowerCut(f"before {name} #{steps + 1}")
            result = real(*args, **kw)
            done.append(name)
            return result
        return wrapped

    fake = types.SimpleNamespace(**{k: getattr(os, k) for k in dir(os) if not k.startswith("__")})
    fake.write, fake.fsync, fake.replace = step("write", os.write), step("fsync", os.fsync), step("replace", os.replace)
    return fake, done


def _steps_of_one_apply(key: Ed25519PrivateKey, tmp_path: Path) -> int:
    rc = remote(key, tmp_path / "count")
    rc.handle(WIDE, sign_config(key, payload(1, fever_c=37.2)), True)
    fake, done = _os_cutting_after(10_000)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(remote_config_module, "os", fake)
        assert rc.handle(WIDE, sign_config(key, payload(2, fever_c=37.4)), True).status == "applied"
    return len(done)


def test_a_power_cut_between_any_two_writes_leaves_a_config_the_next_boot_accepts(
        key: Ed25519PrivateKey, tmp_path: Path) -> None:
    total = _steps_of_one_apply(key, tmp_path)
    assert total >= 6  # two files, each written, synced, renamed and its directory synced
    old, new = sign_config(key, payload(1, fever_c=37.2)), sign_config(key, payload(2, fever_c=37.4))
    outcomes = set()
    for cut in range(total + 1):
        state = tmp_path / f"cut-{cut}"
        assert remote(key, state).handle(WIDE, old, True).status == "applied"  # version 1, saved
        fake, _ = _os_cutting_after(cut)
        rc = remote(key, state)
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(remote_config_module, "os", fake)
            with contextlib.suppress(PowerCut):
                rc.handle(WIDE, new, True)
        booted = remote(key, state)  # the next boot, from what is on the disk
        version = booted.current.version
        assert version in (1, 2), f"cut before step {cut + 1}: booted with the local policy"
        assert booted.current.policy.fever_c == {1: 37.2, 2: 37.4}[version], cut
        outcomes.add(version)
        # and it still follows the township: the retained message again is applied or already in force
        again = booted.handle(WIDE, new, True)
        assert again.status in ("applied", "unchanged") and booted.current.version == 2, cut
        # while the older configuration cannot be replayed (refused, or recognised as already judged)
        assert booted.handle(WIDE, old, True).status != "applied" and booted.current.version == 2, cut
    assert outcomes == {1, 2}  # cuts early keep the old rules, late ones the new


def test_a_floor_file_ahead_of_the_config_is_never_written(key: Ed25519PrivateKey, tmp_path: Path) -> None:
    """The order itself: after every prefix of the writes, the floor on disk is at most the saved version."""
    total = _steps_of_one_apply(key, tmp_path)
    for cut in range(total + 1):
        state = tmp_path / f"order-{cut}"
        remote(key, state).handle(WIDE, sign_config(key, payload(1, fever_c=37.2)), True)
        fake, _ = _os_cutting_after(cut)
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(remote_config_module, "os", fake)
            with contextlib.suppress(PowerCut):
                remote(key, state).handle(WIDE, sign_config(key, payload(2, fever_c=37.4)), True)
        saved = json.loads((state / STATE_FILE).read_text())
        body = json.loads(base64.b64decode(json.loads(base64.b64decode(saved["message"]))["payload"]))
        floor = json.loads((state / VERSION_FILE).read_text())["version"]
        assert floor <= body["version"], f"cut before step {cut + 1}: floor {floor} above config {body['version']}"


def test_every_disk_a_power_cut_may_leave_boots_with_the_old_rules_or_the_new(
        key: Ed25519PrivateKey, tmp_path: Path) -> None:
    """Unsynced data and unsynced renames lost, in every combination, after every call."""
    state = tmp_path / "state"
    old, new = sign_config(key, payload(1, fever_c=37.2)), sign_config(key, payload(2, fever_c=37.4))
    assert remote(key, state).handle(WIDE, old, True).status == "applied"
    before = snapshot(state)
    recorder = Recorder()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(remote_config_module, "os", recorder.os)
        assert remote(key, state).handle(WIDE, new, True).status == "applied"
    assert [op.kind for op in recorder.log].count("fsync_dir") == 2  # each rename made durable
    outcomes, tried = set(), 0
    for cut in range(len(recorder.log) + 1):
        for crash in crash_states(before, recorder.log[:cut]):
            tried += 1
            disk = materialise(crash, state, tmp_path / f"crash-{tried}")
            booted = remote(key, disk)
            described = f"power cut after call {cut} ({recorder.log[cut - 1].kind if cut else 'none'}): " + \
                ", ".join(f"{Path(p).name} {len(d)} B" for p, d in sorted(crash.items()))
            version = booted.current.version
            assert version in (1, 2), f"{described}: booted with the local policy"
            assert booted.current.policy.fever_c == {1: 37.2, 2: 37.4}[version], described
            outcomes.add(version)
            assert booted.handle(WIDE, new, True).status in ("applied", "unchanged"), described
            assert booted.current.version == 2, described
    assert outcomes == {1, 2} and tried > len(recorder.log)


def test_the_crash_model_catches_a_missing_directory_fsync(key: Ed25519PrivateKey, tmp_path: Path) -> None:
    """The test above is meaningful: without the directory's fsync a disk with the floor ahead of the
    configuration is among the states (the floor's rename reached the disk, the configuration's did not)."""
    state = tmp_path / "state"
    remote(key, state).handle(WIDE, sign_config(key, payload(1)), True)
    before = snapshot(state)
    recorder = Recorder()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(remote_config_module, "os", recorder.os)
        remote(key, state).handle(WIDE, sign_config(key, payload(2)), True)
    without = [op for op in recorder.log if op.kind != "fsync_dir"]
    versions = {remote(key, materialise(crash, state, tmp_path / f"c{n}")).current.version
                for n, crash in enumerate(crash_states(before, without))}
    assert 0 in versions  # the local policy: what the directory fsync prevents


SHORT_WRITE_CHILD = """
import base64, json, resource, sys
from pathlib import Path
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from kiosk.config import KioskConfig
from kiosk.feed import KioskTopics, PolicyState, RemoteConfig
state, limit = Path(sys.argv[1]), int(sys.argv[2])
key = Ed25519PublicKey.from_public_bytes((state.parent / "key.raw").read_bytes())
message = (state.parent / "message.json").read_bytes()
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))  # a disk with `limit` bytes left for a file
topics = KioskTopics("t1", "s1", "k1")
rc = RemoteConfig(key, state, PolicyState.from_config(KioskConfig()), topics=topics)
ack = rc.handle(topics.township_config, message, True)
print(json.dumps({"status": ack.status, "persisted": ack.persisted, "version": rc.current.version}))
"""


def test_a_disk_too_full_for_the_whole_file_keeps_the_saved_configuration(
        key: Ed25519PrivateKey, tmp_path: Path) -> None:
    """A short write (the kernel wrote 8 kB of 36 kB) must not replace the saved configuration."""
    from cryptography.hazmat.primitives import serialization

    state = tmp_path / "state"
    assert remote(key, state).handle(WIDE, sign_config(key, payload(1, fever_c=37.2)), True).persisted
    areas = [f"{440000 + i:06d}" for i in range(2600)]  # a long risk-area list: a 36 kB configuration
    big = sign_config(key, payload(2, fever_c=37.4, risk_areas=areas))
    assert len(big) > 30_000
    (tmp_path / "message.json").write_bytes(big)
    (tmp_path / "key.raw").write_bytes(key.public_key().public_bytes(serialization.Encoding.Raw,
                                                                     serialization.PublicFormat.Raw))
    run = subprocess.run([sys.executable, "-c", SHORT_WRITE_CHILD, str(state), "8192"], capture_output=True,
                         text=True, timeout=120, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin",
                                                      "PYTHONDONTWRITEBYTECODE": "1"})
    assert run.returncode == 0, run.stderr
    ack = json.loads(run.stdout)
    assert ack == {"status": "applied", "persisted": False, "version": 2}  # in force now, and says it is not saved
    assert sorted(p.name for p in state.iterdir()) == [STATE_FILE, VERSION_FILE]  # no temp file left on the disk
    booted = remote(key, state)  # the next boot: the old rules, not part of the new file nor the local policy
    assert (booted.current.version, booted.current.policy.fever_c) == (1, 37.2)
    assert booted.handle(WIDE, big, True).status == "applied" and booted.current.version == 2
