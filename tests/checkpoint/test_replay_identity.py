"""The replay guard keyed by a result's `CodeIdentity` recognises a re-encoded screenshot (issue 12).

`ReplayGuard` takes any string key; keyed by the text's digest it missed the same signed pass
re-encoded.  Keyed by `CodeResult.identity.key` (no change to the guard itself) it does not.
"""

from __future__ import annotations

import pytest

from kiosk.checkpoint.code_check import verified_code
from kiosk.checkpoint.policy import PolicyInForce
from kiosk.checkpoint.replay import ReplayGuard
from kiosk.config import PolicyConfig
from tests.healthpass.test_identity import AT, THP, VARIANTS, VERIFIER


@pytest.mark.parametrize("variant", VARIANTS.values(), ids=VARIANTS.keys())
def test_a_re_encoded_pass_is_seen_again_by_its_identity(variant) -> None:  # type: ignore[no-untyped-def]
    original = THP.issue("G", sid="replay-sid", iat=AT - 10, exp=AT + 600)
    guard = ReplayGuard(PolicyInForce(PolicyConfig()))
    first = VERIFIER.verify(original, AT)
    assert guard.remember(first.identity.key, verified_code(first), AT)
    again = VERIFIER.verify(variant(original), AT + 30)
    assert again.valid
    assert guard.seen(again.identity.key, AT + 30)
    fresh = VERIFIER.verify(THP.issue("G", sid="replay-sid", iat=AT + 20, exp=AT + 600), AT + 30)
    assert not guard.seen(fresh.identity.key, AT + 30)  # the phone's next code is a new pass
